//! `multiberts encode`.

use std::path::PathBuf;

use anyhow::Context;

/// Run a checkpoint's encoder on one batch and write `last_hidden_state` and `pooler_output`
/// (f32) as safetensors, e.g. to compare with another implementation.
#[derive(Debug, clap::Args)]
pub struct EncodeArgs {
    /// Checkpoint directory (config.json + model.safetensors or pytorch_model.bin), or a
    /// weights file with config.json beside it.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// JSON with `input_ids` (and optionally `token_type_ids`, `attention_mask`) as [B][T]
    /// integer arrays, or named batches of those (pick one with --batch).
    #[arg(long)]
    pub input: PathBuf,
    /// Name of the batch inside the input JSON (e.g. `pairs`).
    #[arg(long)]
    pub batch: Option<String>,
    /// Output safetensors file.
    #[arg(long)]
    pub out: PathBuf,
    /// `cpu`, `cuda` or `cuda:N`.
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// Runs `multiberts encode`.
pub fn run(args: EncodeArgs) -> anyhow::Result<()> {
    let device = multiberts_model::device::parse_device(&args.device)?;
    let summary = multiberts_model::encode::encode_file(
        &args.checkpoint,
        &args.input,
        args.batch.as_deref(),
        &args.out,
        &device,
    )
    .with_context(|| format!("encoding with {}", args.checkpoint.display()))?;
    summary.log(&args.out);
    Ok(())
}
