//! Times our BERT on a random batch: one training step (forward + backward + clipping + AdamW)
//! or one evaluation forward, on any device and precision. Used by the CPU benchmark
//! (`examples/bench_model.rs`, `bench/model/run.sh`) and the GPU check
//! (`multiberts device-check bench`, `bench/gpu/check.sh`), each beside PyTorch on the same
//! batch shape.

use std::time::Instant;

use candle_core::{Device, Tensor};

use crate::batch::Batch;
use crate::bert::{Bert, PaddedPositions};
use crate::config::BertConfig;
use crate::error::{ModelError, Result};
use crate::heads::{ClassificationHead, cross_entropy};
use crate::kernels::dropout::Mode;
use crate::optim::{AdamW, AdamWConfig, clip_grad_norm};
use crate::params::ParamBuilder;
use crate::precision::Precision;
use crate::rng::SeededRng;

/// A model shape by name: `tiny` (2×128), `minilm` (6×384) or `base` (12×768, BERT-base).
pub fn config_for(size: &str) -> Option<BertConfig> {
    Some(match size {
        "tiny" => BertConfig::with_shape(2, 128, 2, 512, 512),
        "minilm" => BertConfig::with_shape(6, 384, 12, 1536, 512),
        "base" => BertConfig::with_shape(12, 768, 12, 3072, 512),
        _ => return None,
    })
}

/// What to time.
#[derive(Debug, Clone)]
pub struct BenchSpec {
    /// Model shape, see [`config_for`].
    pub size: String,
    /// A training step (`true`) or an evaluation forward (`false`).
    pub train: bool,
    /// Timed repetitions after one untimed warm-up.
    pub steps: usize,
    /// Rows per batch.
    pub batch: usize,
    /// Tokens per row; the last quarter of each row is padding.
    pub seq: usize,
    /// Whether padded positions skip the token-wise ops.
    pub padded: PaddedPositions,
    /// Matmul precision.
    pub precision: Precision,
}

/// Median and minimum time of the timed repetitions, with the training step's phases.
#[derive(Debug, Clone)]
pub struct BenchResult {
    /// Median seconds per repetition.
    pub median_s: f64,
    /// Fastest repetition, seconds.
    pub min_s: f64,
    /// Median forward, backward and optimizer (clipping + AdamW) seconds of a training step.
    pub phases: Option<[f64; 3]>,
}

impl BenchResult {
    /// The result as the one JSON line `device-check bench` prints per mode (the fields the
    /// PyTorch side's bench prints too): implementation, size, mode, device, precision, shape,
    /// median and minimum seconds, and the training step's phases.
    pub fn json(&self, spec: &BenchSpec, device: &str) -> serde_json::Value {
        let mut line = serde_json::json!({
            "impl": "candle",
            "size": spec.size,
            "mode": if spec.train { "train" } else { "eval" },
            "device": device,
            "precision": spec.precision.name(),
            "batch": spec.batch,
            "seq": spec.seq,
            "median_s": self.median_s,
            "min_s": self.min_s,
            "steps": spec.steps,
        });
        if let (Some([f, b, o]), Some(map)) = (self.phases, line.as_object_mut()) {
            map.insert("forward_s".into(), f.into());
            map.insert("backward_s".into(), b.into());
            map.insert("optimizer_s".into(), o.into());
        }
        line
    }
}

/// A random batch shaped as the PyTorch side builds it: ids avoiding the special-token range,
/// the last quarter of each row padded, labels alternating 0/1.
fn random_batch(spec: &BenchSpec, config: &BertConfig, device: &Device) -> Result<(Batch, Tensor)> {
    let mut rng = SeededRng::new(1, 0);
    let keep = spec.seq - spec.seq / 4;
    let mut ids = vec![vec![0i64; spec.seq]; spec.batch];
    let mut mask = vec![vec![0i64; spec.seq]; spec.batch];
    for (row, m) in ids.iter_mut().zip(mask.iter_mut()) {
        for j in 0..keep {
            row[j] = 1000 + i64::from(rng.next_u32() % 28000);
            m[j] = 1;
        }
    }
    let types = vec![vec![0i64; spec.seq]; spec.batch];
    let batch = Batch::from_rows(&ids, &types, &mask, config, device)?;
    let labels = Tensor::new(
        (0..spec.batch as u32).map(|i| i % 2).collect::<Vec<_>>(),
        device,
    )?;
    Ok((batch, labels))
}

/// Times `spec` on `device`. GPU work is synchronised before each clock reading, so the times
/// are those of the finished work, not of its launch.
pub fn run_bench(spec: &BenchSpec, device: &Device) -> Result<BenchResult> {
    let config = config_for(&spec.size).ok_or_else(|| {
        ModelError::Check(format!(
            "unknown model size `{}`; expected tiny, minilm or base",
            spec.size
        ))
    })?;
    if spec.steps == 0 || spec.batch == 0 || spec.seq < 4 {
        return Err(ModelError::Check(
            "a benchmark needs steps >= 1, batch >= 1 and seq >= 4".into(),
        ));
    }
    spec.precision
        .check_device(device)
        .map_err(|e| ModelError::Check(e.to_string()))?;
    spec.precision.apply_to_cublas();
    let mut builder = ParamBuilder::fresh(device, 0);
    let bert = Bert::build(&config, &mut builder)?
        .with_padded_positions(spec.padded)
        .with_precision(spec.precision);
    let head = ClassificationHead::build(&config, 2, &mut builder)?;
    let (params, _) = builder.finish(&[])?;
    let (batch, labels) = random_batch(spec, &config, device)?;

    let mut opt = AdamW::new(&params, AdamWConfig::default())?;
    // Evaluation runs on the detached view (no autograd graph), as the runner and encode do.
    let (eval_bert, eval_head) = (bert.inference_view(), head.inference_view());
    let mut dropout_rng = SeededRng::named(2, "dropout");
    let sync = || device.synchronize();
    let mut times = Vec::with_capacity(spec.steps);
    let mut phases: Vec<[f64; 3]> = Vec::with_capacity(spec.steps);
    // One untimed warm-up step, then `steps` timed ones.
    for i in 0..=spec.steps {
        sync()?;
        let start = Instant::now();
        if spec.train {
            let mut mode = Mode::Train(&mut dropout_rng);
            let out = bert.forward(&batch, &mut mode)?;
            let logits = head.forward(&out.pooler_output, &mut mode)?;
            let loss = cross_entropy(&logits, &labels)?;
            sync()?;
            let t_fwd = start.elapsed().as_secs_f64();
            let mut grads = loss.backward()?;
            drop(loss);
            sync()?;
            let t_bwd = start.elapsed().as_secs_f64();
            bert.zero_pad_gradient(&mut grads)?;
            clip_grad_norm(&params, &mut grads, 1.0)?;
            opt.step(&grads, 2e-5)?;
            sync()?;
            if i > 0 {
                let t_all = start.elapsed().as_secs_f64();
                phases.push([t_fwd, t_bwd - t_fwd, t_all - t_bwd]);
            }
        } else {
            let out = eval_bert.forward(&batch, &mut Mode::Eval)?;
            let logits = eval_head.forward(&out.pooler_output, &mut Mode::Eval)?;
            // Reading the scores back is part of evaluation (and synchronises).
            logits.to_vec2::<f32>()?;
        }
        if i > 0 {
            times.push(start.elapsed().as_secs_f64());
        }
    }
    Ok(BenchResult {
        median_s: median(times.clone()),
        min_s: times.iter().copied().fold(f64::INFINITY, f64::min),
        phases: spec.train.then(|| {
            let phase = |k: usize| median(phases.iter().map(|p| p[k]).collect());
            [phase(0), phase(1), phase(2)]
        }),
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}
