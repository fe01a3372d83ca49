//! The Slurm backend's bookkeeping against stand-in `sbatch`/`squeue`/`scontrol` scripts (so it
//! runs without a cluster; crates/cli/tests/slurm.rs covers a real one): arrays split at
//! `MaxArraySize` with the throttle, the afterany collect job, idempotent re-submission, failed
//! jobs left alone until `--resubmit-failed`, and status merging Slurm's states and exit codes.
//!
//! One test per file: it puts the stand-ins first on this process's `PATH`.

mod common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use multiberts_collector::ResultsTree;
use multiberts_manifest::Manifest;
use multiberts_sweep::slurm::{SlurmCli, SlurmOptions, slurm_view, submit_slurm};
use multiberts_sweep::{JobProgress, merge_slurm, status};

use common::{fake_slurm_on_path, sbatch_calls};

const MANIFEST: &str = r#"
name = "s"
[defaults]
learning_rates = [1e-3]
finetune_seeds = "0..=4"
[[checkpoints]]
init = { config = "tiny" }
seeds = [0]
[[tasks]]
name = "demo-sentiment"
[slurm]
array_parallelism = 2
partition = "short"
"#;

#[test]
fn submissions_are_split_idempotent_and_merged_into_status() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // SAFETY: the only test of this binary; no other thread reads the environment now.
    unsafe { fake_slurm_on_path(dir) };

    std::fs::write(dir.join("m.toml"), MANIFEST).unwrap();
    let manifest = Manifest::from_file(&dir.join("m.toml")).unwrap();
    let jobs = manifest.jobs();
    let files = manifest.sweep_jobs(None, &manifest.output_dir()).unwrap();
    assert_eq!(jobs.len(), 5);
    let results = dir.join("results");
    let tree = ResultsTree::new(&results, "s").unwrap();
    let out = results.join("s");
    let opts = |resubmit_failed: bool| SlurmOptions {
        exe: PathBuf::from("/opt/multiberts"),
        settings: multiberts_sweep::ChildSettings::default(),
        collect_args: Some(vec![OsString::from("collect")]),
        output_dir: out.clone(),
        workdir: dir.to_path_buf(),
        name: "s".into(),
        config: manifest.slurm.clone(),
        resubmit_failed,
        dry_run: false,
        rerun_stale: false,
    };

    // 1. Five jobs, MaxArraySize 3: two arrays (100, 101) and a collect job (102).
    let first = submit_slurm(&files, &tree, &opts(false)).unwrap();
    assert_eq!(first.submitted.len(), 5);
    let calls = sbatch_calls(dir);
    let sub1 = out.join("slurm/001");
    let array = sub1.join("array.sbatch").display().to_string();
    assert_eq!(
        calls,
        [
            format!("--parsable --array=0-2%2 {array} 0"),
            format!("--parsable --array=0-1%2 {array} 3"),
            format!(
                "--parsable --dependency=afterany:100:101 --kill-on-invalid-dep=yes {}",
                sub1.join("collect.sbatch").display()
            ),
        ]
    );
    let listed = std::fs::read_to_string(sub1.join("jobs.txt")).unwrap();
    let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(listed.lines().collect::<Vec<_>>(), ids);
    let script_text = std::fs::read_to_string(sub1.join("array.sbatch")).unwrap();
    assert!(script_text.contains("#SBATCH --partition=short\n"));
    assert!(script_text.contains("/opt/multiberts run-job \"$job_dir\" --settings"));
    // Each submitted job was handed over as its job file, and the array reads its directory.
    let dirs = std::fs::read_to_string(sub1.join("job-dirs.txt")).unwrap();
    assert_eq!(dirs.lines().count(), 5);
    for (line, job) in dirs.lines().zip(&jobs) {
        assert!(line.ends_with(&job.id), "{line}");
        assert!(Path::new(line).join("job.json").is_file(), "{line}");
    }

    // 2. Job 2 is done; Slurm runs job 0, job 1 failed, jobs 3 and 4 wait in array 101.
    let j2 = tree
        .job(&jobs[2].task, &jobs[2].checkpoint.id, &jobs[2].id)
        .unwrap();
    std::fs::create_dir_all(j2.path()).unwrap();
    std::fs::write(j2.path().join("DONE"), "{}").unwrap();
    std::fs::write(
        dir.join("squeue.txt"),
        "100_0|RUNNING|None\n100_1|FAILED|NonZeroExitCode\n100_2|COMPLETED|None\n\
         101_[0-1%2]|PENDING|JobArrayTaskLimit\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("scontrol.txt"),
        "JobId=104 ArrayJobId=100 ArrayTaskId=1 JobState=FAILED Reason=NonZeroExitCode \
         Restarts=0 ExitCode=1:0\n",
    )
    .unwrap();
    let again = submit_slurm(&files, &tree, &opts(false)).unwrap();
    assert_eq!(again.already_done, 1);
    assert_eq!(again.active.len(), 3);
    assert_eq!(again.failed_skipped, [jobs[1].id.clone()]);
    assert!(again.submitted.is_empty());
    assert_eq!(sbatch_calls(dir).len(), 3, "nothing new was submitted");

    // 3. Status: done, running, failed with its exit code and log, queued.
    let mut progress = status(&jobs, &tree, &out).unwrap();
    let view = slurm_view(&out, &SlurmCli, true).unwrap();
    assert!(view.reachable);
    merge_slurm(&jobs, &mut progress, &view, &out);
    assert_eq!(progress[0], JobProgress::Running);
    match &progress[1] {
        JobProgress::Failed { status, log } => {
            assert_eq!(
                status,
                "Slurm 100_1 FAILED, exit code 1:0, reason NonZeroExitCode"
            );
            assert_eq!(*log, out.join("logs/slurm/100_1.err"));
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert_eq!(progress[2], JobProgress::Done);
    assert_eq!(
        progress[4],
        JobProgress::Queued {
            task: "101_1".into(),
            state: "PENDING (JobArrayTaskLimit)".into()
        }
    );

    // 4. --resubmit-failed: only job 1, in submission 002, whose collect job also waits for
    //    the arrays still running.
    let resubmit = submit_slurm(&files, &tree, &opts(true)).unwrap();
    assert_eq!(resubmit.submitted, [jobs[1].id.clone()]);
    assert_eq!(resubmit.resubmitted, 1);
    let calls = sbatch_calls(dir);
    let sub2 = out.join("slurm/002");
    assert_eq!(
        calls[3..],
        [
            format!(
                "--parsable --array=0-0%1 {} 0",
                sub2.join("array.sbatch").display()
            ),
            format!(
                "--parsable --dependency=afterany:103:100:101 --kill-on-invalid-dep=yes {}",
                sub2.join("collect.sbatch").display()
            ),
        ]
    );
    // The latest submission wins: job 1 is now task 103_0, which squeue does not list yet.
    let view = slurm_view(&out, &SlurmCli, false).unwrap();
    assert_eq!(view.jobs[&jobs[1].id].task_id(), "103_0");
    assert_eq!(view.jobs[&jobs[1].id].task, None);
}
