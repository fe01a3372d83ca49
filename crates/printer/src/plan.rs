//! `multiberts plan`: the jobs a manifest expands into, as a summary per task and checkpoint,
//! as a list, or as JSON.

use std::fmt::Write;

use comfy_table::{Cell, CellAlignment};
use serde_json::json;

use multiberts_manifest::{Job, Manifest, PretrainJob};
use multiberts_report::format_ints;

use crate::{format_list, new_table};

/// One row per task and checkpoint (learning rates, fine-tuning seeds, job count), a total per
/// task, the job count and the analyses.
pub fn summary(manifest: &Manifest, jobs: &[Job]) -> String {
    let mut out = format!("{} ({})\n", manifest.name, manifest.path.display());
    if !manifest.description.is_empty() {
        let _ = writeln!(out, "{}", manifest.description);
    }
    out.push('\n');
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
    let _ = writeln!(out, "{table}");
    let pretrain = manifest.pretrain_jobs();
    if !pretrain.is_empty() {
        out.push_str(&pretrain_table(&pretrain));
    }
    let _ = writeln!(
        out,
        "{} {}jobs: {} tasks x {} checkpoints x learning rates x fine-tuning seeds; results in {}",
        jobs.len(),
        if pretrain.is_empty() {
            ""
        } else {
            "fine-tuning "
        },
        manifest.tasks.len(),
        manifest.checkpoints.len(),
        manifest.output_dir().display()
    );
    if !pretrain.is_empty() {
        let _ = writeln!(
            out,
            "{} pre-training jobs run first; a fine-tuning job starts once its step is saved",
            pretrain.len()
        );
    }
    if !manifest.analyses.is_empty() {
        let names: Vec<&str> = manifest.analyses.iter().map(|a| a.name.as_str()).collect();
        let _ = writeln!(out, "analyses: {}", names.join(", "));
    }
    out
}

/// The pre-training jobs, one row each (id, size, seed, steps, saved steps), then the count.
pub fn pretrain_table(jobs: &[PretrainJob]) -> String {
    let mut table = new_table(["pre-training job", "config", "seed", "steps", "saved steps"]);
    for job in jobs {
        let s = &job.settings;
        table.add_row(vec![
            job.id.clone(),
            s.config.clone(),
            job.seed.to_string(),
            s.steps.to_string(),
            format_ints(&s.save_steps),
        ]);
    }
    format!(
        "{table}
{} pre-training jobs
",
        jobs.len()
    )
}

/// Every job on its own row (id, task, checkpoint, learning rate, fine-tuning seed), then the
/// count.
pub fn list(jobs: &[Job]) -> String {
    let mut table = new_table(["job id", "task", "checkpoint", "learning rate", "ft seed"]);
    for job in jobs {
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
    format!("{table}\n{} jobs\n", jobs.len())
}

/// The plan as JSON: the manifest's name, tasks, checkpoints and analyses, and every job with
/// its id and canonical object; with `pretrain` checkpoints also `pretrain_jobs`.
pub fn json(manifest: &Manifest, jobs: &[Job]) -> serde_json::Value {
    let mut value = json!({
        "name": manifest.name,
        "manifest": manifest.path.display().to_string(),
        "output_dir": manifest.output_dir().display().to_string(),
        "total_jobs": jobs.len(),
        "tasks": manifest.tasks,
        "checkpoints": manifest.checkpoints,
        "analyses": manifest.analyses,
        "jobs": jobs,
    });
    // Only with pre-training jobs, so other plans read as before.
    let pretrain = manifest.pretrain_jobs();
    if let (false, Some(map)) = (pretrain.is_empty(), value.as_object_mut()) {
        map.insert("pretrain_jobs".into(), json!(pretrain));
    }
    value
}
