//! From start/end logits to answers: Hugging Face's `postprocess_qa_predictions` (`utils_qa.py`
//! of the `run_qa.py` example) with `version_2_with_negative=True`.
//!
//! Per question, over all its windows: the `n_best_size` highest start and end logits of each
//! window are paired; pairs outside the context, reversed, or longer than `max_answer_length`
//! tokens are skipped; a span scores `start_logit + end_logit`. The null (no-answer) score is
//! `start_logit[CLS] + end_logit[CLS]`, the minimum over the question's windows (the first
//! window with that minimum). The candidates and the null are sorted by score and the best
//! `n_best_size` kept (the null is added back if it fell off). The prediction is the best
//! non-null span's text, or `""` when `null_score - best_start_logit - best_end_logit` exceeds
//! the threshold.
//!
//! Ties, where the reference's order is defined we follow it: candidates sort with Python's
//! stable `sorted(..., reverse=True)`, so equal scores keep their generation order (window,
//! then start index, then end index, each in descending-logit order; the null last). The
//! per-window top-n uses numpy's `argsort` (quicksort, not stable), whose order among equal
//! logits is unspecified; we break such ties by the higher position first, which is what a
//! stable ascending sort reversed (`argsort(kind="stable")[::-1]`) gives.
//!
//! Arithmetic is in `f32` like numpy's on float32 logits: scores are `f32` sums and the score
//! difference is `(null - start_logit) - end_logit` in `f32`, so comparisons and ties come out
//! as in the reference.

use multiberts_tasks::CharSpan;
use rayon::prelude::*;

use crate::error::QaError;
use crate::features::{Features, Window};

/// Decoding settings; the defaults are `run_qa.py`'s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodeConfig {
    /// Start and end candidates per window, and candidates kept per question (20).
    pub n_best_size: usize,
    /// Longest answer in tokens (30).
    pub max_answer_length: usize,
    /// Predict `""` when the null score beats the best span by more than this (0.0; the
    /// MultiBERTs paper used no threshold).
    pub null_score_diff_threshold: f32,
}

impl Default for DecodeConfig {
    fn default() -> Self {
        Self {
            n_best_size: 20,
            max_answer_length: 30,
            null_score_diff_threshold: 0.0,
        }
    }
}

/// One window's logits: one start and one end logit per token position. Rows may be longer
/// than the window (a padded batch); padding positions take part in the top-n selection, as
/// they do in `run_qa.py` with `pad_to_max_length`, but never form a span.
#[derive(Debug, Clone, Copy)]
pub struct WindowLogits<'a> {
    /// Start logits.
    pub start: &'a [f32],
    /// End logits.
    pub end: &'a [f32],
}

/// What a candidate answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandidateKind {
    /// A context span: the window (index into [`Features::windows`]) and its token positions.
    Span {
        /// Window index.
        window: usize,
        /// Position of the first token.
        start: usize,
        /// Position of the last token.
        end: usize,
        /// Character span in the context.
        chars: CharSpan,
    },
    /// The no-answer candidate (`[CLS]`, text `""`).
    Null,
    /// `run_qa.py`'s stand-in when no span is valid: text `"empty"`, logits 0.
    Placeholder,
}

/// One entry of a question's n-best list.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// What the candidate is.
    pub kind: CandidateKind,
    /// The answer text (`""` for the null candidate).
    pub text: String,
    /// Start logit.
    pub start_logit: f32,
    /// End logit.
    pub end_logit: f32,
    /// `start_logit + end_logit`.
    pub score: f32,
    /// Softmax of the scores over the n-best list.
    pub probability: f64,
}

/// The decoded answer of one question.
#[derive(Debug, Clone, PartialEq)]
pub struct QaPrediction {
    /// Index of the question in the dataset.
    pub question: usize,
    /// The predicted answer; `""` means "no answer".
    pub text: String,
    /// The null score minus the best non-null candidate's score (`run_qa.py`'s
    /// `scores_diff_json`); positive favours "no answer".
    pub score_diff: f32,
    /// The null score: the minimum `[CLS]` score over the question's windows.
    pub null_score: f32,
    /// The n-best candidates, best first (the null included).
    pub nbest: Vec<Candidate>,
}

/// Decodes every question of `features`; `logits[i]` belongs to `features.windows[i]`.
/// Questions are decoded in parallel; the result is in question order.
pub fn decode(
    features: &Features,
    logits: &[WindowLogits<'_>],
    config: &DecodeConfig,
) -> Result<Vec<QaPrediction>, QaError> {
    if logits.len() != features.windows.len() {
        return Err(QaError::LogitCount {
            windows: features.windows.len(),
            logits: logits.len(),
        });
    }
    for (i, (w, l)) in features.windows.iter().zip(logits).enumerate() {
        check_logits(i, w, l)?;
    }
    Ok((0..features.question_windows.len())
        .into_par_iter()
        .map(|q| decode_question(features, q, logits, config))
        .collect())
}

fn check_logits(index: usize, window: &Window, logits: &WindowLogits<'_>) -> Result<(), QaError> {
    let (s, e) = (logits.start.len(), logits.end.len());
    if s != e || s < window.len() {
        return Err(QaError::LogitLength {
            window: index,
            start: s,
            end: e,
            tokens: window.len(),
        });
    }
    for (which, row) in [("start", logits.start), ("end", logits.end)] {
        if let Some((position, &value)) = row.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(QaError::NonFiniteLogit {
                window: index,
                which,
                position,
                value,
            });
        }
    }
    Ok(())
}

/// The positions of the `n` largest values, largest first, ties by the higher position
/// first (see the module's note on numpy's `argsort`).
fn top_n(values: &[f32], n: usize) -> Vec<usize> {
    let order = |a: &usize, b: &usize| {
        values[*b]
            .partial_cmp(&values[*a])
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(b.cmp(a))
    };
    let mut idx: Vec<usize> = (0..values.len()).collect();
    if n == 0 {
        return Vec::new();
    }
    if idx.len() > n {
        idx.select_nth_unstable_by(n - 1, order);
        idx.truncate(n);
    }
    idx.sort_unstable_by(order);
    idx
}

/// A scored candidate before its text is cut out.
struct Prelim {
    kind: CandidateKind,
    start_logit: f32,
    end_logit: f32,
    score: f32,
}

/// `postprocess_qa_predictions`' loop body for one question.
fn decode_question(
    features: &Features,
    question: usize,
    logits: &[WindowLogits<'_>],
    config: &DecodeConfig,
) -> QaPrediction {
    let mut null: Option<Prelim> = None;
    let mut prelim = Vec::new();
    for wi in features.question_windows[question].clone() {
        let (window, l) = (&features.windows[wi], &logits[wi]);
        let null_score = l.start[0] + l.end[0];
        // Strictly greater: the first window with the minimum keeps it, as in the reference.
        if null.as_ref().is_none_or(|n| n.score > null_score) {
            null = Some(Prelim {
                kind: CandidateKind::Null,
                start_logit: l.start[0],
                end_logit: l.end[0],
                score: null_score,
            });
        }
        let ends = top_n(l.end, config.n_best_size);
        for s in top_n(l.start, config.n_best_size) {
            let Some(start_span) = features.offset(window, s) else {
                continue;
            };
            for &e in &ends {
                let Some(end_span) = features.offset(window, e) else {
                    continue;
                };
                if e < s || e - s + 1 > config.max_answer_length {
                    continue;
                }
                prelim.push(Prelim {
                    kind: CandidateKind::Span {
                        window: wi,
                        start: s,
                        end: e,
                        chars: CharSpan::new(start_span.start, end_span.end),
                    },
                    start_logit: l.start[s],
                    end_logit: l.end[e],
                    score: l.start[s] + l.end[e],
                });
            }
        }
    }
    // Every question has at least one window, so there is a null candidate.
    let null = null.unwrap_or(Prelim {
        kind: CandidateKind::Null,
        start_logit: 0.0,
        end_logit: 0.0,
        score: 0.0,
    });
    let null_score = null.score;
    let (null_start, null_end) = (null.start_logit, null.end_logit);
    prelim.push(null);
    // Stable: equal scores keep their order, as Python's sorted(reverse=True) does.
    prelim.sort_by(|a, b| {
        b.score
            .partial_cmp(&a.score)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    prelim.truncate(config.n_best_size);
    if !prelim.iter().any(|p| p.kind == CandidateKind::Null) {
        prelim.push(Prelim {
            kind: CandidateKind::Null,
            start_logit: null_start,
            end_logit: null_end,
            score: null_score,
        });
    }
    finish(features, question, prelim, null_score, config)
}

/// Texts, the placeholder rule, probabilities and the final choice.
fn finish(
    features: &Features,
    question: usize,
    prelim: Vec<Prelim>,
    null_score: f32,
    config: &DecodeConfig,
) -> QaPrediction {
    let mut nbest: Vec<Candidate> = prelim
        .into_iter()
        .map(|p| Candidate {
            text: candidate_text(features, &p.kind),
            kind: p.kind,
            start_logit: p.start_logit,
            end_logit: p.end_logit,
            score: p.score,
            probability: 0.0,
        })
        .collect();
    if nbest.is_empty() || (nbest.len() == 1 && nbest[0].text.is_empty()) {
        nbest.insert(
            0,
            Candidate {
                kind: CandidateKind::Placeholder,
                text: "empty".to_string(),
                start_logit: 0.0,
                end_logit: 0.0,
                score: 0.0,
                probability: 0.0,
            },
        );
    }
    let max = nbest
        .iter()
        .map(|c| f64::from(c.score))
        .fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = nbest
        .iter()
        .map(|c| (f64::from(c.score) - max).exp())
        .collect();
    let total: f64 = exp.iter().sum();
    for (c, e) in nbest.iter_mut().zip(&exp) {
        c.probability = e / total;
    }
    // The placeholder guarantees a candidate with a non-empty text.
    let best = nbest
        .iter()
        .find(|c| !c.text.is_empty())
        .map_or((0.0, 0.0, String::new()), |c| {
            (c.start_logit, c.end_logit, c.text.clone())
        });
    let score_diff = null_score - best.0 - best.1;
    let text = if score_diff > config.null_score_diff_threshold {
        String::new()
    } else {
        best.2
    };
    QaPrediction {
        question,
        text,
        score_diff,
        null_score,
        nbest,
    }
}

fn candidate_text(features: &Features, kind: &CandidateKind) -> String {
    match *kind {
        CandidateKind::Span {
            window, start, end, ..
        } => features
            .span_text(&features.windows[window], start, end)
            .unwrap_or("")
            .to_string(),
        CandidateKind::Null => String::new(),
        CandidateKind::Placeholder => "empty".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_n_is_descending_with_later_positions_first_on_ties() {
        let v = [1.0, 3.0, 2.0, 3.0, 0.5];
        assert_eq!(top_n(&v, 3), vec![3, 1, 2]);
        assert_eq!(top_n(&v, 10), vec![3, 1, 2, 0, 4]);
        assert_eq!(top_n(&v, 0), Vec::<usize>::new());
    }
}
