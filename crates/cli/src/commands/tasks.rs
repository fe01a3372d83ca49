//! `multiberts tasks`.

use anyhow::bail;

/// Inspect the task specs.
#[derive(Debug, clap::Subcommand)]
pub enum TasksCommand {
    /// List the known tasks.
    List,
}

/// Runs `multiberts tasks …`.
pub fn run(_cmd: TasksCommand) -> anyhow::Result<()> {
    bail!("`multiberts tasks` is not implemented yet")
}
