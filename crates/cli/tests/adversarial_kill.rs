//! `kill -9` of a running sweep (issue 15, item 2): its `run-job` children die with it (they
//! used to run on as orphans, and a re-run cleared the directories they were writing), a
//! re-run finishes every job, its predictions are byte-identical to those of a sweep that was
//! never interrupted, and no done job keeps a `state/` folder.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{find_files, multiberts, text};

/// Two generated tiny checkpoints × one task × two fine-tuning seeds, two epochs of 8 steps.
const MANIFEST: &str = r#"name = "kill"

[defaults]
max_seq_len = 32
batch_size = 32
epochs = 2
learning_rates = [1e-3]
finetune_seeds = [0, 1]

[[checkpoints]]
init = { config = "tiny" }
seeds = [0, 1]

[[tasks]]
name = "demo-sentiment"
max_train_examples = 256
"#;

/// The pids of live (not zombie) `run-job` processes working in `root` (their working
/// directory: the sweep hands them job directories relative to it).
fn run_jobs_under(root: &Path) -> Vec<u32> {
    let mut pids = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return pids;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|&b| b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let cwd = std::fs::read_link(entry.path().join("cwd")).unwrap_or_default();
        if args.iter().any(|a| a == "run-job") && cwd == root {
            pids.push(pid);
        }
    }
    pids
}

/// Every `predictions.parquet` under `dir` (path relative to `dir`, bytes).
fn predictions(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    find_files(dir, "predictions.parquet")
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p.strip_prefix(dir).unwrap().to_path_buf(), bytes)
        })
        .collect()
}

/// Waits (at most `limit`) for `ready`; false if it never held.
fn wait_for(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    ready()
}

#[test]
#[cfg(target_os = "linux")]
fn kill_9_of_a_sweep_takes_its_children_and_a_rerun_is_byte_identical() {
    let reference = tempfile::tempdir().unwrap();
    std::fs::write(reference.path().join("m.toml"), MANIFEST).unwrap();
    let out = multiberts(reference.path(), &["sweep", "m.toml", "--no-collect"]);
    assert!(out.status.success(), "{}", text(&out));
    // Output files follow the umask, as a plain file create does (not a temporary file's 0600).
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let plain = reference.path().join("plain");
        std::fs::write(&plain, "x").unwrap();
        let outputs = find_files(reference.path(), "model.safetensors")
            .into_iter()
            .chain(find_files(reference.path(), "predictions.parquet"));
        for file in outputs {
            assert_eq!(mode(&file), mode(&plain), "{}", file.display());
        }
    }

    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    std::fs::write(root.join("m.toml"), MANIFEST).unwrap();
    let results = root.join("results/kill");
    // Slowed down (a sleep after every optimizer step; no result changes) so that it is
    // killed while its jobs train, after some have saved resume state.
    let mut sweep = Command::new(env!("CARGO_BIN_EXE_multiberts"))
        .args(["sweep", "m.toml", "--no-collect", "--jobs", "2"])
        .args(["--checkpoint-every", "2"])
        .current_dir(&root)
        .env("RUST_LOG", "warn")
        .env("MULTIBERTS_TEST_STEP_SLEEP_MS", "3000")
        .env_remove("MULTIBERTS_RESULTS")
        .env_remove("MULTIBERTS_DATA")
        .env_remove("MULTIBERTS_DEVICE")
        .env_remove("MULTIBERTS_KERNELS")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mid_run = wait_for(Duration::from_secs(120), || {
        run_jobs_under(&root).len() == 2 && !find_files(&results, "state.json").is_empty()
    });
    assert!(
        mid_run,
        "the sweep never had two jobs training with saved state"
    );
    sweep.kill().unwrap(); // SIGKILL: no handler of the sweep runs
    sweep.wait().unwrap();

    // Generous: the children get SIGKILL from the kernel the moment their parent dies, while
    // an orphan would train on for at least 14 more steps of 3 s each.
    let gone = wait_for(Duration::from_secs(15), || run_jobs_under(&root).is_empty());
    assert!(
        gone,
        "run-job children outlived their killed sweep: pids {:?}",
        run_jobs_under(&root)
    );

    let out = multiberts(
        &root,
        &["sweep", "m.toml", "--no-collect", "--retries", "0"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains(", 0 failed,"), "{said}");
    let rerun = predictions(&results);
    assert_eq!(rerun.len(), 4, "{said}");
    assert_eq!(
        rerun,
        predictions(&reference.path().join("results/kill")),
        "predictions after kill -9 and a re-run differ from an uninterrupted sweep"
    );
    for done in find_files(&results, "DONE") {
        let dir = done.parent().unwrap();
        assert!(!dir.join("state").exists(), "{} kept state/", dir.display());
    }
}

/// One tiny checkpoint × three fine-tuning seeds, two optimizer steps each.
const HELD_MANIFEST: &str = r#"name = "held"

[defaults]
max_seq_len = 32
batch_size = 32
epochs = 1
learning_rates = [1e-3]
finetune_seeds = [0, 1, 2]

[[checkpoints]]
init = { config = "tiny" }
seeds = [0]

[[tasks]]
name = "demo-sentiment"
max_train_examples = 64
"#;

/// A job whose directory another live process takes while a sweep runs (a hand-started
/// `run-job`, a Slurm task) is skipped and reported as held by another process: not started a
/// second time, not a failure, not retried; the other jobs run. It used to fail for good
/// (exit status 65). `run-job` itself on a held directory exits with its own status.
#[test]
#[cfg(target_os = "linux")]
fn a_job_another_process_takes_mid_sweep_is_skipped_not_failed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    std::fs::write(root.join("m.toml"), HELD_MANIFEST).unwrap();
    let manifest = multiberts_manifest::Manifest::from_file(&root.join("m.toml")).unwrap();
    let tree = multiberts_collector::ResultsTree::new(&root.join("results"), "held").unwrap();
    let dirs: Vec<_> = manifest
        .jobs()
        .iter()
        .map(|j| tree.job(&j.task, &j.checkpoint.id, &j.id).unwrap())
        .collect();

    // `run-job` on a directory another process holds: its own exit status, no job run.
    let planned = multiberts(&root, &["plan", "m.toml", "--write-jobs"]);
    assert!(planned.status.success(), "{}", text(&planned));
    let holder = dirs[1].lock().unwrap();
    let dir = dirs[1].path().display().to_string();
    let out = multiberts(&root, &["run-job", &dir]);
    assert_eq!(
        out.status.code(),
        Some(i32::from(multiberts_sweep::HELD_EXIT_CODE)),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("another process is running this job"),
        "{}",
        text(&out)
    );
    drop(holder);

    // A sweep one job at a time, slowed down; the second job's directory is taken while the
    // first one trains.
    let sweep = Command::new(env!("CARGO_BIN_EXE_multiberts"))
        .args(["sweep", "m.toml", "--no-collect", "--jobs", "1"])
        .current_dir(&root)
        .env("RUST_LOG", "warn")
        .env("MULTIBERTS_TEST_STEP_SLEEP_MS", "1500")
        .env_remove("MULTIBERTS_RESULTS")
        .env_remove("MULTIBERTS_DATA")
        .env_remove("MULTIBERTS_DEVICE")
        .env_remove("MULTIBERTS_KERNELS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let first_runs = wait_for(Duration::from_secs(120), || {
        run_jobs_under(&root).len() == 1 && !dirs[0].is_done()
    });
    assert!(first_runs, "the first job never ran");
    let holder = dirs[1].lock().unwrap();
    let out = sweep.wait_with_output().unwrap();
    let said = text(&out);
    drop(holder);
    let held_id = dirs[1].job_id();
    assert!(
        said.contains(&format!("held by another process, skipped: {held_id}")),
        "{said}"
    );
    assert!(
        said.contains("2 jobs finished, 0 were already done, 0 failed, 0 not started, 1 held"),
        "{said}"
    );
    assert!(!said.contains("exit status 65"), "{said}");
    assert!(dirs[0].is_done() && dirs[2].is_done() && !dirs[1].is_done());
    assert!(
        !out.status.success(),
        "a sweep with a job not done is not a success: {said}"
    );

    // Once the other process is gone, a re-run runs it.
    let again = multiberts(&root, &["sweep", "m.toml", "--no-collect"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(dirs[1].is_done());
}
