//! `multiberts plan`: resolve a manifest into jobs and show them.

use std::path::PathBuf;

use comfy_table::{Cell, CellAlignment};
use serde_json::json;

use multiberts_manifest::{Job, Manifest};

use super::{format_ints, format_list, load_manifest, new_table};

/// Resolve a manifest into jobs and print them grouped by task and checkpoint.
///
/// Validates the manifest (every error names the file, line and column), expands checkpoints ×
/// tasks × learning rates × fine-tuning seeds, and prints one row per task and checkpoint with
/// totals. Job ids are stable hashes of what each job computes: the same manifest always gives
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
    let manifest = load_manifest(args.manifest.as_deref())?;
    manifest.check_local_checkpoints()?;
    if args.write_jobs {
        return write_jobs(&manifest, &args);
    }
    let jobs = manifest.jobs();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&plan_json(&manifest, &jobs))?
        );
    } else if args.list {
        let mut table = new_table(["job id", "task", "checkpoint", "learning rate", "ft seed"]);
        for job in &jobs {
            table.add_row(vec![
                job.id.clone(),
                if job.variant.is_empty() {
                    job.task.to_string()
                } else {
                    format!("{}[{}]", job.task, job.variant)
                },
                job.checkpoint.id.to_string(),
                format!("{:e}", job.learning_rate),
                job.finetune_seed.to_string(),
            ]);
        }
        println!("{table}");
        println!("{} jobs", jobs.len());
    } else {
        print_summary(&manifest, &jobs);
    }
    Ok(())
}

/// `plan --write-jobs`: hands every unfinished job over as its job file, printing its
/// directory.
fn write_jobs(manifest: &Manifest, args: &PlanArgs) -> anyhow::Result<()> {
    let tree = super::results_tree(manifest, args.results_dir.as_deref())?;
    let data_root =
        multiberts_tasks::data_root(args.data_dir.as_deref(), manifest.data_dir.as_deref());
    let mut done = 0;
    for file in manifest.job_files(data_root.as_deref())? {
        let (dir, written) = multiberts_sweep::stage_job(&tree, &file)?;
        if written {
            println!("{}", dir.path().display());
        } else {
            done += 1;
        }
    }
    if done > 0 {
        eprintln!("{done} done jobs left out");
    }
    Ok(())
}

fn plan_json(manifest: &Manifest, jobs: &[Job]) -> serde_json::Value {
    json!({
        "name": manifest.name,
        "manifest": manifest.path.display().to_string(),
        "output_dir": manifest.output_dir().display().to_string(),
        "total_jobs": jobs.len(),
        "tasks": manifest.tasks,
        "checkpoints": manifest.checkpoints,
        "analyses": manifest.analyses,
        "jobs": jobs,
    })
}

fn print_summary(manifest: &Manifest, jobs: &[Job]) {
    println!("{} ({})", manifest.name, manifest.path.display());
    if !manifest.description.is_empty() {
        println!("{}", manifest.description);
    }
    println!();
    let mut table = new_table([
        "task",
        "checkpoint",
        "learning rates",
        "fine-tuning seeds",
        "jobs",
    ]);
    for task in &manifest.tasks {
        let per_checkpoint = task.hyper.learning_rates.len() * task.hyper.finetune_seeds.len();
        let lrs = format_list(task.hyper.learning_rates.iter().map(|lr| format!("{lr:e}")));
        let seeds = format_ints(&task.hyper.finetune_seeds);
        for ckpt in &manifest.checkpoints {
            table.add_row(vec![
                Cell::new(task.display_name()),
                Cell::new(&ckpt.id),
                Cell::new(&lrs),
                Cell::new(&seeds),
                Cell::new(per_checkpoint).set_alignment(CellAlignment::Right),
            ]);
        }
        table.add_row(vec![
            Cell::new(format!("{} total", task.display_name())),
            Cell::new(format!("{} checkpoints", manifest.checkpoints.len())),
            Cell::new(""),
            Cell::new(""),
            Cell::new(per_checkpoint * manifest.checkpoints.len())
                .set_alignment(CellAlignment::Right),
        ]);
    }
    println!("{table}");
    println!(
        "{} jobs: {} tasks x {} checkpoints x learning rates x fine-tuning seeds; results in {}",
        jobs.len(),
        manifest.tasks.len(),
        manifest.checkpoints.len(),
        manifest.output_dir().display()
    );
    if !manifest.analyses.is_empty() {
        let names: Vec<&str> = manifest.analyses.iter().map(|a| a.name.as_str()).collect();
        println!("analyses: {}", names.join(", "));
    }
}
