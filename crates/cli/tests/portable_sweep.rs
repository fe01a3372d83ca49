//! A demo-shaped sweep through the GPU's op path on the CPU (`MULTIBERTS_KERNELS=portable`):
//! generated checkpoints, a classification task and the coreference task with and without
//! CDA, an analysis and the report. Every job must record the path it ran, and its
//! predictions must agree with the default CPU kernels' (the same maths, rounded differently).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{
    COREF_TASKS, cda_analysis, find_files, multiberts, multiberts_with_env, text, tiny_manifest,
    write_manifest,
};

/// The demo's shape, shrunk: 2 checkpoints x (sentiment, coref, coref + CDA) x 1 rate x 1 seed.
fn manifest() -> String {
    let defaults = "batch_size = 16\neval_batch_size = 64\nepochs = 2\nfinetune_seeds = [0]\n\
                    max_train_examples = 192\n";
    let rest = "[[tasks]]\nname = \"demo-sentiment\"\n\n".to_string()
        + COREF_TASKS
        + &cda_analysis("coref-cda-accuracy", "paired", "accuracy", "nboot = 200\n");
    tiny_manifest("portable", "[0, 1]", defaults, &rest)
}

/// Every job's predictions under `root`, by job id: (example index, prediction).
fn predictions(root: &Path) -> BTreeMap<String, Vec<(i64, f64)>> {
    find_files(root, "predictions.parquet")
        .into_iter()
        .filter(|p| !p.components().any(|c| c.as_os_str() == "predictions"))
        .map(|p| {
            let rows = multiberts_collector::read_predictions(&p).unwrap();
            let id = rows[0].job_id.clone();
            (
                id,
                rows.iter()
                    .map(|r| (r.example_index, r.prediction))
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn a_demo_shaped_sweep_runs_through_the_portable_path() {
    let dir = tempfile::tempdir().unwrap();
    write_manifest(dir.path(), &manifest());
    let portable = multiberts_with_env(
        dir.path(),
        &[
            "sweep",
            "m.toml",
            "--results-dir",
            "portable",
            "--jobs",
            "2",
        ],
        &[("MULTIBERTS_KERNELS", "portable")],
    );
    assert!(portable.status.success(), "{}", text(&portable));
    assert!(
        dir.path()
            .join("portable/portable/report/summary.md")
            .is_file(),
        "{}",
        text(&portable)
    );
    assert!(
        dir.path()
            .join("portable/portable/report/coref-cda-accuracy.json")
            .is_file()
    );
    let records = find_files(&dir.path().join("portable"), "job.json");
    assert_eq!(records.len(), 6);
    for r in &records {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(r).unwrap()).unwrap();
        assert_eq!(v["provenance"]["kernels"], "portable", "{}", r.display());
    }

    let default = multiberts(
        dir.path(),
        &["sweep", "m.toml", "--results-dir", "default", "--jobs", "2"],
    );
    assert!(default.status.success(), "{}", text(&default));
    let (a, b) = (
        predictions(&dir.path().join("portable")),
        predictions(&dir.path().join("default")),
    );
    assert_eq!(a.len(), 6);
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (id, rows) in &a {
        let other = &b[id];
        assert_eq!(rows.len(), other.len(), "{id}");
        let same = rows.iter().zip(other).filter(|(x, y)| x == y).count();
        assert!(
            same as f64 >= 0.95 * rows.len() as f64,
            "job {id}: only {same} of {} predictions agree between the two paths",
            rows.len()
        );
    }
}
