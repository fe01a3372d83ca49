//! Task heads on top of the encoder, and their losses.
//!
//! * [`ClassificationHead`]: pooler output → dropout → `classifier` linear (HF
//!   `BertForSequenceClassification`); with one output it is the regression head (STS-B).
//! * [`SpanPairHead`]: a Tenney et al. (2019)-style edge-probing head for coreference: each
//!   span is represented by its two endpoint vectors and a learned attention pooling over its
//!   tokens, and the pair goes through an MLP to one binary logit.
//! * [`QaHead`]: extractive QA, a linear `qa_outputs` from every token vector to a start and
//!   an end logit (HF `BertForQuestionAnswering`, no dropout), trained with [`qa_loss`].

use candle_core::{D, DType, Device, Tensor};

use crate::bert::Linear;
use crate::config::BertConfig;
use crate::error::{ModelError, Result};
use crate::kernels::dropout::{Mode, dropout};
use crate::kernels::ops;
use crate::params::ParamBuilder;

/// `classifier(dropout(pooled))`, HF's sequence-classification head (parameters
/// `classifier.weight` `[num_labels, H]` and `classifier.bias`).
#[derive(Debug, Clone)]
pub struct ClassificationHead {
    classifier: Linear,
    dropout: f64,
}

impl ClassificationHead {
    /// Creates (or loads, when the source has them) `classifier.*` with `num_labels` outputs.
    pub fn build(config: &BertConfig, num_labels: usize, b: &mut ParamBuilder<'_>) -> Result<Self> {
        if num_labels == 0 {
            return Err(ModelError::Batch(
                "a classification head needs at least one label".into(),
            ));
        }
        Ok(Self {
            classifier: Linear::build(
                b,
                "classifier",
                config.hidden_size,
                num_labels,
                config.initializer_range,
                true,
            )?,
            dropout: config.head_dropout(),
        })
    }

    /// The same head detached from autograd (see [`crate::bert::Bert::inference_view`]).
    pub fn inference_view(&self) -> Self {
        Self {
            classifier: self.classifier.detached(),
            dropout: self.dropout,
        }
    }

    /// Logits `[B, num_labels]` from the pooler output `[B, H]`.
    pub fn forward(&self, pooled: &Tensor, mode: &mut Mode<'_>) -> Result<Tensor> {
        let x = dropout(pooled, self.dropout, mode)?;
        self.classifier.forward(&x)
    }
}

/// Mean cross-entropy of `logits` `[B, C]` against class ids `labels` `[B]` (u32); on the CPU
/// with f32 it rounds as torch's `cross_entropy` does.
pub fn cross_entropy(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    let (b, c) = logits.dims2()?;
    if labels.dims() != [b] {
        return Err(ModelError::Batch(format!(
            "labels have shape {:?}, expected [{b}]",
            labels.dims()
        )));
    }
    let max = labels.to_dtype(DType::F64)?.max(0)?.to_scalar::<f64>()?;
    if max >= c as f64 {
        return Err(ModelError::Batch(format!("label {max} is outside 0..{c}")));
    }
    if crate::kernels::cpu_kernel(logits) {
        let ids = labels.to_dtype(DType::U32)?.to_vec1::<u32>()?;
        return Ok(crate::kernels::xent::cross_entropy(logits, ids)?);
    }
    Ok(candle_nn::loss::cross_entropy(logits, labels)?)
}

/// Mean squared error of predictions `[B, 1]` or `[B]` against targets `[B]` (f32).
pub fn mse(predictions: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let p = if predictions.rank() == 2 {
        predictions.squeeze(1)?
    } else {
        predictions.clone()
    };
    if p.dims() != targets.dims() {
        return Err(ModelError::Batch(format!(
            "predictions have shape {:?}, targets {:?}",
            p.dims(),
            targets.dims()
        )));
    }
    Ok((p - targets.to_dtype(predictions.dtype())?)?
        .sqr()?
        .mean_all()?)
}

/// Mean binary cross-entropy with logits: `max(x,0) − x·y + log(1 + e^−|x|)`, stable for any x.
pub fn bce_with_logits(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    if logits.dims() != targets.dims() {
        return Err(ModelError::Batch(format!(
            "logits have shape {:?}, targets {:?}",
            logits.dims(),
            targets.dims()
        )));
    }
    let y = targets.to_dtype(logits.dtype())?;
    let softplus = (logits.abs()?.neg()?.exp()? + 1.0)?.log()?;
    let loss = ((logits.relu()? - (logits * y)?)? + softplus)?;
    Ok(loss.mean_all()?)
}

/// Token spans for a batch of span pairs: for example `i`, `span1[i]` and `span2[i]` are
/// inclusive `(start, end)` token positions into the encoder output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanPairs {
    /// First span of each example.
    pub span1: Vec<(usize, usize)>,
    /// Second span of each example.
    pub span2: Vec<(usize, usize)>,
}

/// Edge-probing span-pair head (parameters `span_head.attention.*` `[1, H]`,
/// `span_head.hidden.*` `[H, 6H]`, `span_head.output.*` `[1, H]`).
#[derive(Debug, Clone)]
pub struct SpanPairHead {
    attention: Linear,
    hidden: Linear,
    output: Linear,
    dropout: f64,
}

impl SpanPairHead {
    /// Creates (or loads) the head's parameters.
    pub fn build(config: &BertConfig, b: &mut ParamBuilder<'_>) -> Result<Self> {
        let h = config.hidden_size;
        let std = config.initializer_range;
        Ok(Self {
            attention: Linear::build(b, "span_head.attention", h, 1, std, true)?,
            hidden: Linear::build(b, "span_head.hidden", 6 * h, h, std, true)?,
            output: Linear::build(b, "span_head.output", h, 1, std, true)?,
            dropout: config.head_dropout(),
        })
    }

    /// One span representation per example, `[B, 3H]`: start vector, end vector, attention
    /// pooling over the span's tokens.
    fn spans(&self, hidden: &Tensor, spans: &[(usize, usize)]) -> Result<Tensor> {
        let (b, t, h) = hidden.dims3()?;
        let device = hidden.device();
        let mut starts = Vec::with_capacity(b);
        let mut ends = Vec::with_capacity(b);
        let mut inside = vec![0f32; b * t];
        for (i, &(s, e)) in spans.iter().enumerate() {
            if s > e || e >= t {
                return Err(ModelError::Batch(format!(
                    "span {i} = ({s}, {e}) is not an inclusive token range inside 0..{t}"
                )));
            }
            starts.push((i * t + s) as u32);
            ends.push((i * t + e) as u32);
            inside[i * t + s..=i * t + e].fill(1.0);
        }
        let flat = hidden.reshape((b * t, h))?;
        let start = flat.index_select(&Tensor::new(starts, device)?, 0)?;
        let end = flat.index_select(&Tensor::new(ends, device)?, 0)?;
        let inside = Tensor::from_vec(inside, (b, t), device)?.to_dtype(hidden.dtype())?;
        let scores = self.attention.forward(hidden)?.reshape((b, 1, 1, t))?;
        let weights = ops::masked_softmax(&scores, &inside, 1.0)?.reshape((b, 1, t))?;
        let pooled = weights.matmul(hidden)?.squeeze(1)?;
        Ok(Tensor::cat(&[start, end, pooled], D::Minus1)?)
    }

    /// One logit per example, `[B]`, from the encoder output `[B, T, H]`.
    pub fn forward(
        &self,
        hidden: &Tensor,
        pairs: &SpanPairs,
        mode: &mut Mode<'_>,
    ) -> Result<Tensor> {
        let b = hidden.dim(0)?;
        if pairs.span1.len() != b || pairs.span2.len() != b {
            return Err(ModelError::Batch(format!(
                "{} / {} span pairs for a batch of {b}",
                pairs.span1.len(),
                pairs.span2.len()
            )));
        }
        let s1 = self.spans(hidden, &pairs.span1)?;
        let s2 = self.spans(hidden, &pairs.span2)?;
        let pair = dropout(&Tensor::cat(&[s1, s2], D::Minus1)?, self.dropout, mode)?;
        let z = self.hidden.forward(&pair)?.relu()?;
        let z = dropout(&z, self.dropout, mode)?;
        Ok(self.output.forward(&z)?.squeeze(1)?)
    }
}

/// HF's question-answering head: `qa_outputs` (`weight` `[2, H]`, `bias` `[2]`) maps each
/// token vector to a start and an end logit.
#[derive(Debug, Clone)]
pub struct QaHead {
    qa_outputs: Linear,
}

/// Start and end logits of a batch, `[B, T]` each.
#[derive(Debug, Clone)]
pub struct SpanLogits {
    /// Logit of each position being the answer's first token.
    pub start: Tensor,
    /// Logit of each position being the answer's last token.
    pub end: Tensor,
}

/// The additive mask of a padded position: far below any real logit, so a softmax over the
/// row gives it probability 0 whatever the batch's padding.
const PAD_LOGIT: f64 = -10_000.0;

impl QaHead {
    /// Creates (or loads, e.g. from a `BertForQuestionAnswering` checkpoint) `qa_outputs.*`.
    pub fn build(config: &BertConfig, b: &mut ParamBuilder<'_>) -> Result<Self> {
        Ok(Self {
            qa_outputs: Linear::build(
                b,
                "qa_outputs",
                config.hidden_size,
                2,
                config.initializer_range,
                true,
            )?,
        })
    }

    /// Start and end logits from the encoder output `[B, T, H]`; `lengths[i]` is example i's
    /// number of real tokens, and positions past it get a logit of −10⁴ (so a training loss
    /// does not depend on how much a batch is padded).
    pub fn forward(&self, hidden: &Tensor, lengths: &[usize]) -> Result<SpanLogits> {
        let (b, t, _) = hidden.dims3()?;
        if lengths.len() != b || lengths.iter().any(|&l| l == 0 || l > t) {
            return Err(ModelError::Batch(format!(
                "{} lengths (each in 1..={t}) for a batch of {b}",
                lengths.len()
            )));
        }
        let logits = self.qa_outputs.forward(hidden)?;
        let mut pad = vec![0f32; b * t];
        for (i, &len) in lengths.iter().enumerate() {
            pad[i * t + len..(i + 1) * t].fill(PAD_LOGIT as f32);
        }
        let pad = Tensor::from_vec(pad, (b, t), hidden.device())?.to_dtype(logits.dtype())?;
        let start = (logits.narrow(D::Minus1, 0, 1)?.squeeze(D::Minus1)? + &pad)?;
        let end = (logits.narrow(D::Minus1, 1, 1)?.squeeze(D::Minus1)? + &pad)?;
        Ok(SpanLogits { start, end })
    }
}

/// HF's question-answering loss: the mean of the start and the end positions' cross-entropy,
/// `(CE(start, s) + CE(end, e)) / 2`, positions as u32 tensors `[B]`.
pub fn qa_loss(logits: &SpanLogits, starts: &Tensor, ends: &Tensor) -> Result<Tensor> {
    let start = cross_entropy(&logits.start.contiguous()?, starts)?;
    let end = cross_entropy(&logits.end.contiguous()?, ends)?;
    Ok(((start + end)? / 2.0)?)
}

/// Class ids as a u32 tensor (for [`cross_entropy`]).
pub fn labels_tensor(labels: &[i64], device: &Device) -> Result<Tensor> {
    let v: Vec<u32> = labels
        .iter()
        .map(|&l| {
            u32::try_from(l).map_err(|_| ModelError::Batch(format!("label {l} is not a class id")))
        })
        .collect::<Result<_>>()?;
    Ok(Tensor::new(v, device)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeededRng;
    use candle_core::Var;

    #[test]
    fn bce_matches_closed_form() {
        let x = Tensor::new(&[-30f32, -1.0, 0.0, 2.0, 40.0], &Device::Cpu).unwrap();
        let y = Tensor::new(&[0f32, 1.0, 1.0, 0.0, 1.0], &Device::Cpu).unwrap();
        let got = bce_with_logits(&x, &y).unwrap().to_scalar::<f32>().unwrap();
        let want: f64 = [(-30f64, 0f64), (-1., 1.), (0., 1.), (2., 0.), (40., 1.)]
            .iter()
            .map(|&(x, y)| {
                let p = 1.0 / (1.0 + (-x).exp());
                -(y * p.max(1e-300).ln() + (1.0 - y) * (1.0 - p).max(1e-300).ln())
            })
            .sum::<f64>()
            / 5.0;
        assert!((f64::from(got) - want).abs() < 1e-6, "{got} {want}");
    }

    #[test]
    fn mse_and_cross_entropy_closed_form() {
        let p = Tensor::new(&[[1f32], [2.0], [4.0]], &Device::Cpu).unwrap();
        let t = Tensor::new(&[0f32, 2.0, 1.0], &Device::Cpu).unwrap();
        assert!((mse(&p, &t).unwrap().to_scalar::<f32>().unwrap() - 10.0 / 3.0).abs() < 1e-6);
        let logits = Tensor::new(&[[0f32, 0.0], [1.0, 3.0]], &Device::Cpu).unwrap();
        let labels = labels_tensor(&[0, 1], &Device::Cpu).unwrap();
        let ce = cross_entropy(&logits, &labels)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let want = (2f64.ln() + (1.0 + (-2f64).exp()).ln()) / 2.0;
        assert!((f64::from(ce) - want).abs() < 1e-6);
        let bad = labels_tensor(&[0, 2], &Device::Cpu).unwrap();
        assert!(cross_entropy(&logits, &bad).is_err());
    }

    /// The QA head's logits of real tokens do not depend on the batch's padding, padded
    /// positions get no probability, and the loss is the mean of the two cross-entropies.
    #[test]
    fn qa_head_masks_padding_and_averages_start_and_end_losses() {
        let config = BertConfig::with_shape(1, 8, 2, 16, 16);
        let mut builder = ParamBuilder::fresh(&Device::Cpu, 3);
        let head = QaHead::build(&config, &mut builder).unwrap();
        let (params, _) = builder.finish(&[]).unwrap();
        assert_eq!(
            params.iter().map(|(n, _)| n.to_owned()).collect::<Vec<_>>(),
            ["qa_outputs.weight", "qa_outputs.bias"]
        );
        let noise = SeededRng::named(1, "h").normal_vec(2 * 5 * 8, 1.0);
        let hidden = Tensor::from_vec(noise, (2, 5, 8), &Device::Cpu).unwrap();
        let logits = head.forward(&hidden, &[5, 3]).unwrap();
        let start = logits.start.to_vec2::<f32>().unwrap();
        let end = logits.end.to_vec2::<f32>().unwrap();
        // Row 1 alone, unpadded, gives the same logits for its 3 real tokens.
        let alone = head.forward(
            &hidden.narrow(0, 1, 1).unwrap().narrow(1, 0, 3).unwrap(),
            &[3],
        );
        let alone = alone.unwrap().start.to_vec2::<f32>().unwrap();
        assert_eq!(alone[0], start[1][..3]);
        assert!(start[1][3..].iter().all(|&v| v < -9_000.0));
        let ce = |row: &[f32], gold: usize| {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
            let z: f64 = row.iter().map(|&v| (v as f64 - max).exp()).sum();
            max + z.ln() - row[gold] as f64
        };
        let want = (ce(&start[0], 4) + ce(&start[1], 2) + ce(&end[0], 4) + ce(&end[1], 0)) / 4.0;
        let starts = Tensor::new(&[4u32, 2], &Device::Cpu).unwrap();
        let ends = Tensor::new(&[4u32, 0], &Device::Cpu).unwrap();
        let got = qa_loss(&logits, &starts, &ends).unwrap();
        let got = f64::from(got.to_scalar::<f32>().unwrap());
        assert!((got - want).abs() < 1e-5, "{got} {want}");
        assert!(head.forward(&hidden, &[5, 6]).is_err());
    }

    /// A `BertForQuestionAnswering` checkpoint's `qa_outputs.*` (HF names and shapes) are
    /// loaded, not initialised: the logits are `hidden · Wᵀ + b` with the checkpoint's W, b.
    #[test]
    fn qa_head_loads_hf_qa_outputs() {
        let config = BertConfig::with_shape(1, 4, 2, 8, 16);
        let w = Tensor::new(
            &[[1f32, 0.0, 0.0, 2.0], [0.0, -1.0, 0.5, 0.0]],
            &Device::Cpu,
        )
        .unwrap();
        let b = Tensor::new(&[0.25f32, -0.5], &Device::Cpu).unwrap();
        let source = std::collections::HashMap::from([
            ("qa_outputs.weight".to_string(), w),
            ("qa_outputs.bias".to_string(), b),
        ]);
        let mut builder = ParamBuilder::from_tensors(&source, &Device::Cpu, 9);
        let head = QaHead::build(&config, &mut builder).unwrap();
        let (_, report) = builder.finish(&[]).unwrap();
        assert!(report.initialised.is_empty(), "{:?}", report.initialised);
        let hidden = Tensor::new(&[[[1f32, 2.0, 4.0, 3.0]]], &Device::Cpu).unwrap();
        let logits = head.forward(&hidden, &[1]).unwrap();
        assert_eq!(logits.start.to_vec2::<f32>().unwrap(), [[1.0 + 6.0 + 0.25]]);
        assert_eq!(logits.end.to_vec2::<f32>().unwrap(), [[-2.0 + 2.0 - 0.5]]);
    }

    /// The span head's autograd gradient agrees with central finite differences (in f64), for
    /// every head parameter and for the encoder output it reads.
    #[test]
    fn span_head_gradients_match_finite_differences() {
        let config = BertConfig::with_shape(1, 8, 2, 16, 16);
        let mut builder = ParamBuilder::fresh(&Device::Cpu, 3);
        let head = SpanPairHead::build(&config, &mut builder).unwrap();
        let (params, _) = builder.finish(&[]).unwrap();
        // Larger weights than the 0.02 init so the non-linearities are exercised.
        let params64: Vec<(String, Var)> = params
            .iter()
            .map(|(n, v)| {
                let t = v.as_tensor();
                let noise = SeededRng::named(5, n).normal_vec(t.elem_count(), 0.5);
                let t = Tensor::from_vec(noise, t.dims(), &Device::Cpu).unwrap();
                (
                    n.to_owned(),
                    Var::from_tensor(&t.to_dtype(DType::F64).unwrap()).unwrap(),
                )
            })
            .collect();
        let get = |name: &str| {
            params64
                .iter()
                .find(|(n, _)| n == name)
                .unwrap()
                .1
                .as_tensor()
                .clone()
        };
        let head = SpanPairHead {
            attention: Linear {
                weight: get("span_head.attention.weight"),
                bias: get("span_head.attention.bias"),
            },
            hidden: Linear {
                weight: get("span_head.hidden.weight"),
                bias: get("span_head.hidden.bias"),
            },
            output: Linear {
                weight: get("span_head.output.weight"),
                bias: get("span_head.output.bias"),
            },
            dropout: head.dropout,
        };
        let hv = SeededRng::new(6, 0).normal_vec(3 * 7 * 8, 1.0);
        let hidden = Var::from_tensor(
            &Tensor::from_vec(hv, (3, 7, 8), &Device::Cpu)
                .unwrap()
                .to_dtype(DType::F64)
                .unwrap(),
        )
        .unwrap();
        let pairs = SpanPairs {
            span1: vec![(0, 0), (1, 3), (2, 6)],
            span2: vec![(2, 4), (5, 5), (0, 1)],
        };
        let targets = Tensor::new(&[1f64, 0.0, 1.0], &Device::Cpu).unwrap();
        let loss_of = || {
            let logits = head
                .forward(hidden.as_tensor(), &pairs, &mut Mode::Eval)
                .unwrap();
            bce_with_logits(&logits, &targets).unwrap()
        };
        let grads = loss_of().backward().unwrap();
        let mut checked = 0;
        let all: Vec<(&str, &Var)> = params64
            .iter()
            .map(|(n, v)| (n.as_str(), v))
            .chain([("hidden", &hidden)])
            .collect();
        for (name, var) in all {
            let g = grads
                .get(var.as_tensor())
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f64>()
                .unwrap();
            let base = var
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f64>()
                .unwrap();
            for idx in (0..base.len()).step_by(base.len().div_ceil(7)) {
                let eps = 1e-6;
                let eval = |delta: f64| {
                    let mut v = base.clone();
                    v[idx] += delta;
                    var.set(&Tensor::from_vec(v, var.as_tensor().dims(), &Device::Cpu).unwrap())
                        .unwrap();
                    loss_of().to_scalar::<f64>().unwrap()
                };
                let fd = (eval(eps) - eval(-eps)) / (2.0 * eps);
                var.set(
                    &Tensor::from_vec(base.clone(), var.as_tensor().dims(), &Device::Cpu).unwrap(),
                )
                .unwrap();
                assert!(
                    (fd - g[idx]).abs() < 1e-6 * (1.0 + fd.abs()),
                    "{name}[{idx}]: fd {fd} vs autograd {}",
                    g[idx]
                );
                checked += 1;
            }
        }
        assert!(checked >= 25, "{checked}");
    }

    #[test]
    fn span_head_rejects_bad_spans() {
        let config = BertConfig::with_shape(1, 8, 2, 16, 16);
        let mut builder = ParamBuilder::fresh(&Device::Cpu, 3);
        let head = SpanPairHead::build(&config, &mut builder).unwrap();
        let hidden = Tensor::zeros((1, 4, 8), DType::F32, &Device::Cpu).unwrap();
        let bad = SpanPairs {
            span1: vec![(2, 1)],
            span2: vec![(0, 0)],
        };
        assert!(head.forward(&hidden, &bad, &mut Mode::Eval).is_err());
        let bad = SpanPairs {
            span1: vec![(0, 4)],
            span2: vec![(0, 0)],
        };
        assert!(head.forward(&hidden, &bad, &mut Mode::Eval).is_err());
    }
}
