//! `multiberts plan`: resolve a manifest into jobs and show them.

use std::path::PathBuf;

use multiberts_manifest::Manifest;

/// Resolve a manifest into jobs and print them grouped by task and checkpoint.
///
/// Validates the manifest (every error names the file, line and column), expands checkpoints ×
/// tasks × learning rates × fine-tuning seeds, and prints one row per task and checkpoint with
/// totals, and the pre-training jobs of `pretrain` checkpoints (one per seed) in a table of
/// their own. Job ids are stable hashes of what each job computes: the same manifest always gives
/// the same ids, and changing a hyper-parameter changes exactly the jobs it affects.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    multiberts plan                                  # the embedded demo (manifests/demo.toml)\n  \
    multiberts plan manifests/multiberts-glue.toml   # 4000 jobs\n  \
    multiberts plan manifests/multiberts-glue.toml --list | head\n  \
    multiberts plan manifests/multiberts-glue.toml --json | jq '.jobs[0]'\n  \
    multiberts plan manifests/my.toml --write-jobs | head -1 | xargs multiberts run-job")]
pub struct PlanArgs {
    /// The manifest (default: the embedded demo, manifests/demo.toml).
    pub manifest: Option<PathBuf>,
    /// Print every job (id, task, checkpoint, learning rate, seed) instead of the summary.
    #[arg(long, conflicts_with = "json")]
    pub list: bool,
    /// Print the plan as JSON: every job with its id and canonical object.
    #[arg(long)]
    pub json: bool,
    /// Write each unfinished job's `job.json` into its directory, as `sweep` does before it
    /// starts a job, and print the directories, one per line: `multiberts run-job DIR` runs
    /// one of them by hand (on a debug node, under a profiler).
    #[arg(long, conflicts_with_all = ["json", "list"])]
    pub write_jobs: bool,
    /// With --write-jobs: the results directory (default: the manifest's `results_dir`).
    #[arg(long, env = "MULTIBERTS_RESULTS", requires = "write_jobs")]
    pub results_dir: Option<PathBuf>,
    /// With --write-jobs: the data root the jobs read (default: MULTIBERTS_DATA, then the
    /// manifest's `data_dir`).
    #[arg(long, requires = "write_jobs")]
    pub data_dir: Option<PathBuf>,
}

/// Runs `multiberts plan`.
pub fn run(args: PlanArgs) -> anyhow::Result<()> {
    let manifest = Manifest::load_or_demo(args.manifest.as_deref())?;
    manifest.check_local_checkpoints()?;
    if args.write_jobs {
        return write_jobs(&manifest, &args);
    }
    let jobs = manifest.jobs();
    if args.json {
        let json = multiberts_printer::plan::json(&manifest, &jobs);
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else if args.list {
        let pretrain = manifest.pretrain_jobs();
        if !pretrain.is_empty() {
            print!("{}", multiberts_printer::plan::pretrain_table(&pretrain));
        }
        print!("{}", multiberts_printer::plan::list(&jobs));
    } else {
        print!("{}", multiberts_printer::plan::summary(&manifest, &jobs));
    }
    Ok(())
}

/// `plan --write-jobs`: hands every unfinished job over as its job file, printing its
/// directory.
fn write_jobs(manifest: &Manifest, args: &PlanArgs) -> anyhow::Result<()> {
    let results_dir = manifest.results_dir_or(args.results_dir.as_deref());
    let tree = multiberts_collector::ResultsTree::new(results_dir, &manifest.name)?;
    let data_root = manifest.data_root(args.data_dir.as_deref());
    let print = |dir: &std::path::Path| println!("{}", dir.display());
    let done = multiberts_sweep::stage_unfinished(manifest, &tree, data_root.as_deref(), print)?;
    if done > 0 {
        eprintln!("{done} done jobs left out");
    }
    Ok(())
}
