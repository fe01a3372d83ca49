//! `multiberts encode`.

use anyhow::bail;

/// Run the encoder on one batch and write hidden states as safetensors.
#[derive(Debug, clap::Args)]
pub struct EncodeArgs {}

/// Runs `multiberts encode`.
pub fn run(_args: EncodeArgs) -> anyhow::Result<()> {
    bail!("`multiberts encode` is not implemented yet")
}
