//! The local pool with a stand-in worker (`sh`): skips done jobs, retries, fail-fast vs
//! keep-going, per-job logs, the lock, and `status`.

use std::ffi::OsString;
use std::path::Path;

use multiberts_collector::ResultsTree;
use multiberts_manifest::{JobFile, Manifest, SweepJob};
use multiberts_sweep::{JobProgress, LocalOptions, SweepError, SweepLock, run_local, status};

/// The tests run one at a time: a child forked by one test holds a copy of every open file
/// until it execs, which would keep another test's released `flock` held for a moment.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn manifest(dir: &Path) -> Manifest {
    let text = r#"
name = "s"
[defaults]
learning_rates = [1e-3]
finetune_seeds = "0..=2"
[[checkpoints]]
init = { config = "tiny" }
seeds = [0]
[[tasks]]
name = "demo-sentiment"
"#;
    let path = dir.join("m.toml");
    std::fs::write(&path, text).unwrap();
    Manifest::from_file(&path).unwrap()
}

/// One test's sweep: a temporary folder with the test manifest's three jobs, their results
/// tree and the sweep's output folder. Bind `tmp` (as `_tmp` if unused): the folder lives as
/// long as it does.
struct Sweep {
    tmp: tempfile::TempDir,
    m: Manifest,
    jobs: Vec<SweepJob>,
    tree: ResultsTree,
    out: std::path::PathBuf,
}

fn sweep() -> Sweep {
    let tmp = tempfile::tempdir().unwrap();
    let m = manifest(tmp.path());
    let jobs = m.sweep_jobs(None, &m.output_dir()).unwrap();
    let tree = ResultsTree::new(tmp.path(), "s").unwrap();
    let out = tmp.path().join("s");
    Sweep {
        tmp,
        m,
        jobs,
        tree,
        out,
    }
}

/// A worker called as `run-job <job dir> --settings JSON`: it logs a line, fails for job ids
/// listed in `fail`, and otherwise marks the job done by creating a `DONE` file in the job
/// directory, which must hold the `job.json` the pool wrote (enough for the supervisor's
/// check).
fn options(out: &Path, fail: &[&str], keep_going: bool) -> LocalOptions {
    let mut script = String::from(
        "[ \"$1\" = run-job ] && [ \"$3\" = --settings ] || { echo \"bad arguments: $*\"; exit 9; }\n\
         [ -f \"$2/job.json\" ] || { echo \"no job.json in $2\"; exit 8; }\n\
         id=$(basename \"$2\")\n\
         echo \"running $id\"\n",
    );
    for id in fail {
        script.push_str(&format!("[ \"$id\" = {id} ] && {{ echo boom; exit 3; }}\n"));
    }
    script.push_str("touch \"$2/DONE\"\n");
    LocalOptions {
        exe: "sh".into(),
        prefix: vec![OsString::from("-c"), script.into(), "sh".into()],
        settings: multiberts_sweep::ChildSettings::default(),
        output_dir: out.to_path_buf(),
        jobs: 2,
        gpus: None,
        threads_per_job: 1,
        retries: 1,
        keep_going,
        progress: false,
        rerun_stale: false,
    }
}

/// Makes the worker log each attempt, exit with `code` for job `id` and finish the others.
fn exit_for(opts: &mut LocalOptions, id: &str, code: impl std::fmt::Display) {
    let script = format!(
        "id=$(basename \"$2\"); echo \"attempt $id\"; [ \"$id\" = {id} ] && exit {code}; \
         touch \"$2/DONE\""
    );
    opts.prefix = vec![OsString::from("-c"), script.into(), "sh".into()];
}

#[test]
fn runs_everything_then_has_nothing_to_do() {
    let _serial = serial();
    let Sweep {
        tmp: _tmp,
        jobs,
        tree,
        out,
        ..
    } = sweep();
    let opts = options(&out, &[], false);
    let first = run_local(&jobs, &tree, &opts).unwrap();
    assert_eq!(first.succeeded.len(), 3);
    assert!(first.all_done());
    let log =
        std::fs::read_to_string(out.join("logs").join(format!("{}.log", jobs[0].id()))).unwrap();
    assert!(log.contains(&format!("running {}", jobs[0].id())), "{log}");
    // Each job was handed over as its job file, in its own directory.
    for file in jobs.iter().filter_map(SweepJob::finetune) {
        let s = &file.spec;
        let dir = tree.job(&s.task.name, &s.checkpoint.id, &s.id).unwrap();
        let on_disk: JobFile = dir.read_job_file().unwrap();
        assert_eq!(
            serde_json::to_value(&on_disk).unwrap(),
            serde_json::to_value(file).unwrap()
        );
    }
    let second = run_local(&jobs, &tree, &opts).unwrap();
    assert_eq!(second.already_done, 3);
    assert!(second.succeeded.is_empty());
    assert_eq!(
        multiberts_sweep::lock::holder(&out),
        None,
        "the lock is released"
    );
    drop(SweepLock::acquire(&out).expect("the lock can be taken again"));
}

#[test]
fn failures_are_retried_then_reported_with_status_and_logs() {
    let _serial = serial();
    let Sweep {
        tmp: _tmp,
        m,
        jobs,
        tree,
        out,
        ..
    } = sweep();
    let bad = jobs[0].id().to_string();
    let outcome = run_local(&jobs, &tree, &options(&out, &[&bad], true)).unwrap();
    assert_eq!(outcome.failed.len(), 1);
    assert_eq!(outcome.failed[0].id, bad);
    assert_eq!(outcome.failed[0].attempts, 2, "one retry");
    assert_eq!(outcome.failed[0].status, "exit status 3");
    assert_eq!(outcome.succeeded.len(), 2, "--keep-going runs the others");
    let log = std::fs::read_to_string(&outcome.failed[0].log).unwrap();
    assert_eq!(
        log.matches("boom").count(),
        2,
        "both attempts are logged: {log}"
    );

    let progress = status(&m.jobs(), &tree, &out).unwrap();
    assert!(matches!(progress[0], JobProgress::Failed { .. }));
    assert_eq!(progress[1], JobProgress::Done);
}

#[test]
fn fail_fast_starts_no_new_job_after_a_failure() {
    let _serial = serial();
    let Sweep {
        tmp: _tmp,
        m,
        jobs,
        tree,
        out,
        ..
    } = sweep();
    let mut opts = options(&out, &[jobs[0].id()], false);
    opts.jobs = 1;
    opts.retries = 0;
    let outcome = run_local(&jobs, &tree, &opts).unwrap();
    assert_eq!(outcome.failed.len(), 1);
    assert_eq!(outcome.not_started, 2);
    assert!(!outcome.all_done());
    let progress = status(&m.jobs(), &tree, &out).unwrap();
    assert_eq!(progress[1], JobProgress::Pending { started: false });
}

#[test]
fn a_second_sweep_is_refused_while_one_holds_the_lock() {
    let _serial = serial();
    let Sweep {
        tmp: _tmp,
        jobs,
        tree,
        out,
        ..
    } = sweep();
    let held = SweepLock::acquire(&out).unwrap();
    match run_local(&jobs, &tree, &options(&out, &[], false)) {
        Err(SweepError::Locked { pid, .. }) => assert_eq!(pid, std::process::id()),
        other => panic!("expected the lock to be refused, got {other:?}"),
    }
    // Readers (collect, report) hold it shared: they exclude a sweep, not each other.
    assert!(matches!(
        SweepLock::acquire_shared(&out),
        Err(SweepError::Locked { .. })
    ));
    drop(held);
    let reader = SweepLock::acquire_shared(&out).unwrap();
    let second_reader = SweepLock::acquire_shared(&out).unwrap();
    match run_local(&jobs, &tree, &options(&out, &[], false)) {
        Err(e @ SweepError::Reading { .. }) => {
            assert!(
                e.to_string().contains("`collect` or `report` is reading"),
                "{e}"
            )
        }
        other => panic!("expected the readers to keep the sweep out, got {other:?}"),
    }
    drop((reader, second_reader));
    // A lock file left by a process that is gone (the old pid-file lock, or a kill -9) is no
    // lock at all: the kernel released it with its holder.
    std::fs::write(out.join(".sweep.lock"), "4294967\n").unwrap();
    assert!(run_local(&jobs, &tree, &options(&out, &[], false)).is_ok());
}

/// A job directory another live process holds (an orphaned `run-job` of a killed sweep) is
/// neither cleared nor started: the sweep refuses, naming it; once the holder is gone the
/// sweep runs it.
#[test]
fn a_job_another_process_holds_is_not_started() {
    let _serial = serial();
    let Sweep {
        tmp: _tmp,
        jobs,
        tree,
        out,
        ..
    } = sweep();
    let dir = multiberts_sweep::job_dir(&tree, &jobs[1]).unwrap();
    let orphan = dir.lock().unwrap();
    std::fs::write(dir.path().join("partial"), "being written").unwrap();
    match run_local(&jobs, &tree, &options(&out, &[], false)) {
        Err(e @ SweepError::Held { .. }) => {
            let text = e.to_string();
            assert!(text.contains(&dir.path().display().to_string()), "{text}");
            assert!(text.contains("being run by another process"), "{text}");
        }
        other => panic!("expected the held job to be refused, got {other:?}"),
    }
    assert!(
        dir.path().join("partial").is_file(),
        "nothing of it was cleared"
    );
    assert!(!dir.is_done());
    drop(orphan);
    let outcome = run_local(&jobs, &tree, &options(&out, &[], false)).unwrap();
    assert!(outcome.all_done(), "{outcome:?}");
}

/// A child that exits with the permanent-failure status (a missing file, bad data) is not
/// retried, and its status says why.
#[test]
fn a_failure_retrying_cannot_fix_is_not_retried() {
    let _serial = serial();
    let Sweep {
        tmp: _tmp,
        jobs,
        tree,
        out,
        ..
    } = sweep();
    let mut opts = options(&out, &[], true);
    opts.retries = 3;
    let bad = jobs[0].id();
    exit_for(
        &mut opts,
        bad,
        multiberts_sweep::PERMANENT_FAILURE_EXIT_CODE,
    );
    let outcome = run_local(&jobs, &tree, &opts).unwrap();
    assert_eq!(outcome.failed.len(), 1, "{outcome:?}");
    assert_eq!(outcome.failed[0].attempts, 1, "not retried");
    assert!(
        outcome.failed[0].status.contains("not retried"),
        "{}",
        outcome.failed[0].status
    );
    assert_eq!(outcome.succeeded.len(), 2);
}

/// A job whose directory another live process takes while the sweep runs (a hand-started
/// `run-job`) is skipped: its `job.json` is not rewritten, it is not started, and it is
/// reported as held, neither failed nor retried; the other jobs run.
#[test]
fn a_job_another_process_takes_mid_sweep_is_skipped() {
    let _serial = serial();
    let Sweep {
        tmp,
        jobs,
        tree,
        out,
        ..
    } = sweep();
    let started = tmp.path().join("first-started");
    let taken = tmp.path().join("second-taken");
    let mut opts = options(&out, &[], false);
    opts.jobs = 1;
    // The first job waits until the second job's directory is taken.
    let script = format!(
        "id=$(basename \"$2\"); echo \"attempt $id\"; if [ \"$id\" = {} ]; then touch {}; \
         while [ ! -e {} ]; do sleep 0.05; done; fi; touch \"$2/DONE\"",
        jobs[0].id(),
        started.display(),
        taken.display()
    );
    opts.prefix = vec![OsString::from("-c"), script.into(), "sh".into()];
    let second = multiberts_sweep::job_dir(&tree, &jobs[1]).unwrap();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let other = {
        let second = second.clone();
        std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while !started.exists() && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            let held = second.lock().unwrap();
            std::fs::write(&taken, "").unwrap();
            let _ = released.recv();
            drop(held);
        })
    };
    let outcome = run_local(&jobs, &tree, &opts).unwrap();
    release.send(()).unwrap();
    other.join().unwrap();
    assert_eq!(outcome.held, [jobs[1].id().to_string()], "{outcome:?}");
    assert!(outcome.failed.is_empty(), "{outcome:?}");
    assert_eq!(outcome.succeeded.len(), 2, "{outcome:?}");
    assert_eq!(outcome.not_started, 0);
    assert!(!outcome.all_done());
    assert!(
        !second.path().join("job.json").exists(),
        "job.json rewritten"
    );
    assert!(
        !out.join("logs")
            .join(format!("{}.log", jobs[1].id()))
            .exists()
    );
    let text = outcome.text();
    assert!(text.contains("1 held by another process"), "{text}");
}

/// A child that finds its directory taken between the pool's check and its own lock exits
/// with the held status: skipped as held, not retried, not failed.
#[test]
fn a_child_that_finds_its_job_held_is_skipped_not_retried() {
    let _serial = serial();
    let Sweep {
        tmp: _tmp,
        jobs,
        tree,
        out,
        ..
    } = sweep();
    let mut opts = options(&out, &[], true);
    opts.retries = 3;
    let held = jobs[0].id();
    exit_for(&mut opts, held, multiberts_sweep::HELD_EXIT_CODE);
    let outcome = run_local(&jobs, &tree, &opts).unwrap();
    assert_eq!(outcome.held, [held.to_string()], "{outcome:?}");
    assert!(outcome.failed.is_empty(), "{outcome:?}");
    assert_eq!(outcome.succeeded.len(), 2);
    let log = std::fs::read_to_string(out.join("logs").join(format!("{held}.log"))).unwrap();
    assert_eq!(log.matches("attempt").count(), 1, "not retried: {log}");
}
