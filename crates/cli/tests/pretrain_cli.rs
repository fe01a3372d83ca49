//! `multiberts pretrain` as a user runs it: a tiny BERT pre-trained on a few documents of real
//! text, its checkpoints listed and fine-tunable through a manifest's local `path`, a second
//! call that finds the run done, and clear errors for a bad corpus and bad settings.

mod common;

use std::path::{Path, PathBuf};

use common::{assert_fails_with, multiberts, ok, tiny_manifest, write_manifest};

fn vocab() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/bert-tiny/vocab.txt")
}

/// MRPC sentences, ten per document.
fn corpus(dir: &Path) -> PathBuf {
    let tsv =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/glue/MRPC/train.tsv");
    let text = std::fs::read_to_string(tsv).unwrap();
    let mut out = String::new();
    for (i, line) in text.lines().skip(1).take(100).enumerate() {
        let cols: Vec<&str> = line.split('\t').collect();
        out += &format!("{}\n{}\n", cols[3], cols[4]);
        if i % 5 == 4 {
            out.push('\n');
        }
    }
    let path = dir.join("corpus.txt");
    std::fs::write(&path, out).unwrap();
    path
}

#[test]
fn pretrain_saves_checkpoints_that_a_sweep_fine_tunes() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = corpus(tmp.path());
    let vocab = vocab();
    let args = [
        "pretrain",
        "--out",
        "runs/tiny-seed_1",
        "--corpus",
        corpus.to_str().unwrap(),
        "--vocab",
        vocab.to_str().unwrap(),
        "--config",
        "tiny",
        "--max-seq-len",
        "64",
        "--seed",
        "1",
        "--steps",
        "6",
        "--save-steps",
        "0,3",
        "--batch-size",
        "4",
        "--learning-rate",
        "5e-3",
    ];
    let text = ok(multiberts(tmp.path(), &args));
    assert!(
        text.contains("pre-trained 6 steps: masked-LM loss"),
        "{text}"
    );
    for step in [0, 3, 6] {
        assert!(
            text.contains(&format!("step {step}: runs/tiny-seed_1/step_{step}")),
            "{text}"
        );
    }
    let again = ok(multiberts(tmp.path(), &args));
    assert!(
        again.contains("runs/tiny-seed_1 is already done"),
        "{again}"
    );

    // The last checkpoint is a local checkpoint like any other.
    let step = tmp.path().join("runs/tiny-seed_1/step_6");
    let task = "[[tasks]]\nname = \"demo-sentiment\"\n";
    let manifest = tiny_manifest("ft", "[0]", "epochs = 1\nfinetune_seeds = [0]", task).replace(
        "init = { config = \"tiny\" }",
        &format!("path = {:?}", step.to_str().unwrap()),
    );
    assert!(
        manifest.contains("path ="),
        "the helper's checkpoint line changed: {manifest}"
    );
    write_manifest(tmp.path(), &manifest);
    let swept = ok(multiberts(tmp.path(), &["sweep", "m.toml", "--no-collect"]));
    assert!(swept.contains("1 jobs finished"), "{swept}");
}

#[test]
fn bad_corpus_and_settings_are_refused_with_the_file_or_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let vocab = vocab();
    let empty = tmp.path().join("empty.txt");
    std::fs::write(&empty, "\n\n").unwrap();
    let base = |corpus: &str, extra: &[&str]| {
        let mut args = vec![
            "pretrain",
            "--out",
            "run",
            "--corpus",
            corpus,
            "--vocab",
            vocab.to_str().unwrap(),
            "--config",
            "tiny",
        ];
        args.extend_from_slice(extra);
        for (flag, default) in [("--steps", "4"), ("--max-seq-len", "64")] {
            if !extra.contains(&flag) {
                args.extend_from_slice(&[flag, default]);
            }
        }
        multiberts(tmp.path(), &args)
    };
    assert_fails_with(
        &base(empty.to_str().unwrap(), &[]),
        "empty.txt: holds no text",
    );
    assert_fails_with(&base("missing.txt", &[]), "missing.txt: cannot read");
    let corpus = corpus(tmp.path());
    let corpus = corpus.to_str().unwrap();
    assert_fails_with(
        &base(corpus, &["--save-steps", "9"]),
        "save step 9 is after the last step (4)",
    );
    assert_fails_with(&base(corpus, &["--steps", "0"]), "0 is too small");
    assert_fails_with(
        &base(corpus, &["--max-seq-len", "512"]),
        "max_seq_len = 512 must be between",
    );
}
