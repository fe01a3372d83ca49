//! `multiberts sweep`: run every job of a manifest locally, then collect and report; or submit
//! them to Slurm (`--backend slurm`).

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context;

use clap::ValueEnum;
use multiberts_collector::{LrGroup, ResultsTree};
use multiberts_manifest::{Manifest, SlurmConfig};
use multiberts_model::device::DeviceSpec;
use multiberts_sweep::slurm::{
    SlurmCli, SlurmOptions, StateClass, SubmitOutcome, absolute, slurm_view, submit_slurm,
};
use multiberts_sweep::{LocalOptions, default_jobs, run_local};

use super::collect::{RuleChoice, collect_and_report_with};
use super::load_manifest;
use super::run_job::{JobPlace, output_dir};

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
    multiberts sweep manifests/my.toml --device cuda:1   # a build with --features cuda\n  \
    multiberts sweep manifests/my.toml --backend slurm --dry-run\n  \
    multiberts sweep manifests/my.toml --backend slurm --partition gpu --time 04:00:00\n  \
    multiberts sweep manifests/my.toml --backend slurm --resubmit-failed")]
pub struct SweepArgs {
    /// The manifest (default: the embedded demo, manifests/demo.toml).
    pub manifest: Option<PathBuf>,
    /// Jobs run at once (default: cores / threads per job; 1 with `--device cuda[:N]`, since
    /// several jobs sharing one GPU is a choice to make with `--jobs`).
    #[arg(short, long)]
    pub jobs: Option<usize>,
    /// Threads per job.
    #[arg(long, default_value_t = 1)]
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

    /// The manifest's `[slurm]` table with these overrides.
    fn apply(&self, mut config: SlurmConfig) -> SlurmConfig {
        let set = |field: &mut Option<String>, value: &Option<String>| {
            if value.is_some() {
                field.clone_from(value);
            }
        };
        set(&mut config.partition, &self.partition);
        set(&mut config.time, &self.time);
        set(&mut config.mem, &self.mem);
        set(&mut config.gres, &self.gres);
        set(&mut config.account, &self.account);
        set(&mut config.qos, &self.qos);
        if self.cpus_per_task.is_some() {
            config.cpus_per_task = self.cpus_per_task;
        }
        if let Some(n) = self.array_parallelism {
            config.array_parallelism = n;
        }
        if let Some(n) = self.signal_seconds {
            config.signal_seconds = n;
        }
        config.extra_args.extend(self.sbatch_args.iter().cloned());
        config
    }
}

/// Failed jobs whose reasons the sweep's summary prints.
const FAILURE_REASONS_SHOWN: usize = 5;
/// Most lines of a job log shown as its failure reason.
const FAILURE_REASON_LINES: usize = 6;

/// Why a job failed, from its log: the last `error:` line `run-job` printed (with what
/// follows it), else the log's last lines (a panic, a kill).
fn failure_reason(log: &Path) -> Vec<String> {
    let lines: Vec<String> = multiberts_sweep::record::tail(log, 40)
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .collect();
    let start = lines
        .iter()
        .rposition(|l| l.starts_with("error: "))
        .unwrap_or_else(|| lines.len().saturating_sub(FAILURE_REASON_LINES));
    lines[start..]
        .iter()
        .take(FAILURE_REASON_LINES)
        .cloned()
        .collect()
}

/// `run-job` and the options every child needs (`--job` and `--threads` are added per job).
fn run_job_args(manifest: Option<&Path>, results: &Path, place: &JobPlace) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["run-job".into()];
    if let Some(m) = manifest {
        args.push("--manifest".into());
        args.push(m.into());
    }
    args.push("--results-dir".into());
    args.push(results.into());
    if let Some(d) = &place.data_dir {
        args.push("--data-dir".into());
        args.push(d.into());
    }
    args.push("--checkpoint-every".into());
    args.push(place.checkpoint_every.to_string().into());
    if place.keep_state {
        args.push("--keep-state".into());
    }
    // Always explicit, so that a MULTIBERTS_DEVICE in the children's environment (sbatch
    // exports the submitting shell's) cannot move them elsewhere.
    args.push("--device".into());
    args.push(place.device.to_string().into());
    args
}

/// Runs `multiberts sweep`.
pub fn run(args: SweepArgs) -> anyhow::Result<()> {
    // Once, before any job starts: a GPU sweep on a CPU build fails here, not 60 times over.
    args.place.device.check_supported()?;
    let manifest = load_manifest(args.manifest.as_deref())?;
    let out = output_dir(&manifest, args.place.results_dir.as_deref());
    let jobs = manifest.jobs();
    let results = out
        .parent()
        .map_or_else(|| PathBuf::from("."), std::path::Path::to_path_buf);
    let tree = ResultsTree::new(&results, &manifest.name)?;

    let exe = std::env::current_exe().context("cannot find the multiberts executable")?;
    if args.backend == Backend::Slurm {
        return run_slurm(&args, &manifest, &results, &tree, exe);
    }
    if args.slurm.any() {
        anyhow::bail!("Slurm options (--dry-run, --partition, ...) need --backend slurm");
    }
    refuse_while_in_slurm(&out)?;
    // The jobs run here: make sure the GPU exists (the context is released again at once).
    args.place.device.open()?;
    let child_args = run_job_args(args.manifest.as_deref(), &results, &args.place);
    let on_gpu = args.place.device.is_gpu();
    let parallel = args
        .jobs
        .unwrap_or_else(|| {
            if on_gpu {
                1
            } else {
                default_jobs(args.threads_per_job)
            }
        })
        .max(1);
    let options = LocalOptions {
        exe,
        args: child_args,
        output_dir: out.clone(),
        jobs: parallel,
        threads_per_job: args.threads_per_job.max(1),
        retries: args.retries,
        keep_going: args.keep_going,
        progress: std::io::stderr().is_terminal(),
    };
    let todo = jobs.len();
    eprintln!(
        "sweep {}: {} jobs, {} at a time{}, {} thread(s) each, on {}; logs in {}",
        manifest.name,
        todo,
        parallel,
        if on_gpu && args.jobs.is_none() {
            " (one GPU: --jobs N shares it)"
        } else {
            ""
        },
        options.threads_per_job,
        args.place.device,
        out.join("logs").display()
    );
    let outcome = run_local(&jobs, &tree, &options)?;
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
            for line in failure_reason(&f.log) {
                println!("      {line}");
            }
        } else if i == FAILURE_REASONS_SHOWN {
            println!("      (`multiberts status --tail N` shows the logs of the others)");
        }
    }
    if outcome.interrupted {
        anyhow::bail!("interrupted; run the same command again to resume");
    }
    if !outcome.all_done() {
        anyhow::bail!(
            "{} of {} jobs are not done; see `multiberts status{}`",
            outcome.total - outcome.already_done - ran,
            outcome.total,
            args.manifest
                .as_ref()
                .map(|m| format!(" {}", m.display()))
                .unwrap_or_default()
        );
    }
    if args.no_collect {
        return Ok(());
    }
    let summary = collect_and_report_with(
        &manifest,
        &out,
        args.rule,
        LrGroup::Step,
        args.place.data_dir.as_deref(),
    )?;
    println!("\nthe table is in {}", summary.display());
    Ok(())
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
    results: &Path,
    tree: &ResultsTree,
    exe: PathBuf,
) -> anyhow::Result<()> {
    if args.jobs.is_some() || args.keep_going {
        tracing::warn!(
            "--jobs and --keep-going are for the local backend; Slurm runs every job on its own (throttle with --array-parallelism)"
        );
    }
    // Jobs run elsewhere (another node, another working directory): absolute paths only.
    let manifest_path = args.manifest.as_deref().map(absolute);
    let results = absolute(results);
    let place = JobPlace {
        data_dir: args.place.data_dir.as_deref().map(absolute),
        ..args.place.clone()
    };
    let output = results.join(&manifest.name);
    let collect_args = (!args.no_collect).then(|| {
        let mut c: Vec<OsString> = vec!["collect".into()];
        if let Some(m) = &manifest_path {
            c.push(m.into());
        }
        c.push("--results-dir".into());
        c.push(results.clone().into());
        if let Some(rule) = args.rule.to_possible_value() {
            c.push("--rule".into());
            c.push(rule.get_name().into());
        }
        c
    });
    let config = args.slurm.apply(manifest.slurm.clone());
    warn_gpu_without_gres(args.place.device, &config);
    let options = SlurmOptions {
        exe,
        run_job_args: run_job_args(manifest_path.as_deref(), &results, &place),
        collect_args,
        output_dir: output.clone(),
        workdir: std::env::current_dir().context("cannot read the working directory")?,
        name: manifest.name.clone(),
        config,
        resubmit_failed: args.slurm.resubmit_failed,
        dry_run: args.slurm.dry_run,
    };
    let jobs = manifest.jobs();
    let outcome = submit_slurm(&jobs, tree, &options)?;
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
