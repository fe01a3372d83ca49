//! Times our BERT: one training step (forward + backward + clipping + AdamW) or one eval
//! forward, on a random batch, and prints one JSON line with the median time and peak RSS.
//!
//! Usage: `bench_model SIZE MODE [STEPS] [PADS]` with SIZE `tiny` (2×128), `minilm` (6×384) or
//! `base` (12×768), MODE `train` or `eval`, PADS `skip` (default: padded positions skip the
//! token-wise ops, [`PaddedPositions::Skip`]) or `compute` (every position runs, as in HF). Batch 16 × 128 tokens, a quarter of the positions
//! padded, two labels. Run one (size, mode) per process so the peak RSS belongs to it.
//! Driven by `bench/model/run.sh`, which runs PyTorch on the same inputs shape.

use multiberts_model::bench::{BenchSpec, config_for, run_bench};
use multiberts_model::bert::PaddedPositions;
use multiberts_model::precision::Precision;

const BATCH: usize = 16;
const SEQ: usize = 128;

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: bench_model tiny|minilm|base train|eval [STEPS] [skip|compute]";
    let size = args.get(1).ok_or(usage)?;
    let mode = args.get(2).ok_or(usage)?;
    let steps: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(5);
    let pads = args.get(4).map_or("skip", String::as_str);
    let padded = match pads {
        "skip" => PaddedPositions::Skip,
        "compute" => PaddedPositions::Compute,
        _ => return Err(usage.into()),
    };
    config_for(size).ok_or(usage)?;
    let train = match mode.as_str() {
        "train" => true,
        "eval" => false,
        _ => return Err(usage.into()),
    };
    let spec = BenchSpec {
        size: size.clone(),
        train,
        steps,
        batch: BATCH,
        seq: SEQ,
        padded,
        precision: Precision::Fp32,
    };
    let r = run_bench(&spec, &candle_core::Device::Cpu)?;
    let breakdown = match r.phases {
        Some([f, b, o]) => {
            format!(", \"forward_s\": {f:.4}, \"backward_s\": {b:.4}, \"optimizer_s\": {o:.4}")
        }
        None => String::new(),
    };
    println!(
        "{{\"impl\": \"candle\", \"size\": \"{size}\", \"mode\": \"{mode}\", \"median_s\": {:.4}, \"min_s\": {:.4}, \"steps\": {steps}, \"pads\": \"{pads}\"{breakdown}, \"peak_rss_mb\": {:.0}, \"threads\": {}}}",
        r.median_s,
        r.min_s,
        peak_rss_mb(),
        candle_core::utils::get_num_threads()
    );
    Ok(())
}
