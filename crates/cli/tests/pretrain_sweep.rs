//! A pre-training run declared in the manifest (`pretrain = { ... }`) and fine-tuned by the
//! same sweep: the pre-training jobs run as jobs of the sweep, every fine-tuning job starts
//! only after its step was saved, a second sweep does nothing, `plan` and `status` show both
//! kinds, and a failed pre-training job keeps its fine-tuning jobs from starting.

mod common;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use common::{multiberts, ok, text, write_manifest};

fn vocab() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/bert-tiny/vocab.txt")
}

/// MRPC sentences, ten per document, as `dir/corpus.txt`.
fn corpus(dir: &Path) {
    let tsv =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/glue/MRPC/train.tsv");
    let text = std::fs::read_to_string(tsv).unwrap();
    let mut out = String::new();
    for (i, line) in text.lines().skip(1).take(60).enumerate() {
        let cols: Vec<&str> = line.split('\t').collect();
        out += &format!("{}\n{}\n", cols[3], cols[4]);
        if i % 5 == 4 {
            out.push('\n');
        }
    }
    std::fs::write(dir.join("corpus.txt"), out).unwrap();
}

/// Two pre-training seeds of a tiny BERT (6 steps, saving 0, 3 and 6), steps 3 and 6
/// fine-tuned on the generated sentiment task: 2 pre-training and 4 fine-tuning jobs.
fn manifest(corpus: &str) -> String {
    format!(
        r#"name = "pt"

[defaults]
max_seq_len = 32
learning_rates = [1e-3]
epochs = 1
finetune_seeds = [0]

[[checkpoints]]
id = "tiny-seed_{{seed}}-step_{{step}}"
pretrain = {{ config = "tiny", corpus = ["{corpus}"], vocab = {vocab:?}, steps = 6, save_steps = [0, 3], batch_size = 4, max_seq_len = 32, learning_rate = 5e-3 }}
seeds = [0, 1]
steps = [3, 6]

[[tasks]]
name = "demo-sentiment"
"#,
        vocab = vocab().to_str().unwrap()
    )
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn mtime(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

#[test]
fn a_sweep_pretrains_then_fine_tunes_each_saved_step() {
    let tmp = tempfile::tempdir().unwrap();
    corpus(tmp.path());
    write_manifest(tmp.path(), &manifest("corpus.txt"));

    let plan = ok(multiberts(tmp.path(), &["plan", "m.toml"]));
    assert!(plan.contains("2 pre-training jobs"), "{plan}");
    assert!(plan.contains("4 fine-tuning jobs"), "{plan}");

    let swept = ok(multiberts(tmp.path(), &["sweep", "m.toml", "--jobs", "2"]));
    assert!(swept.contains("6 jobs finished"), "{swept}");

    let root = tmp.path().join("results/pt");
    let runs: Vec<PathBuf> = common::find_files(&root.join("pretrain"), "DONE");
    assert_eq!(runs.len(), 2, "{runs:?}");
    for done in &runs {
        let run = done.parent().unwrap();
        for step in [0, 3, 6] {
            assert!(run.join(format!("step_{step}/model.safetensors")).is_file());
        }
        assert!(!run.join("state").exists(), "the resume state is removed");
        assert_eq!(read_json(&run.join("job.json"))["job"]["kind"], "pretrain");
    }

    // Each fine-tuning job read its run's step folder, and started after it was saved: its
    // start (DONE's time less its wall time) is not before the folder's last write.
    let finetuned: Vec<PathBuf> = common::find_files(&root.join("demo-sentiment"), "DONE");
    assert_eq!(finetuned.len(), 4);
    for done in &finetuned {
        let job = read_json(&done.with_file_name("job.json"));
        let step_dir = PathBuf::from(job["spec"]["pretrained"]["dir"].as_str().unwrap());
        let step = job["spec"]["pretrained"]["step"].as_u64().unwrap();
        assert!(step_dir.ends_with(format!("step_{step}")), "{step_dir:?}");
        assert_eq!(
            job["spec"]["checkpoint"]["source"]["path"]["path"].as_str(),
            step_dir.to_str()
        );
        let wall = job["provenance"]["wall_time_s"].as_f64().unwrap();
        let started = mtime(done) - std::time::Duration::from_secs_f64(wall);
        assert!(
            started >= mtime(&step_dir),
            "{} started before {} was saved",
            done.display(),
            step_dir.display()
        );
    }
    assert!(root.join("predictions/demo-sentiment.parquet").is_file());
    // The report counts the run's own optimizer steps (3 and 6), not thousands (3k, 6k).
    let page = std::fs::read_to_string(root.join("report/index.html")).unwrap();
    assert!(page.contains("Learning curves"), "no learning curve");
    assert!(page.contains(">pre-training step (optimizer steps)<"));
    assert!(!page.contains(">6k<") && !page.contains("(thousands)"));
    // So do the learning-rate groups, named as a selector picks them (`step=6`, not `step=6k`).
    let selection =
        std::fs::read_to_string(root.join("predictions/demo-sentiment.selection.json")).unwrap();
    assert!(selection.contains("\"step=6\""), "{selection}");
    assert!(!selection.contains("step=6k"), "{selection}");

    let again = ok(multiberts(tmp.path(), &["sweep", "m.toml", "--no-collect"]));
    assert!(
        again.contains("nothing to do: all 6 jobs are done"),
        "{again}"
    );

    let status = ok(multiberts(tmp.path(), &["status", "m.toml"]));
    assert!(status.contains("pre-training job"), "{status}");
    for done in &runs {
        let id = read_json(&done.with_file_name("job.json"))["spec"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let row = status.lines().find(|l| l.contains(&id));
        assert!(row.is_some_and(|r| r.contains("done")), "{id}:\n{status}");
    }
}

#[test]
fn fine_tuning_jobs_of_a_failed_pretraining_job_are_not_started() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("empty.txt"), "\n\n").unwrap();
    write_manifest(
        tmp.path(),
        &manifest("empty.txt").replace("seeds = [0, 1]", "seeds = [0]"),
    );
    let out = multiberts(
        tmp.path(),
        &["sweep", "m.toml", "--no-collect", "--keep-going"],
    );
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("0 jobs finished"), "{said}");
    assert!(said.contains("1 failed, 2 not started"), "{said}");
    assert!(said.contains("empty.txt: holds no text"), "{said}");
    let not_started: Vec<&str> = said
        .lines()
        .filter(|l| l.starts_with("  not started: "))
        .collect();
    assert_eq!(not_started.len(), 2, "{said}");
    for line in not_started {
        assert!(line.contains("failed before saving step"), "{line}");
    }
    // Not retried: bad input is a permanent failure.
    assert!(said.contains("not retried"), "{said}");
}
