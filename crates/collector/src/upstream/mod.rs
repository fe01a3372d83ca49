//! The upstream MultiBERTs prediction layouts (google-research/language `multiberts/`
//! notebooks), read into and written from one neutral [`UpstreamPredictions`].
//!
//! - GLUE ([`glue`]): `index.tsv` (`file task pretrain_id n_steps lr ft_seed release`), one
//!   TSV of class scores per run at `<TASK>/release=…,pretrain_id=…,n_steps=…,lr=…,ft_seed=….tsv`,
//!   and `<TASK>_dev_labels`.
//! - Coreference ([`coref`]): `run_info.tsv`, `label_info.tsv`, `preds.tsv` in one folder.
//!
//! [`UpstreamPredictions::from_prediction_rows`] turns our predictions Parquet rows into the
//! same neutral form, so our results export to either layout.

pub mod coref;
pub mod glue;
mod text;

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::error::{CollectorError, Result};
use crate::predictions::PredictionRow;

pub use coref::{export_coref, import_coref};
pub use glue::{export_glue, import_glue, import_glue_where};

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
}

impl UpstreamPredictions {
    /// Builds the neutral form from our predictions rows of one task (e.g. a consolidated
    /// table). Runs are ordered by (variant, pretrain seed, step, checkpoint, learning rate,
    /// fine-tuning seed, job id); every run must cover example indices `0..N` with the same
    /// labels and the same number of scores.
    ///
    /// Keys set on each run: `release` (`multiberts`, or `multiberts-<variant>` for a variant,
    /// so variants stay apart in the GLUE file names), `checkpoint`, `variant` (when not empty), `split`,
    /// `job_id`, and `pretrain_id` (the checkpoint id) when the pre-training seed is unknown.
    pub fn from_prediction_rows(rows: &[PredictionRow]) -> Result<Self> {
        let invalid =
            |context: String, message: String| CollectorError::Invalid { context, message };
        let Some(first) = rows.first() else {
            return Err(invalid("predictions".into(), "no rows to convert".into()));
        };
        let task = first.task.clone();
        let mut by_job: HashMap<&str, Vec<&PredictionRow>> = HashMap::new();
        for r in rows {
            if r.task != task {
                return Err(invalid(
                    format!("job {}", r.job_id),
                    format!(
                        "rows of two tasks (`{}` and `{}`) in one conversion",
                        task, r.task
                    ),
                ));
            }
            by_job.entry(r.job_id.as_str()).or_default().push(r);
        }
        let mut jobs: Vec<Vec<&PredictionRow>> = by_job.into_values().collect();
        for j in &mut jobs {
            j.sort_by_key(|r| r.example_index);
        }
        jobs.sort_by(|a, b| {
            let (a, b) = (a[0], b[0]);
            a.variant
                .cmp(&b.variant)
                .then(a.pretrain_seed.cmp(&b.pretrain_seed))
                .then(a.step.cmp(&b.step))
                .then(a.checkpoint.cmp(&b.checkpoint))
                .then(a.learning_rate.total_cmp(&b.learning_rate))
                .then(a.finetune_seed.cmp(&b.finetune_seed))
                .then(a.job_id.cmp(&b.job_id))
        });
        let reference = &jobs[0];
        let n = reference.len();
        let classes = reference[0].scores.len();
        let labels: Vec<f64> = reference.iter().map(|r| r.label).collect();
        let mut runs = Vec::with_capacity(jobs.len());
        let mut preds = Vec::with_capacity(jobs.len() * n);
        let mut scores = Vec::with_capacity(jobs.len() * n * classes);
        for job in &jobs {
            let head = job[0];
            let ctx = || format!("job {}", head.job_id);
            if job.len() != n {
                return Err(invalid(
                    ctx(),
                    format!(
                        "{} examples, but job {} has {n}",
                        job.len(),
                        reference[0].job_id
                    ),
                ));
            }
            for (i, r) in job.iter().enumerate() {
                if r.example_index != i as i64 {
                    return Err(invalid(
                        ctx(),
                        format!(
                            "example indices must be 0..{n} once each; found {} at position {i}",
                            r.example_index
                        ),
                    ));
                }
                let same_label = r.label == labels[i] || (r.label.is_nan() && labels[i].is_nan());
                if !same_label || r.example_id != reference[i].example_id {
                    return Err(invalid(
                        ctx(),
                        format!(
                            "example {i} is `{}` with label {}, but job {} has `{}` with label {}",
                            r.example_id,
                            r.label,
                            reference[0].job_id,
                            reference[i].example_id,
                            labels[i]
                        ),
                    ));
                }
                if r.scores.len() != classes {
                    return Err(invalid(
                        ctx(),
                        format!(
                            "example {i} has {} scores, expected {classes}",
                            r.scores.len()
                        ),
                    ));
                }
                preds.push(r.prediction);
                scores.extend_from_slice(&r.scores);
            }
            let mut keys = BTreeMap::new();
            let release = if head.variant.is_empty() {
                "multiberts".to_string()
            } else {
                format!("multiberts-{}", head.variant)
            };
            keys.insert("release".into(), release);
            keys.insert("checkpoint".into(), head.checkpoint.clone());
            if !head.variant.is_empty() {
                keys.insert("variant".into(), head.variant.clone());
            }
            keys.insert("split".into(), head.split.clone());
            keys.insert("job_id".into(), head.job_id.clone());
            if head.pretrain_seed.is_none() {
                keys.insert("pretrain_id".into(), head.checkpoint.clone());
            }
            runs.push(RunInfo {
                pretrain_seed: head.pretrain_seed,
                finetune_seed: Some(head.finetune_seed),
                learning_rate: Some(head.learning_rate),
                step: head.step.map(format_steps),
                keys,
            });
        }
        let n_runs = runs.len();
        let internal = || invalid("predictions".into(), "internal shape error".into());
        Ok(Self {
            task,
            runs,
            labels,
            predictions: Matrix::from_vec(n_runs, n, preds).ok_or_else(internal)?,
            scores: Some(ClassScores::from_vec(n_runs, n, classes, scores).ok_or_else(internal)?),
            coref_examples: None,
        })
    }
}

/// Reads one task's predictions Parquet (e.g. the consolidated `predictions/<task>.parquet`)
/// and writes it in the upstream GLUE layout under `root`, named `upstream_task` (e.g. `MNLI`
/// for our `mnli`) or the task's own name. Returns what was written.
pub fn export_glue_from_parquet(
    table: &std::path::Path,
    root: &std::path::Path,
    upstream_task: Option<&str>,
) -> Result<UpstreamPredictions> {
    let rows = crate::predictions::read_predictions(table)?;
    let mut data = UpstreamPredictions::from_prediction_rows(&rows).map_err(|e| match e {
        CollectorError::Invalid { context, message } => CollectorError::Invalid {
            context: format!("{}: {context}", table.display()),
            message,
        },
        other => other,
    })?;
    if let Some(name) = upstream_task {
        data.task = name.to_string();
    }
    export_glue(root, &data)?;
    Ok(data)
}

/// Formats steps in thousands the upstream way: 2000 → `2M`, 20 → `20k`, 0 → `0`.
pub fn format_steps(thousands: i64) -> String {
    if thousands == 0 {
        "0".into()
    } else if thousands % 1000 == 0 {
        format!("{}M", thousands / 1000)
    } else {
        format!("{thousands}k")
    }
}

/// Parses the upstream step notation (`2M`, `20k`, `0`) into thousands of steps.
pub fn parse_steps(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(m) = s.strip_suffix(['M', 'm']) {
        m.parse::<i64>().ok()?.checked_mul(1000)
    } else if let Some(k) = s.strip_suffix(['k', 'K']) {
        k.parse().ok()
    } else if s == "0" {
        Some(0)
    } else {
        None
    }
}

/// Formats a float as Python's `repr` does (`2e-05`, `0.0001`, `1.0`), as the upstream file
/// names and `index.tsv` write learning rates.
pub fn python_float(x: f64) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "nan".into()
        } else if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // Rust's `{:e}` is the shortest round-trip digits, like Python's repr.
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let fixed = format!("{x}");
        if fixed.contains('.') {
            fixed
        } else {
            format!("{fixed}.0")
        }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

/// Formats a number for a text layout: integral values without a fraction (`1`), others in
/// the shortest form that parses back to the same `f64`.
pub(crate) fn format_number(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e15 {
        format!("{}", x as i64)
    } else if x.is_nan() {
        "nan".into()
    } else {
        format!("{x}")
    }
}
