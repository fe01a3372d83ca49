//! `multiberts run-job`: run one job from its directory (what `sweep` runs in each child).

use std::path::PathBuf;

use anyhow::Context;

use multiberts_collector::{JobDir, ResultsTree};
use multiberts_manifest::PretrainJobFile;
use multiberts_model::device::DeviceRequest;
use multiberts_pretrain::{PretrainError, PretrainOptions};
use multiberts_runner::{RunOptions, RunnerError, open_job_dir, run_job};
use multiberts_sweep::ChildSettings;

/// Environment variable of the test hook that stops a job right after a given step, as if it
/// had been killed there.
pub const ABORT_ENV: &str = "MULTIBERTS_ABORT_AFTER_STEP";

/// Run one job from its directory, which holds the `job.json` the sweep wrote (the job as a
/// value: the manifest is not read again): fine-tune and evaluate, or, for a pre-training job
/// of a manifest's `pretrain` checkpoints (`job.kind = "pretrain"`), pre-train and save its
/// steps into the directory.
///
/// Resumes from the job's last resume checkpoint when an earlier attempt was interrupted;
/// does nothing for a job that is already done. `multiberts sweep` runs this in one child
/// process per job.
#[derive(Debug, clap::Args)]
pub struct RunJobArgs {
    /// The job's directory: `<results>/<manifest name>/<task>/<checkpoint>/<job id>`, or
    /// `<results>/<manifest name>/pretrain/seed_<seed>/<job id>` for a pre-training job.
    pub dir: PathBuf,
    /// What the sweep tells every job, as JSON: `{"checkpoint_every": 100, "keep_state":
    /// false, "device": "cpu"}` (keys may be left out; those are the defaults).
    #[arg(long, value_parser = ChildSettings::from_json, default_value = "{}")]
    pub settings: ChildSettings,
    /// Worker threads (default: RAYON_NUM_THREADS, else all cores).
    #[arg(long, value_parser = super::at_least_one::<usize>)]
    pub threads: Option<usize>,
}

/// Sets the worker-thread count for candle and rayon (before either starts its pool).
fn set_threads(threads: Option<usize>) -> usize {
    if let Some(n) = threads {
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
    let device: DeviceRequest = args
        .settings
        .device
        .parse()
        .context("--settings has a bad device")?;
    // Before anything is read or written: a device this build or machine lacks leaves no trace.
    let device = device.spec().open()?;
    let abort_after_step = abort_after_step()?;
    if let Some((dir, file)) = open_pretrain_dir(&args.dir)? {
        let options = PretrainOptions {
            device,
            checkpoint_every: args.settings.checkpoint_every,
            abort_after_step,
        };
        return run_pretrain(&dir, &file, &options);
    }
    let (dir, file, cache_dir) = open_job_dir(&args.dir)?;
    let options = RunOptions {
        cache_dir,
        checkpoint_every: args.settings.checkpoint_every,
        keep_state: args.settings.keep_state,
        abort_after_step,
        threads,
        device,
    };
    let job = &file.spec;
    tracing::info!(
        job = %job.id,
        task = %job.task.name,
        checkpoint = %job.checkpoint.id,
        learning_rate = job.learning_rate,
        finetune_seed = job.finetune_seed,
        threads,
        device = %multiberts_runner::device::device_name(&options.device),
        "run-job"
    );
    let summary =
        run_job(&file, &dir, &options).with_context(|| format!("job {} failed", job.id))?;
    println!("{summary}");
    Ok(())
}

/// The test hook's step ([`ABORT_ENV`]), if set.
pub(crate) fn abort_after_step() -> anyhow::Result<Option<u64>> {
    match std::env::var(ABORT_ENV) {
        Ok(v) => Ok(Some(v.parse::<u64>().with_context(|| {
            format!("{ABORT_ENV}={v:?} is not a step number")
        })?)),
        Err(_) => Ok(None),
    }
}

/// The directory and job file of a pre-training job (`job.kind = "pretrain"`), checked as a
/// fine-tuning job's is (the object hashes to the id, the directory is the job's own);
/// `None` for a fine-tuning job.
fn open_pretrain_dir(path: &std::path::Path) -> anyhow::Result<Option<(JobDir, PretrainJobFile)>> {
    let file_path = path.join(multiberts_collector::tree::JOB_FILE);
    let Ok(text) = std::fs::read(&file_path) else {
        // The fine-tuning path names what is missing.
        return Ok(None);
    };
    let invalid = |message: String| RunnerError::Invalid {
        job: path.display().to_string(),
        message,
    };
    let value: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| invalid(format!("{}: not JSON: {e}", file_path.display())))?;
    if !multiberts_manifest::pretrain::is_pretrain_job(&value) {
        return Ok(None);
    }
    let file: PretrainJobFile = serde_json::from_value(value).map_err(|e| {
        invalid(format!(
            "{}: not a pre-training job file: {e}",
            file_path.display()
        ))
    })?;
    file.check(&file_path).map_err(|e| invalid(e.to_string()))?;
    let (_, dir) = ResultsTree::open_job(path).map_err(RunnerError::Collector)?;
    let s = &file.spec;
    let own = (dir.task(), dir.checkpoint(), dir.job_id())
        == (
            multiberts_tasks::name::PRETRAIN_DIR,
            s.run.as_str(),
            s.id.as_str(),
        );
    if !own {
        return Err(invalid(format!(
            "job.json describes pre-training job pretrain/{}/{} but lies in {}; job files are \
             written by the sweep into their own job's directory",
            s.run,
            s.id,
            dir.path().display()
        ))
        .into());
    }
    Ok(Some((dir, file)))
}

/// Runs (or resumes, or finds done) a manifest's pre-training job in its directory, holding
/// the directory's lock throughout. Its errors leave as the runner's, so that `run-job`'s
/// exit status is the same for both kinds: held 69, stopped 75, permanent 65.
fn run_pretrain(
    dir: &JobDir,
    file: &PretrainJobFile,
    options: &PretrainOptions,
) -> anyhow::Result<()> {
    let id = &file.spec.id;
    let _held = dir.lock().map_err(RunnerError::Collector)?;
    let as_runner = |e: PretrainError| match e {
        PretrainError::Stopped { step, .. } => RunnerError::Stopped {
            job: id.clone(),
            step,
        },
        e if e.is_permanent() => RunnerError::Invalid {
            job: id.clone(),
            message: e.to_string(),
        },
        e => RunnerError::file(dir.path(), e),
    };
    let spec = multiberts_pretrain::spec_of_job(file).map_err(as_runner)?;
    tracing::info!(
        job = %id,
        seed = spec.seed,
        steps = spec.steps,
        device = %multiberts_runner::device::device_name(&options.device),
        "run-job (pre-training)"
    );
    let summary = multiberts_pretrain::pretrain(&spec, dir.path(), options).map_err(as_runner)?;
    if summary.already_done {
        println!(
            "pre-training job {id} is already done: {}",
            dir.path().display()
        );
    } else {
        let steps: Vec<String> = summary
            .checkpoints
            .iter()
            .map(|(s, _)| s.to_string())
            .collect();
        println!(
            "pre-training job {id} done: {} steps, saved steps {}; {}",
            spec.steps,
            steps.join(", "),
            dir.path().display()
        );
    }
    Ok(())
}
