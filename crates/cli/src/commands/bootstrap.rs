//! `multiberts bootstrap`.

use anyhow::bail;

/// Run a Multi-Bootstrap analysis on stored predictions.
#[derive(Debug, clap::Args)]
pub struct BootstrapArgs {}

/// Runs `multiberts bootstrap`.
pub fn run(_args: BootstrapArgs) -> anyhow::Result<()> {
    bail!("`multiberts bootstrap` is not implemented yet")
}
