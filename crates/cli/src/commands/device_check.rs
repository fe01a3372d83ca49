//! `multiberts device-check`: is a device's arithmetic trustworthy, and how fast is it?

use std::path::PathBuf;

use multiberts_model::bench::{BenchSpec, run_bench};
use multiberts_model::bert::PaddedPositions;
use multiberts_model::device::parse_device;
use multiberts_model::fixture_parity::check_fixture;
use multiberts_model::precision::Precision;

/// Check a device before trusting its results (parity with PyTorch on the bert-tiny fixture),
/// or time a training step and an eval forward on it. `bench/gpu/check.sh` runs both on a GPU.
#[derive(Debug, clap::Subcommand)]
pub enum DeviceCheckCommand {
    /// Run the bert-tiny fixture (shared/fixtures/bert-tiny) on the device: forward outputs,
    /// every gradient and two AdamW steps against PyTorch's. Exits 1 if any tensor is off by
    /// more than --rel of its max.
    Parity(ParityArgs),
    /// Time one training step (forward, backward, clipping, AdamW) and one eval forward of a
    /// random-init model on a random batch; prints one JSON line per mode.
    Bench(BenchArgs),
}

/// `multiberts device-check parity`.
#[derive(Debug, clap::Args)]
pub struct ParityArgs {
    /// The fixture directory (config.json, batch.json, expected.safetensors, and
    /// model.safetensors or pytorch_model.bin).
    #[arg(long)]
    pub fixture: PathBuf,
    /// `cpu`, `cuda` or `cuda:N`.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Largest accepted max|ours − torch| / max|torch| per tensor.
    #[arg(long, default_value_t = 1e-4)]
    pub rel: f64,
}

/// `multiberts device-check bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Model shape: `tiny` (2×128), `minilm` (6×384) or `base` (12×768).
    #[arg(long, default_value = "base")]
    pub size: String,
    /// `cpu`, `cuda` or `cuda:N`.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// `fp32`, `tf32` (CUDA) or `bf16`.
    #[arg(long, default_value = "fp32")]
    pub precision: String,
    /// Rows per batch.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Tokens per row (the last quarter is padding).
    #[arg(long, default_value_t = 128)]
    pub seq: usize,
    /// Timed repetitions (after one warm-up).
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// Run padded positions through every layer, as Hugging Face does (default: skip them, as
    /// the runner does).
    #[arg(long)]
    pub compute_padding: bool,
}

/// Runs `multiberts device-check`.
pub fn run(cmd: DeviceCheckCommand) -> anyhow::Result<()> {
    match cmd {
        DeviceCheckCommand::Parity(args) => parity(args),
        DeviceCheckCommand::Bench(args) => bench(args),
    }
}

/// Compares the fixture's forward, gradients and AdamW steps with PyTorch's on the device.
fn parity(args: ParityArgs) -> anyhow::Result<()> {
    let report = check_fixture(&args.fixture, &parse_device(&args.device)?)?;
    print!("{}", report.summary(args.rel, &args.device));
    Ok(report.verdict(args.rel, &args.device)?)
}

/// Times a training step, then an eval forward; one JSON line each.
fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let device = parse_device(&args.device)?;
    let train = BenchSpec {
        size: args.size,
        train: true,
        steps: args.steps,
        batch: args.batch,
        seq: args.seq,
        padded: if args.compute_padding {
            PaddedPositions::Compute
        } else {
            PaddedPositions::Skip
        },
        precision: args.precision.parse::<Precision>()?,
    };
    let eval = BenchSpec {
        train: false,
        ..train.clone()
    };
    for spec in [train, eval] {
        println!("{}", run_bench(&spec, &device)?.json(&spec, &args.device));
    }
    Ok(())
}
