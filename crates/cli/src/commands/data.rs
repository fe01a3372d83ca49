//! `multiberts data`: check that task data files are present and well-formed (the checks are
//! `multiberts_tasks::check`; this prints them).

use std::path::PathBuf;

use multiberts_manifest::Manifest;
use multiberts_tasks::check::DataCheck;
use multiberts_tasks::{TaskRegistry, data_root};

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

/// Checks the tasks asked for (`--task`, else the manifest's, else every known one), prints
/// the table (or JSON) and fails on malformed files or named tasks without data.
fn check(args: CheckArgs) -> anyhow::Result<()> {
    let manifest = match &args.manifest {
        Some(path) => Some(Manifest::load_or_demo(Some(path))?),
        None => None,
    };
    let manifest_root = manifest.as_ref().and_then(|m| m.data_dir.as_deref());
    let root = data_root(args.data_dir.as_deref(), manifest_root);
    let check = match &manifest {
        Some(m) => m.check_data(&args.tasks, root.as_deref())?,
        None => {
            let registry = TaskRegistry::with_dir(None)?;
            DataCheck::run(&registry, &args.tasks, None, root.as_deref())?
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&check.reports)?);
    } else {
        print!(
            "{}",
            multiberts_printer::data::report(&check.reports, root.as_deref())
        );
        eprint!("{}", multiberts_printer::data::errors(&check.reports));
    }
    Ok(check.verdict()?)
}
