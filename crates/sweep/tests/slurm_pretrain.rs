//! Slurm submission of a manifest with pre-training jobs, against stand-in `sbatch`,
//! `squeue` and `scontrol` scripts: the pre-training jobs form the first arrays, and every
//! fine-tuning array waits for them with `--dependency=afterok:<arrays>`; a dry run prints the
//! same flag with placeholders.
//!
//! One test per file: it puts the stand-ins (`common::fake_slurm_on_path`) first on this process's
//! `PATH`.

mod common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use multiberts_collector::ResultsTree;
use multiberts_manifest::Manifest;
use multiberts_sweep::slurm::{SlurmOptions, submit_slurm};

use common::{fake_slurm_on_path, sbatch_calls};

/// Two pre-training seeds (two jobs) whose steps 3 and 6 are fine-tuned with two seeds each
/// (eight jobs).
const MANIFEST: &str = r#"
name = "s"
[defaults]
learning_rates = [1e-3]
finetune_seeds = [0, 1]
[[checkpoints]]
id = "tiny-seed_{seed}-step_{step}"
pretrain = { config = "tiny", corpus = ["corpus.txt"], vocab = "vocab.txt", steps = 6, save_steps = [3] }
seeds = [0, 1]
[[tasks]]
name = "demo-sentiment"
[slurm]
array_parallelism = 2
"#;

#[test]
fn fine_tuning_arrays_wait_for_the_pretraining_array() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // SAFETY: the only test of this binary; no other thread reads the environment now.
    unsafe { fake_slurm_on_path(dir) };

    std::fs::write(dir.join("m.toml"), MANIFEST).unwrap();
    let manifest = Manifest::from_file(&dir.join("m.toml")).unwrap();
    let results = dir.join("results");
    let tree = ResultsTree::new(&results, "s").unwrap();
    let out = results.join("s");
    let mut jobs = manifest.sweep_jobs(None, &out).unwrap();
    // Given in another order, the pre-training jobs still go first.
    jobs.reverse();
    assert_eq!(jobs.len(), 2 + 8);
    let opts = |dry_run: bool| SlurmOptions {
        exe: PathBuf::from("/opt/multiberts"),
        settings: multiberts_sweep::ChildSettings::default(),
        collect_args: Some(vec![OsString::from("collect")]),
        output_dir: out.clone(),
        workdir: dir.to_path_buf(),
        name: "s".into(),
        config: manifest.slurm.clone(),
        resubmit_failed: false,
        dry_run,
        rerun_stale: false,
    };

    let dry = submit_slurm(&jobs, &tree, &opts(true)).unwrap();
    let commands: Vec<&str> = dry.calls.iter().map(|c| c.command.as_str()).collect();
    assert!(
        commands[1].contains("'--dependency=afterok:<array 1>' --kill-on-invalid-dep=yes"),
        "{commands:?}"
    );
    assert!(
        !commands[0].contains("--dependency"),
        "the pre-training array waits for nothing: {commands:?}"
    );

    let outcome = submit_slurm(&jobs, &tree, &opts(false)).unwrap();
    assert_eq!(outcome.submitted_pretrain, 2);
    // In the order given (reversed), ahead of every fine-tuning job.
    let pretrain_ids: Vec<String> = manifest
        .pretrain_jobs()
        .iter()
        .rev()
        .map(|j| j.id.clone())
        .collect();
    assert_eq!(outcome.submitted[..2], pretrain_ids[..]);
    let calls = sbatch_calls(dir);
    let sub = out.join("slurm/001");
    let array = sub.join("array.sbatch").display().to_string();
    // Pre-training: array 100 at offset 0; fine-tuning: 101, 102 and 103 (3 + 3 + 2 tasks,
    // MaxArraySize 3) after 100; collect after all four.
    let after = "--dependency=afterok:100 --kill-on-invalid-dep=yes";
    assert_eq!(
        calls,
        [
            format!("--parsable --array=0-1%2 {array} 0"),
            format!("--parsable {after} --array=0-2%2 {array} 2"),
            format!("--parsable {after} --array=0-2%2 {array} 5"),
            format!("--parsable {after} --array=0-1%2 {array} 8"),
            format!(
                "--parsable --dependency=afterany:100:101:102:103 --kill-on-invalid-dep=yes {}",
                sub.join("collect.sbatch").display()
            ),
        ]
    );
    // The array's tasks read their directories in that order: pre-training first.
    let dirs = std::fs::read_to_string(sub.join("job-dirs.txt")).unwrap();
    let lines: Vec<&str> = dirs.lines().collect();
    assert_eq!(lines.len(), 10);
    for (line, id) in lines.iter().zip(&pretrain_ids) {
        assert!(
            line.contains("/pretrain/seed_") && line.ends_with(id.as_str()),
            "{line}"
        );
        let job: serde_json::Value =
            serde_json::from_slice(&std::fs::read(Path::new(line).join("job.json")).unwrap())
                .unwrap();
        assert_eq!(job["job"]["kind"], "pretrain");
    }
    assert!(!lines[2].contains("/pretrain/"), "{}", lines[2]);
}
