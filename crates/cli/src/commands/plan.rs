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
    multiberts plan manifests/multiberts-glue.toml --json | jq '.jobs[0]'")]
pub struct PlanArgs {
    /// The manifest (default: the embedded demo, manifests/demo.toml).
    pub manifest: Option<PathBuf>,
    /// Print every job (id, task, checkpoint, learning rate, seed) instead of the summary.
    #[arg(long, conflicts_with = "json")]
    pub list: bool,
    /// Print the plan as JSON: every job with its id and canonical object.
    #[arg(long)]
    pub json: bool,
}

/// Runs `multiberts plan`.
pub fn run(args: PlanArgs) -> anyhow::Result<()> {
    let manifest = load_manifest(args.manifest.as_deref())?;
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
                    job.task.clone()
                } else {
                    format!("{}[{}]", job.task, job.variant)
                },
                job.checkpoint.id.clone(),
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
