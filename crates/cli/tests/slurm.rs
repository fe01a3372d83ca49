//! The Slurm backend as a user drives it, and the cooperative stop it relies on.
//!
//! `usr2_*` and `dry_run_*` run everywhere. `sweep_through_slurm` needs a running cluster: it
//! runs when `MULTIBERTS_SLURM_TESTS=1` (CI sets it after `.ci/slurm-up.sh`) and otherwise
//! prints that it was skipped.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{assert_fails_with, find_files, multiberts, ok, text, tiny_manifest, write_manifest};

/// Two generated tiny checkpoints x the two demo tasks: 4 + 2 = 6 short jobs.
fn manifest() -> String {
    let defaults =
        "batch_size = 32\nepochs = 1\nfinetune_seeds = [0, 1]\nmax_train_examples = 256\n";
    let tasks = "[[tasks]]\nname = \"demo-sentiment\"\n\n[[tasks]]\nname = \"demo-overlap\"\n\
                 finetune_seeds = [0]\n";
    tiny_manifest("slurm-ci", "[0, 1]", defaults, tasks)
}

/// Job ids of `manifest` with their task, from `plan --json`.
fn job_ids(dir: &Path, manifest: &str) -> Vec<(String, String)> {
    let out = ok(multiberts(dir, &["plan", manifest, "--json"]));
    let json_start = out.find('{').expect("JSON in plan's output");
    let plan: serde_json::Value = serde_json::from_str(&out[json_start..]).unwrap();
    plan["jobs"]
        .as_array()
        .expect("a job list")
        .iter()
        .map(|j| {
            (
                j["id"].as_str().unwrap().to_string(),
                j["task"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `predictions.parquet` of every job under `dir` (not the consolidated tables), by job id.
fn predictions(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    find_files(dir, "predictions.parquet")
        .into_iter()
        .filter(|path| path.parent() != Some(&dir.join("predictions")))
        .map(|path| {
            let id = path.parent().unwrap().file_name().unwrap();
            (
                id.to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            )
        })
        .collect()
}

/// The job directory of `job` of the test manifest under `results`, with its job file
/// written (`plan --write-jobs`).
fn staged_job(dir: &Path, job: &str, results: &str) -> String {
    let listed = ok(multiberts(
        dir,
        &["plan", "m.toml", "--write-jobs", "--results-dir", results],
    ));
    listed
        .lines()
        .find(|l| l.ends_with(job))
        .unwrap_or_else(|| panic!("no directory of job {job} in:\n{listed}"))
        .to_string()
}

/// `run-job` of the test manifest's `job` into `results`.
fn run_job(dir: &Path, job: &str, results: &str) -> String {
    let job_dir = staged_job(dir, job, results);
    ok(multiberts(dir, &["run-job", &job_dir]))
}

/// Polls `check` every 100 ms until it holds, failing after `limit` with `what`.
fn wait_for(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn usr2_stops_a_job_at_a_step_boundary_and_a_rerun_resumes_bit_identically() {
    assert_eq!(
        multiberts_runner::STOPPED_EXIT_CODE,
        multiberts_sweep::slurm::STOPPED_EXIT_CODE,
        "the batch script must requeue on the runner's exit code"
    );
    let dir = tempfile::tempdir().unwrap();
    write_manifest(dir.path(), &manifest());
    let (job, task) = job_ids(dir.path(), "m.toml").remove(0);

    // Uninterrupted reference.
    run_job(dir.path(), &job, "ref");
    // Slowed down (changes no result), stopped with USR2 once it has saved a state.
    let staged = staged_job(dir.path(), &job, "stopped");
    let mut child = Command::new(env!("CARGO_BIN_EXE_multiberts"))
        .args([
            "run-job",
            &staged,
            "--settings",
            r#"{"checkpoint_every": 2}"#,
        ])
        .current_dir(dir.path())
        .env("RUST_LOG", "warn")
        .env("MULTIBERTS_TEST_STEP_SLEEP_MS", "200")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let job_dir = dir
        .path()
        .join("stopped/slurm-ci")
        .join(&task)
        .join("init-tiny-seed_0")
        .join(&job);
    wait_for(Duration::from_secs(60), "the first resume state", || {
        job_dir.join("state/state.json").is_file()
    });
    let kill = Command::new("kill")
        .args(["-USR2", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(75), "{err}");
    assert!(err.contains("stopped on request (USR2)"), "{err}");
    assert!(!job_dir.join("DONE").exists(), "a stopped job is not done");

    let resumed = run_job(dir.path(), &job, "stopped");
    assert!(resumed.contains("resumed from step"), "{resumed}");
    let reference = predictions(&dir.path().join("ref"));
    assert_eq!(reference.len(), 1);
    assert_eq!(reference, predictions(&dir.path().join("stopped")));
}

#[test]
fn dry_run_prints_scripts_and_sbatch_lines_and_submits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = format!(
        "{base}\n[slurm]\npartition = \"gpu\"\ntime = \"30\"\narray_parallelism = 4\n\
         setup = [\"module load cuda\"]\n",
        base = manifest()
    );
    std::fs::write(dir.path().join("m.toml"), manifest).unwrap();
    let out = ok(multiberts(
        dir.path(),
        &[
            "sweep",
            "m.toml",
            "--backend",
            "slurm",
            "--dry-run",
            "--time",
            "01:00:00",
            "--sbatch-arg=--constraint=a100",
        ],
    ));
    for needle in [
        "6 jobs; 0 done",
        "#SBATCH --partition=gpu",
        "#SBATCH --time=01:00:00",
        "#SBATCH --constraint=a100",
        "#SBATCH --signal=B:USR2@120",
        "module load cuda",
        "run-job \"$job_dir\" --settings",
        "sbatch --parsable --array=0-5%4 ",
        "--kill-on-invalid-dep=yes",
        "collect.sbatch",
        "nothing was written or submitted",
    ] {
        assert!(out.contains(needle), "{needle:?} missing from:\n{out}");
    }
    assert!(
        !dir.path().join("results").exists(),
        "a dry run writes nothing"
    );

    // Overrides are validated like the manifest.
    let bad = multiberts(
        dir.path(),
        &[
            "sweep",
            "m.toml",
            "--backend",
            "slurm",
            "--dry-run",
            "--time",
            "4h",
        ],
    );
    assert_fails_with(&bad, "time = \"4h\" is invalid");
    let local = multiberts(dir.path(), &["sweep", "m.toml", "--partition", "gpu"]);
    assert_fails_with(&local, "need --backend slurm");
}

/// `squeue`'s state of one job id (`None` once Slurm forgot it).
fn slurm_state(id: &str) -> Option<String> {
    let out = Command::new("squeue")
        .args(["-h", "-t", "all", "-j", id, "-o", "%T"])
        .output()
        .ok()?;
    let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!s.is_empty()).then_some(s)
}

/// The Slurm job ids a `sweep --backend slurm` printed (`-> job N`), arrays first.
fn submitted_ids(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.split("-> job ").nth(1))
        .map(|s| s.trim().to_string())
        .collect()
}

/// The cells of the `all` row of `status`'s table.
fn all_row(status: &str) -> Vec<String> {
    let line = status
        .lines()
        .find(|l| l.trim_start_matches('│').trim_start().starts_with("all "))
        .unwrap_or_else(|| panic!("no `all` row in:\n{status}"));
    line.trim_matches('│')
        .split('┆')
        .map(|c| c.trim().to_string())
        .collect()
}

fn wait_until_ended(id: &str) {
    wait_for(Duration::from_secs(90), &format!("Slurm job {id}"), || {
        slurm_state(id).is_some_and(|s| {
            !matches!(
                s.as_str(),
                "PENDING" | "RUNNING" | "COMPLETING" | "CONFIGURING" | "REQUEUED"
            )
        })
    });
}

#[test]
fn sweep_through_slurm() {
    if std::env::var("MULTIBERTS_SLURM_TESTS").as_deref() != Ok("1") {
        eprintln!("skipped: set MULTIBERTS_SLURM_TESTS=1 with a running cluster (.ci/slurm-up.sh)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("plain.toml"), manifest()).unwrap();
    let ids = job_ids(root, "plain.toml");
    assert_eq!(ids.len(), 6);
    let failing = ids[1].0.clone();
    let slow = ids[4].0.clone();
    let marker = root.join("fail-marker");
    std::fs::write(&marker, "").unwrap();

    // The [slurm] table is not part of the job ids: the same jobs, with test hooks for two of
    // them passed through its setup lines (which see $MULTIBERTS_JOB).
    let manifest = format!(
        "{base}\n[slurm]\narray_parallelism = 2\nsetup = [\n  \
         'if [ \"$MULTIBERTS_JOB\" = {failing} ] && [ -e {marker} ]; then export MULTIBERTS_ABORT_AFTER_STEP=2; fi',\n  \
         'if [ \"$MULTIBERTS_JOB\" = {slow} ]; then export MULTIBERTS_TEST_STEP_SLEEP_MS=400; fi',\n]\n",
        base = manifest(),
        marker = marker.display()
    );
    std::fs::write(root.join("m.toml"), manifest).unwrap();
    assert_eq!(job_ids(root, "m.toml"), ids);

    // Reference: the same manifest swept locally.
    ok(multiberts(
        root,
        &["sweep", "m.toml", "--results-dir", "local", "--no-collect"],
    ));
    let local = predictions(&root.join("local/slurm-ci"));
    assert_eq!(local.len(), 6);

    let submit = |extra: &[&str]| {
        let mut args = vec![
            "sweep",
            "m.toml",
            "--backend",
            "slurm",
            "--results-dir",
            "cluster",
        ];
        args.extend_from_slice(extra);
        ok(multiberts(root, &args))
    };
    let out = submit(&["--checkpoint-every", "2"]);
    let slurm_ids = submitted_ids(&out);
    assert_eq!(slurm_ids.len(), 2, "one array and a collect job:\n{out}");
    let (array, collect) = (&slurm_ids[0], &slurm_ids[1]);
    assert!(out.contains("--array=0-5%2"), "{out}");

    // Requeue the slow job mid-run: USR2 to its batch shell, as Slurm does before a time limit.
    let out_dir = root.join("cluster/slurm-ci");
    let slow_line = std::fs::read_to_string(out_dir.join("slurm/001/jobs.txt"))
        .unwrap()
        .lines()
        .position(|l| l == slow)
        .unwrap();
    let slow_task = format!("{array}_{slow_line}");
    let slow_dir = out_dir.join("demo-overlap/init-tiny-seed_0").join(&slow);
    wait_for(
        Duration::from_secs(60),
        "the slow job's first state",
        || slow_dir.join("state/state.json").is_file(),
    );
    let signal = Command::new("scancel")
        .args(["--batch", "--signal=USR2", &slow_task])
        .output()
        .unwrap();
    assert!(signal.status.success(), "{}", text(&signal));

    // A second submission while jobs run submits nothing that is queued or running.
    let again = submit(&[]);
    assert!(submitted_ids(&again).is_empty(), "{again}");
    // Nor may a local sweep write the directories of jobs Slurm runs (the requeued job waits
    // at least cred_expire seconds before it runs again).
    let local_sweep = multiberts(root, &["sweep", "m.toml", "--results-dir", "cluster"]);
    assert_fails_with(&local_sweep, "queued or running in Slurm");
    wait_until_ended(collect);

    // The failure shows in status with its exit code and log; the requeued job finished.
    let status = ok(multiberts(
        root,
        &["status", "m.toml", "--results-dir", "cluster"],
    ));
    assert!(status.contains(&format!("failed: {failing}")), "{status}");
    assert!(status.contains("FAILED, exit code 1:0"), "{status}");
    assert!(status.contains("MULTIBERTS_ABORT_AFTER_STEP"), "{status}");
    let slow_log =
        std::fs::read_to_string(out_dir.join(format!("logs/slurm/{slow_task}.out"))).unwrap();
    assert!(
        slow_log.contains("stopped on USR2 (status 75)"),
        "{slow_log}"
    );
    assert!(slow_log.contains("restart 1"), "{slow_log}");
    assert!(slow_log.contains("resumed from step"), "{slow_log}");
    let cluster = predictions(&out_dir);
    assert_eq!(cluster.len(), 5, "every job but the failing one is done");
    for (id, bytes) in &cluster {
        assert!(
            local[id] == *bytes,
            "job {id}: predictions differ from the local sweep"
        );
    }

    // Failed jobs stay failed until asked; then they complete.
    std::fs::remove_file(&marker).unwrap();
    let plain = submit(&[]);
    assert!(
        plain.contains("1 job failed in Slurm and is left alone"),
        "{plain}"
    );
    assert!(submitted_ids(&plain).is_empty(), "{plain}");
    let out = submit(&["--resubmit-failed"]);
    assert!(out.contains("1 failed before (resubmitted)"), "{out}");
    let ids2 = submitted_ids(&out);
    assert_eq!(ids2.len(), 2, "{out}");
    wait_until_ended(&ids2[1]);
    assert_eq!(predictions(&out_dir), local);
    let status = ok(multiberts(
        root,
        &["status", "m.toml", "--results-dir", "cluster"],
    ));
    assert_eq!(all_row(&status)[..2], ["all", "6"], "{status}");
    assert!(out_dir.join("report/summary.md").is_file());
    let done = submit(&[]);
    assert!(
        done.contains("nothing to submit: all 6 jobs are done"),
        "{done}"
    );
}
