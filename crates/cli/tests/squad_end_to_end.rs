//! SQuAD 2.0 through the binary, as a user runs it: a sweep of tiny random-init BERTs on the
//! real SQuAD samples (../shared/data/squad), one row per dev question with the official
//! scores, the upstream SQuAD layout that `collect` exports, and `bootstrap --squad` on that
//! layout reproducing the manifest's analysis number for number.

mod common;

use std::path::{Path, PathBuf};

use common::{multiberts, ok};

fn shared_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .canonicalize()
        .expect("../shared/data beside the checkout")
}

fn refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// 2 tiny random inits × 2 fine-tuning seeds on the first 300 training questions; the analysis
/// compares the two pre-training seeds on F1 (unpaired: each side's seeds drawn on its own).
fn manifest(data: &Path) -> String {
    format!(
        r#"name = "squad"
data_dir = "{}"
[defaults]
max_seq_len = 64
batch_size = 32
eval_batch_size = 128
epochs = 1
learning_rates = [1e-3]
finetune_seeds = "0..=1"
max_train_examples = 300

[[checkpoints]]
init = {{ config = "tiny" }}
seeds = "0..=1"

[[tasks]]
name = "squad2"

[[analyses]]
name = "seeds"
kind = "unpaired"
task = "squad2"
metric = "f1"
base = "pretrain_seed=0"
experiment = "pretrain_seed=1"
nboot = 400
rng = "numpy:7"
"#,
        data.display()
    )
}

#[test]
fn a_squad_sweep_exports_the_upstream_layout_and_bootstrap_reproduces_its_analysis() {
    let data = shared_data();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("m.toml"), manifest(&data)).unwrap();
    let out = ok(multiberts(dir, &["sweep", "m.toml", "--jobs", "2"]));
    assert!(out.contains("4 jobs finished"), "{out}");
    assert!(out.contains("upstream SQuAD layout"), "{out}");
    let results = dir.join("results/squad");

    // The consolidated table: 4 runs × 706 questions with answers and official scores.
    let rows = multiberts_collector::read_predictions(&results.join("predictions/squad2.parquet"))
        .unwrap();
    assert_eq!(rows.len(), 4 * 706);
    assert!(rows.iter().all(|r| r.answer.is_some()));

    // The summary reports exact match (the task's primary metric) as a fraction.
    let summary = std::fs::read_to_string(results.join("report/summary.md")).unwrap();
    assert!(
        summary.contains("| squad2 | exact | 1e-3 | 4 | 2 |"),
        "{summary}"
    );

    // The layout: index.tsv with task v2.0, one JSON object of 706 answers per run.
    let layout = results.join("upstream/squad");
    let index = std::fs::read_to_string(layout.join("index.tsv")).unwrap();
    assert_eq!(index.lines().count(), 5, "{index}");
    let first = index.lines().nth(1).unwrap().split('\t').next().unwrap();
    assert!(
        first.starts_with("v2.0/release=multiberts,pretrain_id=0,"),
        "{first}"
    );
    let answers: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(layout.join(first)).unwrap()).unwrap();
    assert_eq!(answers.len(), 706);

    // bootstrap --squad on the export, scored against the dev file, = collect's analysis.
    let dev = data.join("squad/dev-v2.0.sample.json");
    let squad_args = |metric: &'static str| -> Vec<String> {
        let layout = layout.to_string_lossy().into_owned();
        let dev = dev.to_string_lossy().into_owned();
        [
            "bootstrap",
            "--squad",
            &layout,
            "--data",
            &dev,
            "--metric",
            metric,
        ]
        .map(String::from)
        .to_vec()
    };
    let mut args = squad_args("f1");
    args.extend(
        [
            "--unpaired",
            "--base",
            "pretrain_id=0",
            "--expt",
            "pretrain_id=1",
            "--nboot",
            "400",
            "--rng",
            "numpy:7",
            "--json",
        ]
        .map(String::from),
    );
    let json = ok(multiberts(dir, &refs(&args)));
    let ours: serde_json::Value = serde_json::from_str(&json).unwrap();
    let analysis: serde_json::Value =
        serde_json::from_slice(&std::fs::read(results.join("report/seeds.json")).unwrap()).unwrap();
    for side in ["base", "expt", "delta"] {
        assert_eq!(ours["report"][side], analysis[side], "{side}: {json}");
    }
    assert_eq!(ours["n_examples"], 706);

    // A metric a SQuAD layout does not have is refused with the two it has.
    let out = multiberts(dir, &refs(&squad_args("accuracy")));
    common::assert_fails_with(&out, "`exact` or `f1`");
}
