//! `multiberts sweep`: run every job of a manifest locally, then collect and report; or submit
//! them to Slurm (`--backend slurm`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context;

use clap::ValueEnum;
use multiberts_collector::{LrGroup, ResultsTree};
use multiberts_manifest::{Manifest, SlurmOverrides, SweepJob};
use multiberts_model::device::{
    CUDA_VISIBLE_DEVICES, DeviceRequest, DeviceSpec, visible_gpu_count,
};
use multiberts_sweep::slurm::{SlurmOptions, absolute, submit_slurm};
use multiberts_sweep::{
    ChildSettings, GpuChoice, GpuOptions, LocalOptions, collect_args, gpu_choice, local_gpus,
    parallel_jobs, plan_text, refuse_tf32_on_cpu, refuse_while_in_slurm, run_local,
    warn_gpu_without_gres,
};

use super::collect::{RuleChoice, collect_and_report_with};
use super::{load_manifest, results_tree};

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
    /// Save a resume checkpoint every N optimizer steps (and after every epoch).
    #[arg(long, default_value_t = 100, value_parser = super::at_least_one::<u64>)]
    pub checkpoint_every: u64,
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

impl JobPlace {
    /// What each child is told, on `device`.
    fn settings(&self, device: DeviceSpec) -> ChildSettings {
        ChildSettings {
            checkpoint_every: self.checkpoint_every,
            keep_state: self.keep_state,
            device: device.to_string(),
        }
    }
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

impl SlurmArgs {
    /// Whether any option was given (they only make sense with `--backend slurm`).
    fn any(&self) -> bool {
        self.dry_run || self.resubmit_failed || self.overrides() != SlurmOverrides::default()
    }

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

/// `--device` as the GPUs it names.
fn choice_of(device: DeviceRequest) -> GpuChoice {
    match device {
        DeviceRequest::Cpu => GpuChoice::Cpu,
        DeviceRequest::AnyGpu => GpuChoice::Every,
        DeviceRequest::Gpu(n) => GpuChoice::One(n),
    }
}

/// The device of a choice (`--gpus` is any GPU: the pool gives each job its slot's).
fn device_of(choice: &GpuChoice) -> DeviceRequest {
    match choice {
        GpuChoice::Cpu => DeviceRequest::Cpu,
        GpuChoice::One(n) => DeviceRequest::Gpu(*n),
        GpuChoice::Every | GpuChoice::Listed(_) => DeviceRequest::AnyGpu,
    }
}

/// Runs `multiberts sweep`.
pub fn run(args: SweepArgs) -> anyhow::Result<()> {
    let slurm = args.backend == Backend::Slurm;
    let listed = args.gpus.as_deref();
    let choice = gpu_choice(
        choice_of(args.place.device),
        listed,
        args.jobs_per_gpu,
        slurm,
    )?;
    let device = device_of(&choice);
    // Once, before any job starts: a GPU sweep on a CPU build fails here, not 60 times over.
    let first = args.gpus.as_deref().and_then(<[usize]>::first);
    first
        .map_or(device.spec(), |&g| DeviceSpec::Cuda(g))
        .check_supported()?;
    let manifest = load_manifest(args.manifest.as_deref())?;
    manifest.check_local_checkpoints()?;
    let tree = results_tree(&manifest, args.place.results_dir.as_deref())?;
    let data_root =
        multiberts_tasks::data_root(args.place.data_dir.as_deref(), manifest.data_dir.as_deref());
    let jobs = manifest.sweep_jobs(data_root.as_deref(), tree.root())?;
    refuse_tf32_on_cpu(&jobs, device.is_gpu())?;
    // Stale jobs stop the sweep here; `--rerun-stale` re-marks them under the sweep's lock.
    if !args.rerun_stale {
        multiberts_sweep::check_stale(&tree, false)?;
    }
    // Checked once here: the children inherit the variable and would each fail on a typo.
    multiberts_model::kernel_path::check_env().map_err(anyhow::Error::msg)?;
    let exe = std::env::current_exe().context("cannot find the multiberts executable")?;
    if args.backend == Backend::Slurm {
        return run_slurm(&args, &manifest, &tree, &jobs, exe);
    }
    if args.slurm.any() {
        anyhow::bail!("Slurm options (--dry-run, --partition, ...) need --backend slurm");
    }
    refuse_while_in_slurm(tree.root())?;
    let options = local_options(&args, &choice, tree.root(), exe)?;
    let device_text = device.spec().to_string();
    eprintln!(
        "{}",
        plan_text(&manifest.name, jobs.len(), &options, &device_text)
    );
    let outcome = run_local(&jobs, &tree, &options)?;
    print!("{}", outcome.text());
    if outcome.interrupted {
        anyhow::bail!("interrupted; run the same command again to resume");
    }
    if !outcome.all_done() {
        anyhow::bail!(
            "{} of {} jobs are not done; see `multiberts status{}`",
            outcome.total - outcome.already_done - outcome.succeeded.len(),
            outcome.total,
            manifest_arg(&args)
        );
    }
    if args.no_collect {
        return Ok(());
    }
    let data_dir = args.place.data_dir.as_deref();
    let summary = collect_and_report_with(&manifest, &tree, args.rule, LrGroup::Step, data_dir)?;
    println!("\nthe table is in {}", summary.display());
    Ok(())
}

/// ` <manifest>` as the user gave it, for commands suggested in messages.
fn manifest_arg(args: &SweepArgs) -> String {
    args.manifest
        .as_ref()
        .map(|m| format!(" {}", m.display()))
        .unwrap_or_default()
}

/// The local pool's options: which GPUs (checked to exist), how many jobs at once, what each
/// child is told.
fn local_options(
    args: &SweepArgs,
    choice: &GpuChoice,
    out: &Path,
    exe: PathBuf,
) -> anyhow::Result<LocalOptions> {
    let device = device_of(choice);
    let env = std::env::var(CUDA_VISIBLE_DEVICES).ok();
    let gpus = local_gpus(choice, visible_gpu_count(), env.as_deref())?.map(|gpus| GpuOptions {
        gpus,
        per_gpu: args.jobs_per_gpu.unwrap_or(1),
    });
    // The jobs run here: make sure the devices exist (each context is released again at once).
    match &gpus {
        Some(g) => {
            for &n in &g.gpus {
                DeviceSpec::Cuda(n).open()?;
            }
        }
        None => {
            device.spec().open()?;
        }
    }
    Ok(LocalOptions {
        exe,
        prefix: Vec::new(),
        // On GPUs the pool gives each child the device of its slot.
        settings: args.place.settings(device.spec()),
        output_dir: out.to_path_buf(),
        jobs: parallel_jobs(args.jobs, args.threads_per_job, gpus.as_ref()),
        gpus,
        threads_per_job: args.threads_per_job,
        retries: args.retries,
        keep_going: args.keep_going,
        progress: std::io::stderr().is_terminal(),
        rerun_stale: args.rerun_stale,
    })
}

/// `sweep --backend slurm`: submit the jobs that need it, print what was done.
fn run_slurm(
    args: &SweepArgs,
    manifest: &Manifest,
    tree: &ResultsTree,
    jobs: &[SweepJob],
    exe: PathBuf,
) -> anyhow::Result<()> {
    if args.jobs.is_some() || args.keep_going {
        tracing::warn!(
            "--jobs and --keep-going are for the local backend; Slurm runs every job on its own (throttle with --array-parallelism)"
        );
    }
    // Jobs run elsewhere (another node, another working directory): absolute paths only (the
    // job files' checkpoint paths and data root already are).
    let tree = ResultsTree::new(&absolute(tree.results_dir()), &manifest.name)?;
    let manifest_path = args.manifest.as_deref().map(absolute);
    let rule = args.rule.to_possible_value();
    let collect = (!args.no_collect).then(|| {
        collect_args(
            manifest_path.as_deref(),
            tree.results_dir(),
            rule.as_ref().map(|r| r.get_name()),
        )
    });
    let overrides = args.slurm.overrides();
    let config = manifest.slurm.clone().with_overrides(&overrides);
    // One GPU per array task: `cuda` is `cuda:0`, the GPU Slurm gave the task.
    let device = args.place.device.spec();
    let cuda = match device {
        DeviceSpec::Cuda(n) => Some(n),
        DeviceSpec::Cpu => None,
    };
    warn_gpu_without_gres(cuda, &config);
    let options = SlurmOptions {
        exe,
        settings: args.place.settings(device),
        collect_args: collect,
        output_dir: tree.root().to_path_buf(),
        workdir: std::env::current_dir().context("cannot read the working directory")?,
        name: manifest.name.to_string(),
        config,
        resubmit_failed: args.slurm.resubmit_failed,
        dry_run: args.slurm.dry_run,
        rerun_stale: args.rerun_stale,
    };
    let outcome = submit_slurm(jobs, &tree, &options)?;
    let text = outcome.text(&manifest.name, &manifest_arg(args), args.slurm.dry_run);
    print!("{text}");
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
    fn children_are_told_an_explicit_device() {
        let args = parse(&[
            "--device",
            "cuda",
            "--checkpoint-every",
            "7",
            "--keep-state",
        ]);
        // Slurm: `cuda` is the task's own GPU, cuda:0.
        let slurm = args.place.settings(args.place.device.spec());
        assert_eq!(slurm.device, "cuda:0");
        assert_eq!((slurm.checkpoint_every, slurm.keep_state), (7, true));
        let cpu = parse(&[]).place.settings(DeviceSpec::Cpu);
        assert_eq!(cpu.device, "cpu");
        assert_eq!(cpu.checkpoint_every, 100);
    }
}
