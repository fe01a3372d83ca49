//! `multiberts status`: which jobs of a manifest are done, running, failed or pending.

use std::path::PathBuf;

use multiberts_collector::ResultsTree;
use multiberts_sweep::{JobProgress, status};

use super::load_manifest;
use super::run_job::output_dir;

/// Show which jobs of a manifest are done, running, failed or pending; failed jobs with the
/// last lines of their logs.
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
    let out = output_dir(&manifest, args.results_dir.as_deref());
    let results = out
        .parent()
        .map_or_else(|| PathBuf::from("."), std::path::Path::to_path_buf);
    let tree = ResultsTree::new(&results, &manifest.name)?;
    let jobs = manifest.jobs();
    let progress = status(&jobs, &tree, &out)?;
    let mut table = super::new_table(["task", "done", "running", "failed", "pending", "total"]);
    let mut failed = Vec::new();
    let mut totals = [0usize; 4];
    for task in &manifest.tasks {
        let mut counts = [0usize; 4];
        for (job, p) in jobs.iter().zip(&progress) {
            if job.task != task.name {
                continue;
            }
            let k = match p {
                JobProgress::Done => 0,
                JobProgress::Running => 1,
                JobProgress::Failed { .. } => {
                    failed.push((job, p));
                    2
                }
                JobProgress::Pending { .. } => 3,
            };
            counts[k] += 1;
        }
        for k in 0..4 {
            totals[k] += counts[k];
        }
        let mut row = vec![task.name.clone()];
        row.extend(counts.iter().map(usize::to_string));
        row.push(counts.iter().sum::<usize>().to_string());
        table.add_row(row);
    }
    let mut row = vec!["all".to_string()];
    row.extend(totals.iter().map(usize::to_string));
    row.push(jobs.len().to_string());
    table.add_row(row);
    println!("{} ({})", manifest.name, out.display());
    println!("{table}");
    for (job, p) in failed {
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
            for line in multiberts_sweep::record::tail(log, args.tail) {
                println!("  {line}");
            }
        }
    }
    Ok(())
}
