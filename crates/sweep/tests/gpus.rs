//! The local pool on several GPUs, simulated on the CPU: the worker is a shell script that logs
//! `start`/`end` lines with the `--device` it was given, sleeps, and marks its job done. The
//! log's order is a timeline (a line is written after the pool started the child and before
//! the child exits, i.e. before the pool frees its GPU), so replaying it gives how many jobs
//! ran at once, overall and per device.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use multiberts_collector::ResultsTree;
use multiberts_collector::tree::DONE_FILE;
use multiberts_manifest::{Manifest, SweepJob};
use multiberts_sweep::{GpuOptions, LocalOptions, SweepError, SweepOutcome, run_local};

/// Nine jobs (fine-tuning seeds 0 to 8).
fn manifest(dir: &Path) -> Manifest {
    let text = r#"
name = "g"
[defaults]
learning_rates = [1e-3]
finetune_seeds = "0..=8"
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

/// Single-quoted for sh.
fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// Writes the worker script: called as `worker run-job DIR --settings JSON`, it appends
/// `start ID D TIME` to `events` (ID the job directory's name, D the settings' device), sleeps
/// `sleep` seconds, appends `end ID D TIME`, then exits 1 when ID is `fail`, else creates the
/// job's `DONE` marker (what the pool's "already done" check reads; a real run-job writes a
/// JSON marker there) and exits 0. Each line is one `echo >>`, an O_APPEND write well under
/// PIPE_BUF, so lines of concurrent workers never interleave.
fn worker(dir: &Path, fail: Option<&str>, sleep: f64) -> Vec<String> {
    let events = dir.join("events.log");
    let mut script = format!(
        "#!/bin/sh\n\
         [ \"$1\" = run-job ] && [ \"$3\" = --settings ] || {{ echo \"bad arguments: $*\"; exit 9; }}\n\
         id=$(basename \"$2\"); job_dir=\"$2\"\n\
         dev=$(printf '%s' \"$4\" | sed 's/.*\"device\":\"\\([^\"]*\\)\".*/\\1/')\n\
         echo \"start $id $dev $(date +%s.%N)\" >> {ev}\n\
         sleep {sleep}\n\
         echo \"end $id $dev $(date +%s.%N)\" >> {ev}\n",
        ev = quote(&events),
    );
    if let Some(bad) = fail {
        script.push_str(&format!("[ \"$id\" = {bad} ] && exit 1\n"));
    }
    script.push_str(&format!("touch \"$job_dir/{DONE_FILE}\"\n"));
    let path = dir.join("worker.sh");
    std::fs::write(&path, script).unwrap();
    vec![path.into_os_string().into_string().unwrap()]
}

/// What the events log says.
#[derive(Debug, Default)]
struct Timeline {
    /// Most jobs running at once.
    peak: usize,
    /// Most jobs running at once on each device.
    peak_per_device: BTreeMap<String, usize>,
    /// Starts per job id.
    starts: BTreeMap<String, usize>,
    /// Devices of every start.
    devices: BTreeSet<String>,
}

fn replay(events: &Path) -> Timeline {
    let text = std::fs::read_to_string(events).unwrap();
    let mut t = Timeline::default();
    let mut now: BTreeMap<String, usize> = BTreeMap::new();
    let mut total = 0usize;
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(f.len(), 4, "a torn line: {line:?}\n{text}");
        let (id, dev) = (f[1].to_string(), f[2].to_string());
        let on = now.entry(dev.clone()).or_default();
        match f[0] {
            "start" => {
                *on += 1;
                total += 1;
                let peak = t.peak_per_device.entry(dev.clone()).or_default();
                *peak = (*peak).max(*on);
                t.peak = t.peak.max(total);
                *t.starts.entry(id).or_default() += 1;
                t.devices.insert(dev);
            }
            "end" => {
                assert!(*on > 0, "end without start: {line}\n{text}");
                *on -= 1;
                total -= 1;
            }
            other => panic!("unknown event {other}\n{text}"),
        }
    }
    assert_eq!(total, 0, "every start has its end:\n{text}");
    t
}

/// Runs the nine jobs on `gpus` with `per_gpu` jobs each (and `jobs` at most at once); job
/// number `fail` fails. Each job takes 0.3 s (long enough for overlaps to show), 0.1 s when
/// one fails (where they run one after the other).
fn sweep(
    gpus: &[usize],
    per_gpu: usize,
    jobs: usize,
    fail: Option<usize>,
) -> (tempfile::TempDir, Vec<SweepJob>, SweepOutcome, Timeline) {
    let tmp = tempfile::tempdir().unwrap();
    let m = manifest(tmp.path());
    let all = m.sweep_jobs(None, &m.output_dir()).unwrap();
    assert_eq!(all.len(), 9);
    let tree = ResultsTree::new(tmp.path(), "g").unwrap();
    let fail = fail.map(|i| all[i].id().to_string());
    let sleep = if fail.is_some() { 0.1 } else { 0.3 };
    let args = worker(tmp.path(), fail.as_deref(), sleep);
    let opts = LocalOptions {
        exe: "sh".into(),
        prefix: args.into_iter().map(Into::into).collect(),
        settings: multiberts_sweep::ChildSettings::default(),
        output_dir: tmp.path().join("g"),
        jobs,
        gpus: Some(GpuOptions {
            gpus: gpus.to_vec(),
            per_gpu,
        }),
        threads_per_job: 1,
        retries: 0,
        keep_going: true,
        progress: false,
        rerun_stale: false,
    };
    let outcome = run_local(&all, &tree, &opts).unwrap();
    let timeline = replay(&tmp.path().join("events.log"));
    (tmp, all, outcome, timeline)
}

fn devices(gpus: &[usize]) -> BTreeSet<String> {
    gpus.iter().map(|g| format!("cuda:{g}")).collect()
}

#[test]
fn one_job_per_gpu_runs_as_many_jobs_as_gpus() {
    let (_tmp, jobs, outcome, t) = sweep(&[0, 1, 2], 1, 100, None);
    assert_eq!(outcome.succeeded.len(), 9, "{outcome:?}");
    assert!(outcome.all_done());
    assert_eq!(t.peak, 3, "{t:?}");
    assert!(t.peak_per_device.values().all(|&n| n == 1), "{t:?}");
    assert_eq!(t.devices, devices(&[0, 1, 2]), "{t:?}");
    assert_eq!(t.starts.len(), 9, "{t:?}");
    assert!(
        t.starts.values().all(|&n| n == 1),
        "every job ran once: {t:?}"
    );
    for j in &jobs {
        assert!(t.starts.contains_key(j.id()), "{} never ran: {t:?}", j.id());
    }
}

#[test]
fn jobs_per_gpu_shares_each_gpu_that_many_ways() {
    let (_tmp, _, outcome, t) = sweep(&[0, 1, 2], 2, 100, None);
    assert_eq!(outcome.succeeded.len(), 9, "{outcome:?}");
    assert_eq!(t.peak, 6, "{t:?}");
    assert!(t.peak_per_device.values().all(|&n| n <= 2), "{t:?}");
    assert!(
        t.peak_per_device.values().any(|&n| n == 2),
        "some GPU ran two: {t:?}"
    );
    assert_eq!(t.devices, devices(&[0, 1, 2]), "{t:?}");
    assert!(t.starts.values().all(|&n| n == 1), "{t:?}");
}

#[test]
fn jobs_caps_the_gpu_slots_and_only_listed_gpus_are_used() {
    let (_tmp, _, outcome, t) = sweep(&[3, 5], 2, 3, None);
    assert_eq!(outcome.succeeded.len(), 9, "{outcome:?}");
    assert_eq!(t.peak, 3, "--jobs 3 of 4 slots: {t:?}");
    assert!(t.peak_per_device.values().all(|&n| n <= 2), "{t:?}");
    assert_eq!(t.devices, devices(&[3, 5]), "{t:?}");
}

#[test]
fn a_failing_job_frees_its_gpu() {
    // One GPU: the jobs after the failing one can only run if its slot came back.
    let (_tmp, jobs, outcome, t) = sweep(&[1], 1, 100, Some(0));
    assert_eq!(outcome.failed.len(), 1, "{outcome:?}");
    assert_eq!(outcome.failed[0].id, jobs[0].id());
    assert_eq!(outcome.failed[0].status, "exit status 1");
    assert_eq!(outcome.succeeded.len(), 8, "{outcome:?}");
    assert_eq!(t.peak, 1, "{t:?}");
    assert_eq!(t.starts.len(), 9, "{t:?}");
    assert_eq!(t.devices, devices(&[1]), "{t:?}");
}

#[test]
fn unusable_gpu_lists_are_refused_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let m = manifest(tmp.path());
    let tree = ResultsTree::new(tmp.path(), "g").unwrap();
    for (gpus, per_gpu, want) in [
        (vec![], 1, "no GPU"),
        (vec![0], 0, "at least 1"),
        (vec![1, 1], 1, "GPU 1 is listed twice"),
    ] {
        let opts = LocalOptions {
            exe: "false".into(),
            prefix: vec![],
            settings: multiberts_sweep::ChildSettings::default(),
            output_dir: tmp.path().join("g"),
            jobs: 1,
            gpus: Some(GpuOptions { gpus, per_gpu }),
            threads_per_job: 1,
            retries: 0,
            keep_going: false,
            progress: false,
            rerun_stale: false,
        };
        match run_local(&m.sweep_jobs(None, &m.output_dir()).unwrap(), &tree, &opts) {
            Err(e @ SweepError::Gpus(_)) => assert!(e.to_string().contains(want), "{e}"),
            other => panic!("expected a GPU error, got {other:?}"),
        }
    }
    assert!(!tmp.path().join("g").exists(), "nothing was written");
}
