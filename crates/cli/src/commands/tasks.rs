//! `multiberts tasks`: the task specs the binary knows.

use std::path::PathBuf;

use multiberts_tasks::describe::describe;
use multiberts_tasks::{TaskRegistry, TaskSpec};

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
            let registry = TaskRegistry::with_dir(args.tasks_dir.as_deref())?;
            if args.json {
                let specs: Vec<&TaskSpec> = registry.iter().collect();
                println!("{}", serde_json::to_string_pretty(&specs)?);
                return Ok(());
            }
            print!("{}", multiberts_printer::tasks::list(&registry));
        }
        TasksCommand::Show(args) => {
            let registry = TaskRegistry::with_dir(args.tasks_dir.as_deref())?;
            let spec = registry.get(&args.name)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(spec)?);
            } else {
                print!("{}", describe(spec, &registry));
            }
        }
    }
    Ok(())
}
