//! The learning-curve figure on a hand-built table: three pre-training seeds × two fine-tuning
//! seeds at four steps whose accuracy rises; the per-seed means, the overall mean and the band
//! computed, and the SVG drawing exactly those numbers.

mod common;

use multiberts_collector::consolidate::{selection_path, table_path};
use multiberts_collector::{Consolidation, PredictionRow, ResultsTree};
use multiberts_report::{LearningCurve, StepUnit, learning_curves, read_runs};

/// Ten examples per run; the first `correct` predicted right.
fn run(step: i64, seed: i64, ft: i64, correct: usize) -> Vec<PredictionRow> {
    (0..10)
        .map(|j| {
            let label = (j % 2) as f64;
            PredictionRow {
                job_id: format!("{step}-{seed}-{ft}"),
                task: "sst2".into(),
                variant: String::new(),
                split: "validation".into(),
                checkpoint: format!("seed_{seed}-step_{step}"),
                pretrain_seed: Some(seed),
                step: Some(step),
                learning_rate: 1e-3,
                finetune_seed: ft,
                example_index: j,
                example_id: format!("ex{j}"),
                label,
                prediction: if (j as usize) < correct {
                    label
                } else {
                    1.0 - label
                },
                scores: vec![0.0, 0.0],
                answer: None,
            }
        })
        .collect()
}

/// The accuracy (in tenths) of (step k, seed, fine-tuning seed): 5 + k + seed + ft, capped.
fn correct(k: usize, seed: i64, ft: i64) -> usize {
    (5 + k + seed as usize + ft as usize).min(10)
}

fn curves(steps: &[i64]) -> Vec<LearningCurve> {
    curves_in(steps, StepUnit::Thousands)
}

fn curves_in(steps: &[i64], unit: StepUnit) -> Vec<LearningCurve> {
    let tmp = tempfile::tempdir().unwrap();
    let tree = ResultsTree::new(tmp.path(), "t").unwrap();
    write_steps_table(&tree, steps);
    let c: Consolidation =
        multiberts_collector::atomic::read_json(&selection_path(&tree, "sst2")).unwrap();
    let runs = read_runs(&table_path(&tree, "sst2")).unwrap();
    learning_curves(&runs, &c, unit).unwrap()
}

/// `predictions/sst2.parquet` with three seeds × two fine-tuning seeds at each step.
fn write_steps_table(tree: &ResultsTree, steps: &[i64]) {
    let mut rows = Vec::new();
    for (k, &step) in steps.iter().enumerate() {
        for seed in 0..3 {
            for ft in 0..2 {
                rows.extend(run(step, seed, ft, correct(k, seed, ft)));
            }
        }
    }
    common::write_consolidated(tree, "sst2", "accuracy", &rows, steps.len() * 6);
}

#[test]
fn each_step_holds_the_seed_means_the_mean_and_a_band_around_it() {
    let curves = curves(&[0, 20, 40, 100]);
    assert_eq!(curves.len(), 1);
    let curve = &curves[0];
    assert_eq!(
        curve.steps.iter().map(|s| s.step).collect::<Vec<_>>(),
        [0, 20, 40, 100]
    );
    for (k, s) in curve.steps.iter().enumerate() {
        assert_eq!(s.runs, 6);
        for &(seed, value) in &s.seeds {
            let want = (correct(k, seed, 0) + correct(k, seed, 1)) as f64 / 20.0;
            assert!(
                common::close(value, want),
                "step {} seed {seed}: {value} vs {want}",
                s.step
            );
        }
        let all: f64 = (0..3)
            .flat_map(|seed| (0..2).map(move |ft| correct(k, seed, ft) as f64 / 10.0))
            .sum::<f64>()
            / 6.0;
        assert!(
            common::close(s.mean, all),
            "step {}: {} vs {all}",
            s.step,
            s.mean
        );
        assert!(
            s.band.0 <= s.mean && s.mean <= s.band.1,
            "{:?} around {}",
            s.band,
            s.mean
        );
    }
    assert!(
        curve.steps[3].mean > curve.steps[0].mean,
        "the accuracy rises"
    );
}

#[test]
fn the_svg_draws_a_line_per_seed_the_means_and_the_band_on_a_slot_axis() {
    let curve = &curves(&[0, 20, 40, 100])[0];
    let svg = curve.svg();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let class = |c: &str| {
        doc.descendants()
            .filter(|n| n.attribute("class") == Some(c))
            .collect::<Vec<_>>()
    };
    assert_eq!(class("curve-seed").len(), 3);
    assert_eq!(class("band").len(), 1);
    let means = class("curve-mean");
    assert_eq!(means.len(), 4);
    for (dot, step) in means.iter().zip(&curve.steps) {
        let value: f64 = dot.attribute("data-value").unwrap().parse().unwrap();
        assert!(common::close(value, step.mean));
    }
    // Uneven steps: one slot each, so the four dots are evenly spaced.
    let xs: Vec<f64> = means
        .iter()
        .map(|d| d.attribute("cx").unwrap().parse().unwrap())
        .collect();
    assert!(((xs[1] - xs[0]) - (xs[3] - xs[2])).abs() < 0.01, "{xs:?}");
    for label in [
        "0",
        "20k",
        "40k",
        "100k",
        "(saved checkpoints evenly spaced)",
    ] {
        assert!(
            svg.contains(&format!(">{label}<")) || svg.contains(label),
            "{label}"
        );
    }
    // Evenly spaced steps: a linear axis.
    let even = &curves(&[0, 20, 40, 60])[0];
    assert!(!even.svg().contains("evenly spaced"));
}

#[test]
fn steps_of_the_manifests_own_pretraining_are_labelled_as_optimizer_steps() {
    let svg = curves_in(&[0, 20, 40, 60], StepUnit::Optimizer)[0].svg();
    assert!(
        svg.contains(">pre-training step (optimizer steps)<"),
        "{svg}"
    );
    for label in ["0", "20", "40", "60"] {
        assert!(svg.contains(&format!(">{label}<")), "{label}");
    }
    assert!(!svg.contains(">20k<"), "{svg}");
    let uneven = curves_in(&[0, 20, 40, 100], StepUnit::Optimizer)[0].svg();
    assert!(uneven.contains("(optimizer steps; saved checkpoints evenly spaced)"));
}

#[test]
fn the_page_has_a_learning_curves_section_when_a_task_has_several_steps() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = "name = \"t\"\n[defaults]\nlearning_rates = [1e-3]\nfinetune_seeds = \"0..=1\"\n\
        [[checkpoints]]\nhub = \"google/multiberts-seed_{seed}-step_{step}k\"\nseeds = \"0..=2\"\n\
        steps = [0, 20, 40, 100]\n[[tasks]]\nname = \"sst2\"\n";
    let (manifest, tree) = common::setup(tmp.path(), manifest);
    write_steps_table(&tree, &[0, 20, 40, 100]);
    let written = multiberts_report::report_from_tables(&manifest, &tree, None).unwrap();
    let html = std::fs::read_to_string(&written.index_html).unwrap();
    assert!(
        html.contains("Learning curves"),
        "no learning-curve section"
    );
    assert!(html.contains("sst2, lr 1e-3: accuracy over pre-training"));
    assert_eq!(html.matches("class=\"curve-mean\"").count(), 4);
}
