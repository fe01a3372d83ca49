//! `multiberts plan`.

use anyhow::bail;

/// Resolve a manifest into jobs and print them grouped by task and checkpoint.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {}

/// Runs `multiberts plan`.
pub fn run(_args: PlanArgs) -> anyhow::Result<()> {
    bail!("`multiberts plan` is not implemented yet")
}
