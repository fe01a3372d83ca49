//! `multiberts data`.

use anyhow::bail;

/// Inspect data files.
#[derive(Debug, clap::Subcommand)]
pub enum DataCommand {
    /// Read every task's files and print counts and label distributions.
    Check,
}

/// Runs `multiberts data …`.
pub fn run(_cmd: DataCommand) -> anyhow::Result<()> {
    bail!("`multiberts data` is not implemented yet")
}
