//! `multiberts sweep`: run every job of a manifest locally, then collect and report; or submit
//! them to Slurm (`--backend slurm`).

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context;

use clap::ValueEnum;
use multiberts_collector::{LrGroup, ResultsTree};
use multiberts_manifest::{JobFile, Manifest, SlurmConfig, SlurmOverrides};
use multiberts_model::device::{
    CUDA_VISIBLE_DEVICES, DeviceRequest, DeviceSpec, visible_gpu_count,
};
use multiberts_sweep::slurm::{
    SlurmCli, SlurmOptions, StateClass, SubmitOutcome, absolute, slurm_view, submit_slurm,
};
use multiberts_sweep::{ChildSettings, GpuOptions, LocalOptions, default_jobs, run_local};

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
        self.dry_run
            || self.resubmit_failed
            || self.partition.is_some()
            || self.time.is_some()
            || self.cpus_per_task.is_some()
            || self.mem.is_some()
            || self.gres.is_some()
            || self.account.is_some()
            || self.qos.is_some()
            || self.array_parallelism.is_some()
            || self.signal_seconds.is_some()
            || !self.sbatch_args.is_empty()
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

/// Failed jobs whose reasons the sweep's summary prints.
const FAILURE_REASONS_SHOWN: usize = 5;

/// Checks `--jobs-per-gpu` and `--gpus` against the backend and the device, and returns the
/// device the sweep runs on: `--gpus` makes it a GPU.
fn check_gpu_options(args: &SweepArgs) -> anyhow::Result<DeviceRequest> {
    if args.jobs_per_gpu == Some(0) {
        anyhow::bail!(
            "--jobs-per-gpu must be at least 1 (it is how many jobs share each GPU; default 1)"
        );
    }
    if args.backend == Backend::Slurm {
        if args.gpus.is_some() || args.jobs_per_gpu.is_some() {
            anyhow::bail!(
                "--gpus and --jobs-per-gpu are for the local backend; with --backend slurm each \
                 job runs on the GPU Slurm gives it (ask with --gres gpu:1 and --device cuda)"
            );
        }
        return Ok(args.place.device);
    }
    match (&args.gpus, args.place.device) {
        (Some(list), _) if list.is_empty() => {
            anyhow::bail!("--gpus needs at least one GPU index, e.g. --gpus 0,1")
        }
        (Some(_), DeviceRequest::Gpu(n)) => anyhow::bail!(
            "--gpus and --device cuda:{n} both choose GPUs; give one of them (--device cuda \
             with --gpus is fine)"
        ),
        (Some(_), _) => Ok(DeviceRequest::AnyGpu),
        (None, DeviceRequest::Cpu) if args.jobs_per_gpu.is_some() => anyhow::bail!(
            "--jobs-per-gpu needs GPUs: add --device cuda (every visible GPU), --device cuda:N \
             or --gpus LIST; on the CPU, --jobs sets how many jobs run at once"
        ),
        (None, device) => Ok(device),
    }
}

/// The GPUs a local sweep runs on, given how many this process sees: `None` on the CPU;
/// `--gpus` as listed; `cuda` every visible GPU; `cuda:N` GPU N alone.
fn local_gpus(
    device: DeviceRequest,
    listed: Option<&[usize]>,
    visible: usize,
) -> anyhow::Result<Option<Vec<usize>>> {
    if device == DeviceRequest::Cpu {
        return Ok(None);
    }
    if visible == 0 {
        let env = std::env::var(CUDA_VISIBLE_DEVICES)
            .map_or_else(|_| "is not set".to_string(), |v| format!("is `{v}`"));
        anyhow::bail!(
            "no GPU is visible to this process (the CUDA driver finds none; \
             {CUDA_VISIBLE_DEVICES} {env}); check that `nvidia-smi` lists the GPUs, unset or fix \
             {CUDA_VISIBLE_DEVICES} (a comma-separated list of GPU indices), or use --device cpu"
        );
    }
    let gpus = match (listed, device) {
        (Some(list), _) => list.to_vec(),
        (None, DeviceRequest::Gpu(n)) => vec![n],
        (None, _) => (0..visible).collect(),
    };
    for (i, &g) in gpus.iter().enumerate() {
        if g >= visible {
            anyhow::bail!(
                "GPU {g} is not visible: this process sees {visible} GPU{} (cuda:0 to cuda:{}){}",
                if visible == 1 { "" } else { "s" },
                visible - 1,
                std::env::var(CUDA_VISIBLE_DEVICES)
                    .map(|v| format!(
                        "; {CUDA_VISIBLE_DEVICES}=`{v}` renumbers the GPUs it lists from 0"
                    ))
                    .unwrap_or_default()
            );
        }
        if gpus[..i].contains(&g) {
            anyhow::bail!("--gpus lists GPU {g} twice");
        }
    }
    Ok(Some(gpus))
}

/// `0, 2, 3`.
fn gpu_list_text(gpus: &[usize]) -> String {
    gpus.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// TF32 is a mode of NVIDIA GPUs: a CPU sweep with `precision = "tf32"` jobs fails here,
/// naming the tasks, instead of once in every job.
fn refuse_tf32_on_cpu(jobs: &[JobFile], on_gpu: bool) -> anyhow::Result<()> {
    if on_gpu {
        return Ok(());
    }
    let mut tasks: Vec<&str> = jobs
        .iter()
        .filter(|j| j.spec.hyper.precision == multiberts_manifest::Precision::Tf32)
        .map(|j| j.spec.task.name.as_str())
        .collect();
    tasks.dedup();
    if tasks.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "precision \"tf32\" (task {}) needs a CUDA GPU: TF32 is a tensor-core mode of NVIDIA \
         GPUs; run with --device cuda, or set precision = \"fp32\" (or \"bf16\") for the CPU",
        tasks.join(", ")
    )
}

/// Runs `multiberts sweep`.
pub fn run(args: SweepArgs) -> anyhow::Result<()> {
    let device = check_gpu_options(&args)?;
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
    let jobs = manifest.job_files(data_root.as_deref())?;
    refuse_tf32_on_cpu(&jobs, device.is_gpu())?;
    multiberts_sweep::check_stale(&tree, args.rerun_stale)?;
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
    let options = local_options(&args, device, tree.root(), exe)?;
    print_plan(&manifest.name, jobs.len(), &options, device);
    let outcome = run_local(&jobs, &tree, &options)?;
    print_outcome(&outcome);
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
    let summary = collect_and_report_with(
        &manifest,
        &tree,
        args.rule,
        LrGroup::Step,
        args.place.data_dir.as_deref(),
    )?;
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
/// child is told; prints the plan.
fn local_options(
    args: &SweepArgs,
    device: DeviceRequest,
    out: &Path,
    exe: PathBuf,
) -> anyhow::Result<LocalOptions> {
    let gpus =
        local_gpus(device, args.gpus.as_deref(), visible_gpu_count())?.map(|gpus| GpuOptions {
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
    let parallel = parallel_jobs(args, gpus.as_ref());
    Ok(LocalOptions {
        exe,
        prefix: Vec::new(),
        // On GPUs the pool gives each child the device of its slot.
        settings: args.place.settings(device.spec()),
        output_dir: out.to_path_buf(),
        jobs: parallel,
        gpus,
        threads_per_job: args.threads_per_job,
        retries: args.retries,
        keep_going: args.keep_going,
        progress: std::io::stderr().is_terminal(),
    })
}

/// Says how the local pool will run the sweep's `total` jobs.
fn print_plan(name: &str, total: usize, options: &LocalOptions, device: DeviceRequest) {
    let on = match &options.gpus {
        Some(g) => format!(
            "GPU{} {} ({} job{} per GPU)",
            if g.gpus.len() == 1 { "" } else { "s" },
            gpu_list_text(&g.gpus),
            g.per_gpu,
            if g.per_gpu == 1 { "" } else { "s" }
        ),
        None => device.spec().to_string(),
    };
    eprintln!(
        "sweep {name}: {total} jobs, {} at a time, {} thread(s) each, on {on}; logs in {}",
        options.jobs,
        options.threads_per_job,
        options.output_dir.join("logs").display()
    );
}

/// Jobs at once: `--jobs` (capped by the GPU slots), else every GPU slot, else cores / threads
/// per job.
fn parallel_jobs(args: &SweepArgs, gpus: Option<&GpuOptions>) -> usize {
    match gpus {
        Some(g) => {
            let capacity = g.capacity();
            if let Some(n) = args.jobs.filter(|&n| n > capacity) {
                tracing::warn!(
                    "--jobs {n} is more than the {capacity} GPU slot(s) (GPUs × --jobs-per-gpu); \
                     running {capacity} at a time (more jobs per GPU with --jobs-per-gpu)"
                );
            }
            args.jobs.map_or(capacity, |n| n.min(capacity))
        }
        None => args
            .jobs
            .unwrap_or_else(|| default_jobs(args.threads_per_job)),
    }
    .max(1)
}

/// What the local pool did, with the first failures' reasons read from their logs.
fn print_outcome(outcome: &multiberts_sweep::SweepOutcome) {
    let ran = outcome.succeeded.len();
    if outcome.already_done == outcome.total {
        println!("nothing to do: all {} jobs are done", outcome.total);
    } else {
        println!(
            "{ran} jobs finished, {} were already done, {} failed, {} not started",
            outcome.already_done,
            outcome.failed.len(),
            outcome.not_started
        );
    }
    for (i, f) in outcome.failed.iter().enumerate() {
        println!(
            "  failed: {} ({}, {} attempt{}); log: {}",
            f.id,
            f.status,
            f.attempts,
            if f.attempts == 1 { "" } else { "s" },
            f.log.display()
        );
        // Shown here so that a failure reads without opening the log; the first few only.
        if i < FAILURE_REASONS_SHOWN {
            for line in multiberts_sweep::record::failure_reason(&f.log) {
                println!("      {line}");
            }
        } else if i == FAILURE_REASONS_SHOWN {
            println!("      (`multiberts status --tail N` shows the logs of the others)");
        }
    }
}

/// A local sweep must not write the job directories that Slurm jobs of the same results
/// directory are writing: refuse while any is queued or running there.
fn refuse_while_in_slurm(out: &Path) -> anyhow::Result<()> {
    let view = match slurm_view(out, &SlurmCli, false) {
        Ok(view) => view,
        Err(e) => {
            tracing::warn!("cannot check this sweep's Slurm jobs ({e})");
            return Ok(());
        }
    };
    let active = view
        .jobs
        .values()
        .filter(|j| j.class() == Some(StateClass::Active))
        .count();
    if active > 0 {
        anyhow::bail!(
            "{active} jobs of this sweep are queued or running in Slurm (arrays {}) and write to {}; \
             wait for them (`multiberts status`), or cancel them with scancel, before a local sweep",
            view.active_arrays()
                .into_iter()
                .collect::<Vec<_>>()
                .join(", "),
            out.display()
        );
    }
    Ok(())
}

/// `sweep --backend slurm`: submit the jobs that need it, print what was done.
fn run_slurm(
    args: &SweepArgs,
    manifest: &Manifest,
    tree: &ResultsTree,
    jobs: &[JobFile],
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
    let collect_args = (!args.no_collect).then(|| {
        let mut c: Vec<OsString> = vec!["collect".into()];
        if let Some(m) = &args.manifest {
            c.push(absolute(m).into());
        }
        c.push("--results-dir".into());
        c.push(tree.results_dir().into());
        if let Some(rule) = args.rule.to_possible_value() {
            c.push("--rule".into());
            c.push(rule.get_name().into());
        }
        c
    });
    let config = manifest
        .slurm
        .clone()
        .with_overrides(&args.slurm.overrides());
    // One GPU per array task: `cuda` is `cuda:0`, the GPU Slurm gave the task.
    let device = args.place.device.spec();
    warn_gpu_without_gres(device, &config);
    let options = SlurmOptions {
        exe,
        settings: args.place.settings(device),
        collect_args,
        output_dir: tree.root().to_path_buf(),
        workdir: std::env::current_dir().context("cannot read the working directory")?,
        name: manifest.name.clone(),
        config,
        resubmit_failed: args.slurm.resubmit_failed,
        dry_run: args.slurm.dry_run,
    };
    let outcome = submit_slurm(jobs, &tree, &options)?;
    print_submission(manifest, &outcome, args);
    Ok(())
}

/// A GPU job on Slurm needs a GPU in its allocation, which Slurm numbers from 0: say so when
/// neither the `[slurm]` table nor the options ask for one, or when the index is not 0.
fn warn_gpu_without_gres(device: DeviceSpec, config: &SlurmConfig) {
    let DeviceSpec::Cuda(n) = device else {
        return;
    };
    let asks_for_gpu = config.gres.as_deref().is_some_and(|g| g.contains("gpu"))
        || config.extra_args.iter().any(|a| a.contains("gpu"));
    if !asks_for_gpu {
        tracing::warn!(
            "--device {} but no GPU is requested from Slurm; add `gres = \"gpu:1\"` to the \
             manifest's [slurm] table or pass --gres gpu:1",
            device
        );
    }
    if n > 0 {
        tracing::warn!(
            "--device cuda:{n}: Slurm numbers the GPUs of each job's allocation from 0, so with \
             one GPU per job use --device cuda"
        );
    }
}

/// `1 job`, `2 jobs`.
fn jobs_text(n: usize) -> String {
    format!("{n} job{}", if n == 1 { "" } else { "s" })
}

fn print_submission(manifest: &Manifest, o: &SubmitOutcome, args: &SweepArgs) {
    let status_cmd = format!(
        "multiberts status{}",
        args.manifest
            .as_ref()
            .map(|m| format!(" {}", m.display()))
            .unwrap_or_default()
    );
    println!(
        "sweep {} on Slurm: {} jobs; {} done, {} pending or running in Slurm (not submitted again){}",
        manifest.name,
        o.total,
        o.already_done,
        o.active.len(),
        if o.resubmitted > 0 {
            format!(", {} failed before (resubmitted)", o.resubmitted)
        } else {
            String::new()
        }
    );
    if !o.failed_skipped.is_empty() {
        println!(
            "{} failed in Slurm and {} left alone; see `{status_cmd}`, then add --resubmit-failed",
            jobs_text(o.failed_skipped.len()),
            if o.failed_skipped.len() == 1 {
                "is"
            } else {
                "are"
            }
        );
    }
    if o.submitted.is_empty() {
        if o.already_done == o.total {
            println!(
                "nothing to submit: all {} jobs are done (the collect job wrote the report; \
                 `multiberts collect{}` writes it again)",
                o.total,
                args.manifest
                    .as_ref()
                    .map(|m| format!(" {}", m.display()))
                    .unwrap_or_default()
            );
        } else {
            println!("nothing to submit");
        }
        return;
    }
    let dir = o
        .dir
        .as_ref()
        .map_or_else(String::new, |d| d.display().to_string());
    if args.slurm.dry_run {
        println!(
            "dry run: would write the job list ({} ids, line i = array index i) and these scripts into {dir}",
            o.submitted.len()
        );
        if !o.slurm_reachable {
            println!(
                "(Slurm's commands are not available here: jobs submitted earlier were not checked)"
            );
        }
        for (path, text) in &o.scripts {
            println!("\n# ---- {} ----\n{text}", path.display());
        }
        println!("# ---- sbatch command lines ----");
        for call in &o.calls {
            println!("{}", call.command);
        }
        println!("\ndry run: nothing was written or submitted");
        return;
    }
    println!("submitted {} from {dir}:", jobs_text(o.submitted.len()));
    for call in &o.calls {
        println!(
            "  {}  -> job {}",
            call.command,
            call.job_id.as_deref().unwrap_or("?")
        );
    }
    if !o.waits_for.is_empty() {
        println!(
            "the collect job also waits for the earlier arrays {}",
            o.waits_for.join(", ")
        );
    }
    if let Some(d) = &o.dir {
        let logs = d
            .parent()
            .and_then(Path::parent)
            .map(|out| out.join("logs").join("slurm"));
        if let Some(logs) = logs {
            println!("logs: {}/<array>_<index>.out|err", logs.display());
        }
    }
    println!("follow with `{status_cmd}`");
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

    fn device(args: &[&str]) -> Result<DeviceRequest, String> {
        check_gpu_options(&parse(args)).map_err(|e| e.to_string())
    }

    #[test]
    fn gpu_options_are_checked_against_backend_and_device() {
        assert_eq!(device(&["--device", "cpu"]), Ok(DeviceRequest::Cpu));
        assert_eq!(device(&["--device", "cuda"]), Ok(DeviceRequest::AnyGpu));
        assert_eq!(device(&["--device", "cuda:2"]), Ok(DeviceRequest::Gpu(2)));
        assert_eq!(
            device(&["--gpus", "0,2", "--device", "cpu"]),
            Ok(DeviceRequest::AnyGpu)
        );
        assert_eq!(
            device(&["--gpus", "1", "--device", "cuda", "--jobs-per-gpu", "2"]),
            Ok(DeviceRequest::AnyGpu)
        );
        assert_eq!(
            device(&["--device", "cuda", "--backend", "slurm"]),
            Ok(DeviceRequest::AnyGpu)
        );
        for (args, want) in [
            (
                &["--jobs-per-gpu", "0", "--device", "cuda"][..],
                "at least 1",
            ),
            (
                &["--jobs-per-gpu", "2", "--device", "cpu"][..],
                "--jobs-per-gpu needs GPUs",
            ),
            (
                &["--gpus", "0", "--device", "cuda:1"][..],
                "both choose GPUs",
            ),
            (
                &["--gpus", "0", "--backend", "slurm"][..],
                "for the local backend",
            ),
            (
                &[
                    "--device",
                    "cuda",
                    "--jobs-per-gpu",
                    "2",
                    "--backend",
                    "slurm",
                ][..],
                "for the local backend",
            ),
        ] {
            let err = device(args).unwrap_err();
            assert!(err.contains(want), "{args:?}: {err}");
        }
    }

    #[test]
    fn local_gpus_are_every_visible_one_the_listed_ones_or_one() {
        let gpus = |d: &str, listed: Option<&[usize]>, visible| {
            local_gpus(d.parse().unwrap(), listed, visible).map_err(|e| e.to_string())
        };
        assert_eq!(gpus("cpu", None, 4), Ok(None));
        assert_eq!(gpus("cpu", None, 0), Ok(None));
        assert_eq!(gpus("cuda", None, 3), Ok(Some(vec![0, 1, 2])));
        assert_eq!(gpus("cuda:1", None, 3), Ok(Some(vec![1])));
        assert_eq!(gpus("cuda", Some(&[2, 0]), 3), Ok(Some(vec![2, 0])));
        let none = gpus("cuda", None, 0).unwrap_err();
        assert!(
            none.contains("no GPU is visible")
                && none.contains("CUDA_VISIBLE_DEVICES")
                && none.contains("--device cpu"),
            "{none}"
        );
        let far = gpus("cuda:3", None, 2).unwrap_err();
        assert!(
            far.contains("GPU 3 is not visible") && far.contains("cuda:1"),
            "{far}"
        );
        let twice = gpus("cuda", Some(&[1, 1]), 2).unwrap_err();
        assert!(twice.contains("GPU 1 twice"), "{twice}");
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
