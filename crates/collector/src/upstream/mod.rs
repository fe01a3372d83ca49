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

impl RunInfo {
    /// Whether the run's `key` equals `value`, comparing as the key's type: steps by their
    /// value in thousands (`2000k` matches `2M`), learning rates as numbers (`2e-5` matches
    /// `0.00002`), seeds as integers, other keys as strings. A missing key matches nothing.
    pub fn matches(&self, key: &str, value: &str) -> bool {
        let Some(have) = self.get(key) else {
            return false;
        };
        let value = value.trim();
        match key {
            "step" | "n_steps" => match (parse_steps(&have), parse_steps(value)) {
                (Some(a), Some(b)) => a == b,
                _ => have == value,
            },
            "learning_rate" | "lr" => match (have.parse::<f64>(), value.parse::<f64>()) {
                (Ok(a), Ok(b)) => a == b,
                _ => have == value,
            },
            "pretrain_seed" | "pretrain_id" | "finetune_seed" | "ft_seed" => {
                match (have.parse::<i64>(), value.parse::<i64>()) {
                    (Ok(a), Ok(b)) => a == b,
                    _ => have == value,
                }
            }
            _ => have == value,
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
    /// table); see [`RowsToRuns`] for the ordering and the checks.
    pub fn from_prediction_rows(rows: &[PredictionRow]) -> Result<Self> {
        let mut b = RowsToRuns::default();
        b.add(rows)?;
        b.finish()
    }

    /// Builds the neutral form from a predictions Parquet file, streaming it in batches and
    /// keeping only the rows `keep` accepts (e.g. one step, one variant), so a large table is
    /// never held as rows.
    pub fn from_parquet(
        path: &std::path::Path,
        keep: impl Fn(&PredictionRow) -> bool,
    ) -> Result<Self> {
        let mut b = RowsToRuns::default();
        let mut kept = Vec::new();
        crate::predictions::for_each_batch(path, |batch| {
            kept.clear();
            kept.extend(batch.iter().filter(|r| keep(r)).cloned());
            b.add(&kept)
        })?;
        b.finish().map_err(|e| match e {
            CollectorError::Invalid { context, message } => CollectorError::Invalid {
                context: format!("{}: {context}", path.display()),
                message,
            },
            other => other,
        })
    }
}

/// Accumulates predictions rows, in any order and in pieces, into runs × examples.
///
/// Runs are ordered by (variant, pretrain seed, step, checkpoint, learning rate, fine-tuning
/// seed, job id); every run must cover example indices `0..N` once each, with the same example
/// ids and labels and the same number of scores as the others, and one task, checkpoint,
/// variant, learning rate and seed per job.
///
/// Keys set on each run: `release` (`multiberts`, or `multiberts-<variant>` for a variant, so
/// variants stay apart in the GLUE file names), `checkpoint`, `variant` (when not empty),
/// `split`, `job_id`, and `pretrain_id` (the checkpoint id) when the pre-training seed is
/// unknown.
#[derive(Debug, Default)]
pub struct RowsToRuns {
    task: Option<String>,
    classes: Option<usize>,
    jobs: HashMap<String, JobAcc>,
    /// Example ids and labels of the first job seen, by example index: the reference.
    reference: Option<(String, ReferenceExamples)>,
}

/// Example index → (example id, label) of the reference job.
type ReferenceExamples = BTreeMap<i64, (String, f64)>;

#[derive(Debug)]
struct JobAcc {
    head: PredictionRow,
    /// (example index, prediction, label, hash of example id), in arrival order.
    entries: Vec<(i64, f64, f64, u64)>,
    scores: Vec<f32>,
}

/// FNV-1a: a stable, dependency-free fingerprint of example ids (compared, never stored).
fn fingerprint(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl RowsToRuns {
    /// Adds rows.
    pub fn add(&mut self, rows: &[PredictionRow]) -> Result<()> {
        let invalid =
            |context: String, message: String| CollectorError::Invalid { context, message };
        for r in rows {
            let task = self.task.get_or_insert_with(|| r.task.clone());
            if r.task != *task {
                return Err(invalid(
                    format!("job {}", r.job_id),
                    format!(
                        "rows of two tasks (`{task}` and `{}`) in one conversion",
                        r.task
                    ),
                ));
            }
            let classes = *self.classes.get_or_insert(r.scores.len());
            if r.scores.len() != classes {
                return Err(invalid(
                    format!("job {}", r.job_id),
                    format!(
                        "example {} has {} scores, expected {classes}",
                        r.example_index,
                        r.scores.len()
                    ),
                ));
            }
            let reference = self
                .reference
                .get_or_insert_with(|| (r.job_id.clone(), BTreeMap::new()));
            if reference.0 == r.job_id {
                reference
                    .1
                    .insert(r.example_index, (r.example_id.clone(), r.label));
            }
            let acc = self.jobs.entry(r.job_id.clone()).or_insert_with(|| JobAcc {
                head: PredictionRow {
                    scores: Vec::new(),
                    ..r.clone()
                },
                entries: Vec::new(),
                scores: Vec::new(),
            });
            let h = &acc.head;
            let same = h.checkpoint == r.checkpoint
                && h.variant == r.variant
                && h.split == r.split
                && h.pretrain_seed == r.pretrain_seed
                && h.step == r.step
                && h.learning_rate.to_bits() == r.learning_rate.to_bits()
                && h.finetune_seed == r.finetune_seed;
            if !same {
                return Err(invalid(
                    format!("job {}", r.job_id),
                    "rows differ in checkpoint, variant, split, seeds, step or learning rate"
                        .into(),
                ));
            }
            acc.entries.push((
                r.example_index,
                r.prediction,
                r.label,
                fingerprint(&r.example_id),
            ));
            acc.scores.extend_from_slice(&r.scores);
        }
        Ok(())
    }

    /// Checks the runs against each other and lays them out as runs × examples.
    pub fn finish(self) -> Result<UpstreamPredictions> {
        let invalid =
            |context: String, message: String| CollectorError::Invalid { context, message };
        let (Some(task), Some((ref_job, ref_examples))) = (self.task, self.reference) else {
            return Err(invalid("predictions".into(), "no rows to convert".into()));
        };
        let classes = self.classes.unwrap_or(0);
        let n = ref_examples.len();
        let mut labels = Vec::with_capacity(n);
        let mut ref_ids = Vec::with_capacity(n);
        for (i, (idx, (id, label))) in ref_examples.iter().enumerate() {
            if *idx != i as i64 {
                return Err(invalid(
                    format!("job {ref_job}"),
                    format!(
                        "example indices must be 0..{n} once each; found {idx} at position {i}"
                    ),
                ));
            }
            labels.push(*label);
            ref_ids.push((id.as_str(), fingerprint(id)));
        }
        let mut jobs: Vec<JobAcc> = self.jobs.into_values().collect();
        jobs.sort_by(|a, b| {
            let (a, b) = (&a.head, &b.head);
            a.variant
                .cmp(&b.variant)
                .then(a.pretrain_seed.cmp(&b.pretrain_seed))
                .then(a.step.cmp(&b.step))
                .then(a.checkpoint.cmp(&b.checkpoint))
                .then(a.learning_rate.total_cmp(&b.learning_rate))
                .then(a.finetune_seed.cmp(&b.finetune_seed))
                .then(a.job_id.cmp(&b.job_id))
        });
        let mut runs = Vec::with_capacity(jobs.len());
        let mut preds = vec![0.0; jobs.len() * n];
        let mut scores = vec![0.0f32; jobs.len() * n * classes];
        for (k, job) in jobs.into_iter().enumerate() {
            let head = job.head;
            let ctx = || format!("job {}", head.job_id);
            if job.entries.len() != n {
                return Err(invalid(
                    ctx(),
                    format!("{} examples, but job {ref_job} has {n}", job.entries.len()),
                ));
            }
            let mut seen = vec![false; n];
            for (e, &(idx, pred, label, id_hash)) in job.entries.iter().enumerate() {
                let i = usize::try_from(idx)
                    .ok()
                    .filter(|&i| i < n && !seen[i])
                    .ok_or_else(|| {
                        invalid(
                            ctx(),
                            format!("example indices must be 0..{n} once each; found {idx}"),
                        )
                    })?;
                seen[i] = true;
                let same_label = label == labels[i] || (label.is_nan() && labels[i].is_nan());
                if !same_label || id_hash != ref_ids[i].1 {
                    return Err(invalid(
                        ctx(),
                        format!(
                            "example {i} has label {label} and another id or label than in job \
                             {ref_job} (`{}`, label {})",
                            ref_ids[i].0, labels[i]
                        ),
                    ));
                }
                preds[k * n + i] = pred;
                scores[(k * n + i) * classes..(k * n + i + 1) * classes]
                    .copy_from_slice(&job.scores[e * classes..(e + 1) * classes]);
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
        Ok(UpstreamPredictions {
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
    let mut data = UpstreamPredictions::from_parquet(table, |_| true)?;
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
