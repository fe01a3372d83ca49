//! One job end to end: read its inputs, build its model, train, write its outputs (`DONE`
//! last). Each stage is its own module; this one only puts them in order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::phases::{Phases, Tally};

use candle_core::Device;
use multiberts_collector::JobDir;
use multiberts_manifest::JobFile;
use multiberts_model::precision::Precision;

use crate::error::{Result, RunnerError};
use crate::inputs::JobInputs;
use crate::model::Model;
use crate::outputs::{RunFacts, write_outputs};

/// How to run a job (everything that is not part of the job's identity).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The sweep's cache (`results/<name>/.cache`): hub downloads, generated inits and
    /// tokenized features shared by the sweep's jobs.
    pub cache_dir: PathBuf,
    /// When to save a resume checkpoint (besides a stop request).
    pub save: crate::SaveSchedule,
    /// Keep `state/` (the last resume checkpoint: the fine-tuned weights and optimizer
    /// moments) after the job is done. By default it is deleted once `DONE` is written, since a
    /// done job never resumes and the state is 3x the model's size per job.
    pub keep_state: bool,
    /// Stop with [`RunnerError::Aborted`] right after this step (tests simulate a kill).
    pub abort_after_step: Option<u64>,
    /// Worker threads in use, for the record.
    pub threads: usize,
    /// Where the model trains and evaluates. Not part of the job's identity: the same job on
    /// another device is the same job; `job.json` records the device that ran it.
    pub device: Device,
}

/// What a finished (or already finished) job reports.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// The job id.
    pub job_id: String,
    /// The job directory.
    pub dir: PathBuf,
    /// Whether the job was done before this call (nothing was run).
    pub already_done: bool,
    /// Optimizer steps of the whole run.
    pub steps: u64,
    /// The step training resumed from, when a resume state was found.
    pub resumed_from: Option<u64>,
    /// The primary metric's name.
    pub primary_metric: String,
    /// Dev metrics after the final epoch.
    pub dev: BTreeMap<String, f64>,
}

/// What the job did, in one line: done before, or done now (steps, resume, dev score).
impl std::fmt::Display for RunSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let score = self
            .dev
            .get(&self.primary_metric)
            .map_or_else(|| "n/a".to_string(), |v| format!("{v:.4}"));
        let (id, metric, dir) = (&self.job_id, &self.primary_metric, self.dir.display());
        if self.already_done {
            return write!(f, "job {id} is already done ({metric} {score}): {dir}");
        }
        let resumed = self
            .resumed_from
            .map(|s| format!(", resumed from step {s}"))
            .unwrap_or_default();
        let steps = self.steps;
        write!(
            f,
            "job {id} done: {steps} steps{resumed}, dev {metric} {score}; {dir}"
        )
    }
}

/// The version of the code that ran a job.
pub fn code_version() -> String {
    match option_env!("MULTIBERTS_GIT_REV") {
        Some(rev) => format!("{} (git {rev})", env!("CARGO_PKG_VERSION")),
        None => env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// The model's implementation of a manifest precision.
fn model_precision(p: multiberts_manifest::Precision) -> Precision {
    match p {
        multiberts_manifest::Precision::Fp32 => Precision::Fp32,
        multiberts_manifest::Precision::Tf32 => Precision::Tf32,
        multiberts_manifest::Precision::Bf16 => Precision::Bf16,
    }
}

/// Logs the job `run-job` is about to run: its id, task, checkpoint, learning rate and seed,
/// and the threads and device it runs on.
pub fn log_start(file: &JobFile, opts: &RunOptions) {
    let job = &file.spec;
    tracing::info!(
        job = %job.id,
        task = %job.task.name,
        checkpoint = %job.checkpoint.id,
        learning_rate = job.learning_rate,
        finetune_seed = job.finetune_seed,
        threads = opts.threads,
        device = %crate::device::device_name(&opts.device),
        "run-job"
    );
}

/// Fine-tunes and evaluates the job of `file` in its directory `dir`. A done job is left
/// alone; an unfinished one resumes from its last state. The directory is locked
/// ([`JobDir::lock`]) throughout: a job another live process runs is refused
/// ([`multiberts_collector::CollectorError::Held`]).
pub fn run_job(file: &JobFile, dir: &JobDir, opts: &RunOptions) -> Result<RunSummary> {
    let started = Instant::now();
    // Before the slow start-up, so that an early USR2 is a stop request and not a kill.
    crate::stop::install();
    let job = &file.spec;
    let invalid = |message: String| RunnerError::Invalid {
        job: job.id.clone(),
        message,
    };
    if (dir.task(), dir.checkpoint(), dir.job_id())
        != (&*job.task.name, &*job.checkpoint.id, &*job.id)
    {
        return Err(invalid(format!(
            "job.json describes job {}/{}/{} but lies in {}; job files are written by the \
             sweep into their own job's directory",
            job.task.name,
            job.checkpoint.id,
            job.id,
            dir.path().display()
        )));
    }
    // Held until the job ends: no other process (an orphan of a killed sweep, a second
    // run-job, a requeued Slurm task) can clear or run this directory meanwhile.
    let _held = dir.lock()?;
    if dir.is_done() {
        return already_done(dir, &job.id);
    }
    dir.prepare()?;
    let precision = model_precision(job.hyper.precision);
    precision
        .check_device(&opts.device)
        .map_err(|e| invalid(e.to_string()))?;
    precision.apply_to_cublas();
    let (mut data, mut model) = (Tally::default(), Tally::default());
    let inputs = data.time(|| JobInputs::read(job, job.data_root.as_deref(), &opts.cache_dir))?;
    let loaded = model.time(|| {
        Model::load(
            &inputs.checkpoint.dir,
            &opts.device,
            inputs.kind,
            job.finetune_seed,
            precision,
            inputs.vocab_size,
        )
    })?;
    let trained = crate::train::train(&loaded.model, &inputs, job, dir, opts)?;
    let phases = Phases {
        data: data.seconds(),
        model: model.seconds(),
        ..trained.phases
    };
    let steps = trained.steps;
    let resumed_from = trained.resumed_from;
    let dev = trained
        .epochs
        .last()
        .map(|e| e.dev.clone())
        .unwrap_or_default();
    let facts = RunFacts {
        started,
        phases,
        precision,
        checkpoint_sha256: loaded.checkpoint_sha256,
    };
    write_outputs(file, dir, &inputs, trained, &facts, opts)?;
    tracing::info!(job = %job.id, steps, ?dev, "job done");
    Ok(RunSummary {
        job_id: job.id.clone(),
        dir: dir.path().to_path_buf(),
        already_done: false,
        steps,
        resumed_from,
        primary_metric: job.task.primary_metric().to_string(),
        dev,
    })
}

/// The summary of a job that was done before this call.
fn already_done(dir: &JobDir, job_id: &str) -> Result<RunSummary> {
    let metrics = dir.read_metrics()?;
    let last = metrics.epochs.last();
    Ok(RunSummary {
        job_id: job_id.to_string(),
        dir: dir.path().to_path_buf(),
        already_done: true,
        steps: last.map_or(0, |e| e.step),
        resumed_from: None,
        primary_metric: metrics.primary_metric.clone(),
        dev: last.map(|e| e.dev.clone()).unwrap_or_default(),
    })
}

/// The job directory of a path and its job file, checked: the canonical object must hash to
/// the job id. Also returns the sweep's cache folder (`<tree>/.cache`), wherever the tree now
/// lives.
pub fn open_job_dir(path: &Path) -> Result<(JobDir, JobFile, PathBuf)> {
    let (tree, dir) = multiberts_collector::ResultsTree::open_job(path)?;
    let file: JobFile = dir.read_job_file()?;
    file.check(&dir.path().join(multiberts_collector::tree::JOB_FILE))
        .map_err(|e| RunnerError::Invalid {
            job: dir.job_id().to_string(),
            message: e.to_string(),
        })?;
    Ok((dir, file, tree.root().join(".cache")))
}
