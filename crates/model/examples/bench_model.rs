//! Times our BERT: one training step (forward + backward + clipping + AdamW) or one eval
//! forward, on a random batch, and prints one JSON line with the median time and peak RSS.
//!
//! Usage: `bench_model SIZE MODE [STEPS] [PADS]` with SIZE `tiny` (2×128), `minilm` (6×384) or
//! `base` (12×768), MODE `train` or `eval`, PADS `skip` (default: padded positions skip the
//! token-wise ops, [`PaddedPositions::Skip`]) or `compute` (every position runs, as in HF). Batch 16 × 128 tokens, a quarter of the positions
//! padded, two labels. Run one (size, mode) per process so the peak RSS belongs to it.
//! Driven by `bench/model/run.sh`, which runs PyTorch on the same inputs shape.

use std::time::Instant;

use candle_core::{Device, Tensor};
use multiberts_model::batch::Batch;
use multiberts_model::bert::{Bert, PaddedPositions};
use multiberts_model::config::BertConfig;
use multiberts_model::dropout::Mode;
use multiberts_model::heads::{ClassificationHead, cross_entropy};
use multiberts_model::optim::{AdamW, AdamWConfig, clip_grad_norm};
use multiberts_model::params::ParamBuilder;
use multiberts_model::rng::SeededRng;

const BATCH: usize = 16;
const SEQ: usize = 128;

fn config(size: &str) -> Option<BertConfig> {
    Some(match size {
        "tiny" => BertConfig::with_shape(2, 128, 2, 512, 512),
        "minilm" => BertConfig::with_shape(6, 384, 12, 1536, 512),
        "base" => BertConfig::with_shape(12, 768, 12, 3072, 512),
        _ => return None,
    })
}

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
    let config = config(size).ok_or(usage)?;
    let train = match mode.as_str() {
        "train" => true,
        "eval" => false,
        _ => return Err(usage.into()),
    };
    let device = Device::Cpu;
    let mut builder = ParamBuilder::fresh(&device, 0);
    let bert = Bert::build(&config, &mut builder)?.with_padded_positions(padded);
    let head = ClassificationHead::build(&config, 2, &mut builder)?;
    let (params, _) = builder.finish(&[])?;

    // Random ids (avoiding the special-token range), last quarter of each row padded.
    let mut rng = SeededRng::new(1, 0);
    let keep = SEQ - SEQ / 4;
    let mut ids = vec![vec![0i64; SEQ]; BATCH];
    let mut mask = vec![vec![0i64; SEQ]; BATCH];
    for (row, m) in ids.iter_mut().zip(mask.iter_mut()) {
        for j in 0..keep {
            row[j] = 1000 + i64::from(rng.next_u32() % 28000);
            m[j] = 1;
        }
    }
    let types = vec![vec![0i64; SEQ]; BATCH];
    let batch = Batch::from_rows(&ids, &types, &mask, &config, &device)?;
    let labels = Tensor::new(
        (0..BATCH as u32).map(|i| i % 2).collect::<Vec<_>>(),
        &device,
    )?;

    let mut opt = AdamW::new(&params, AdamWConfig::default())?;
    // Evaluation runs on the detached view (no autograd graph), as the runner and encode do.
    let (eval_bert, eval_head) = (bert.inference_view(), head.inference_view());
    let mut dropout_rng = SeededRng::named(2, "dropout");
    let mut times = Vec::with_capacity(steps);
    // Per step: forward (to the loss), backward, clipping + AdamW (train only).
    let mut phases: Vec<[f64; 3]> = Vec::with_capacity(steps);
    // One untimed warm-up step, then `steps` timed ones.
    for i in 0..=steps {
        let start = Instant::now();
        if train {
            let mut mode = Mode::Train(&mut dropout_rng);
            let out = bert.forward(&batch, &mut mode)?;
            let logits = head.forward(&out.pooler_output, &mut mode)?;
            let loss = cross_entropy(&logits, &labels)?;
            let t_fwd = start.elapsed().as_secs_f64();
            let mut grads = loss.backward()?;
            drop(loss);
            let t_bwd = start.elapsed().as_secs_f64();
            bert.zero_pad_gradient(&mut grads)?;
            clip_grad_norm(&params, &mut grads, 1.0)?;
            opt.step(&grads, 2e-5)?;
            if i > 0 {
                let t_all = start.elapsed().as_secs_f64();
                phases.push([t_fwd, t_bwd - t_fwd, t_all - t_bwd]);
            }
        } else {
            let out = eval_bert.forward(&batch, &mut Mode::Eval)?;
            let logits = eval_head.forward(&out.pooler_output, &mut Mode::Eval)?;
            logits.to_vec2::<f32>()?;
        }
        if i > 0 {
            times.push(start.elapsed().as_secs_f64());
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let phase = |k: usize| {
        let mut v: Vec<f64> = phases.iter().map(|p| p[k]).collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let breakdown = if train {
        format!(
            ", \"forward_s\": {:.4}, \"backward_s\": {:.4}, \"optimizer_s\": {:.4}",
            phase(0),
            phase(1),
            phase(2)
        )
    } else {
        String::new()
    };
    println!(
        "{{\"impl\": \"candle\", \"size\": \"{size}\", \"mode\": \"{mode}\", \"median_s\": {median:.4}, \"min_s\": {:.4}, \"steps\": {steps}, \"pads\": \"{pads}\"{breakdown}, \"peak_rss_mb\": {:.0}, \"threads\": {}}}",
        times[0],
        peak_rss_mb(),
        candle_core::utils::get_num_threads()
    );
    Ok(())
}
