//! `multiberts run-job`: run one job from its directory (what `sweep` runs in each child).

use std::path::PathBuf;

use anyhow::Context;

use multiberts_model::device::DeviceRequest;
use multiberts_pretrain::PretrainOptions;
use multiberts_runner::{RunOptions, SaveSchedule, log_start, open_job_dir, run_job};
use multiberts_sweep::ChildSettings;

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
    /// What the sweep tells every job, as JSON: `{"checkpoint_every": 0,
    /// "checkpoint_minutes": 10, "keep_state": false, "device": "cpu"}` (keys may be left out;
    /// those are the defaults).
    #[arg(long, value_parser = ChildSettings::from_json, default_value = "{}")]
    pub settings: ChildSettings,
    /// Worker threads (default: RAYON_NUM_THREADS, else all cores).
    #[arg(long, value_parser = super::at_least_one::<usize>)]
    pub threads: Option<usize>,
}

/// Runs `multiberts run-job`.
pub fn run(args: RunJobArgs) -> anyhow::Result<()> {
    let threads = multiberts_runner::process::prepare(args.threads);
    // A misspelt MULTIBERTS_KERNELS must not silently test the wrong path.
    multiberts_model::kernel_path::check_env().map_err(anyhow::Error::msg)?;
    let device: DeviceRequest = args
        .settings
        .device
        .parse()
        .context("--settings has a bad device")?;
    // Before anything is read or written: a device this build or machine lacks leaves no trace.
    let device = device.spec().open()?;
    let abort_after_step = multiberts_runner::abort_after_step()?;
    let save = SaveSchedule {
        steps: args.settings.checkpoint_every,
        minutes: args.settings.checkpoint_minutes,
    };
    if let Some((dir, file)) = multiberts_pretrain::job::open_job(&args.dir)? {
        let options = PretrainOptions {
            device,
            save,
            abort_after_step,
        };
        println!(
            "{}",
            multiberts_pretrain::job::run_job(&dir, &file, &options)?
        );
        return Ok(());
    }
    let (dir, file, cache_dir) = open_job_dir(&args.dir)?;
    let options = RunOptions {
        cache_dir,
        save,
        keep_state: args.settings.keep_state,
        abort_after_step,
        threads,
        device,
    };
    log_start(&file, &options);
    let summary =
        run_job(&file, &dir, &options).with_context(|| format!("job {} failed", file.spec.id))?;
    println!("{summary}");
    Ok(())
}
