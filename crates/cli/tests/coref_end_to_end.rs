//! The coreference path as a user runs it, offline: a sweep fine-tunes generated tiny BERTs on
//! the generated Winogender-like `demo-coref` task with and without CDA, `collect` exports the
//! upstream coref layout and runs the declared paired, unpaired, seeds-only and examples-only
//! analyses, and `bootstrap --coref` on the exported layout reproduces the same numbers.

mod common;

use std::path::Path;

use common::{COREF_TASKS, cda_analysis, multiberts, text, tiny_manifest, write_manifest};

fn manifest() -> String {
    let analyses = [
        cda_analysis("cda-accuracy", "paired", "accuracy", "nboot = 200\n"),
        cda_analysis(
            "cda-bias",
            "paired",
            "bias_slope",
            "nboot = 200\nexpect_negative_effect = true\n",
        ),
        cda_analysis(
            "cda-bias-unpaired-seeds-only",
            "unpaired",
            "bias_r",
            "nboot = 200\nsample_examples = false\nexpect_negative_effect = true\n",
        ),
    ];
    let defaults = "batch_size = 16\neval_batch_size = 64\nepochs = 3\nfinetune_seeds = [0]\n\
                    max_train_examples = 160\n";
    tiny_manifest(
        "coref",
        "\"0..=2\"",
        defaults,
        &(COREF_TASKS.to_string() + &analyses.concat()),
    )
}

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
    write_manifest(dir.path(), &manifest());
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
