//! A consolidated predictions table read as runs, in table order, in the engine's neutral form.

use std::collections::BTreeMap;
use std::path::Path;

use multiberts_bootstrap::Metric;
use multiberts_collector::PredictionRow;
use multiberts_collector::upstream::{
    Matrix, RunInfo, SpanCells, UpstreamPredictions, format_steps,
};

use crate::error::{ReportError, Result};

/// The runs of a consolidated table, in table order, all on the same examples.
#[derive(Debug, Clone, PartialEq)]
pub struct Runs {
    /// Each run's first row (run metadata; its example fields are those of example 0).
    pub first: Vec<PredictionRow>,
    /// The runs as the analysis engine reads them ([`crate::engine`]): one [`RunInfo`] per
    /// run (keys `checkpoint`, `variant` when not empty, `split`, `job_id`), the labels of
    /// the first run, runs × examples predictions.
    pub set: UpstreamPredictions,
}

impl Runs {
    /// The `metric` of each run `idx` picks, in that order (NaN where it is undefined): the
    /// per-run values behind the summary's mean and the figures' dots.
    pub fn scores(&self, idx: &[usize], metric: Metric) -> Result<Vec<f64>> {
        Ok(idx
            .iter()
            .map(|&i| metric.compute(&self.set.labels, self.set.predictions.row(i), None))
            .collect::<std::result::Result<_, _>>()?)
    }
}

/// A table row's run metadata as the engine's [`RunInfo`].
fn run_info(row: &PredictionRow) -> RunInfo {
    let mut keys = BTreeMap::new();
    keys.insert("checkpoint".to_string(), row.checkpoint.clone());
    if !row.variant.is_empty() {
        keys.insert("variant".to_string(), row.variant.clone());
    }
    keys.insert("split".to_string(), row.split.clone());
    keys.insert("job_id".to_string(), row.job_id.clone());
    RunInfo {
        pretrain_seed: row.pretrain_seed,
        finetune_seed: Some(row.finetune_seed),
        learning_rate: Some(row.learning_rate),
        step: row.step.map(format_steps),
        keys,
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
    let mut first: Vec<PredictionRow> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    let mut labels: Vec<f64> = Vec::new();
    let mut preds: Vec<f64> = Vec::with_capacity(rows.len());
    // Span tasks: each row's answer and official scores (every row has them, or none), and
    // the question ids of the first run.
    let mut answers = SpanCells::new(rows.iter().any(|r| r.answer.is_some()), rows.len());
    let mut ids = Vec::new();
    for (cell, r) in rows.into_iter().enumerate() {
        let index = usize::try_from(r.example_index).map_err(|_| {
            bad(format!(
                "job {} has a negative example index {}",
                r.job_id, r.example_index
            ))
        })?;
        if first.last().is_none_or(|f| f.job_id != r.job_id) {
            first.push(r.clone());
            counts.push(0);
        }
        let n = counts.len() - 1;
        if index != counts[n] {
            return Err(bad(format!(
                "job {} lists example {index} out of order",
                r.job_id
            )));
        }
        counts[n] += 1;
        preds.push(r.prediction);
        answers
            .set(cell, r.answer.as_ref())
            .map_err(|m| bad(format!("job {}, example {index}: {m}", r.job_id)))?;
        if n == 0 {
            labels.push(r.label);
            ids.push(r.example_id);
        }
    }
    for (run, &count) in first.iter().zip(&counts) {
        if count != labels.len() {
            return Err(bad(format!(
                "job {} has {count} predictions, the first job {}",
                run.job_id,
                labels.len()
            )));
        }
    }
    let predictions = Matrix::from_vec(first.len(), labels.len(), preds)
        .ok_or_else(|| bad("runs and predictions do not line up".into()))?;
    let answers = match answers.finish(first.len(), ids) {
        None => None,
        Some(a) => Some(a.ok_or_else(|| bad("runs and answers do not line up".into()))?),
    };
    let set = UpstreamPredictions {
        task: first.first().map(|r| r.task.clone()).unwrap_or_default(),
        runs: first.iter().map(run_info).collect(),
        labels,
        predictions,
        scores: None,
        coref_examples: None,
        answers,
    };
    Ok(Runs { first, set })
}
