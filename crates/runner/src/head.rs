//! The task heads behind one interface: what the gold labels must look like, the head's
//! module, its training loss and how its logits become class scores and predictions. A new
//! task kind (span extraction, masked-LM) is a new [`HeadKind`] variant here and nothing else
//! in the runner.

use candle_core::{Device, Tensor};
use multiberts_model::config::BertConfig;
use multiberts_model::dropout::Mode;
use multiberts_model::heads::{
    ClassificationHead, QaHead, SpanLogits, SpanPairHead, SpanPairs, bce_with_logits,
    cross_entropy, labels_tensor, mse, qa_loss,
};
use multiberts_model::params::ParamBuilder;
use multiberts_tasks::{Example, Label, TaskKind, TaskSpec};

use crate::error::{Result, RunnerError};
use crate::features::Feature;

/// The head a task needs, before any weights exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeadKind {
    /// Sentence(-pair) classification on the pooler output, trained with cross-entropy.
    Classification {
        /// Output classes.
        num_labels: usize,
    },
    /// Sentence(-pair) regression on the pooler output (one value), trained with MSE.
    Regression,
    /// One coreference logit from two token spans, trained with binary cross-entropy.
    SpanPair,
    /// A start and an end logit per token (extractive QA), trained with the mean of the two
    /// cross-entropies; rows are question windows ([`crate::qa`]).
    Span,
}

/// Gold labels as the loss wants them.
pub(crate) enum Targets {
    /// Class indices (classification, span pairs).
    Classes(Vec<i64>),
    /// Regression values.
    Values(Vec<f32>),
    /// Start and end token positions (span tasks; `(0, 0)` is `[CLS]`, no answer).
    Spans(Vec<(i64, i64)>),
}

impl Targets {
    /// The labels as the predictions table stores them.
    pub(crate) fn as_f64(&self) -> Vec<f64> {
        match self {
            Targets::Classes(c) => c.iter().map(|&v| v as f64).collect(),
            Targets::Values(v) => v.iter().map(|&x| f64::from(x)).collect(),
            Targets::Spans(s) => s.iter().map(|&(start, _)| start as f64).collect(),
        }
    }
}

/// A head's module with its weights.
pub(crate) enum Head {
    /// Classification or regression on the pooler output.
    Pooled(ClassificationHead),
    /// The span-pair head on the token vectors.
    SpanPair(SpanPairHead),
    /// The QA head on the token vectors.
    Span(QaHead),
}

impl HeadKind {
    /// The head of `spec`'s task kind; `Err` says why the task cannot be trained.
    pub(crate) fn of(spec: &TaskSpec) -> Result<Self, String> {
        match spec.kind {
            TaskKind::Regression => Ok(Self::Regression),
            TaskKind::SpanPair if spec.labels.len() != 2 => Err(format!(
                "span-pair task `{}` has {} labels; a span-pair task is binary (labels = [\"0\", \"1\"])",
                spec.name,
                spec.labels.len()
            )),
            TaskKind::SpanPair => Ok(Self::SpanPair),
            TaskKind::Span => Ok(Self::Span),
            TaskKind::Classification => Ok(Self::Classification {
                num_labels: spec.labels.len(),
            }),
        }
    }

    /// Checks and converts the gold labels of `examples` (`task`/`split` name the data in
    /// errors). A span task's examples (questions) have class labels: 1 when the question has
    /// a gold answer; its training targets are the windows' spans ([`crate::qa`]).
    pub(crate) fn targets(self, task: &str, split: &str, examples: &[Example]) -> Result<Targets> {
        let bad = |i: usize, message: String| RunnerError::data(task, split, examples, i, message);
        let num_labels = match self {
            Self::Regression => {
                return examples
                    .iter()
                    .enumerate()
                    .map(|(i, e)| match e.label {
                        Label::Value(v) if v.is_finite() => Ok(v),
                        other => Err(bad(
                            i,
                            format!("expected a finite regression value, found {other:?}"),
                        )),
                    })
                    .collect::<Result<_>>()
                    .map(Targets::Values);
            }
            Self::SpanPair | Self::Span => 2,
            Self::Classification { num_labels } => num_labels,
        };
        examples
            .iter()
            .enumerate()
            .map(|(i, e)| match e.label {
                Label::Class(c) if c < num_labels => Ok(c as i64),
                other => Err(bad(
                    i,
                    format!("expected a class index below {num_labels}, found {other:?}"),
                )),
            })
            .collect::<Result<_>>()
            .map(Targets::Classes)
    }

    /// Builds the head's module (from the checkpoint's weights where it has them, else
    /// initialised), and names the other heads' weight prefixes, which a checkpoint may carry
    /// and this job ignores.
    pub(crate) fn build(
        self,
        config: &BertConfig,
        builder: &mut ParamBuilder,
    ) -> Result<(Head, &'static [&'static str])> {
        Ok(match self {
            Self::SpanPair => (
                Head::SpanPair(SpanPairHead::build(config, builder)?),
                &["classifier.", "qa_outputs."],
            ),
            Self::Regression => (
                Head::Pooled(ClassificationHead::build(config, 1, builder)?),
                &["span_head.", "qa_outputs."],
            ),
            Self::Classification { num_labels } => (
                Head::Pooled(ClassificationHead::build(config, num_labels, builder)?),
                &["span_head.", "qa_outputs."],
            ),
            Self::Span => (
                Head::Span(QaHead::build(config, builder)?),
                &["classifier.", "span_head."],
            ),
        })
    }

    /// The training loss of the batch `idx` given its logits.
    pub(crate) fn loss(
        self,
        logits: &Tensor,
        targets: &Targets,
        idx: &[usize],
        device: &Device,
    ) -> Result<Tensor> {
        Ok(match (self, targets) {
            (Self::SpanPair, Targets::Classes(c)) => {
                let y: Vec<f32> = idx.iter().map(|&i| c[i] as f32).collect();
                bce_with_logits(logits, &Tensor::from_vec(y, idx.len(), device)?)?
            }
            (Self::Classification { .. }, Targets::Classes(c)) => {
                let y: Vec<i64> = idx.iter().map(|&i| c[i]).collect();
                cross_entropy(logits, &labels_tensor(&y, device)?)?
            }
            (Self::Regression, Targets::Values(v)) => {
                let y: Vec<f32> = idx.iter().map(|&i| v[i]).collect();
                mse(logits, &Tensor::from_vec(y, idx.len(), device)?)?
            }
            (Self::Span, Targets::Spans(s)) => {
                let starts: Vec<i64> = idx.iter().map(|&i| s[i].0).collect();
                let ends: Vec<i64> = idx.iter().map(|&i| s[i].1).collect();
                qa_loss(
                    &split_span_logits(logits)?,
                    &labels_tensor(&starts, device)?,
                    &labels_tensor(&ends, device)?,
                )?
            }
            _ => {
                return Err(RunnerError::Model(
                    multiberts_model::error::ModelError::Batch(
                        "the targets do not match the head kind (a bug)".into(),
                    ),
                ));
            }
        })
    }

    /// Scores and predictions of a batch's logits, appended to `scores` and `preds`: softmax
    /// probabilities and the first argmax (as numpy's) for classification; `[value]` for
    /// regression; `[1 − p, p]` with p = sigmoid(logit), the probability of coreference, for
    /// span pairs; for span tasks, each window's start logits followed by its end logits
    /// (both as long as the padded batch) and a prediction of 0 (the answer is decoded per
    /// question from all its windows, [`crate::qa::SpanLayout`]).
    pub(crate) fn outputs(
        self,
        logits: &Tensor,
        scores: &mut Vec<Vec<f32>>,
        preds: &mut Vec<f64>,
    ) -> Result<()> {
        if self == Self::Span {
            for row in logits.to_vec3::<f32>()? {
                let (start, end): (Vec<f32>, Vec<f32>) = row.iter().map(|v| (v[0], v[1])).unzip();
                scores.push([start, end].concat());
                preds.push(0.0);
            }
            return Ok(());
        }
        if self == Self::SpanPair {
            for z in logits.to_vec1::<f32>()? {
                let p = 1.0 / (1.0 + (-f64::from(z)).exp());
                preds.push(if p > 0.5 { 1.0 } else { 0.0 });
                scores.push(vec![(1.0 - p) as f32, p as f32]);
            }
            return Ok(());
        }
        for row in logits.to_vec2::<f32>()? {
            if self == Self::Regression {
                preds.push(f64::from(row[0]));
                scores.push(row);
                continue;
            }
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let exp: Vec<f32> = row.iter().map(|&x| (x - max).exp()).collect();
            let sum: f32 = exp.iter().sum();
            let probs: Vec<f32> = exp.iter().map(|&e| e / sum).collect();
            let mut best = 0;
            for (k, &p) in row.iter().enumerate() {
                if p > row[best] {
                    best = k;
                }
            }
            preds.push(best as f64);
            scores.push(probs);
        }
        Ok(())
    }
}

impl Head {
    /// The head's logits for the batch `idx` from the encoder's outputs: `[B, labels]`,
    /// `[B]` for span pairs, `[B, T, 2]` (start, end) for span tasks.
    pub(crate) fn forward(
        &self,
        out: &multiberts_model::bert::BertOutput,
        features: &[Feature],
        idx: &[usize],
        mode: &mut Mode<'_>,
    ) -> Result<Tensor> {
        Ok(match self {
            Head::Pooled(h) => h.forward(&out.pooler_output, mode)?,
            Head::SpanPair(h) => {
                let mut pairs = SpanPairs {
                    span1: Vec::with_capacity(idx.len()),
                    span2: Vec::with_capacity(idx.len()),
                };
                for &i in idx {
                    let [a, b] = features[i].spans.ok_or_else(|| {
                        RunnerError::Model(multiberts_model::error::ModelError::Batch(format!(
                            "example {i} of a span-pair task has no token spans"
                        )))
                    })?;
                    pairs.span1.push((a.0 as usize, a.1 as usize));
                    pairs.span2.push((b.0 as usize, b.1 as usize));
                }
                h.forward(out.last_hidden_state(), &pairs, mode)?
            }
            Head::Span(h) => {
                let lengths: Vec<usize> = idx.iter().map(|&i| features[i].ids.len()).collect();
                let logits = h.forward(out.last_hidden_state(), &lengths)?;
                Tensor::stack(&[logits.start, logits.end], 2)?
            }
        })
    }
}

/// The start and end logits of a span head's `[B, T, 2]` output.
fn split_span_logits(logits: &Tensor) -> Result<SpanLogits> {
    Ok(SpanLogits {
        start: logits.narrow(2, 0, 1)?.squeeze(2)?,
        end: logits.narrow(2, 1, 1)?.squeeze(2)?,
    })
}
