//! The input of a bootstrap: a runs × examples prediction matrix, labels and run info.

use crate::BootstrapError;

/// Which side of a comparison a run belongs to (the reference's `intervention` flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// Baseline procedure L (`intervention = False`).
    Base,
    /// Experimental procedure L' (`intervention = True`).
    Expt,
}

/// One fine-tuning run: its pre-training seed and its group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Run {
    /// Pre-training seed; runs sharing a seed (and group) are averaged first.
    pub seed: u64,
    /// Base or experiment.
    pub group: Group,
}

/// Predictions of many runs on the same examples, with labels and run info.
///
/// For classification metrics labels and predictions are class ids (0, 1, …); for `mean` the
/// predictions are per-example scores; for correlations both are numbers.
#[derive(Debug, Clone)]
pub struct Problem {
    labels: Vec<f64>,
    preds: Vec<f64>,
    runs: Vec<Run>,
}

impl Problem {
    /// Checks shapes: `preds` is row-major `runs.len() × labels.len()`.
    pub fn new(labels: Vec<f64>, preds: Vec<f64>, runs: Vec<Run>) -> Result<Self, BootstrapError> {
        if labels.is_empty() {
            return Err(BootstrapError::Shape(
                "no examples (labels are empty)".into(),
            ));
        }
        if runs.is_empty() {
            return Err(BootstrapError::Shape("no runs".into()));
        }
        if preds.len() != runs.len() * labels.len() {
            return Err(BootstrapError::Shape(format!(
                "{} runs × {} examples needs {} predictions, got {}",
                runs.len(),
                labels.len(),
                runs.len() * labels.len(),
                preds.len()
            )));
        }
        if labels.len() as u64 > u64::from(u32::MAX) {
            return Err(BootstrapError::Shape("more than 2^32 − 1 examples".into()));
        }
        Ok(Self {
            labels,
            preds,
            runs,
        })
    }

    /// Labels, one per example.
    pub fn labels(&self) -> &[f64] {
        &self.labels
    }

    /// Number of examples.
    pub fn n_examples(&self) -> usize {
        self.labels.len()
    }

    /// Run info, one per row.
    pub fn runs(&self) -> &[Run] {
        &self.runs
    }

    /// Predictions of run `r` (row `r`).
    pub fn row(&self, r: usize) -> &[f64] {
        let n = self.labels.len();
        &self.preds[r * n..(r + 1) * n]
    }
}
