//! Span (extractive QA) tasks in the runner: SQuAD questions become windows (features with a
//! start and end label each; `multiberts_qa` builds them as Hugging Face's `run_qa.py` does),
//! the model's per-window start/end logits are decoded into one answer per question, and each
//! answer is scored by the official SQuAD script's rules (`multiberts_metrics::squad`).
//!
//! Training runs over windows, not questions (as `run_qa.py` does): a question with a long
//! context gives several training rows, each labelled with the answer's tokens when the answer
//! lies wholly inside the window and with `[CLS]` otherwise.

use std::collections::BTreeMap;
use std::sync::Arc;

use multiberts_collector::AnswerColumns;
use multiberts_manifest::JobSpec;
use multiberts_metrics::squad::score_question;
use multiberts_model::tokenizer::WordPieceTokenizer;
use multiberts_qa::{DecodeConfig, Features, QaConfig, Window, WindowLogits};
use multiberts_tasks::SplitData;
use multiberts_tasks::squad::SquadDataset;

use crate::error::{Result, RunnerError};
use crate::evaluate::Output;
use crate::features::Feature;
use crate::head::Targets;

/// BERT's SQuAD settings (`run_squad.py`, also `run_qa.py`'s stride): with `max_seq_len` 384,
/// questions keep 64 tokens and consecutive windows share 128 context tokens.
const DOC_STRIDE: usize = 128;
const MAX_QUERY_LEN: usize = 64;

/// The window settings of a job with this `max_seq_len`: BERT's (query 64, stride 128) at 384
/// and above; shorter windows (small test models) keep a quarter for the question and share at
/// most half of the context room, so that windows still advance.
pub(crate) fn qa_config(max_seq_len: usize) -> QaConfig {
    let max_query_len = MAX_QUERY_LEN.min(max_seq_len / 4);
    let room = max_seq_len.saturating_sub(3 + max_query_len);
    QaConfig {
        max_seq_len,
        doc_stride: DOC_STRIDE.min(room / 2),
        max_query_len,
    }
}

/// A span task's training rows and evaluation layout.
pub(crate) struct SpanInputs {
    /// One feature per training window.
    pub(crate) train_features: Vec<Feature>,
    /// The windows' start and end labels.
    pub(crate) train_targets: Targets,
    /// One feature per evaluation window.
    pub(crate) eval_features: Vec<Feature>,
    /// How the evaluation windows' logits become one row per question.
    pub(crate) layout: SpanLayout,
}

/// Builds the windows of both splits (`train` and `eval` must be SQuAD splits).
pub(crate) fn span_inputs(
    job: &JobSpec,
    tokenizer: &WordPieceTokenizer,
    train: &SplitData,
    eval: &SplitData,
) -> Result<SpanInputs> {
    let config = qa_config(job.hyper.max_seq_len as usize);
    let build = |data: &SplitData| -> Result<(Arc<SquadDataset>, Features)> {
        let dataset = data.squad.clone().ok_or_else(|| RunnerError::Invalid {
            job: job.id.clone(),
            message: format!(
                "split `{}` of task `{}` is not SQuAD data; a span task reads format = \"squad\"",
                data.split, data.task
            ),
        })?;
        let features =
            multiberts_qa::build_features(&dataset, tokenizer, &config).map_err(|e| {
                RunnerError::Invalid {
                    job: job.id.clone(),
                    message: format!("split `{}` of task `{}`: {e}", data.split, data.task),
                }
            })?;
        Ok((dataset, features))
    };
    config.validate().map_err(|e| RunnerError::Invalid {
        job: job.id.clone(),
        message: format!("task `{}`: {e}", job.task.name),
    })?;
    let (_, train_windows) = build(train)?;
    let (dataset, eval_windows) = build(eval)?;
    let targets = train_windows
        .windows
        .iter()
        .map(|w| (w.start_position as i64, w.end_position as i64))
        .collect();
    tracing::info!(
        job = %job.id,
        train_windows = train_windows.windows.len(),
        eval_windows = eval_windows.windows.len(),
        questions = dataset.questions.len(),
        "question windows built"
    );
    Ok(SpanInputs {
        train_features: train_windows.windows.iter().map(window_feature).collect(),
        train_targets: Targets::Spans(targets),
        eval_features: eval_windows.windows.iter().map(window_feature).collect(),
        layout: SpanLayout {
            features: eval_windows,
            dataset,
            decode: DecodeConfig::default(),
        },
    })
}

/// A window as the model's input row.
fn window_feature(w: &Window) -> Feature {
    Feature {
        type_ids: w.inputs(None, 0).token_type_ids,
        ids: w.input_ids.clone(),
        spans: None,
    }
}

/// How a span task's evaluation windows become one row per question.
#[derive(Debug, Clone)]
pub(crate) struct SpanLayout {
    features: Features,
    dataset: Arc<SquadDataset>,
    decode: DecodeConfig,
}

impl SpanLayout {
    /// One row per question from the windows' logits (`scores[i]` of window i is its start
    /// logits followed by its end logits, both as long as its padded batch): the decoded
    /// answer, its official scores, `[null score − best span score]` as the row's scores, and
    /// 1/0 for "has a gold answer" / "answered" as label and prediction.
    pub(crate) fn outputs(&self, scores: &[Vec<f32>]) -> Result<Vec<Output>> {
        let logits: Vec<WindowLogits<'_>> = scores
            .iter()
            .map(|s| {
                let (start, end) = s.split_at(s.len() / 2);
                WindowLogits { start, end }
            })
            .collect();
        let predictions =
            multiberts_qa::decode(&self.features, &logits, &self.decode).map_err(|e| {
                RunnerError::Invalid {
                    job: String::new(),
                    message: format!("decoding the answers: {e}"),
                }
            })?;
        Ok(predictions
            .into_iter()
            .map(|p| {
                let q = &self.dataset.questions[p.question];
                let golds: Vec<&str> = q.answers.iter().map(|a| a.text.as_str()).collect();
                let score = score_question(&golds, &p.text);
                Output {
                    id: q.id.clone(),
                    label: f64::from(u8::from(q.has_answer())),
                    prediction: f64::from(u8::from(!p.text.is_empty())),
                    scores: vec![p.score_diff],
                    answer: Some(AnswerColumns {
                        text: p.text,
                        exact: score.exact,
                        f1: score.f1,
                    }),
                }
            })
            .collect())
    }

    /// The named metrics (`exact`, `f1`: means over questions, as fractions) of `rows`.
    pub(crate) fn metrics(
        &self,
        names: &[String],
        rows: &[Output],
    ) -> Result<BTreeMap<String, f64>> {
        let mut out = BTreeMap::new();
        for name in names {
            let pick = |a: &AnswerColumns| match name.as_str() {
                "exact" => Some(a.exact),
                "f1" => Some(a.f1),
                _ => None,
            };
            let values: Option<Vec<f64>> = rows
                .iter()
                .map(|r| r.answer.as_ref().and_then(pick))
                .collect();
            let values = values.ok_or_else(|| RunnerError::Metric {
                metric: name.clone(),
                source: multiberts_metrics::MetricError::Invalid(format!(
                    "a span task is scored by exact and f1, not {name:?}"
                )),
            })?;
            out.insert(
                name.clone(),
                values.iter().sum::<f64>() / values.len().max(1) as f64,
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_berts_at_384_and_still_advance_when_small() {
        assert_eq!(
            qa_config(384),
            QaConfig {
                max_seq_len: 384,
                doc_stride: 128,
                max_query_len: 64
            }
        );
        for len in [32, 64, 128, 256, 512] {
            let c = qa_config(len);
            c.validate().unwrap();
            assert!(c.doc_stride >= 1 && c.max_query_len <= 64, "{c:?}");
        }
    }
}
