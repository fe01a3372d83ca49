//! The local worker pool: one `run-job` child process per job (a crash or OOM kills one job,
//! not the sweep), retries, fail-fast or keep-going, a log file per job, progress bars, and a
//! clean stop on Ctrl-C (children are killed; their resume state lets a re-run continue).
//! On GPUs, each job gets a slot of one GPU ([`GpuSlots`]) and `--device cuda:<gpu>`.
//!
//! Pre-training jobs go first. A fine-tuning job of a step a pre-training job saves waits in
//! the queue (later jobs are started past it) until the step's folder exists, which the run
//! renames into place complete; so fine-tuning of early steps overlaps with later
//! pre-training. When the pre-training job fails for good, its fine-tuning jobs are not
//! started ([`SweepOutcome::blocked`]).

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use multiberts_collector::ResultsTree;
use multiberts_manifest::SweepJob;

use crate::child::{ChildSettings, HELD_EXIT_CODE, PERMANENT_FAILURE_EXIT_CODE, die_with_parent};

use crate::error::{Result, SweepError};
use crate::gpus::{GpuOptions, GpuSlots};
use crate::lock::SweepLock;
use crate::record::{FailedJob, SweepRecord, log_path, logs_dir};

/// How to run a sweep locally.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// The executable to run (`multiberts`), normally the current one.
    pub exe: PathBuf,
    /// Arguments before `run-job` (none for `multiberts`; a test's worker script).
    pub prefix: Vec<OsString>,
    /// What every child is told besides its job directory; with [`gpus`](Self::gpus) the pool
    /// sets the device of each child to its GPU slot.
    pub settings: ChildSettings,
    /// The manifest's results directory, `results/<name>`.
    pub output_dir: PathBuf,
    /// Jobs run at once (with [`gpus`](Self::gpus), also at most GPUs × jobs per GPU).
    pub jobs: usize,
    /// Run the jobs on these GPUs: each child gets the device `cuda:<gpu>` of the GPU with
    /// the fewest running jobs, and no GPU runs more than `per_gpu` at once; a job's slot is
    /// freed when its child exits. `None`: every child runs on `settings.device`.
    pub gpus: Option<GpuOptions>,
    /// Threads given to each job (`RAYON_NUM_THREADS` of the child).
    pub threads_per_job: usize,
    /// Extra attempts for a failing job.
    pub retries: u32,
    /// Keep starting jobs after one failed for good (otherwise stop starting new ones).
    pub keep_going: bool,
    /// Draw progress bars on the terminal.
    pub progress: bool,
    /// Run again the done jobs whose input files changed since they ran (`--rerun-stale`):
    /// they are made unfinished under the sweep's lock, before any job starts
    /// ([`crate::check_stale`]). Without it, the caller refuses stale jobs beforehand
    /// (`check_stale` with `rerun` false only reads the tree).
    pub rerun_stale: bool,
}

/// What a sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepOutcome {
    /// Jobs in the manifest.
    pub total: usize,
    /// Jobs that were done before this sweep.
    pub already_done: usize,
    /// Jobs this sweep finished.
    pub succeeded: Vec<String>,
    /// Jobs that failed for good.
    pub failed: Vec<FailedJob>,
    /// Jobs not started (fail-fast, interrupted, or blocked).
    pub not_started: usize,
    /// Fine-tuning jobs not started because the pre-training job that saves their
    /// checkpoint failed or was held: `(job id, why)`. Counted in `not_started` too.
    pub blocked: Vec<(String, String)>,
    /// Jobs skipped because another live process holds their directory (it runs them, e.g. a
    /// hand-started `run-job`): not failures and not retried; a re-run once that process has
    /// ended finds them done, or runs them.
    pub held: Vec<String>,
    /// Whether Ctrl-C (or SIGTERM) stopped the sweep.
    pub interrupted: bool,
}

impl SweepOutcome {
    /// Whether every job of the manifest is done now.
    pub fn all_done(&self) -> bool {
        self.already_done + self.succeeded.len() == self.total
    }
}

/// Set by the Ctrl-C handler.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs the Ctrl-C / SIGTERM handler (once per process; later calls do nothing).
fn install_interrupt_handler() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    if let Err(e) = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst)) {
        tracing::warn!(error = %e, "cannot install the Ctrl-C handler");
    }
}

struct Running {
    job: usize,
    child: Child,
    started: Instant,
    attempt: u32,
    bar: ProgressBar,
    /// The GPU slot it holds.
    gpu: Option<usize>,
}

/// Whether a queued job can start now.
enum Readiness {
    /// It needs nothing, or what it needs is there.
    Ready,
    /// Its pre-training job is queued or running and has not saved its step yet.
    Waiting,
    /// Its pre-training job failed or is held elsewhere: it will not start in this sweep.
    Blocked(String),
}

/// Whether `jobs[i]` can start: a fine-tuning job of a pre-trained step waits for the step's
/// folder while its pre-training job is `pending` (queued or running) in this sweep; once
/// that job `failed` or was `held`, it is blocked. Otherwise it starts (a missing folder of a
/// done run is then the job's own error).
fn readiness(
    jobs: &[SweepJob],
    i: usize,
    queued: &Queued<'_>,
    outcome: &SweepOutcome,
) -> Readiness {
    let Some(needs) = jobs[i].needs() else {
        return Readiness::Ready;
    };
    if needs.dir.is_dir() {
        return Readiness::Ready;
    }
    let run = queued.pretrain.get(needs.job.as_str());
    if run.is_some_and(|&r| queued.pending[r]) {
        return Readiness::Waiting;
    }
    let step = needs.step;
    if outcome.failed.iter().any(|f| f.id == needs.job) {
        return Readiness::Blocked(format!(
            "pre-training job {} failed before saving step {step}",
            needs.job
        ));
    }
    if outcome.held.contains(&needs.job) {
        return Readiness::Blocked(format!(
            "pre-training job {} is run by another process and has not saved step {step} yet",
            needs.job
        ));
    }
    Readiness::Ready
}

/// Which jobs are queued or running, and where each pre-training job is: built once, so that
/// checking a waiting job costs no search through thousands of jobs.
struct Queued<'a> {
    /// Queued or running, by job index.
    pending: Vec<bool>,
    /// The index of each pre-training job, by id.
    pretrain: std::collections::HashMap<&'a str, usize>,
}

/// Takes the first job of `queue` that can start (blocked ones are moved into `outcome`).
fn next_ready(
    queue: &mut VecDeque<(usize, u32)>,
    jobs: &[SweepJob],
    queued: &Queued<'_>,
    outcome: &mut SweepOutcome,
) -> Option<(usize, u32)> {
    let mut k = 0;
    while k < queue.len() {
        let i = queue[k].0;
        match readiness(jobs, i, queued, outcome) {
            Readiness::Ready => return queue.remove(k),
            Readiness::Waiting => k += 1,
            Readiness::Blocked(why) => {
                tracing::warn!(job = %jobs[i].id(), "not started: {why}");
                outcome.blocked.push((jobs[i].id().to_string(), why));
                outcome.not_started += 1;
                queue.remove(k);
            }
        }
    }
    None
}

fn exit_text(status: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return format!("killed by signal {sig}");
        }
    }
    match status.code() {
        Some(c) if c == i32::from(PERMANENT_FAILURE_EXIT_CODE) => {
            format!("exit status {c}: not retried, retrying cannot fix it")
        }
        Some(c) => format!("exit status {c}"),
        None => "unknown exit".into(),
    }
}

/// Runs every job of `jobs` that is not done, `opts.jobs` at a time (and on GPUs, at most
/// `per_gpu` on each): writes the job's `job.json` into its directory, then starts
/// `run-job` on that directory. Holds the results directory's lock throughout, from the
/// re-marking of stale jobs (with `rerun_stale`) on. A job whose directory
/// another live process takes meanwhile is skipped ([`SweepOutcome::held`]).
pub fn run_local(
    jobs: &[SweepJob],
    tree: &ResultsTree,
    opts: &LocalOptions,
) -> Result<SweepOutcome> {
    let mut slots = opts.gpus.as_ref().map(GpuSlots::new).transpose()?;
    let _lock = SweepLock::acquire(&opts.output_dir)?;
    if opts.rerun_stale {
        crate::stale::check_stale(tree, true)?;
    }
    let logs = logs_dir(&opts.output_dir);
    std::fs::create_dir_all(&logs)
        .map_err(|e| SweepError::file(&logs, format!("cannot create directory: {e}")))?;
    install_interrupt_handler();
    INTERRUPTED.store(false, Ordering::SeqCst);

    let mut outcome = SweepOutcome {
        total: jobs.len(),
        ..SweepOutcome::default()
    };
    let mut queue: VecDeque<(usize, u32)> = VecDeque::new();
    let mut dirs = Vec::with_capacity(jobs.len());
    for (i, job) in jobs.iter().enumerate() {
        let dir = crate::child::job_dir(tree, job)?;
        let done = dir.is_done();
        dirs.push(dir);
        if done {
            outcome.already_done += 1;
        } else {
            queue.push_back((i, 1));
        }
    }
    // Pre-training first: the fine-tuning jobs wait for its checkpoints.
    queue
        .make_contiguous()
        .sort_by_key(|&(i, _)| !jobs[i].is_pretrain());
    let mut queued = Queued {
        pending: vec![false; jobs.len()],
        pretrain: (jobs.iter().enumerate())
            .filter(|(_, j)| j.is_pretrain())
            .map(|(i, j)| (j.id(), i))
            .collect(),
    };
    for &(i, _) in &queue {
        queued.pending[i] = true;
    }
    if queue.is_empty() {
        return Ok(outcome);
    }
    refuse_held(queue.iter().map(|&(i, _)| &dirs[i]))?;

    let multi = MultiProgress::with_draw_target(if opts.progress {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let overall = multi.add(ProgressBar::new(queue.len() as u64));
    overall.set_style(
        ProgressStyle::with_template(
            "{prefix:.bold} [{elapsed_precise}] {wide_bar} {pos}/{len} jobs  ETA {eta}  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    overall.set_prefix("sweep");
    overall.enable_steady_tick(Duration::from_millis(200));
    let job_style = ProgressStyle::with_template("  {spinner} [{elapsed:>4}] {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());

    let mut record = SweepRecord {
        pid: std::process::id(),
        ..SweepRecord::default()
    };
    let mut running: Vec<Running> = Vec::new();
    let mut stop_starting = false;
    loop {
        if INTERRUPTED.load(Ordering::SeqCst) && !outcome.interrupted {
            outcome.interrupted = true;
            stop_starting = true;
            for r in &mut running {
                let _ = r.child.kill();
            }
        }
        // Start jobs while there are free slots.
        let mut changed = false;
        while !stop_starting && running.len() < opts.jobs.max(1) && !queue.is_empty() {
            let gpu = match slots.as_mut() {
                Some(slots) => match slots.acquire() {
                    Some(gpu) => Some(gpu),
                    None => break,
                },
                None => None,
            };
            let Some((i, attempt)) = next_ready(&mut queue, jobs, &queued, &mut outcome) else {
                if let (Some(slots), Some(gpu)) = (slots.as_mut(), gpu) {
                    slots.release(gpu);
                }
                break;
            };
            let id = jobs[i].id();
            // Taken by another process since the sweep began: its job.json is not rewritten
            // and the job is not started a second time.
            if dirs[i].is_held()? {
                if let (Some(slots), Some(gpu)) = (slots.as_mut(), gpu) {
                    slots.release(gpu);
                }
                skip_held(&mut outcome, &multi, &overall, id);
                queued.pending[i] = false;
                changed = true;
                continue;
            }
            // The job handed over as a value: written before every start, so a re-run after
            // a change of code or manifest location hands over the current one.
            dirs[i].write_job_file(&jobs[i])?;
            let child = spawn_job(opts, &dirs[i], id, gpu)?;
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(job_style.clone());
            let retry = if attempt > 1 {
                format!(" (attempt {attempt})")
            } else {
                String::new()
            };
            let on = gpu.map_or_else(String::new, |g| format!(" on cuda:{g}"));
            bar.set_message(format!("{}{on}{retry}", jobs[i].describe()));
            tracing::debug!(job = %id, gpu, attempt, "job started");
            bar.enable_steady_tick(Duration::from_millis(200));
            running.push(Running {
                job: i,
                child,
                started: Instant::now(),
                attempt,
                bar,
                gpu,
            });
            changed = true;
        }
        // Reap finished children.
        let mut k = 0;
        while k < running.len() {
            let status = running[k]
                .child
                .try_wait()
                .map_err(|e| SweepError::file(&opts.exe, format!("cannot wait for a job: {e}")))?;
            let Some(status) = status else {
                k += 1;
                continue;
            };
            let r = running.swap_remove(k);
            if let (Some(slots), Some(gpu)) = (slots.as_mut(), r.gpu) {
                slots.release(gpu);
            }
            r.bar.finish_and_clear();
            multi.remove(&r.bar);
            changed = true;
            let id = jobs[r.job].id();
            let secs = r.started.elapsed().as_secs_f64();
            // Queued again below only on a retry.
            queued.pending[r.job] = false;
            if status.success() {
                overall.inc(1);
                outcome.succeeded.push(id.to_string());
                tracing::debug!(job = %id, secs, "job done");
            } else if outcome.interrupted {
                // Killed by us: neither a failure nor a retry; a re-run resumes it.
                outcome.not_started += 1;
            } else if status.code() == Some(i32::from(HELD_EXIT_CODE)) {
                // Taken by another process between the check above and the child's lock.
                skip_held(&mut outcome, &multi, &overall, id);
            } else if r.attempt <= opts.retries
                && status.code() != Some(i32::from(PERMANENT_FAILURE_EXIT_CODE))
            {
                tracing::warn!(job = %id, status = %exit_text(status), attempt = r.attempt, "job failed; retrying");
                queue.push_front((r.job, r.attempt + 1));
                queued.pending[r.job] = true;
            } else {
                let failed = FailedJob {
                    id: id.to_string(),
                    attempts: r.attempt,
                    status: exit_text(status),
                    log: log_path(&opts.output_dir, id),
                };
                multi.suspend(|| {
                    tracing::error!(
                        job = %id,
                        status = %failed.status,
                        log = %failed.log.display(),
                        "job failed"
                    );
                });
                overall.inc(1);
                record.failed.insert(id.to_string(), failed.clone());
                outcome.failed.push(failed);
                if !opts.keep_going {
                    stop_starting = true;
                }
            }
        }
        if changed {
            record.running = running
                .iter()
                .map(|r| jobs[r.job].id().to_string())
                .collect();
            record.write(&opts.output_dir)?;
            if !outcome.failed.is_empty() {
                overall.set_message(format!("{} failed", outcome.failed.len()));
            }
        }
        if running.is_empty() && (stop_starting || queue.is_empty()) {
            break;
        }
        if running.is_empty() && !changed {
            // Nothing runs and nothing could start: what is left waits for a pre-training
            // step nothing will save (a guard; `readiness` lets such jobs start).
            for (i, _) in queue.drain(..) {
                let why = "its pre-training step was not saved and nothing runs".to_string();
                outcome.blocked.push((jobs[i].id().to_string(), why));
                outcome.not_started += 1;
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    outcome.not_started += queue.len();
    overall.finish_and_clear();
    record.running.clear();
    record.write(&opts.output_dir)?;
    Ok(outcome)
}

/// Starts `run-job` on the job directory `dir` (job `id`) with its output appended to the
/// job's log, on GPU `gpu` when the pool has GPU slots.
fn spawn_job(
    opts: &LocalOptions,
    dir: &multiberts_collector::JobDir,
    id: &str,
    gpu: Option<usize>,
) -> Result<Child> {
    let log = log_path(&opts.output_dir, id);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .map_err(|e| SweepError::file(&log, format!("cannot open log: {e}")))?;
    let err = file
        .try_clone()
        .map_err(|e| SweepError::file(&log, format!("cannot open log: {e}")))?;
    let settings = match gpu {
        Some(gpu) => opts.settings.on_device(format!("cuda:{gpu}")),
        None => opts.settings.clone(),
    };
    let mut cmd = Command::new(&opts.exe);
    cmd.args(settings.command_args(&opts.prefix, dir.path()))
        .env("RAYON_NUM_THREADS", opts.threads_per_job.max(1).to_string())
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err);
    die_with_parent(&mut cmd);
    cmd.spawn().map_err(|source| SweepError::Spawn {
        exe: opts.exe.clone(),
        job: id.to_string(),
        source,
    })
}

/// Records job `id` as skipped because another live process holds its directory.
fn skip_held(outcome: &mut SweepOutcome, multi: &MultiProgress, overall: &ProgressBar, id: &str) {
    multi.suspend(|| {
        tracing::warn!(job = %id, "job held by another process (it runs the job); skipped");
    });
    overall.inc(1);
    outcome.held.push(id.to_string());
}

/// Refuses to start when another live process holds one of `dirs` (an orphan of a killed
/// sweep, a hand-started `run-job`): its job is neither cleared nor started twice.
fn refuse_held<'a>(dirs: impl Iterator<Item = &'a multiberts_collector::JobDir>) -> Result<()> {
    let mut held = Vec::new();
    for dir in dirs {
        if dir.is_held()? {
            held.push(dir.path().to_path_buf());
        }
    }
    if held.is_empty() {
        Ok(())
    } else {
        Err(SweepError::Held { dirs: held })
    }
}

/// A sensible `--jobs` default: the cores divided by the threads each job uses.
pub fn default_jobs(threads_per_job: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    (cores / threads_per_job.max(1)).max(1)
}
