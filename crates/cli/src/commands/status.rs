//! `multiberts status`: which jobs of a manifest are done, running, queued in Slurm, failed or
//! pending.

use std::path::PathBuf;

use multiberts_collector::inputs::{describe_stale, stale_jobs};
use multiberts_sweep::slurm::{SlurmCli, SlurmView, slurm_view};
use multiberts_sweep::{manifest_and_tree, merge_slurm, merge_slurm_ids, pretrain_status, status};

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
    let out = tree.root();
    let jobs = manifest.jobs();
    let mut progress = status(&jobs, &tree, out)?;
    let pretrain = manifest.pretrain_jobs();
    let mut pretrain_progress = pretrain_status(&pretrain, &tree, out)?;
    let view = slurm_view(out, &SlurmCli, true).unwrap_or_else(|e| {
        tracing::warn!("cannot read Slurm's view ({e}); showing DONE markers and local records");
        SlurmView::default()
    });
    let slurm = view.has_submissions().then_some(view.reachable);
    if slurm.is_some() {
        merge_slurm(&jobs, &mut progress, &view, out);
        let ids: Vec<&str> = pretrain.iter().map(|j| j.id.as_str()).collect();
        merge_slurm_ids(&ids, &mut pretrain_progress, &view, out);
    }
    println!("{} ({})", manifest.name, out.display());
    let text =
        multiberts_printer::status::pretrain_report(&pretrain, &pretrain_progress, args.tail);
    print!("{text}");
    let text = multiberts_printer::status::report(&manifest, &jobs, &progress, slurm, args.tail);
    print!("{text}");
    let stale = stale_jobs(&tree)?;
    if !stale.is_empty() {
        println!(
            "{} done job(s) read files that have changed since they ran (stale; `collect` \
             refuses them, `multiberts sweep --rerun-stale` runs them again):\n{}",
            stale.len(),
            describe_stale(&stale)
        );
    }
    Ok(())
}
