//! `[[analyses]]`: Multi-Bootstrap comparisons declared with the sweep, run after collection.

use serde::{Deserialize, Serialize};
use serde_spanned::Spanned;

use multiberts_tasks::SafeName;

use crate::selector::Selector;

/// Which Multi-Bootstrap design an analysis uses (paper §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnalysisKind {
    /// One procedure: estimate and interval.
    Single,
    /// Two procedures on the same pre-training seeds, resampled together.
    Paired,
    /// Two procedures with independent seed draws.
    Unpaired,
}

/// One `[[analyses]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAnalysis {
    pub(crate) name: Spanned<String>,
    pub(crate) kind: AnalysisKind,
    pub(crate) task: Spanned<String>,
    pub(crate) metric: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) base: Option<Spanned<String>>,
    pub(crate) experiment: Option<Spanned<String>>,
    pub(crate) nboot: Option<Spanned<u32>>,
    pub(crate) level: Option<Spanned<f64>>,
    pub(crate) rng: Option<Spanned<String>>,
    pub(crate) sample_seeds: Option<bool>,
    pub(crate) sample_examples: Option<bool>,
    pub(crate) expect_negative_effect: Option<bool>,
    pub(crate) abs_threshold: Option<f64>,
    pub(crate) rel_threshold: Option<f64>,
}

/// A validated analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    /// Name used for its output files (`report/<name>.json`).
    pub name: SafeName,
    /// Single, paired or unpaired.
    pub kind: AnalysisKind,
    /// The task whose predictions it reads.
    pub task: SafeName,
    /// The metric (defaults to the task's primary metric).
    pub metric: String,
    /// Runs of the baseline procedure (all of the task's runs when empty).
    pub base: Selector,
    /// Runs of the experimental procedure (paired and unpaired only).
    pub experiment: Option<Selector>,
    /// Bootstrap draws.
    pub nboot: u32,
    /// Confidence level of the intervals.
    pub level: f64,
    /// Random-number mode: `chacha:SEED` (default) or `numpy:SEED`.
    pub rng: String,
    /// Resample pre-training seeds.
    pub sample_seeds: bool,
    /// Resample test examples.
    pub sample_examples: bool,
    /// The p-value tests for a decrease instead of an increase.
    pub expect_negative_effect: bool,
    /// Report P(|delta| > threshold) when set.
    pub abs_threshold: Option<f64>,
    /// Report P(delta / base > threshold) when set.
    pub rel_threshold: Option<f64>,
}
