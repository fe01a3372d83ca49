//! The coreference path as a user runs it, offline: a sweep fine-tunes generated tiny BERTs on
//! the generated Winogender-like `demo-coref` task with and without CDA, `collect` exports the
//! upstream coref layout and runs the declared paired, unpaired, seeds-only and examples-only
//! analyses, and `bootstrap --coref` on the exported layout reproduces the same numbers.

mod common;

use std::path::Path;

use common::{multiberts, text};

const MANIFEST: &str = r#"name = "coref"

[defaults]
max_seq_len = 32
batch_size = 16
eval_batch_size = 64
epochs = 3
learning_rates = [1e-3]
finetune_seeds = [0]
max_train_examples = 160

[[checkpoints]]
init = { config = "tiny" }
seeds = "0..=2"

[[tasks]]
name = "demo-coref"

[[tasks]]
name = "demo-coref"
variant = "cda"
augment = "cda"

[[analyses]]
name = "cda-accuracy"
kind = "paired"
task = "demo-coref"
metric = "accuracy"
base = "variant="
experiment = "variant=cda"
nboot = 200

[[analyses]]
name = "cda-bias"
kind = "paired"
task = "demo-coref"
metric = "bias_slope"
base = "variant="
experiment = "variant=cda"
nboot = 200
expect_negative_effect = true

[[analyses]]
name = "cda-bias-unpaired-seeds-only"
kind = "unpaired"
task = "demo-coref"
metric = "bias_r"
base = "variant="
experiment = "variant=cda"
nboot = 200
sample_examples = false
expect_negative_effect = true
"#;

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Equal to rounding, or both undefined (NaN is written as null).
fn close(a: &serde_json::Value, b: &serde_json::Value, what: &str) {
    match (a.as_f64(), b.as_f64()) {
        (Some(a), Some(b)) => assert!((a - b).abs() < 1e-12, "{what}: {a} vs {b}"),
        _ => assert!(a.is_null() && b.is_null(), "{what}: {a} vs {b}"),
    }
}

#[test]
fn sweep_exports_the_coref_layout_and_bootstrap_reproduces_the_analyses() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.toml"), MANIFEST).unwrap();
    let out = multiberts(dir.path(), &["sweep", "m.toml", "--jobs", "2"]);
    assert!(out.status.success(), "{}", text(&out));

    let root = dir.path().join("results/coref");
    let coref = root.join("upstream/coref/demo-coref");
    for f in [
        "run_info.tsv",
        "label_info.tsv",
        "preds.tsv",
        "occupations-stats.tsv",
    ] {
        assert!(coref.join(f).is_file(), "{f} missing");
    }
    let labels = std::fs::read_to_string(coref.join("label_info.tsv")).unwrap();
    assert_eq!(labels.lines().count(), 1 + 144, "one row per sentence");
    assert!(labels.starts_with(
        "\tgender\tpronoun_type\tanswer\toccupation\tother_participant\tsomeone\ttemplate_idx\n"
    ));
    let runs = std::fs::read_to_string(coref.join("run_info.tsv")).unwrap();
    assert_eq!(runs.lines().count(), 1 + 6);

    let summary = std::fs::read_to_string(root.join("report/summary.md")).unwrap();
    assert!(summary.contains("| demo-coref | accuracy |"), "{summary}");
    assert!(
        summary.contains("| demo-coref[cda] | bias_r |"),
        "{summary}"
    );
    assert!(
        summary.contains("| demo-coref[cda] | bias_slope |"),
        "{summary}"
    );
    assert!(
        summary.contains("| cda-bias | Paired | demo-coref | bias_slope |"),
        "{summary}"
    );

    // The same analyses from the exported layout alone.
    let c = coref.to_str().unwrap();
    let cases: [(&str, &[&str]); 3] = [
        ("cda-accuracy", &["--metric", "accuracy", "--paired"]),
        (
            "cda-bias",
            &[
                "--metric",
                "bias_slope",
                "--paired",
                "--expect-negative-effect",
            ],
        ),
        (
            "cda-bias-unpaired-seeds-only",
            &[
                "--metric",
                "bias_r",
                "--unpaired",
                "--no-sample-examples",
                "--expect-negative-effect",
            ],
        ),
    ];
    for (name, extra) in cases {
        let mut args = vec![
            "bootstrap",
            "--coref",
            c,
            "--base",
            "variant=",
            "--expt",
            "variant=cda",
            "--nboot",
            "200",
            "--rng",
            "chacha8:0",
            "--json",
        ];
        args.extend_from_slice(extra);
        let out = multiberts(dir.path(), &args);
        assert!(out.status.success(), "{name}: {}", text(&out));
        let ours: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let report = json(&root.join(format!("report/{name}.json")));
        for part in ["base", "expt", "delta"] {
            for k in ["mean", "low", "high"] {
                close(
                    &ours["report"][part][k],
                    &report[part][k],
                    &format!("{name} {part}.{k}"),
                );
            }
        }
        close(&ours["report"]["delta"]["p"], &report["delta"]["p"], name);
        if name != "cda-bias-unpaired-seeds-only" {
            // Accuracy and the slope are defined on every draw here.
            assert!(ours["report"]["delta"]["mean"].is_f64(), "{name}: {ours}");
        }
        let n = ours["n_examples"].as_u64().unwrap();
        assert_eq!(n, if name == "cda-accuracy" { 144 } else { 12 }, "{name}");
    }
}
