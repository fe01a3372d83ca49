//! `multiberts status`: which jobs of a manifest are done, running, queued in Slurm, failed or
//! pending.

use std::path::PathBuf;

use multiberts_printer::status;
use multiberts_sweep::{SweepStatus, manifest_and_tree, stale_note};

/// Show which jobs of a manifest are done, running, failed or pending; failed jobs with the
/// last lines of their logs. Pre-training jobs (of `pretrain` checkpoints) have a table of
/// their own above the fine-tuning jobs'.
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
    let (manifest, tree) =
        manifest_and_tree(args.manifest.as_deref(), args.results_dir.as_deref())?;
    let s = SweepStatus::read(&manifest, &tree)?;
    println!("{} ({})", manifest.name, tree.root().display());
    let text = status::pretrain_report(&s.pretrain, &s.pretrain_progress, args.tail);
    print!("{text}");
    print!(
        "{}",
        status::report(&manifest, &s.jobs, &s.progress, s.slurm, args.tail)
    );
    print!("{}", stale_note(&tree)?);
    Ok(())
}
