//! `pretrain = { ... }` checkpoints: expansion into checkpoints and pre-training jobs, ids
//! that depend on the pre-training settings, job files with the step folders, and errors
//! that name the line and column.

mod common;

use std::path::Path;

use multiberts_manifest::{CheckpointSource, Manifest, SweepJob};

use common::{assert_error, parse};

/// Two seeds of a tiny run saving steps 0, 3 and 6, fine-tuned at steps 0 and 6 on `sst2`
/// (the `pretrain` line is line 5).
const PRETRAIN: &str = r#"name = "p"

[[checkpoints]]
id = "mini-seed_{seed}-step_{step}"
pretrain = { config = "tiny", corpus = ["corpus.txt"], vocab = "vocab.txt", steps = 6, save_steps = [0, 3], batch_size = 4, max_seq_len = 32, learning_rate = 1e-3 }
seeds = [0, 1]
steps = [0, 6]

[[tasks]]
name = "sst2"
learning_rates = [2e-5]
finetune_seeds = [0]
"#;

#[test]
fn a_pretrain_table_expands_over_seeds_and_fine_tuned_steps() {
    let m = parse(PRETRAIN);
    let ids: Vec<&str> = m.checkpoints.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "mini-seed_0-step_0",
            "mini-seed_0-step_6",
            "mini-seed_1-step_0",
            "mini-seed_1-step_6"
        ]
    );
    let CheckpointSource::Pretrain {
        settings,
        seed,
        step,
    } = &m.checkpoints[3].source
    else {
        panic!("{:?}", m.checkpoints[3].source);
    };
    assert_eq!((*seed, *step), (1, 6));
    // The last step is saved too; defaults as `multiberts pretrain`'s flags.
    assert_eq!(settings.save_steps, [0, 3, 6]);
    assert_eq!(settings.warmup_steps, 0);
    assert_eq!((settings.weight_decay, settings.max_grad_norm), (0.01, 1.0));
    assert!(!settings.cased && !settings.next_sentence);
    assert_eq!(
        (m.checkpoints[3].pretrain_seed, m.checkpoints[3].step),
        (Some(1), Some(6))
    );
    // One pre-training job per seed, its id hashing the settings and the seed.
    let runs = m.pretrain_jobs();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].canonical["kind"], "pretrain");
    assert_eq!(runs[1].canonical["seed"], 1);
    assert_ne!(runs[0].id, runs[1].id);
    assert_eq!(m.jobs().len(), 4);
}

#[test]
fn fine_tuned_steps_default_to_every_saved_step() {
    let m = parse(&PRETRAIN.replace("steps = [0, 6]\n", ""));
    assert_eq!(m.checkpoints.len(), 2 * 3);
}

#[test]
fn fine_tuning_ids_depend_on_the_pretraining_settings() {
    let a = parse(PRETRAIN);
    let b = parse(&PRETRAIN.replace("learning_rate = 1e-3", "learning_rate = 2e-3"));
    let renamed = parse(&PRETRAIN.replace("id = \"mini-", "id = \"other-"));
    let ids = |m: &Manifest| m.jobs().into_iter().map(|j| j.id).collect::<Vec<_>>();
    assert_ne!(ids(&a), ids(&b));
    assert_ne!(a.pretrain_jobs()[0].id, b.pretrain_jobs()[0].id);
    // A checkpoint's display id is not part of what a job computes.
    assert_eq!(ids(&a), ids(&renamed));
}

#[test]
fn job_files_put_pretraining_first_and_point_at_the_step_folders() {
    let m = Manifest::from_toml(Path::new("/proj/m.toml"), PRETRAIN).unwrap();
    let root = Path::new("/out/results/p");
    let jobs = m.sweep_jobs(None, root).unwrap();
    assert_eq!(jobs.len(), 2 + 4);
    assert!(jobs[0].is_pretrain() && jobs[1].is_pretrain() && !jobs[2].is_pretrain());
    let SweepJob::Pretrain(run) = &jobs[1] else {
        panic!()
    };
    assert_eq!(run.spec.run, "seed_1");
    assert_eq!(run.spec.settings.corpus, [Path::new("/proj/corpus.txt")]);
    assert_eq!(run.spec.settings.vocab, Path::new("/proj/vocab.txt"));
    run.check(Path::new("job.json")).unwrap();
    let needs = jobs[5].needs().unwrap();
    assert_eq!(needs.job, run.spec.id);
    assert_eq!(needs.step, 6);
    let dir = root
        .join("pretrain/seed_1")
        .join(&run.spec.id)
        .join("step_6");
    assert_eq!(needs.dir, dir);
    let file = jobs[5].finetune().unwrap();
    assert_eq!(
        file.spec.checkpoint.source,
        CheckpointSource::Path {
            path: dir.to_string_lossy().into_owned()
        }
    );
    // The canonical object keeps the pre-training source: the id does not depend on the tree.
    assert_eq!(file.job["checkpoint"]["source"]["pretrain"]["step"], 6);
    file.check(Path::new("job.json")).unwrap();
}

#[test]
fn other_checkpoint_kinds_have_no_pretrained_key_in_their_job_files() {
    let m = parse(common::GOOD);
    let files = m.job_files(None, Path::new("results/t")).unwrap();
    let text = serde_json::to_string(&files[0]).unwrap();
    assert!(!text.contains("pretrained"), "{text}");
}

#[test]
fn errors_name_the_line_and_column() {
    assert_error(
        &PRETRAIN.replace("steps = [0, 6]", "steps = [0, 4]"),
        7,
        9,
        &["step 4 is not saved by this run", "0, 3, 6"],
    );
    assert_error(
        &PRETRAIN.replace("config = \"tiny\"", "config = \"L2-H100\""),
        5,
        23,
        &["unknown model size \"L2-H100\"", "L<layers>-H<hidden>"],
    );
    assert_error(
        &PRETRAIN.replace("batch_size = 4", "batch_sise = 4"),
        5,
        109,
        &["unknown field `batch_sise`", "`batch_size`"],
    );
    assert_error(
        &PRETRAIN.replace("save_steps = [0, 3]", "save_steps = [0, 9]"),
        5,
        101,
        &["save step 9 is after the last step (6)"],
    );
    assert_error(
        &PRETRAIN.replace("seeds = [0, 1]\n", ""),
        5,
        12,
        &["needs `seeds`"],
    );
    assert_error(
        &PRETRAIN.replace("steps = 6,", "steps = 0,"),
        5,
        85,
        &["`steps` must be at least 1"],
    );
    assert_error(
        &PRETRAIN.replace("seeds = [0, 1]", "seeds = [0, 1]\npath = \"x\""),
        3,
        1,
        &["exactly one of", "pretrain = {"],
    );
    assert_error(
        &PRETRAIN.replace(
            "id = \"mini-seed_{seed}-step_{step}\"",
            "id = \"mini-seed_{seed}\"",
        ),
        3,
        1,
        &["duplicate checkpoint id `mini-seed_0`"],
    );
}

#[test]
fn a_config_json_path_is_resolved_against_the_manifest() {
    let m = Manifest::from_toml(
        Path::new("/proj/m.toml"),
        &PRETRAIN.replace("config = \"tiny\"", "config = \"sizes/config.json\""),
    )
    .unwrap();
    let file = m.pretrain_job_file(&m.pretrain_jobs()[0]);
    assert_eq!(file.spec.settings.config, "/proj/sizes/config.json");
}

#[test]
fn a_missing_corpus_or_vocabulary_is_named_with_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("m.toml");
    std::fs::write(&path, PRETRAIN).unwrap();
    let m = Manifest::from_file(&path).unwrap();
    let err = m.check_local_checkpoints().unwrap_err().to_string();
    assert!(err.contains("m.toml:5:12"), "{err}");
    assert!(
        err.contains("corpus file") && err.contains("corpus.txt"),
        "{err}"
    );
    std::fs::write(tmp.path().join("corpus.txt"), "text\n").unwrap();
    let err = m.check_local_checkpoints().unwrap_err().to_string();
    assert!(
        err.contains("vocabulary") && err.contains("vocab.txt"),
        "{err}"
    );
    std::fs::write(tmp.path().join("vocab.txt"), "[PAD]\n").unwrap();
    m.check_local_checkpoints().unwrap();
}
