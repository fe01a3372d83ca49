//! The upstream MultiBERTs prediction layouts (google-research/language `multiberts/`
//! notebooks), read into and written from one neutral [`UpstreamPredictions`].
//!
//! - GLUE ([`glue`]): `index.tsv` (`file task pretrain_id n_steps lr ft_seed release`), one
//!   TSV of class scores per run at `<TASK>/release=…,pretrain_id=…,n_steps=…,lr=…,ft_seed=….tsv`,
//!   and `<TASK>_dev_labels`.
//! - Coreference ([`coref`]): `run_info.tsv`, `label_info.tsv`, `preds.tsv` in one folder.
//! - SQuAD ([`squad`]): `index.tsv` (GLUE's columns, task `v2.0`) and one JSON per run mapping
//!   question id → answer text.
//!
//! [`UpstreamPredictions::from_prediction_rows`] and [`UpstreamPredictions::from_parquet`]
//! ([`RowsToRuns`]) turn our predictions rows into the same neutral form, so our results export
//! to either layout and the bootstrap reads every source alike.

pub mod bias;
pub mod coref;
pub mod glue;
mod numbers;
mod rows;
pub mod squad;
mod text;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use bias::{BiasInputs, bias_inputs, read_occupation_stats, write_occupation_stats};
pub use coref::{export_coref, import_coref};
pub use glue::{export_glue, import_glue, import_glue_where};
pub(crate) use numbers::format_number;
pub use numbers::{format_steps, parse_steps, python_float};
pub use rows::{RowsToRuns, SpanCells, export_glue_from_parquet};
pub use squad::{GoldQuestion, SpanScore, export_squad, export_squad_from_parquet, import_squad};

/// One fine-tuning run of an upstream layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RunInfo {
    /// Pre-training seed (GLUE `pretrain_id`, coref `pretrain_seed`), when it is an integer.
    pub pretrain_seed: Option<i64>,
    /// Fine-tuning seed (GLUE `ft_seed`, coref `finetune_seed`).
    pub finetune_seed: Option<i64>,
    /// Fine-tuning learning rate (GLUE `lr`).
    pub learning_rate: Option<f64>,
    /// Pre-training steps as written upstream (`1M`, `2M`, `0`, `20k`); see [`RunInfo::step_thousands`].
    pub step: Option<String>,
    /// Every other column, as strings (e.g. `release`, `checkpoint`, `variant`, `job_id`).
    pub keys: BTreeMap<String, String>,
}

impl RunInfo {
    /// The step in thousands: `2M` → 2000, `20k` → 20, `0` → 0.
    pub fn step_thousands(&self) -> Option<i64> {
        parse_steps(self.step.as_deref()?)
    }

    /// The value of a key as a string, for selectors: the typed fields answer to their own
    /// names and to the upstream column names (`pretrain_id`, `ft_seed`, `lr`, `n_steps`).
    pub fn get(&self, key: &str) -> Option<String> {
        match key {
            "pretrain_seed" | "pretrain_id" => self
                .pretrain_seed
                .map(|s| s.to_string())
                .or_else(|| self.keys.get("pretrain_id").cloned()),
            "finetune_seed" | "ft_seed" => self.finetune_seed.map(|s| s.to_string()),
            "learning_rate" | "lr" => self.learning_rate.map(python_float),
            "step" | "n_steps" => self.step.clone(),
            // Runs without a variant key have none: `variant=` selects them.
            "variant" => Some(self.keys.get("variant").cloned().unwrap_or_default()),
            _ => self.keys.get(key).cloned(),
        }
    }
}

/// A dense row-major matrix (runs × examples).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matrix<T> {
    rows: usize,
    cols: usize,
    data: Vec<T>,
}

impl<T> Matrix<T> {
    /// Wraps row-major `data`; `None` unless `data.len() == rows * cols`.
    pub fn from_vec(rows: usize, cols: usize, data: Vec<T>) -> Option<Self> {
        (rows.checked_mul(cols)? == data.len()).then_some(Self { rows, cols, data })
    }

    /// Number of rows (runs).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (examples).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// One row.
    pub fn row(&self, r: usize) -> &[T] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }

    /// All values, row-major.
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }
}

/// Class scores per run and example (runs × examples × classes), row-major.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassScores {
    runs: usize,
    examples: usize,
    classes: usize,
    data: Vec<f32>,
}

impl ClassScores {
    /// Wraps row-major `data`; `None` unless the length matches.
    pub fn from_vec(runs: usize, examples: usize, classes: usize, data: Vec<f32>) -> Option<Self> {
        (runs.checked_mul(examples)?.checked_mul(classes)? == data.len()).then_some(Self {
            runs,
            examples,
            classes,
            data,
        })
    }

    /// Number of runs.
    pub fn runs(&self) -> usize {
        self.runs
    }

    /// Number of examples.
    pub fn examples(&self) -> usize {
        self.examples
    }

    /// Number of classes (1 for regression).
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The scores of one run on one example.
    pub fn get(&self, run: usize, example: usize) -> &[f32] {
        let start = (run * self.examples + example) * self.classes;
        &self.data[start..start + self.classes]
    }

    /// All values, run-major then example then class.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }
}

/// One Winogender sentence's metadata in the coref layout's `label_info.tsv`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorefExample {
    /// `MASCULINE`, `FEMININE` or `UNKNOWN` (neutral).
    pub gender: String,
    /// `NOM`, `ACC` or `POSS`.
    pub pronoun_type: String,
    /// The correct referent: 0 = occupation, 1 = other participant.
    pub answer: i64,
    /// The occupation word.
    pub occupation: String,
    /// The other participant word.
    pub other_participant: String,
    /// Whether the other participant is "someone".
    pub someone: bool,
    /// Row of Winogender's `templates.tsv` (0..119).
    pub template_idx: i64,
}

/// Predictions of many runs on one evaluation set, in the neutral form shared by the upstream
/// layouts and our Parquet: what `multiberts bootstrap` consumes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpstreamPredictions {
    /// Task name (GLUE: as in `index.tsv`, e.g. `MNLI`; coref import: `coref`).
    pub task: String,
    /// One entry per run, aligned with the rows of `predictions`.
    pub runs: Vec<RunInfo>,
    /// One label per example: class index, regression target, or coref answer.
    pub labels: Vec<f64>,
    /// runs × examples: argmax class index, regression value, or predicted referent.
    pub predictions: Matrix<f64>,
    /// Class scores (GLUE layout and our Parquet; absent in the coref layout).
    pub scores: Option<ClassScores>,
    /// Per-example Winogender metadata (coref layout only).
    pub coref_examples: Option<Vec<CorefExample>>,
    /// Span (extractive QA) tasks: each run's answer to each question, with the official
    /// per-question scores (SQuAD layout and span tasks' Parquet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answers: Option<SpanAnswers>,
}

/// The answers of a span task's runs: runs × questions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanAnswers {
    /// The question ids, in example order.
    pub ids: Vec<String>,
    /// The answer texts (`""` = no answer).
    pub text: Matrix<String>,
    /// The official exact match of each answer (0 or 1).
    pub exact: Matrix<f64>,
    /// The official token F1 of each answer (0 to 1).
    pub f1: Matrix<f64>,
}
