//! `multiberts sweep`: run every job of a manifest locally, then collect and report; or submit
//! them to Slurm (`--backend slurm`).

use std::path::PathBuf;

use clap::ValueEnum;
use multiberts_collector::LrGroup;
use multiberts_manifest::SlurmOverrides;
use multiberts_model::device::{DeviceRequest, DeviceSpec, visible_gpu_count};
use multiberts_sweep::{
    DeviceProbe, GpuChoice, SlurmRequest, SweepPlan, SweepRequest, plan_text, run_local,
};

use super::collect::{RuleChoice, collect_and_report_with};

/// Where results and data live, and what every job is told (the sweep hands it to each
/// `run-job` child as one [`ChildSettings`]).
#[derive(Debug, Clone, clap::Args)]
pub struct JobPlace {
    /// Results directory (default: the manifest's `results_dir`, else `results`).
    #[arg(long, env = "MULTIBERTS_RESULTS")]
    pub results_dir: Option<PathBuf>,
    /// Data root (default: MULTIBERTS_DATA, then the manifest's `data_dir`).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Also save each job's resume checkpoint every N optimizer steps.
    #[arg(long, value_parser = super::at_least_one::<u64>)]
    pub checkpoint_every: Option<u64>,
    /// Save each job's resume checkpoint every N minutes of its work (0: only on a stop
    /// request or at `--checkpoint-every`). A killed job loses at most this much; Slurm's
    /// USR2 before a time limit saves at once.
    #[arg(long, default_value_t = multiberts_sweep::DEFAULT_CHECKPOINT_MINUTES)]
    pub checkpoint_minutes: u64,
    /// Keep each finished job's last resume checkpoint in `<job dir>/state/` (its fine-tuned
    /// weights and optimizer moments, about 3x the model's size) instead of deleting it.
    #[arg(long)]
    pub keep_state: bool,
    /// Where jobs train: `cpu`, `cuda` or `cuda:N`; a GPU needs a build with `--features cuda`.
    /// Not part of the job id. The local pool takes `cuda` as every visible GPU, one job on
    /// each (see `--jobs-per-gpu`, `--gpus`), and `cuda:N` as GPU N alone; on Slurm `cuda` is
    /// the GPU of each job's allocation.
    #[arg(long, env = "MULTIBERTS_DEVICE", default_value = "cpu")]
    pub device: DeviceRequest,
}

/// Run every job of a manifest in a local pool of worker processes, then collect the
/// predictions, run the manifest's analyses and write `results/<name>/report/summary.md`.
///
/// Done jobs are skipped, so a second run does nothing; an interrupted run (Ctrl-C, a crash)
/// resumes where it stopped. One log file per job goes to `results/<name>/logs/`.
///
/// With `--backend slurm` the jobs go to a Slurm cluster as job arrays instead (resources from
/// the manifest's `[slurm]` table and the options below), followed by a collect job; see
/// docs/cluster.md.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    multiberts sweep                         # the embedded demo, about 2 minutes on 2 cores\n  \
    multiberts sweep manifests/my.toml --jobs 4 --threads-per-job 2 --keep-going\n  \
    multiberts sweep manifests/my.toml --device cuda     # every visible GPU, one job each (--features cuda)\n  \
    multiberts sweep manifests/my.toml --gpus 0,2 --jobs-per-gpu 2   # GPUs 0 and 2, two jobs each\n  \
    multiberts sweep manifests/my.toml --device cuda:1   # GPU 1 only\n  \
    multiberts sweep manifests/my.toml --backend slurm --dry-run\n  \
    multiberts sweep manifests/my.toml --backend slurm --partition gpu --time 04:00:00\n  \
    multiberts sweep manifests/my.toml --backend slurm --resubmit-failed")]
pub struct SweepArgs {
    /// The manifest (default: the embedded demo, manifests/demo.toml).
    pub manifest: Option<PathBuf>,
    /// Jobs run at once (default: cores / threads per job; on GPUs, GPUs × `--jobs-per-gpu`,
    /// which also caps this).
    #[arg(short, long, value_parser = super::at_least_one::<usize>)]
    pub jobs: Option<usize>,
    /// Jobs each GPU runs at once (default 1: one job per GPU). Local backend, GPU devices
    /// only.
    #[arg(long, value_name = "K")]
    pub jobs_per_gpu: Option<usize>,
    /// The GPUs to run on, as CUDA indices (`0,2,3`); implies a GPU device (replaces `cpu` and
    /// `cuda`, conflicts with `--device cuda:N`). Default with `--device cuda`: every visible
    /// GPU. Local backend only.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub gpus: Option<Vec<usize>>,
    /// Threads per job.
    #[arg(long, default_value_t = 1, value_parser = super::at_least_one::<usize>)]
    pub threads_per_job: usize,
    /// Extra attempts for a failing job.
    #[arg(long, default_value_t = 1)]
    pub retries: u32,
    /// Keep running other jobs after one fails for good (default: stop starting new ones).
    #[arg(long)]
    pub keep_going: bool,
    /// Where results and data live, and each job's resume interval.
    #[command(flatten)]
    pub place: JobPlace,
    /// Learning-rate rule of the collect step.
    #[arg(long, value_enum, default_value_t = RuleChoice::Auto)]
    pub rule: RuleChoice,
    /// Only run the jobs; skip collect, analyses and the report.
    #[arg(long)]
    pub no_collect: bool,
    /// Run again the done jobs whose data or checkpoint files changed since they ran (by
    /// default such jobs stop the sweep, listed with the changed files).
    #[arg(long)]
    pub rerun_stale: bool,
    /// Where the jobs run: a local pool of processes, or Slurm job arrays.
    #[arg(long, value_enum, default_value_t = Backend::Local)]
    pub backend: Backend,
    /// Slurm options (with `--backend slurm`).
    #[command(flatten)]
    pub slurm: SlurmArgs,
}

/// `--backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// A pool of `run-job` processes on this machine.
    Local,
    /// Job arrays on a Slurm cluster (`sbatch`), then a collect job.
    Slurm,
}

/// Options of `--backend slurm`; each overrides the manifest's `[slurm]` table.
#[derive(Debug, Default, clap::Args)]
#[command(next_help_heading = "Slurm backend (--backend slurm)")]
pub struct SlurmArgs {
    /// Print the job list, the sbatch scripts and the sbatch command lines; submit nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also submit jobs whose last Slurm task failed, was cancelled or timed out.
    #[arg(long)]
    pub resubmit_failed: bool,
    /// `--partition` of every job.
    #[arg(long)]
    pub partition: Option<String>,
    /// Time limit per job (`MM`, `HH:MM:SS`, `D-HH:MM`, ...).
    #[arg(long)]
    pub time: Option<String>,
    /// CPUs (and threads) per job.
    #[arg(long)]
    pub cpus_per_task: Option<u32>,
    /// Memory per job (`16G`, `4000` MB, ...).
    #[arg(long)]
    pub mem: Option<String>,
    /// Generic resources per job, e.g. `gpu:1`.
    #[arg(long)]
    pub gres: Option<String>,
    /// `--account` to charge.
    #[arg(long)]
    pub account: Option<String>,
    /// `--qos`.
    #[arg(long)]
    pub qos: Option<String>,
    /// Array tasks running at once (the `%N` throttle).
    #[arg(long)]
    pub array_parallelism: Option<u32>,
    /// Seconds of warning (USR2) before the time limit: the job saves its state and requeues.
    #[arg(long)]
    pub signal_seconds: Option<u32>,
    /// A raw sbatch argument, added after the manifest's `extra_args` (repeatable), e.g.
    /// `--sbatch-arg=--constraint=a100`.
    #[arg(long = "sbatch-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub sbatch_args: Vec<String>,
}

impl SweepArgs {
    /// The user's choices as the sweep crate takes them.
    fn request(&self) -> SweepRequest {
        let rule = self.rule.to_possible_value();
        SweepRequest {
            manifest: self.manifest.clone(),
            results_dir: self.place.results_dir.clone(),
            data_dir: self.place.data_dir.clone(),
            device: match self.place.device {
                DeviceRequest::Cpu => GpuChoice::Cpu,
                DeviceRequest::AnyGpu => GpuChoice::Every,
                DeviceRequest::Gpu(n) => GpuChoice::One(n),
            },
            gpus: self.gpus.clone(),
            jobs: self.jobs,
            jobs_per_gpu: self.jobs_per_gpu,
            threads_per_job: self.threads_per_job,
            retries: self.retries,
            keep_going: self.keep_going,
            checkpoint_every: self.place.checkpoint_every.unwrap_or(0),
            checkpoint_minutes: self.place.checkpoint_minutes,
            keep_state: self.place.keep_state,
            rerun_stale: self.rerun_stale,
            collect_rule: rule
                .filter(|_| !self.no_collect)
                .map(|r| r.get_name().to_string()),
            on_slurm: self.backend == Backend::Slurm,
            slurm: SlurmRequest {
                overrides: self.slurm.overrides(),
                dry_run: self.slurm.dry_run,
                resubmit_failed: self.slurm.resubmit_failed,
            },
        }
    }
}

impl SlurmArgs {
    /// The overrides of the manifest's `[slurm]` table these options make.
    fn overrides(&self) -> SlurmOverrides {
        SlurmOverrides {
            partition: self.partition.clone(),
            time: self.time.clone(),
            cpus_per_task: self.cpus_per_task,
            mem: self.mem.clone(),
            gres: self.gres.clone(),
            account: self.account.clone(),
            qos: self.qos.clone(),
            array_parallelism: self.array_parallelism,
            signal_seconds: self.signal_seconds,
            extra_args: self.sbatch_args.clone(),
        }
    }
}

/// This machine's devices through the model crate.
struct ModelDevices;

impl DeviceProbe for ModelDevices {
    fn visible_gpus(&self) -> usize {
        visible_gpu_count()
    }

    fn check_supported(
        &self,
        gpu: Option<usize>,
    ) -> Result<(), multiberts_sweep::request::DeviceFailure> {
        Ok(gpu
            .map_or(DeviceSpec::Cpu, DeviceSpec::Cuda)
            .check_supported()?)
    }

    fn open(&self, gpu: Option<usize>) -> Result<(), multiberts_sweep::request::DeviceFailure> {
        gpu.map_or(DeviceSpec::Cpu, DeviceSpec::Cuda).open()?;
        Ok(())
    }

    fn check_kernels(&self) -> Result<(), String> {
        multiberts_model::kernel_path::check_env().map(drop)
    }
}

/// Runs `multiberts sweep`.
pub fn run(args: SweepArgs) -> anyhow::Result<()> {
    let plan = SweepPlan::prepare(args.request(), &ModelDevices)?;
    if plan.request.on_slurm {
        print!("{}", plan.submit_slurm()?);
        return Ok(());
    }
    let options = plan.local_options(&ModelDevices)?;
    let (name, jobs) = (&plan.manifest.name, plan.jobs.len());
    eprintln!("{}", plan_text(name, jobs, &options, &plan.device_text()));
    let outcome = run_local(&plan.jobs, &plan.tree, &options)?;
    print!("{}", outcome.text());
    plan.check_outcome(&outcome)?;
    if args.no_collect {
        return Ok(());
    }
    let data_dir = args.place.data_dir.as_deref();
    let (manifest, tree) = (&plan.manifest, &plan.tree);
    let summary = collect_and_report_with(manifest, tree, args.rule, LrGroup::Step, data_dir)?;
    println!("\nthe table is in {}", summary.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(flatten)]
        sweep: SweepArgs,
    }

    fn parse(args: &[&str]) -> SweepArgs {
        Cli::try_parse_from(std::iter::once("sweep").chain(args.iter().copied()))
            .unwrap()
            .sweep
    }

    #[test]
    fn the_request_carries_the_device_and_each_childs_settings() {
        let args = parse(&[
            "--device",
            "cuda",
            "--checkpoint-every",
            "7",
            "--keep-state",
        ]);
        let request = args.request();
        assert_eq!(request.device, GpuChoice::Every);
        let settings = request.settings(Some(0));
        assert_eq!(settings.device, "cuda:0");
        assert_eq!((settings.checkpoint_every, settings.keep_state), (7, true));
        let defaults = parse(&["--no-collect"]).request();
        // By default a job saves by time alone, as often as the runner's default says.
        let child = defaults.settings(None);
        assert_eq!(child.checkpoint_every, 0);
        assert_eq!(
            child.checkpoint_minutes,
            multiberts_runner::save_schedule::DEFAULT_CHECKPOINT_MINUTES
        );
        assert_eq!(
            (defaults.device, defaults.collect_rule),
            (GpuChoice::Cpu, None)
        );
        assert_eq!(parse(&[]).request().collect_rule.as_deref(), Some("auto"));
    }
}
