//! `multiberts tasks`: the task specs the binary knows.

use std::path::PathBuf;

use anyhow::Context;

use multiberts_tasks::{DataFormat, SplitSource, TaskRegistry, TaskSpec};

use super::new_table;

/// Inspect the task specs (built in from tasks/, plus an optional folder of your own).
#[derive(Debug, clap::Subcommand)]
pub enum TasksCommand {
    /// List the known tasks with their kind, labels and metrics.
    #[command(
        after_help = "Example:\n  multiberts tasks list\n  multiberts tasks list --tasks-dir my-tasks"
    )]
    List(ListArgs),
    /// Show one task's spec: labels in output order, metrics, and where its data files live.
    #[command(
        after_help = "Example:\n  multiberts tasks show mnli\n  multiberts tasks show mnli --json"
    )]
    Show(ShowArgs),
}

/// Arguments of `tasks list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Also load specs (*.toml) from this folder; they replace built-ins of the same name.
    #[arg(long, value_name = "DIR")]
    pub tasks_dir: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `tasks show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The task's name (see `multiberts tasks list`).
    pub name: String,
    /// Also load specs (*.toml) from this folder.
    #[arg(long, value_name = "DIR")]
    pub tasks_dir: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `multiberts tasks …`.
pub fn run(cmd: TasksCommand) -> anyhow::Result<()> {
    match cmd {
        TasksCommand::List(args) => {
            let registry = registry(args.tasks_dir.as_deref())?;
            if args.json {
                let specs: Vec<&TaskSpec> = registry.iter().collect();
                println!("{}", serde_json::to_string_pretty(&specs)?);
                return Ok(());
            }
            let mut table = new_table([
                "task",
                "kind",
                "labels",
                "metrics",
                "formats",
                "description",
            ]);
            for spec in registry.iter() {
                let formats: Vec<String> =
                    spec.sources.iter().map(|s| s.format.to_string()).collect();
                table.add_row(vec![
                    spec.name.clone(),
                    spec.kind.to_string(),
                    if spec.kind == multiberts_tasks::TaskKind::Span {
                        "(context span or none)".to_string()
                    } else if spec.labels.is_empty() {
                        "(real value)".to_string()
                    } else {
                        spec.labels.join(", ")
                    },
                    spec.metrics.join(", "),
                    formats.join(", "),
                    spec.description.clone(),
                ]);
            }
            println!("{table}");
        }
        TasksCommand::Show(args) => {
            let registry = registry(args.tasks_dir.as_deref())?;
            let spec = registry.get(&args.name)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(spec)?);
            } else {
                print_spec(spec, &registry);
            }
        }
    }
    Ok(())
}

fn registry(dir: Option<&std::path::Path>) -> anyhow::Result<TaskRegistry> {
    let mut registry =
        TaskRegistry::builtin().context("built-in task specs are invalid (a bug)")?;
    if let Some(dir) = dir {
        registry
            .load_dir(dir)
            .with_context(|| format!("cannot load task specs from {}", dir.display()))?;
    }
    Ok(registry)
}

fn print_spec(spec: &TaskSpec, registry: &TaskRegistry) {
    println!("{}: {}", spec.name, spec.description);
    println!("  spec:     {}", spec.origin.display());
    if let Some(home) = &spec.homepage {
        println!("  homepage: {home}");
    }
    println!("  kind:     {}", spec.kind);
    if !spec.labels.is_empty() {
        let labels: Vec<String> = spec
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| format!("{i}={l}"))
            .collect();
        println!("  labels:   {} (model output order)", labels.join(", "));
    }
    println!(
        "  metrics:  {} (primary: {})",
        spec.metrics.join(", "),
        spec.primary_metric()
    );
    if spec.eval_only {
        println!(
            "  eval only: yes (no training split); evaluate on: {}",
            spec.eval_split
        );
        let trainers: Vec<String> = registry
            .trainable_evaluating_on(spec)
            .iter()
            .map(|s| s.name.clone())
            .collect();
        if !trainers.is_empty() {
            println!(
                "  fine-tune with: {} (they evaluate on this data)",
                trainers.join(", ")
            );
        }
    } else {
        println!(
            "  train on: {}; evaluate on: {}",
            spec.train_split, spec.eval_split
        );
    }
    println!("  data sources, in order of preference (paths relative to the data root):");
    for (i, source) in spec.sources.iter().enumerate() {
        if source.split_formats.is_empty() {
            println!("    {}. {}", i + 1, source.format);
        } else {
            let per_split: Vec<String> = source
                .split_formats
                .iter()
                .map(|(split, format)| format!("{split} = {format}"))
                .collect();
            println!(
                "    {}. {} (split formats: {})",
                i + 1,
                source.format,
                per_split.join(", ")
            );
        }
        if source.format == DataFormat::Synthetic {
            println!(
                "       generator `{}`, seed {}",
                source.generator.as_deref().unwrap_or("?"),
                source.seed
            );
        }
        for (split, files) in &source.splits {
            let what = match files {
                SplitSource::Files(f) => f.join(", "),
                SplitSource::Generated(n) => format!("{n} generated examples"),
            };
            if source.split_formats.is_empty() {
                println!("       {split:<17} {what}");
            } else {
                // Which reader gets which split is the point of `split_formats`: say it on
                // every line, the main format's splits too.
                println!(
                    "       {split:<17} {what} (read as {})",
                    source.format_of(split)
                );
            }
        }
        // The other files a span-pair reader opens, by their spec keys.
        let occupations = (!source.occupations.is_empty()).then(|| source.occupations.join(", "));
        let extra_files = [
            ("templates", source.templates.clone()),
            ("occupation_stats", source.occupation_stats.clone()),
            ("occupations", occupations),
        ];
        for (key, files) in extra_files {
            if let Some(files) = files {
                println!("       {key:<17} {files}");
            }
        }
    }
}
