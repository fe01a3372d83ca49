//! A sweep on a disk that fills up: the failing jobs name the file they could not write and
//! "No space left on device", no temporary file is left behind, the jobs finished before the
//! disk filled stay done, and once space is freed the same command finishes the sweep with
//! predictions byte-identical to a sweep that never ran out of space.
//!
//! It needs a small filesystem of its own to fill, given as `MULTIBERTS_FULL_DISK_DIR` (CI
//! mounts a 64 MiB tmpfs there, see `.ci/run`). Unset, the test says it is skipped and passes,
//! except under `CI`, where it fails.

mod common;

use std::fs::File;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use common::{find_files, multiberts, ok, text, tiny_manifest, write_manifest};

/// Six short jobs on two generated tiny checkpoints; each job writes a few hundred KB
/// (predictions, resume state, the cached checkpoint), more than the space the test leaves.
/// The sweep saves a resume state every 8 of each job's 32 steps, so that a new state is
/// written while the previous one still exists.
fn manifest() -> String {
    let defaults =
        "batch_size = 16\nepochs = 2\nfinetune_seeds = [0, 1, 2]\nmax_train_examples = 256\n";
    tiny_manifest(
        "full-disk",
        "[0, 1]",
        defaults,
        "[[tasks]]\nname = \"demo-sentiment\"\n",
    )
}

/// Space left free on the small filesystem before the sweep starts.
const LEFT_FREE: u64 = 1 << 20;

fn small_disk() -> Option<PathBuf> {
    match std::env::var_os("MULTIBERTS_FULL_DISK_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir)),
        None => {
            assert!(
                std::env::var_os("CI").is_none(),
                "MULTIBERTS_FULL_DISK_DIR is not set: under CI, .ci/run mounts a small tmpfs for \
                 this test"
            );
            eprintln!("skipped: set MULTIBERTS_FULL_DISK_DIR to a small filesystem of its own");
            None
        }
    }
}

/// Fills the filesystem holding `dir` with one ballast file, then gives back all but
/// [`LEFT_FREE`] bytes of the space that was free.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("ballast");
    let mut file = File::create(&path).expect("the ballast file can be created");
    let chunk = vec![0u8; 1 << 16];
    let mut written = 0u64;
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.kind() == ErrorKind::StorageFull => break,
            Err(e) => panic!("writing the ballast: {e}"),
        }
    }
    file.set_len(written.saturating_sub(LEFT_FREE))
        .expect("the ballast can be shortened");
    file.sync_all().expect("the ballast can be synced");
    path
}

/// The consolidated predictions tables under `results`: (file name, bytes).
fn tables(results: &Path) -> Vec<(String, Vec<u8>)> {
    find_files(results, "demo-sentiment.parquet")
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("a readable table");
            (p.file_name().unwrap().to_string_lossy().into_owned(), bytes)
        })
        .collect()
}

#[test]
fn a_full_disk_fails_jobs_clearly_keeps_finished_work_and_resumes_identically() {
    let Some(disk) = small_disk() else {
        return;
    };
    let work = tempfile::tempdir_in(&disk).expect("a folder on the small filesystem");
    let reference = tempfile::tempdir().expect("a folder on the ordinary disk");
    for dir in [work.path(), reference.path()] {
        write_manifest(dir, &manifest());
    }
    let sweep = [
        "sweep",
        "m.toml",
        "--jobs",
        "1",
        "--retries",
        "0",
        "--keep-going",
        "--checkpoint-every",
        "8",
    ];

    ok(multiberts(reference.path(), &sweep));

    let ballast = fill(&disk);
    let first = multiberts(work.path(), &sweep);
    let said = text(&first);
    std::fs::remove_file(&ballast).expect("the ballast can be removed");
    assert!(!first.status.success(), "the sweep should fail:\n{said}");

    // Each failing job's log names the file it could not write and why.
    let logs: String = std::fs::read_dir(work.path().join("results/full-disk/logs"))
        .expect("the sweep wrote job logs")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let failure = logs
        .lines()
        .find(|l| l.contains("No space left on device"))
        .unwrap_or_else(|| panic!("no job log says the disk is full:\n{said}\n{logs}"));
    // The path as the job sees it: relative to the sweep's folder.
    assert!(
        failure.contains(": I/O error: No space left on device")
            && failure
                .split_whitespace()
                .any(|w| w.starts_with("results/full-disk/") && w.ends_with(':')),
        "the error should name the file it could not write: {failure}"
    );
    // The sweep's own summary gives that reason under the failed job, without opening a log.
    assert!(
        String::from_utf8_lossy(&first.stdout)
            .lines()
            .any(|l| l.starts_with("      error: job ") && l.contains("No space left on device")),
        "the sweep's summary should say the disk is full:\n{said}"
    );

    // Nothing half-written is left, and whatever finished is still done.
    let results = work.path().join("results");
    let mut temps = Vec::new();
    let mut stack = vec![results.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                stack.push(p);
            } else if name.starts_with('.') && name.ends_with(".tmp") {
                temps.push(p);
            }
        }
    }
    assert!(temps.is_empty(), "temporary files left behind: {temps:?}");
    let done_before = find_files(&results, "DONE").len();
    assert!(
        done_before < 6,
        "the disk should fill before every job is done:\n{said}"
    );

    // With space again, the same command finishes the sweep without redoing finished jobs.
    let second = ok(multiberts(work.path(), &sweep));
    assert!(
        second.contains(&format!("{done_before} were already done")),
        "the rerun should keep the {done_before} finished jobs:\n{second}"
    );
    assert_eq!(find_files(&results, "DONE").len(), 6);
    let ours = tables(&results);
    assert_eq!(ours.len(), 1, "one consolidated table");
    assert_eq!(
        ours,
        tables(&reference.path().join("results")),
        "predictions after the full disk differ from an uninterrupted sweep"
    );
}
