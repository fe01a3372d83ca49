//! `multiberts bootstrap`'s library side: stored predictions (our Parquet, the upstream GLUE
//! and coref layouts) read by a `LayoutReader` and analysed by the engine, with the errors a user
//! sees for bad selectors and malformed layouts.

use std::collections::BTreeMap;
use std::path::Path;

use multiberts_collector::PredictionRow;
use multiberts_collector::upstream::{
    CorefExample, Matrix, RunInfo, UpstreamPredictions, export_coref,
};
use multiberts_report::{
    BootstrapCall, BootstrapOptions, BootstrapOutcome, CorefLayout, Correction, GlueLayout,
    LayoutReader, Metric, Outcome, ParquetLayout, RngSpec, StoredAnalysis, parse_selector,
    run_stored,
};

/// An analysis of `layout` with `multiberts bootstrap`'s defaults.
fn analysis(layout: impl LayoutReader + 'static) -> StoredAnalysis {
    StoredAnalysis {
        layout: Box::new(layout),
        expt_layout: None,
        task: None,
        base: None,
        expt: None,
        metric: Metric::Accuracy,
        span_score: None,
        options: BootstrapOptions::default(),
    }
}

fn coref(dir: &Path) -> StoredAnalysis {
    analysis(CorefLayout {
        dir: dir.to_path_buf(),
    })
}

fn sel(s: &str) -> Option<String> {
    Some(s.to_string())
}

/// The error (with its causes) of running `a`; the test fails if it succeeds.
fn error_of(a: &StoredAnalysis) -> String {
    match run_stored(a) {
        Ok(_) => panic!("expected {a:?} to fail"),
        Err(e) => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text += &format!(": {s}");
                source = s.source();
            }
            text
        }
    }
}

fn ok(a: &StoredAnalysis) -> Outcome {
    run_stored(a).unwrap()
}

/// A coref folder: `seeds` × 2 runs, 2 occupations × 6 sentences.
fn write_coref(dir: &Path, seeds: &[i64], flip: usize) {
    let mut examples = Vec::new();
    for (o, occ) in ["nurse", "engineer"].iter().enumerate() {
        for (k, gender) in ["UNKNOWN", "MASCULINE", "FEMININE"].iter().enumerate() {
            for someone in [false, true] {
                examples.push(CorefExample {
                    gender: gender.to_string(),
                    pronoun_type: "NOM".into(),
                    answer: ((o + k) % 2) as i64,
                    occupation: occ.to_string(),
                    other_participant: "patient".into(),
                    someone,
                    template_idx: (2 * o) as i64,
                });
            }
        }
    }
    let labels: Vec<f64> = examples.iter().map(|e| e.answer as f64).collect();
    let mut runs = Vec::new();
    let mut preds = Vec::new();
    for &s in seeds {
        for ft in 0..2 {
            runs.push(RunInfo {
                pretrain_seed: Some(s),
                finetune_seed: Some(ft),
                ..RunInfo::default()
            });
            for (j, &y) in labels.iter().enumerate() {
                let wrong = (j + s as usize + ft as usize + flip).is_multiple_of(4);
                preds.push(if wrong { 1.0 - y } else { y });
            }
        }
    }
    let n = labels.len();
    let data = UpstreamPredictions {
        task: "coref".into(),
        runs,
        labels,
        predictions: Matrix::from_vec(seeds.len() * 2, n, preds).unwrap(),
        scores: None,
        coref_examples: Some(examples),
        answers: None,
    };
    export_coref(dir, &data).unwrap();
}

#[test]
fn selectors_parse_and_reject_garbage() {
    let s = parse_selector("task=mnli, n_steps=2000k").unwrap();
    assert_eq!(s.get("step"), Some("2000k"));
    assert!(parse_selector("task").is_err());
    assert!(parse_selector("=x").is_err());
    assert!(parse_selector("").is_err());
    assert!(parse_selector("step=late").is_err());
    assert_eq!(parse_selector("variant=").unwrap().get("variant"), Some(""));
}

#[test]
fn paired_coref_with_a_one_sided_seed_warns_and_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("base"), tmp.path().join("cda"));
    write_coref(&a, &[0, 1, 2, 3], 0);
    write_coref(&b, &[1, 2, 3, 4], 1);
    let mut req = coref(&a);
    req.expt_layout = Some(Box::new(CorefLayout { dir: b }));
    req.options.paired = true;
    req.options.nboot = 200;
    req.options.rng = RngSpec::Numpy(42);
    let out = ok(&req);
    assert_eq!(out.samples.base_seeds, vec![1, 2, 3]);
    let text = out.text();
    assert!(text.contains("1 seeds found on base side only"), "{text}");
    assert!(text.contains("1 seeds found on expt side only"), "{text}");
    assert!(
        text.contains("Bootstrap statistics from 200 samples:"),
        "{text}"
    );
    assert!(text.contains("signature: nboot:200|level:0.95|rng:numpy|seed:42|axes:seeds+examples|design:paired|metric:accuracy"), "{text}");
    let json = out.json();
    assert_eq!(json["report"]["n_samples"], 200);
    assert_eq!(json["dropped_seeds"].as_array().unwrap().len(), 2);
}

/// `multiberts bootstrap --coref DIR` with its defaults.
fn call(dir: &Path) -> BootstrapCall {
    BootstrapCall {
        predictions: None,
        glue: None,
        squad: None,
        data: None,
        coref: Some(dir.to_path_buf()),
        coref_expt: None,
        task: None,
        base: Vec::new(),
        expt: Vec::new(),
        metric: Vec::new(),
        correct: Correction::None,
        options: BootstrapOptions {
            nboot: 100,
            ..BootstrapOptions::default()
        },
        samples: None,
    }
}

#[test]
fn a_call_runs_one_analysis_or_a_family_and_writes_the_draws_of_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("base"), tmp.path().join("cda"));
    write_coref(&a, &[0, 1, 2], 0);
    write_coref(&b, &[0, 1, 2], 1);
    let mut one = call(&a);
    one.coref_expt = Some(b.clone());
    one.samples = Some(tmp.path().join("draws.csv"));
    let single = one.run().unwrap();
    assert!(matches!(single, BootstrapOutcome::Single(_)));
    assert!(
        single
            .text()
            .starts_with("Multibootstrap (unpaired) of accuracy")
    );
    let csv = std::fs::read_to_string(tmp.path().join("draws.csv")).unwrap();
    assert_eq!(csv.lines().count(), 101, "{csv}");
    // A correction makes a family of one, whose draws can still be written.
    one.correct = Correction::Holm;
    one.samples = Some(tmp.path().join("draws.json"));
    let family = one.run().unwrap();
    assert!(matches!(family, BootstrapOutcome::Family(_)));
    assert!(
        family.text().starts_with("== analysis 1/1: "),
        "{}",
        family.text()
    );
    assert!(family.json()["analyses"].is_array());
    assert!(tmp.path().join("draws.json").is_file());
    // Two metrics are two analyses: one file cannot hold their draws.
    one.metric = vec!["accuracy".into(), "f1".into()];
    let err = one.run().unwrap_err().to_string();
    assert!(
        err.starts_with("--samples writes the draws of one analysis; this call asks for 2"),
        "{err}"
    );
    let mut none = call(&a);
    none.coref = None;
    assert!(
        none.run()
            .unwrap_err()
            .to_string()
            .starts_with("no predictions given")
    );
}

#[test]
fn selectors_split_one_folder_and_unknown_keys_fail() {
    let tmp = tempfile::tempdir().unwrap();
    write_coref(tmp.path(), &[0, 1, 2], 0);
    let mut req = coref(tmp.path());
    req.base = sel("finetune_seed=0");
    req.expt = sel("ft_seed=1");
    req.options.paired = true;
    req.options.nboot = 50;
    let out = ok(&req);
    assert_eq!((out.samples.base_runs, out.samples.expt_runs), (3, 3));
    let mut unknown = coref(tmp.path());
    unknown.base = sel("colour=red");
    let err = error_of(&unknown);
    assert!(err.contains("unknown selector key `colour`"), "{err}");
    let mut single = coref(tmp.path());
    single.options.nboot = 20;
    let single = ok(&single);
    assert!(single.samples.expt.is_none());
    assert!(!single.text().contains("E[L'"));
}

#[test]
fn bias_r_uses_occupations_as_examples() {
    let tmp = tempfile::tempdir().unwrap();
    write_coref(tmp.path(), &[0, 1], 0);
    std::fs::create_dir(tmp.path().join("stats")).unwrap();
    let stats = tmp.path().join("stats/occupations-stats.tsv");
    std::fs::write(
        &stats,
        "occupation\tbls_pct_female\nnurse\t90\nengineer\t10\n",
    )
    .unwrap();
    let mut req = coref(tmp.path());
    req.metric = Metric::BiasSlope;
    req.options.no_sample_seeds = true;
    req.options.no_sample_examples = true;
    req.options.nboot = 3;
    req.options.occupation_stats = Some(stats.clone());
    let out = ok(&req);
    assert_eq!(out.samples.n_examples, 2);
    assert!(out.samples.base.iter().all(|v| v.is_finite()));
    let mut missing = coref(tmp.path());
    missing.metric = Metric::BiasR;
    let err = error_of(&missing);
    assert!(err.contains("--occupation-stats"), "{err}");
    // An exported folder's own occupations-stats.tsv is the default.
    std::fs::copy(&stats, tmp.path().join("occupations-stats.tsv")).unwrap();
    assert_eq!(ok(&missing).samples.n_examples, 2);
}

fn prediction_rows(task: &str, steps: &[i64], seeds: &[i64], n: usize) -> Vec<PredictionRow> {
    let mut rows = Vec::new();
    for &step in steps {
        for &seed in seeds {
            for ft in 0..2i64 {
                let job = format!("{task}-{step}-{seed}-{ft}");
                for j in 0..n {
                    let label = (j % 3) as f64;
                    let wrong = (j as i64 + seed + ft + step / 1000) % 5 == 0;
                    let prediction = if wrong { (label + 1.0) % 3.0 } else { label };
                    rows.push(PredictionRow {
                        job_id: job.clone(),
                        task: task.into(),
                        variant: String::new(),
                        split: "dev".into(),
                        checkpoint: format!("seed_{seed}-step_{step}k"),
                        pretrain_seed: Some(seed),
                        step: Some(step),
                        learning_rate: 2e-5,
                        finetune_seed: ft,
                        example_index: j as i64,
                        example_id: format!("ex{j}"),
                        label,
                        prediction,
                        scores: vec![0.0; 3],
                        answer: None,
                    });
                }
            }
        }
    }
    rows
}

#[test]
fn parquet_selectors_pick_steps_and_tasks() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("preds.parquet");
    let mut rows = prediction_rows("mnli", &[1000, 2000], &[0, 1, 2], 30);
    rows.extend(prediction_rows("rte", &[2000], &[0], 10));
    multiberts_collector::write_predictions(&path, &rows).unwrap();
    let parquet = || analysis(ParquetLayout { path: path.clone() });
    let mut req = parquet();
    req.base = sel("task=mnli,step=1000k");
    req.expt = sel("step=2M");
    req.options.paired = true;
    req.options.nboot = 100;
    let out = ok(&req);
    assert_eq!((out.samples.base_runs, out.samples.expt_runs), (6, 6));
    assert_eq!(out.samples.n_examples, 30);
    assert_eq!(out.samples.base_seeds, vec![0, 1, 2]);
    // Two tasks in the file and none chosen.
    let mut none = parquet();
    none.base = sel("step=1000k");
    let err = error_of(&none);
    assert!(err.contains("several tasks (mnli, rte)"), "{err}");
    let mnli = || {
        let mut a = parquet();
        a.task = sel("mnli");
        a
    };
    let mut epoch = mnli();
    epoch.base = sel("epoch=3");
    let err = error_of(&epoch);
    assert!(err.contains("unknown selector key `epoch`"), "{err}");
    let mut both = mnli();
    both.expt = sel("seed=1");
    both.base = sel("ft_seed=0");
    let err = error_of(&both);
    assert!(
        err.contains("matches both the base and the experiment"),
        "{err}"
    );
}

/// The one seed rule: a run without a pre-training seed is bootstrapped with a stand-in seed
/// per checkpoint, here as in the manifest's analyses.
#[test]
fn parquet_runs_without_a_seed_get_one_stand_in_per_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("preds.parquet");
    let mut rows = prediction_rows("mnli", &[2000], &[0, 1], 12);
    for r in &mut rows {
        r.pretrain_seed = None;
    }
    multiberts_collector::write_predictions(&path, &rows).unwrap();
    let mut req = analysis(ParquetLayout { path });
    req.options.nboot = 20;
    let out = ok(&req);
    // Two local checkpoints, two fine-tuning runs each.
    assert_eq!(out.samples.base_runs, 4);
    assert_eq!(out.samples.base_seeds, vec![1_000_000_000, 1_000_000_001]);
}

#[test]
fn glue_layout_with_release_and_step_selectors() {
    let tmp = tempfile::tempdir().unwrap();
    let n = 20;
    let labels: Vec<f64> = (0..n).map(|j| (j % 3) as f64).collect();
    let (mut runs, mut preds, mut scores) = (Vec::new(), Vec::new(), Vec::new());
    for step in ["1M", "2M"] {
        for seed in 0..3i64 {
            for ft in 0..2i64 {
                let mut keys = BTreeMap::new();
                keys.insert("release".to_string(), "multiberts".to_string());
                runs.push(RunInfo {
                    pretrain_seed: Some(seed),
                    finetune_seed: Some(ft),
                    learning_rate: Some(2e-5),
                    step: Some(step.to_string()),
                    keys,
                });
                for (j, &y) in labels.iter().enumerate() {
                    let wrong = (j as u64 + (seed + ft) as u64).is_multiple_of(if step == "1M" {
                        4
                    } else {
                        7
                    });
                    let p = if wrong { (y + 1.0) % 3.0 } else { y };
                    preds.push(p);
                    scores.extend((0..3).map(|c| if c as f64 == p { 1.0f32 } else { 0.0 }));
                }
            }
        }
    }
    let data = UpstreamPredictions {
        task: "MNLI".into(),
        runs,
        labels,
        predictions: Matrix::from_vec(12, n, preds).unwrap(),
        scores: Some(
            multiberts_collector::upstream::ClassScores::from_vec(12, n, 3, scores).unwrap(),
        ),
        coref_examples: None,
        answers: None,
    };
    multiberts_collector::upstream::export_glue(tmp.path(), &data).unwrap();
    let glue = |task: &str| {
        let mut a = analysis(GlueLayout {
            root: tmp.path().to_path_buf(),
        });
        a.task = sel(task);
        a
    };
    let mut req = glue("MNLI");
    req.base = sel("release=multiberts,n_steps=1M");
    req.expt = sel("n_steps=2000k");
    req.options.paired = true;
    req.options.nboot = 300;
    let out = ok(&req);
    assert_eq!((out.samples.base_runs, out.samples.expt_runs), (6, 6));
    let d = out.report.delta.unwrap();
    assert!(d.mean > 0.0, "2M makes fewer errors in this fixture: {d:?}");
    assert!(run_stored(&glue("RTE")).is_err());
}

#[test]
fn malformed_layouts_give_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    write_coref(tmp.path(), &[0, 1], 0);
    // Ragged preds.tsv: drop the last value of the second row.
    let preds = tmp.path().join("preds.tsv");
    let text = std::fs::read_to_string(&preds).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let cut = lines[1].rfind(char::is_whitespace).unwrap();
    lines[1].truncate(cut);
    std::fs::write(&preds, lines.join("\n") + "\n").unwrap();
    let err = error_of(&coref(tmp.path()));
    assert!(err.contains("preds.tsv"), "{err}");
    // One run fewer in preds.tsv than in run_info.tsv.
    std::fs::write(
        &preds,
        text.lines().take(3).collect::<Vec<_>>().join("\n") + "\n",
    )
    .unwrap();
    let err = error_of(&coref(tmp.path()));
    assert!(err.contains("run_info.tsv lists 4 runs"), "{err}");
    // Sides on different examples.
    let other = tmp.path().join("other");
    write_coref(&other, &[0], 0);
    std::fs::write(&preds, text).unwrap();
    let lab = other.join("label_info.tsv");
    let l = std::fs::read_to_string(&lab).unwrap();
    let kept: Vec<&str> = l.lines().take(6).collect();
    std::fs::write(&lab, kept.join("\n") + "\n").unwrap();
    let p = other.join("preds.tsv");
    let pt: String = std::fs::read_to_string(&p)
        .unwrap()
        .lines()
        .map(|row| row.split_whitespace().take(5).collect::<Vec<_>>().join(" ") + "\n")
        .collect();
    std::fs::write(&p, pt).unwrap();
    let mut two = coref(tmp.path());
    two.expt_layout = Some(Box::new(CorefLayout { dir: other }));
    let err = error_of(&two);
    assert!(err.contains("same examples"), "{err}");
}
