//! Our predictions rows → the neutral runs × examples form (and on to the GLUE layout).

use std::collections::{BTreeMap, HashMap};

use super::{
    ClassScores, Matrix, RunInfo, SpanAnswers, UpstreamPredictions, export_glue, format_steps,
};
use crate::error::{CollectorError, Result};
use crate::predictions::PredictionRow;

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
    /// Span tasks: each entry's answer, in arrival order.
    answers: Vec<Option<crate::AnswerColumns>>,
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
                answers: Vec::new(),
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
            acc.answers.push(r.answer.clone());
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
        let with_answers = jobs.iter().any(|j| j.answers.iter().any(Option::is_some));
        let mut answers = SpanCells::new(with_answers, jobs.len() * n);
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
                answers
                    .set(k * n + i, job.answers[e].as_ref())
                    .map_err(|m| invalid(ctx(), format!("example {i}: {m}")))?;
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
            answers: answers
                .finish(
                    n_runs,
                    ref_ids.iter().map(|(id, _)| id.to_string()).collect(),
                )
                .map(|a| a.ok_or_else(internal))
                .transpose()?,
        })
    }
}

/// The answer cells (runs × questions, row-major) of a span task's runs while they are laid
/// out; holds nothing for other tasks.
#[derive(Debug)]
pub struct SpanCells(Option<(Vec<String>, Vec<f64>, Vec<f64>)>);

impl SpanCells {
    /// `cells` empty cells when the rows have answers, else none.
    pub fn new(with_answers: bool, cells: usize) -> Self {
        Self(with_answers.then(|| {
            (
                vec![String::new(); cells],
                vec![0.0; cells],
                vec![0.0; cells],
            )
        }))
    }

    /// Sets one cell; every row of a span task has an answer.
    pub fn set(
        &mut self,
        cell: usize,
        answer: Option<&crate::AnswerColumns>,
    ) -> std::result::Result<(), String> {
        match (&mut self.0, answer) {
            (None, None) => Ok(()),
            (Some((text, exact, f1)), Some(a)) => {
                text[cell] = a.text.clone();
                exact[cell] = a.exact;
                f1[cell] = a.f1;
                Ok(())
            }
            (Some(_), None) => Err("has no answer, but other rows of the table do".into()),
            (None, Some(_)) => Err("has an answer, but other rows of the table do not".into()),
        }
    }

    /// The answers as matrices (`None` for a task without answers; `Some(None)` on a shape
    /// error, a bug).
    pub fn finish(self, runs: usize, ids: Vec<String>) -> Option<Option<SpanAnswers>> {
        let (text, exact, f1) = self.0?;
        let n = ids.len();
        Some((|| {
            Some(SpanAnswers {
                ids,
                text: Matrix::from_vec(runs, n, text)?,
                exact: Matrix::from_vec(runs, n, exact)?,
                f1: Matrix::from_vec(runs, n, f1)?,
            })
        })())
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
