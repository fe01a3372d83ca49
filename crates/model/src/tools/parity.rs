//! Parity with PyTorch on the bert-tiny fixture (`shared/fixtures/bert-tiny`, see its README),
//! on any device: the forward pass (every hidden state, the pooled output, logits, loss), every
//! gradient of the first training step, the gradient norm, and the parameters after two AdamW
//! steps with clipping and no-decay groups.
//!
//! This is the check a device must pass before its results are trusted: `tests/portable.rs`
//! runs it on the CPU through the GPU's op path, and `multiberts device-check parity` on a GPU.
//! Each comparison is `max |ours − torch| / max |torch|`; for a tensor that is analytically zero
//! (the attention key bias gradient: softmax ignores a per-query constant) torch stores
//! rounding noise, so it is measured against the same layer's key weight gradient instead.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};

use crate::batch::Batch;
use crate::bert::Bert;
use crate::checkpoint::load_checkpoint;
use crate::config::BertConfig;
use crate::error::{ModelError, Result};
use crate::heads::{ClassificationHead, cross_entropy, labels_tensor};
use crate::kernels::dropout::Mode;
use crate::optim::{AdamW, AdamWConfig, clip_grad_norm};
use crate::params::{ParamBuilder, Params};

const WORD_EMBEDDINGS: &str = "embeddings.word_embeddings.weight";

/// One compared quantity.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// What was compared, e.g. `grad.encoder.layer.0.output.dense.weight`, `step2.pooler.dense.bias`.
    pub name: String,
    /// `max |ours − torch|`.
    pub max_abs_diff: f64,
    /// The scale the difference is measured against (`max |torch|`, or see the module docs).
    pub scale: f64,
}

impl Comparison {
    /// `max_abs_diff / scale` (0 when both are 0).
    pub fn relative(&self) -> f64 {
        if self.max_abs_diff == 0.0 {
            0.0
        } else {
            self.max_abs_diff / self.scale
        }
    }
}

/// Every comparison of one run, in the order they were made.
#[derive(Debug, Clone, Default)]
pub struct ParityReport {
    /// The comparisons.
    pub comparisons: Vec<Comparison>,
}

impl ParityReport {
    /// The comparisons whose relative difference exceeds `rel`.
    pub fn failures(&self, rel: f64) -> Vec<&Comparison> {
        self.comparisons
            .iter()
            .filter(|c| c.relative().is_nan() || c.relative() > rel)
            .collect()
    }

    /// The report as `device-check parity` prints it: one `off:` line per comparison beyond
    /// `rel`, then the count and the worst comparison on `device`; every line ends in a newline.
    pub fn summary(&self, rel: f64, device: &str) -> String {
        let failures = self.failures(rel);
        let mut text = String::new();
        for c in &failures {
            text += &format!(
                "off: {} max|diff| {:.3e} = {:.2e} of {:.3e}\n",
                c.name,
                c.max_abs_diff,
                c.relative(),
                c.scale
            );
        }
        let worst = self.worst();
        text += &format!(
            "parity on {device}: {} tensors compared, {} beyond {rel:e}; worst {} at {:.2e} of its max\n",
            self.comparisons.len(),
            failures.len(),
            worst.map_or("-", |c| c.name.as_str()),
            worst.map_or(0.0, |c| c.relative())
        );
        text
    }

    /// Ok when no tensor differs by more than `rel` of its max; else an error counting those
    /// that do, on `device` (after [`ParityReport::summary`] has listed them).
    pub fn verdict(&self, rel: f64, device: &str) -> Result<()> {
        let failures = self.failures(rel).len();
        if failures > 0 {
            return Err(ModelError::Check(format!(
                "{failures} of {} tensors differ from PyTorch by more than {rel:e} of their max \
                 on {device}",
                self.comparisons.len()
            )));
        }
        Ok(())
    }

    /// The comparison with the largest relative difference.
    pub fn worst(&self) -> Option<&Comparison> {
        self.comparisons
            .iter()
            .max_by(|a, b| a.relative().total_cmp(&b.relative()))
    }

    fn push(&mut self, name: impl Into<String>, ours: &Tensor, reference: &Tensor) -> Result<()> {
        let scale = max_abs(reference)?;
        self.push_scaled(name, ours, reference, scale)
    }

    fn push_scaled(
        &mut self,
        name: impl Into<String>,
        ours: &Tensor,
        reference: &Tensor,
        scale: f64,
    ) -> Result<()> {
        let name = name.into();
        let ours = ours.to_device(&Device::Cpu)?.to_dtype(DType::F64)?;
        let reference = reference.to_dtype(DType::F64)?;
        if ours.dims() != reference.dims() {
            return Err(ModelError::Check(format!(
                "{name}: shape {:?}, the fixture has {:?}",
                ours.dims(),
                reference.dims()
            )));
        }
        let max_abs_diff = max_abs(&(ours - reference)?)?;
        self.comparisons.push(Comparison {
            name,
            max_abs_diff,
            scale,
        });
        Ok(())
    }
}

fn max_abs(t: &Tensor) -> Result<f64> {
    Ok(t.to_device(&Device::Cpu)?
        .to_dtype(DType::F64)?
        .abs()?
        .flatten_all()?
        .max(0)?
        .to_scalar::<f64>()?)
}

/// The fixture's files, read once.
struct Fixture {
    config: BertConfig,
    expected: HashMap<String, Tensor>,
    batches: HashMap<String, serde_json::Value>,
}

impl Fixture {
    fn read(dir: &Path) -> Result<Self> {
        let config = BertConfig::from_file(dir.join("config.json"))?;
        let expected =
            candle_core::safetensors::load(dir.join("expected.safetensors"), &Device::Cpu)
                .map_err(|e| {
                    ModelError::file(
                        dir.join("expected.safetensors"),
                        format!("cannot read: {e}"),
                    )
                })?;
        let path = dir.join("batch.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| ModelError::file(&path, format!("cannot read: {e}")))?;
        let batches = serde_json::from_str(&text)
            .map_err(|e| ModelError::file(&path, format!("not the fixture's batch.json: {e}")))?;
        Ok(Self {
            config,
            expected,
            batches,
        })
    }

    fn expected(&self, key: &str) -> Result<&Tensor> {
        self.expected
            .get(key)
            .ok_or_else(|| ModelError::Check(format!("the fixture has no `{key}`")))
    }

    /// A named batch of `batch.json` on `device`, with its labels as class ids.
    fn batch(&self, name: &str, device: &Device) -> Result<(Batch, Tensor)> {
        #[derive(serde::Deserialize)]
        struct Rows {
            input_ids: Vec<Vec<i64>>,
            token_type_ids: Vec<Vec<i64>>,
            attention_mask: Vec<Vec<i64>>,
            labels: Vec<f64>,
        }
        let value = self
            .batches
            .get(name)
            .ok_or_else(|| ModelError::Check(format!("batch.json has no `{name}`")))?;
        let rows: Rows = serde_json::from_value(value.clone())
            .map_err(|e| ModelError::Check(format!("batch.json `{name}`: {e}")))?;
        let batch = Batch::from_rows(
            &rows.input_ids,
            &rows.token_type_ids,
            &rows.attention_mask,
            &self.config,
            device,
        )?;
        let ids: Vec<i64> = rows.labels.iter().map(|&l| l as i64).collect();
        Ok((batch, labels_tensor(&ids, device)?))
    }
}

struct Model {
    bert: Bert,
    head: ClassificationHead,
    params: Params,
}

impl Model {
    fn loss(&self, batch: &Batch, labels: &Tensor) -> Result<(Tensor, Tensor)> {
        let out = self.bert.forward(batch, &mut Mode::Eval)?;
        let logits = self.head.forward(&out.pooler_output, &mut Mode::Eval)?;
        let loss = cross_entropy(&logits, labels)?;
        Ok((logits, loss))
    }
}

/// The fixture's classifier on `device`: encoder from the directory's weights
/// (`model.safetensors`, else `pytorch_model.bin`: the same tensors), head from the fixture's
/// recorded initial values.
fn build_model(dir: &Path, fx: &Fixture, device: &Device) -> Result<Model> {
    let mut tensors = load_checkpoint(dir, device)
        .map_err(|e| ModelError::file(dir, e))?
        .tensors;
    for p in ["weight", "bias"] {
        let init = fx.expected(&format!("init.classifier.{p}"))?;
        tensors.insert(format!("classifier.{p}"), init.to_device(device)?);
    }
    let num_labels = fx.expected("init.classifier.bias")?.dim(0)?;
    let mut b = ParamBuilder::from_tensors(&tensors, device, 0);
    let bert = Bert::build(&fx.config, &mut b)?;
    let head = ClassificationHead::build(&fx.config, num_labels, &mut b)?;
    let (params, _) = b.finish(&[])?;
    Ok(Model { bert, head, params })
}

/// The fixture's name for one of our parameters.
fn fixture_name(ours: &str) -> String {
    if ours.starts_with("classifier.") {
        ours.to_owned()
    } else {
        format!("bert.{ours}")
    }
}

/// Runs the fixture on `device` (the directory holding `config.json`, `batch.json`,
/// `expected.safetensors` and `model.safetensors` or `pytorch_model.bin`) and compares everything torch recorded.
pub fn check_fixture(dir: &Path, device: &Device) -> Result<ParityReport> {
    let fx = Fixture::read(dir)?;
    let m = build_model(dir, &fx, device)?;
    let mut report = ParityReport::default();

    // Forward on the MRPC pairs.
    let (pairs, labels) = fx.batch("pairs", device)?;
    let out = m.bert.forward(&pairs, &mut Mode::Eval)?;
    for (i, h) in out.hidden_states.iter().enumerate() {
        report.push(
            format!("hidden_states.{i}"),
            h,
            fx.expected(&format!("hidden_states.{i}"))?,
        )?;
    }
    report.push(
        "pooler_output",
        &out.pooler_output,
        fx.expected("pooler_output")?,
    )?;
    let (logits, loss) = m.loss(&pairs, &labels)?;
    report.push("logits", &logits, fx.expected("logits")?)?;
    report.push("loss", &loss, fx.expected("loss")?)?;

    // Step 1: every gradient, the clipped norm, the parameters after AdamW.
    let cfg = AdamWConfig {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-6,
        weight_decay: 0.01,
    };
    let mut opt = AdamW::new(&m.params, cfg)?;
    let mut grads = loss.backward()?;
    m.bert.zero_pad_gradient(&mut grads)?;
    for (name, var) in m.params.iter() {
        let g = grads
            .get(var.as_tensor())
            .ok_or_else(|| ModelError::Check(format!("no gradient reached {name}")))?;
        compare_param(&mut report, &fx, "grad.", name, g, Some(&grads), &m.params)?;
    }
    let norm = clip_grad_norm(&m.params, &mut grads, 1.0)?;
    report.push(
        "grad_norm",
        &Tensor::new(norm, &Device::Cpu)?,
        fx.expected("grad_norm")?,
    )?;
    opt.step(&grads, 1e-3)?;
    compare_params(&mut report, &fx, "step1.", &m.params)?;

    // Step 2 on the SST-2 singles, from the step-1 parameters.
    let (singles, labels) = fx.batch("singles", device)?;
    let (logits2, loss2) = m.loss(&singles, &labels)?;
    report.push("logits2", &logits2, fx.expected("logits2")?)?;
    report.push("loss2", &loss2, fx.expected("loss2")?)?;
    let mut grads = loss2.backward()?;
    m.bert.zero_pad_gradient(&mut grads)?;
    let norm2 = clip_grad_norm(&m.params, &mut grads, 1.0)?;
    report.push(
        "grad_norm2",
        &Tensor::new(norm2, &Device::Cpu)?,
        fx.expected("grad_norm2")?,
    )?;
    opt.step(&grads, 1e-3)?;
    compare_params(&mut report, &fx, "step2.", &m.params)?;
    Ok(report)
}

fn compare_params(
    report: &mut ParityReport,
    fx: &Fixture,
    prefix: &str,
    params: &Params,
) -> Result<()> {
    for (name, var) in params.iter() {
        compare_param(report, fx, prefix, name, var.as_tensor(), None, params)?;
    }
    Ok(())
}

/// Compares one parameter (or its gradient, with `prefix` `grad.`): the word-embedding matrix
/// through its stored rows and its float64 sum and sum of squares, the key-bias gradient
/// against its layer's key-weight gradient, everything else whole.
fn compare_param(
    report: &mut ParityReport,
    fx: &Fixture,
    prefix: &str,
    name: &str,
    ours: &Tensor,
    grads: Option<&candle_core::backprop::GradStore>,
    params: &Params,
) -> Result<()> {
    let label = format!("{prefix}{name}");
    if name == WORD_EMBEDDINGS {
        let key = format!("{prefix}bert.{WORD_EMBEDDINGS}");
        let rows = fx
            .expected("word_embeddings_rows")?
            .to_dtype(DType::U32)?
            .to_device(ours.device())?;
        report.push(
            format!("{label}[rows]"),
            &ours.index_select(&rows, 0)?,
            fx.expected(&format!("{key}[rows]"))?,
        )?;
        let o64 = ours.to_device(&Device::Cpu)?.to_dtype(DType::F64)?;
        for (stat, value) in [("sum", o64.sum_all()?), ("sumsq", o64.sqr()?.sum_all()?)] {
            let want = fx.expected(&format!("{key}[{stat}]"))?;
            // A sum near zero is measured against 1e-3, as the CPU parity test does.
            let scale = max_abs(want)?.max(1e-3);
            report.push_scaled(format!("{label}[{stat}]"), &value, want, scale)?;
        }
        return Ok(());
    }
    let reference = fx.expected(&format!("{prefix}{}", fixture_name(name)))?;
    if let Some(grads) = grads
        && name.ends_with("attention.self.key.bias")
    {
        let weight_name = name.replace(".bias", ".weight");
        let weight_grad = params
            .get(&weight_name)
            .and_then(|v| grads.get(v.as_tensor()))
            .ok_or_else(|| ModelError::Check(format!("no gradient reached {weight_name}")))?;
        let scale = max_abs(weight_grad)?;
        return report.push_scaled(label, ours, reference, scale);
    }
    report.push(label, ours, reference)
}

#[cfg(test)]
mod tests {
    use super::{Comparison, ParityReport};

    #[test]
    fn the_verdict_counts_the_tensors_beyond_the_tolerance() {
        let compared = |name: &str, max_abs_diff: f64| Comparison {
            name: name.into(),
            max_abs_diff,
            scale: 1.0,
        };
        let report = ParityReport {
            comparisons: vec![compared("logits", 1e-6), compared("loss", 1e-3)],
        };
        assert!(report.verdict(1e-2, "cpu").is_ok());
        assert_eq!(
            report.verdict(1e-4, "cuda:0").unwrap_err().to_string(),
            "1 of 2 tensors differ from PyTorch by more than 1e-4 of their max on cuda:0"
        );
    }
}
