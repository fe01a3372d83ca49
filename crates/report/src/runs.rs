//! A consolidated predictions table read as runs, and the bootstrap problem of the runs that
//! selectors pick.

use std::path::Path;

use multiberts_bootstrap::{Group, Metric, Problem, Run};
use multiberts_collector::PredictionRow;
use multiberts_manifest::Selector;

use crate::error::{ReportError, Result};

/// One run of a table: its first row (run metadata) and its predictions in example order.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRun {
    /// The run's first row; its example fields are those of example 0.
    pub first: PredictionRow,
    /// One prediction per example.
    pub predictions: Vec<f64>,
    /// Span tasks: each question's official exact match and F1.
    pub answers: Option<SpanValues>,
}

/// A span task run's per-question official scores.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanValues {
    /// Exact match per question (0 or 1).
    pub exact: Vec<f64>,
    /// Token F1 per question.
    pub f1: Vec<f64>,
}

/// The runs of a consolidated table, in table order, all on the same examples.
#[derive(Debug, Clone, PartialEq)]
pub struct Runs {
    /// One label per example (from the first run).
    pub labels: Vec<f64>,
    /// The runs.
    pub runs: Vec<TableRun>,
}

impl Runs {
    /// The same runs with a span task's per-question `score` as their predictions (runs
    /// without answers keep theirs).
    pub fn with_span_score(&self, score: multiberts_collector::upstream::SpanScore) -> Runs {
        use multiberts_collector::upstream::SpanScore;
        let mut out = self.clone();
        for run in &mut out.runs {
            if let Some(a) = &run.answers {
                run.predictions = match score {
                    SpanScore::Exact => a.exact.clone(),
                    SpanScore::F1 => a.f1.clone(),
                };
            }
        }
        out
    }

    /// The `metric` of each run `idx` picks, in that order (NaN where it is undefined): the
    /// per-run values behind the summary's mean and the figures' dots.
    pub fn scores(&self, idx: &[usize], metric: Metric) -> Result<Vec<f64>> {
        Ok(idx
            .iter()
            .map(|&i| metric.compute(&self.labels, &self.runs[i].predictions, None))
            .collect::<std::result::Result<_, _>>()?)
    }
}

/// Reads `predictions/<task>.parquet` into runs; every run must list the same number of
/// examples, in order.
pub fn read_runs(path: &Path) -> Result<Runs> {
    let bad = |message: String| ReportError::Table {
        path: path.to_path_buf(),
        message,
    };
    let rows = multiberts_collector::read_predictions(path)?;
    let mut runs: Vec<TableRun> = Vec::new();
    let mut labels: Vec<f64> = Vec::new();
    for r in rows {
        let index = usize::try_from(r.example_index).map_err(|_| {
            bad(format!(
                "job {} has a negative example index {}",
                r.job_id, r.example_index
            ))
        })?;
        let (label, prediction) = (r.label, r.prediction);
        let answer = r.answer.as_ref().map(|a| (a.exact, a.f1));
        let run = match runs.last_mut() {
            Some(run) if run.first.job_id == r.job_id => run,
            _ => {
                runs.push(TableRun {
                    answers: answer.map(|_| SpanValues {
                        exact: Vec::new(),
                        f1: Vec::new(),
                    }),
                    first: r,
                    predictions: Vec::new(),
                });
                let n = runs.len();
                &mut runs[n - 1]
            }
        };
        if index != run.predictions.len() {
            return Err(bad(format!(
                "job {} lists example {index} out of order",
                run.first.job_id
            )));
        }
        run.predictions.push(prediction);
        match (&mut run.answers, answer) {
            (Some(values), Some((exact, f1))) => {
                values.exact.push(exact);
                values.f1.push(f1);
            }
            (None, None) => {}
            _ => {
                return Err(bad(format!(
                    "job {} has answers on some examples only",
                    run.first.job_id
                )));
            }
        }
        if runs.len() == 1 {
            labels.push(label);
        }
    }
    for run in &runs {
        if run.predictions.len() != labels.len() {
            return Err(bad(format!(
                "job {} has {} predictions, the first job {}",
                run.first.job_id,
                run.predictions.len(),
                labels.len()
            )));
        }
    }
    Ok(Runs { labels, runs })
}

/// A table row's value for a selector key (the step in thousands).
pub fn row_field(row: &PredictionRow, key: &str) -> Option<String> {
    Some(match key {
        "task" => row.task.clone(),
        "variant" => row.variant.clone(),
        "checkpoint" => row.checkpoint.clone(),
        "pretrain_seed" => row.pretrain_seed?.to_string(),
        "step" => row.step?.to_string(),
        "learning_rate" => row.learning_rate.to_string(),
        "finetune_seed" => row.finetune_seed.to_string(),
        _ => return None,
    })
}

/// The pre-training seeds the bootstrap resamples: the recorded seed, else one stand-in per
/// checkpoint (local checkpoints carry no seed), numbered in order of appearance far above any
/// real seed.
#[derive(Debug, Default)]
pub(crate) struct SeedIds {
    checkpoints: Vec<String>,
}

impl SeedIds {
    /// The seed of a run with this recorded seed and checkpoint.
    pub(crate) fn seed(&mut self, recorded: Option<i64>, checkpoint: &str) -> u64 {
        if let Some(s) = recorded.and_then(|s| u64::try_from(s).ok()) {
            return s;
        }
        let k = match self.checkpoints.iter().position(|c| c == checkpoint) {
            Some(k) => k,
            None => {
                self.checkpoints.push(checkpoint.to_string());
                self.checkpoints.len() - 1
            }
        };
        1_000_000_000 + k as u64
    }
}

/// The bootstrap problem of the runs each side's selector picks (a run may enter both sides).
pub fn problem(runs: &Runs, sides: &[(Group, &Selector)]) -> Result<Problem> {
    let mut preds = Vec::new();
    let mut meta = Vec::new();
    let mut seeds = SeedIds::default();
    for run in &runs.runs {
        for (group, sel) in sides {
            if sel.matches(|k| row_field(&run.first, k)) {
                preds.extend_from_slice(&run.predictions);
                meta.push(Run {
                    seed: seeds.seed(run.first.pretrain_seed, &run.first.checkpoint),
                    group: *group,
                });
            }
        }
    }
    Ok(Problem::new(runs.labels.clone(), preds, meta)?)
}
