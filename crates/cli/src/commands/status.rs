//! `multiberts status`: which jobs of a manifest are done, running, queued in Slurm, failed or
//! pending.

use std::path::PathBuf;

use multiberts_manifest::{Job, Manifest};
use multiberts_sweep::slurm::{SlurmCli, SlurmView, slurm_view};
use multiberts_sweep::{JobProgress, merge_slurm, status};

use super::load_manifest;
use super::results_tree;

/// Show which jobs of a manifest are done, running, failed or pending; failed jobs with the
/// last lines of their logs.
///
/// Jobs submitted with `sweep --backend slurm` also show Slurm's view (squeue, scontrol):
/// queued tasks, and failed ones with their state and exit code.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The manifest (default: the embedded demo).
    pub manifest: Option<PathBuf>,
    /// Results directory (default: the manifest's `results_dir`, else `results`).
    #[arg(long, env = "MULTIBERTS_RESULTS")]
    pub results_dir: Option<PathBuf>,
    /// Log lines shown per failed job.
    #[arg(long, default_value_t = 10)]
    pub tail: usize,
}

/// Runs `multiberts status`.
pub fn run(args: StatusArgs) -> anyhow::Result<()> {
    let manifest = load_manifest(args.manifest.as_deref())?;
    let tree = results_tree(&manifest, args.results_dir.as_deref())?;
    let out = tree.root();
    let jobs = manifest.jobs();
    let mut progress = status(&jobs, &tree, out)?;
    let view = slurm_view(out, &SlurmCli, true).unwrap_or_else(|e| {
        tracing::warn!("cannot read Slurm's view ({e}); showing DONE markers and local records");
        SlurmView::default()
    });
    let slurm = view.has_submissions();
    if slurm {
        merge_slurm(&jobs, &mut progress, &view, out);
    }
    let (table, failed) = progress_table(&manifest, &jobs, &progress, slurm);
    println!("{} ({})", manifest.name, out.display());
    println!("{table}");
    if slurm && !view.reachable {
        println!("(Slurm's commands are not available here: showing DONE markers only)");
    }
    print_failures(&failed, args.tail);
    let stale = multiberts_collector::inputs::stale_jobs(&tree)?;
    if !stale.is_empty() {
        println!(
            "{} done job(s) read files that have changed since they ran (stale; `collect` \
             refuses them, `multiberts sweep --rerun-stale` runs them again):\n{}",
            stale.len(),
            multiberts_collector::inputs::describe_stale(&stale)
        );
    }
    Ok(())
}

/// A job that failed, with its state (status and log).
type Failed<'a> = (&'a Job, &'a JobProgress);

/// The table of job states per task (queued only when Slurm has submissions), and the failed
/// jobs.
fn progress_table<'a>(
    manifest: &Manifest,
    jobs: &'a [Job],
    progress: &'a [JobProgress],
    slurm: bool,
) -> (comfy_table::Table, Vec<Failed<'a>>) {
    let mut header = vec!["task", "done", "running"];
    if slurm {
        header.push("queued");
    }
    header.extend(["failed", "pending", "total"]);
    let mut table = super::new_table::<0>([]);
    table.set_header(header);
    let mut failed = Vec::new();
    // done, running, queued, failed, pending
    let mut totals = [0usize; 5];
    let row_of = |name: String, counts: &[usize; 5], total: usize| {
        let mut row = vec![name];
        for (k, c) in counts.iter().enumerate() {
            if k != 2 || slurm {
                row.push(c.to_string());
            }
        }
        row.push(total.to_string());
        row
    };
    for task in &manifest.tasks {
        let mut counts = [0usize; 5];
        for (job, p) in jobs.iter().zip(progress) {
            if job.task != task.name || job.variant != task.variant {
                continue;
            }
            let k = match p {
                JobProgress::Done => 0,
                JobProgress::Running => 1,
                JobProgress::Queued { .. } => 2,
                JobProgress::Failed { .. } => {
                    failed.push((job, p));
                    3
                }
                JobProgress::Pending { .. } => 4,
            };
            counts[k] += 1;
        }
        for k in 0..5 {
            totals[k] += counts[k];
        }
        table.add_row(row_of(task.display_name(), &counts, counts.iter().sum()));
    }
    table.add_row(row_of("all".into(), &totals, jobs.len()));
    (table, failed)
}

/// The failed jobs with the last `tail` lines of their logs.
fn print_failures(failed: &[Failed<'_>], tail: usize) {
    for &(job, p) in failed {
        if let JobProgress::Failed { status, log } = p {
            println!(
                "\nfailed: {} {} {} lr={:e} seed={} ({status}); last lines of {}:",
                job.id,
                job.task,
                job.checkpoint.id,
                job.learning_rate,
                job.finetune_seed,
                log.display()
            );
            for line in multiberts_sweep::record::tail(log, tail) {
                println!("  {line}");
            }
        }
    }
}
