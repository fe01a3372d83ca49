//! `multiberts data`: check that task data files are present and well-formed (the checks are
//! `multiberts_tasks::check`; this prints them).

use std::path::PathBuf;

use anyhow::{Context, bail};
use multiberts_tasks::check::check_task;
use multiberts_tasks::{TaskRegistry, data_root};

use super::load_manifest;

/// Inspect data files.
#[derive(Debug, clap::Subcommand)]
pub enum DataCommand {
    /// Read every task's files under the data root and print counts and label distributions.
    ///
    /// The data root is --data-dir, else $MULTIBERTS_DATA, else the manifest's data_dir. Tasks
    /// whose files are absent are listed as missing; a malformed file is an error naming the
    /// file, line and column (exit status 1).
    #[command(after_help = "Examples:\n  \
        multiberts data check --data-dir ../shared/data/glue\n  \
        multiberts data check --data-dir ../shared/data/glue --task sst2 --task rte\n  \
        multiberts data check --manifest manifests/multiberts-glue.toml")]
    Check(CheckArgs),
}

/// Arguments of `data check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The data root holding the task folders (e.g. SST-2/, CoLA/).
    #[arg(long, value_name = "DIR", env = "MULTIBERTS_DATA")]
    pub data_dir: Option<PathBuf>,
    /// Check the tasks of this manifest (and use its data_dir when no --data-dir is given).
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Check only these tasks (repeatable). Default: every known task.
    #[arg(long = "task", value_name = "NAME")]
    pub tasks: Vec<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `multiberts data …`.
pub fn run(cmd: DataCommand) -> anyhow::Result<()> {
    match cmd {
        DataCommand::Check(args) => check(args),
    }
}

fn check(args: CheckArgs) -> anyhow::Result<()> {
    let (registry, manifest_tasks, manifest_root) = match &args.manifest {
        Some(path) => {
            let m = load_manifest(Some(path))?;
            let names: Vec<String> = m.tasks.iter().map(|t| t.name.to_string()).collect();
            (m.registry.clone(), Some(names), m.data_dir.clone())
        }
        None => (
            TaskRegistry::builtin().context("built-in task specs are invalid (a bug)")?,
            None,
            None,
        ),
    };
    let names: Vec<String> = if !args.tasks.is_empty() {
        args.tasks.clone()
    } else if let Some(names) = manifest_tasks {
        names
    } else {
        registry.names()
    };
    let root = data_root(args.data_dir.as_deref(), manifest_root.as_deref());
    let explicit = !args.tasks.is_empty();

    let mut reports = Vec::new();
    for name in &names {
        let spec = registry.get(name)?;
        reports.extend(check_task(spec, root.as_deref()));
    }
    let failed = reports.iter().filter(|r| r.status == "error").count();
    let missing: Vec<&str> = reports
        .iter()
        .filter(|r| r.status == "missing")
        .map(|r| r.task.as_str())
        .collect();

    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        print!(
            "{}",
            multiberts_printer::data::report(&reports, root.as_deref())
        );
        eprint!("{}", multiberts_printer::data::errors(&reports));
    }
    if failed > 0 {
        bail!("{failed} data file(s) are malformed (see the errors above)");
    }
    if explicit && !missing.is_empty() {
        bail!("no data found for {}", missing.join(", "));
    }
    Ok(())
}
