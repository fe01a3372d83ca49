//! `multiberts sweep`: run every job of a manifest locally, then collect and report.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;

use multiberts_collector::{LrGroup, ResultsTree};
use multiberts_sweep::{LocalOptions, default_jobs, run_local};

use super::collect::{RuleChoice, collect_and_report};
use super::load_manifest;
use super::run_job::{JobPlace, output_dir};

/// Run every job of a manifest in a local pool of worker processes, then collect the
/// predictions, run the manifest's analyses and write `results/<name>/report/summary.md`.
///
/// Done jobs are skipped, so a second run does nothing; an interrupted run (Ctrl-C, a crash)
/// resumes where it stopped. One log file per job goes to `results/<name>/logs/`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    multiberts sweep                         # the embedded demo, about 2 minutes on 2 cores\n  \
    multiberts sweep manifests/my.toml --jobs 4 --threads-per-job 2 --keep-going")]
pub struct SweepArgs {
    /// The manifest (default: the embedded demo, manifests/demo.toml).
    pub manifest: Option<PathBuf>,
    /// Jobs run at once (default: cores / threads per job).
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
}

/// Runs `multiberts sweep`.
pub fn run(args: SweepArgs) -> anyhow::Result<()> {
    let manifest = load_manifest(args.manifest.as_deref())?;
    let out = output_dir(&manifest, args.place.results_dir.as_deref());
    let jobs = manifest.jobs();
    let results = out
        .parent()
        .map_or_else(|| PathBuf::from("."), std::path::Path::to_path_buf);
    let tree = ResultsTree::new(&results, &manifest.name)?;

    let exe = std::env::current_exe().context("cannot find the multiberts executable")?;
    let mut child_args: Vec<OsString> = vec!["run-job".into()];
    if let Some(m) = &args.manifest {
        child_args.push("--manifest".into());
        child_args.push(m.clone().into());
    }
    child_args.push("--results-dir".into());
    child_args.push(results.clone().into());
    if let Some(d) = &args.place.data_dir {
        child_args.push("--data-dir".into());
        child_args.push(d.clone().into());
    }
    child_args.push("--checkpoint-every".into());
    child_args.push(args.place.checkpoint_every.to_string().into());
    let parallel = args
        .jobs
        .unwrap_or_else(|| default_jobs(args.threads_per_job))
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
        "sweep {}: {} jobs, {} at a time, {} thread(s) each; logs in {}",
        manifest.name,
        todo,
        parallel,
        options.threads_per_job,
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
    for f in &outcome.failed {
        println!(
            "  failed: {} ({}, {} attempts); log: {}",
            f.id,
            f.status,
            f.attempts,
            f.log.display()
        );
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
    let summary = collect_and_report(&manifest, &out, args.rule, LrGroup::Step)?;
    println!("\nthe table is in {}", summary.display());
    Ok(())
}
