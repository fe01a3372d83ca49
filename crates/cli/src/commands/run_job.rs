//! `multiberts run-job`: fine-tune one job of a manifest (what `sweep` runs in each child).

use std::path::{Path, PathBuf};

use anyhow::Context;

use multiberts_manifest::Manifest;
use multiberts_model::device::DeviceRequest;
use multiberts_runner::{RunOptions, run_job};

use super::load_manifest;

/// Environment variable of the test hook that stops a job right after a given step, as if it
/// had been killed there.
pub const ABORT_ENV: &str = "MULTIBERTS_ABORT_AFTER_STEP";

/// Fine-tune and evaluate one job of a manifest, writing its results directory.
///
/// Resumes from the job's last resume checkpoint when an earlier attempt was interrupted;
/// does nothing for a job that is already done. `multiberts sweep` runs this in one child
/// process per job.
#[derive(Debug, clap::Args)]
pub struct RunJobArgs {
    /// The manifest (default: the embedded demo).
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// The job id (see `multiberts plan --list`).
    #[arg(long)]
    pub job: String,
    /// Where results and data live, and the resume interval.
    #[command(flatten)]
    pub place: JobPlace,
    /// Worker threads (default: RAYON_NUM_THREADS, else all cores).
    #[arg(long, value_parser = super::at_least_one::<usize>)]
    pub threads: Option<usize>,
}

/// Options every job needs, shared by `run-job` and `sweep` (which forwards them to each
/// child), so the two cannot drift apart.
#[derive(Debug, Clone, clap::Args)]
pub struct JobPlace {
    /// Results directory (default: the manifest's `results_dir`, else `results`).
    #[arg(long, env = "MULTIBERTS_RESULTS")]
    pub results_dir: Option<PathBuf>,
    /// Data root (default: MULTIBERTS_DATA, then the manifest's `data_dir`).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Save a resume checkpoint every N optimizer steps (and after every epoch).
    #[arg(long, default_value_t = 100, value_parser = super::at_least_one::<u64>)]
    pub checkpoint_every: u64,
    /// Keep each finished job's last resume checkpoint in `<job dir>/state/` (its fine-tuned
    /// weights and optimizer moments, about 3x the model's size) instead of deleting it.
    #[arg(long)]
    pub keep_state: bool,
    /// Where jobs train: `cpu`, `cuda` or `cuda:N`; a GPU needs a build with `--features cuda`.
    /// Not part of the job id. For one job (`run-job`) `cuda` is `cuda:0`; `sweep`'s local
    /// pool takes `cuda` as every visible GPU, one job on each (see `--jobs-per-gpu`,
    /// `--gpus`), and `cuda:N` as GPU N alone.
    #[arg(long, env = "MULTIBERTS_DEVICE", default_value = "cpu")]
    pub device: DeviceRequest,
}

/// The sweep's folder for `manifest`, with an optional results-directory override.
pub(crate) fn output_dir(manifest: &Manifest, results_dir: Option<&Path>) -> PathBuf {
    match results_dir {
        Some(r) => r.join(&manifest.name),
        None => manifest.output_dir(),
    }
}

/// Sets the worker-thread count for candle and rayon (before either starts its pool).
pub(crate) fn set_threads(threads: Option<usize>) -> usize {
    if let Some(n) = threads.filter(|&n| n > 0) {
        // SAFETY: called at start-up, before any other thread exists.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", n.to_string()) };
    }
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// Runs `multiberts run-job`.
pub fn run(args: RunJobArgs) -> anyhow::Result<()> {
    let threads = set_threads(args.threads);
    // A misspelt MULTIBERTS_KERNELS must not silently test the wrong path.
    multiberts_model::kernel_path::check_env().map_err(anyhow::Error::msg)?;
    // Before anything is read or written: a device this build or machine lacks leaves no trace.
    let device = args.place.device.spec().open()?;
    let manifest = load_manifest(args.manifest.as_deref())?;
    let job = manifest
        .jobs()
        .into_iter()
        .find(|j| j.id == args.job)
        .with_context(|| {
            format!(
                "manifest {} has no job `{}` (list them with `multiberts plan --list`)",
                manifest.path.display(),
                args.job
            )
        })?;
    let abort_after_step = match std::env::var(ABORT_ENV) {
        Ok(v) => Some(
            v.parse::<u64>()
                .with_context(|| format!("{ABORT_ENV}={v:?} is not a step number"))?,
        ),
        Err(_) => None,
    };
    let manifest_dir = manifest
        .path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let options = RunOptions {
        output_dir: output_dir(&manifest, args.place.results_dir.as_deref()),
        manifest_dir,
        data_root: multiberts_tasks::data_root(
            args.place.data_dir.as_deref(),
            manifest.data_dir.as_deref(),
        ),
        checkpoint_every: args.place.checkpoint_every,
        keep_state: args.place.keep_state,
        abort_after_step,
        threads,
        device,
    };
    tracing::info!(
        job = %job.id,
        task = %job.task,
        checkpoint = %job.checkpoint.id,
        learning_rate = job.learning_rate,
        finetune_seed = job.finetune_seed,
        threads,
        device = %multiberts_runner::device::device_name(&options.device),
        "run-job"
    );
    let summary = run_job(&job, &manifest.registry, &options)
        .with_context(|| format!("job {} failed", job.id))?;
    let score = summary
        .dev
        .get(&summary.primary_metric)
        .map_or_else(|| "n/a".to_string(), |v| format!("{v:.4}"));
    if summary.already_done {
        println!(
            "job {} is already done ({} {score}): {}",
            job.id,
            summary.primary_metric,
            summary.dir.display()
        );
    } else {
        let resumed = summary
            .resumed_from
            .map(|s| format!(", resumed from step {s}"))
            .unwrap_or_default();
        println!(
            "job {} done: {} steps{resumed}, dev {} {score}; {}",
            job.id,
            summary.steps,
            summary.primary_metric,
            summary.dir.display()
        );
    }
    Ok(())
}
