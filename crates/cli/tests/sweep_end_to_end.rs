//! A small sweep as a user runs it: `sweep` fine-tunes every job and writes the report, a second
//! `sweep` has nothing to do, `status` counts the jobs, and the predictions are deterministic;
//! a job that fails has its reason printed in the sweep's summary.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{find_files, multiberts, text, tiny_manifest, write_manifest};

/// Two generated tiny checkpoints x one generated task x one rate x two fine-tuning seeds.
fn manifest() -> String {
    let defaults = "batch_size = 32\nepochs = 1\nfinetune_seeds = [0, 1]\n";
    let task = "[[tasks]]\nname = \"demo-sentiment\"\nmax_train_examples = 256\n";
    tiny_manifest("tiny-sweep", "[0, 1]", defaults, task)
}

/// `predictions.parquet` of every job under `dir`: path relative to `dir`, bytes.
fn parquet_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    find_files(dir, "predictions.parquet")
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap();
            (path.strip_prefix(dir).unwrap().to_path_buf(), bytes)
        })
        .collect()
}

#[test]
fn sweep_runs_every_job_then_has_nothing_to_do() {
    let dir = tempfile::tempdir().unwrap();
    write_manifest(dir.path(), &manifest());

    let out = multiberts(dir.path(), &["sweep", "m.toml", "--jobs", "2"]);
    assert!(out.status.success(), "{}", text(&out));
    let report = dir.path().join("results/tiny-sweep/report/summary.md");
    assert!(text(&out).contains("summary.md"), "{}", text(&out));
    let summary = std::fs::read_to_string(&report).unwrap();
    assert!(
        summary.contains("| demo-sentiment | accuracy |"),
        "{summary}"
    );
    let first = parquet_files(&dir.path().join("results/tiny-sweep/demo-sentiment"));
    assert_eq!(first.len(), 4, "one predictions file per job");
    assert!(
        dir.path()
            .join("results/tiny-sweep/predictions/demo-sentiment.parquet")
            .is_file()
    );

    // The upstream GLUE export reads back through `bootstrap --glue` with the same numbers as
    // our own predictions table.
    let glue = dir.path().join("results/tiny-sweep/upstream/glue");
    assert!(glue.join("index.tsv").is_file(), "no upstream export");
    let from_glue = multiberts(
        dir.path(),
        &[
            "bootstrap",
            "--glue",
            glue.to_str().unwrap(),
            "--task",
            "demo-sentiment",
        ],
    );
    assert!(from_glue.status.success(), "{}", text(&from_glue));
    let table = dir
        .path()
        .join("results/tiny-sweep/predictions/demo-sentiment.parquet");
    let from_parquet = multiberts(
        dir.path(),
        &["bootstrap", "--predictions", table.to_str().unwrap()],
    );
    assert!(from_parquet.status.success(), "{}", text(&from_parquet));
    let estimate = |out: &Output| -> String {
        text(out)
            .lines()
            .find(|l| l.contains("E[L]"))
            .unwrap_or_else(|| panic!("no estimate in {}", text(out)))
            .to_string()
    };
    assert_eq!(estimate(&from_glue), estimate(&from_parquet));

    let again = multiberts(dir.path(), &["sweep", "m.toml"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("nothing to do"), "{}", text(&again));

    let status = multiberts(dir.path(), &["status", "m.toml"]);
    assert!(status.status.success(), "{}", text(&status));
    assert!(text(&status).contains("4"), "{}", text(&status));

    // Same manifest, fresh results directory, two threads per job instead of one:
    // bit-identical predictions.
    std::fs::rename(dir.path().join("results"), dir.path().join("first")).unwrap();
    let out = multiberts(
        dir.path(),
        &[
            "sweep",
            "m.toml",
            "--jobs",
            "1",
            "--threads-per-job",
            "2",
            "--no-collect",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let second = parquet_files(&dir.path().join("results/tiny-sweep/demo-sentiment"));
    assert_eq!(
        first, second,
        "predictions differ between sweeps with 1 and 2 threads per job"
    );
}

#[test]
fn a_failed_job_has_its_reason_in_the_sweep_summary() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("ckpt");
    std::fs::create_dir(&ckpt).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/bert-tiny");
    std::fs::copy(fixture.join("config.json"), ckpt.join("config.json")).unwrap();
    std::fs::write(
        ckpt.join("vocab.txt"),
        "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n",
    )
    .unwrap();
    std::fs::write(ckpt.join("model.safetensors"), b"not a checkpoint at all").unwrap();
    let plain = manifest();
    let manifest = plain.replace(
        "init = { config = \"tiny\" }\nseeds = [0, 1]",
        "path = \"ckpt\"\nid = \"broken\"",
    );
    assert_ne!(manifest, plain);
    std::fs::write(dir.path().join("m.toml"), manifest).unwrap();

    // A retry could not fix a broken weights file: with one retry allowed (the default), each
    // job is still tried once.
    let out = multiberts(dir.path(), &["sweep", "m.toml", "--keep-going"]);
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Both jobs, each with the file and what was wrong with it, under its `failed:` line.
    assert_eq!(stdout.matches("  failed: ").count(), 2, "{said}");
    assert_eq!(
        stdout
            .matches("(exit status 65: not retried, retrying cannot fix it, 1 attempt); log: ")
            .count(),
        2,
        "{said}"
    );
    let reasons: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("      error: job "))
        .collect();
    assert_eq!(reasons.len(), 2, "{said}");
    for reason in reasons {
        assert!(
            reason.contains("ckpt/model.safetensors: not a checkpoint"),
            "{reason}"
        );
    }
}
