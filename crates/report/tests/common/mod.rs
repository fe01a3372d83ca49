//! Hand-built consolidated tables (and the `sst2` one most tests use), written as
//! `multiberts collect` would, shared by the report's integration tests.

// Each test binary uses its own part of these helpers.
#![allow(dead_code)]

use std::path::Path;

use multiberts_collector::consolidate::{selection_path, table_path};
use multiberts_collector::{Consolidation, LrGroup, LrRule, PredictionRow, ResultsTree};
use multiberts_manifest::Manifest;

/// Examples per run.
const EXAMPLES: usize = 10;

/// One run on 10 examples of which the first `correct` are predicted right.
fn run(variant: &str, lr: f64, seed: i64, ft: i64, correct: usize) -> Vec<PredictionRow> {
    (0..EXAMPLES)
        .map(|j| {
            let label = (j % 2) as f64;
            PredictionRow {
                job_id: format!("{variant}-{lr}-{seed}-{ft}"),
                task: "sst2".into(),
                variant: variant.into(),
                split: "validation".into(),
                checkpoint: format!("seed_{seed}"),
                pretrain_seed: Some(seed),
                step: Some(2000),
                learning_rate: lr,
                finetune_seed: ft,
                example_index: j as i64,
                example_id: format!("ex{j}"),
                label,
                prediction: if j < correct { label } else { 1.0 - label },
                scores: vec![0.0, 0.0],
                answer: None,
            }
        })
        .collect()
}

/// Writes `predictions/sst2.parquet` and its selection record as `multiberts collect` would:
/// four runs at 2e-5 (accuracies 0.9, 0.8, 0.7, 0.6 over two seeds), two at 3e-5 (1.0, 0.6) and
/// one of `variant` at 2e-5 (1.0).
pub fn write_table(tree: &ResultsTree, variant: &str) {
    let runs = [
        ("", 2e-5, 0, 0, 9),
        ("", 2e-5, 0, 1, 8),
        ("", 2e-5, 1, 0, 7),
        ("", 2e-5, 1, 1, 6),
        ("", 3e-5, 0, 0, 10),
        ("", 3e-5, 1, 0, 6),
        (variant, 2e-5, 0, 0, 10),
    ];
    let rows: Vec<PredictionRow> = runs
        .iter()
        .flat_map(|&(v, lr, s, ft, c)| run(v, lr, s, ft, c))
        .collect();
    write_consolidated(tree, "sst2", "accuracy", &rows, runs.len());
}

/// Writes `rows` (of `jobs` runs) as `predictions/<task>.parquet` and its selection record with
/// primary metric `metric`, as `multiberts collect` would keeping every run.
pub fn write_consolidated(
    tree: &ResultsTree,
    task: &str,
    metric: &str,
    rows: &[PredictionRow],
    jobs: usize,
) {
    std::fs::create_dir_all(tree.predictions_dir()).unwrap();
    multiberts_collector::write_predictions(&table_path(tree, task), rows).unwrap();
    let c = Consolidation {
        task: task.into(),
        rule: LrRule::KeepAll,
        group_by: LrGroup::Step,
        rule_description: "keep all".into(),
        primary_metric: metric.into(),
        table: format!("predictions/{task}.parquet"),
        table_sha256: None,
        jobs_done: jobs,
        jobs_not_done: Vec::new(),
        jobs_kept: jobs,
        rows: rows.len(),
        groups: Vec::new(),
    };
    multiberts_collector::atomic::write_json(&selection_path(tree, task), &c).unwrap();
}

/// The manifest `text` (as `m.toml`) and results tree `t` under `dir`.
pub fn setup(dir: &Path, text: &str) -> (Manifest, ResultsTree) {
    let manifest = Manifest::from_toml(Path::new("m.toml"), text).unwrap();
    let tree = ResultsTree::new(dir, "t").unwrap();
    (manifest, tree)
}

/// Equal up to rounding.
pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

/// The `[defaults]`, two hub seeds and the `sst2` task behind the table [`write_table`] writes:
/// every report test's manifest between its name and its analyses.
pub const SST2_SWEEP: &str = "[defaults]\nlearning_rates = [2e-5, 3e-5]\nfinetune_seeds = \"0..=1\"\n\n\
    [[checkpoints]]\nhub = \"google/multiberts-seed_{seed}\"\nseeds = \"0..=1\"\n\n\
    [[tasks]]\nname = \"sst2\"\n";

/// A paired `[[analyses]]` table named `name` comparing the two learning rates of
/// [`write_table`] on the same seeds, with `extra` lines (draws, axes, …).
pub fn lr_analysis(name: &str, extra: &str) -> String {
    format!(
        "\n[[analyses]]\nname = {name:?}\nkind = \"paired\"\ntask = \"sst2\"\n\
         base = \"lr=2e-5,variant=\"\nexperiment = \"lr=3e-5,variant=\"\n{extra}\n"
    )
}

/// A test manifest: `head` (its name and description), [`SST2_SWEEP`], then `analyses`.
pub fn sst2_manifest(head: &str, analyses: &str) -> String {
    format!("{head}\n\n{SST2_SWEEP}{analyses}")
}
