//! The upstream SQuAD layout: GLUE's `index.tsv` columns with task `v2.0` (or any task name),
//! and one JSON object per run mapping question id → answer text (`""` = no answer), as the
//! predictions under `multiberts/public/example-predictions/SQuAD/` are shared.
//!
//! ```text
//! <root>/index.tsv      file task pretrain_id n_steps lr ft_seed release [extra keys…]
//! <root>/<task>/release=<r>,pretrain_id=<i>,n_steps=<s>,lr=<lr>,ft_seed=<k>.json
//! ```
//!
//! The layout holds answers only; their scores come from the gold answers of the dev file
//! ([`import_squad`] takes them), by the official script's rules
//! (`multiberts_metrics::squad::score_question`), so a reader of the layout and our span
//! tasks' Parquet (which stores the same scores) get the same numbers.

use std::collections::BTreeMap;
use std::path::Path;

use multiberts_metrics::squad::score_question;

use super::glue::{read_index, run_files, write_index};
use super::{Matrix, SpanAnswers, UpstreamPredictions};
use crate::error::{CollectorError, Result};

/// Which per-question score a span task's analysis resamples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanScore {
    /// Exact match (0 or 1).
    Exact,
    /// Token F1 (0 to 1).
    F1,
}

impl std::str::FromStr for SpanScore {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "exact" => Ok(Self::Exact),
            "f1" => Ok(Self::F1),
            other => Err(format!(
                "a SQuAD analysis is scored by `exact` or `f1`, not `{other}`"
            )),
        }
    }
}

impl UpstreamPredictions {
    /// The same runs with `score` of every answer as their predictions (the per-example values
    /// that the `mean` metric averages); an error when the runs have no answers.
    pub fn with_span_score(mut self, score: SpanScore) -> Result<Self> {
        let answers = self
            .answers
            .as_ref()
            .ok_or_else(|| CollectorError::Invalid {
                context: format!("task `{}`", self.task),
                message: "scoring answers needs a span task's predictions (no answers found)"
                    .into(),
            })?;
        self.predictions = match score {
            SpanScore::Exact => answers.exact.clone(),
            SpanScore::F1 => answers.f1.clone(),
        };
        Ok(self)
    }
}

/// Writes the answers of a span task's runs in the upstream SQuAD layout under `root`, as task
/// `task` (e.g. `v2.0`): the run files first, `index.tsv` last (rows of other tasks are kept).
pub fn export_squad(root: &Path, task: &str, data: &UpstreamPredictions) -> Result<()> {
    let answers = data
        .answers
        .as_ref()
        .ok_or_else(|| CollectorError::Invalid {
            context: format!("SQuAD export of `{task}`"),
            message: "the runs have no answers (not a span task)".into(),
        })?;
    let (files, index_rows) = run_files(task, &data.runs, "json", "SQuAD")?;
    let dir = root.join(task);
    std::fs::create_dir_all(&dir).map_err(crate::error::io_err(&dir))?;
    for (r, file) in files.iter().enumerate() {
        let map: serde_json::Map<String, serde_json::Value> = answers
            .ids
            .iter()
            .zip(answers.text.row(r))
            .map(|(id, text)| (id.clone(), serde_json::Value::String(text.clone())))
            .collect();
        crate::atomic::write_json(&root.join(file), &map)?;
    }
    write_index(root, task, index_rows)
}

/// Reads a span task's consolidated predictions Parquet and writes it in the SQuAD layout
/// under `root` as task `task`. Returns what was written.
pub fn export_squad_from_parquet(
    table: &Path,
    root: &Path,
    task: &str,
) -> Result<UpstreamPredictions> {
    let data = UpstreamPredictions::from_parquet(table, |_| true)?;
    export_squad(root, task, &data)?;
    Ok(data)
}

/// One question of the dev file, as the importer needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct GoldQuestion {
    /// The question id.
    pub id: String,
    /// Its gold answer texts (none for an unanswerable question).
    pub answers: Vec<String>,
}

/// Reads the runs of `task` in the SQuAD layout under `root` and scores every answer against
/// `questions` (the dev file's, in file order, which becomes the example order). Every run
/// must answer exactly these questions; errors name the run file and the question.
pub fn import_squad(
    root: &Path,
    task: &str,
    questions: &[GoldQuestion],
) -> Result<UpstreamPredictions> {
    let (index_path, selected) = read_index(root, task, |_| true)?;
    let n = questions.len();
    let order: BTreeMap<&str, usize> = questions
        .iter()
        .enumerate()
        .map(|(i, q)| (q.id.as_str(), i))
        .collect();
    let (mut text, mut exact, mut f1) = (Vec::new(), Vec::new(), Vec::new());
    let mut runs = Vec::with_capacity(selected.len());
    for (line, file, run) in selected {
        let path = root.join(&file);
        if !path.is_file() {
            return Err(CollectorError::Malformed {
                path: index_path.clone(),
                line,
                message: format!("run file `{}` does not exist", path.display()),
            });
        }
        let answers = read_answers(&path, &order)?;
        for (q, answer) in questions.iter().zip(answers) {
            let s = score_question(&q.answers, &answer);
            exact.push(s.exact);
            f1.push(s.f1);
            text.push(answer);
        }
        runs.push(run);
    }
    let shape = || CollectorError::Invalid {
        context: root.display().to_string(),
        message: "internal shape error".into(),
    };
    let r = runs.len();
    let labels = questions
        .iter()
        .map(|q| f64::from(u8::from(!q.answers.is_empty())))
        .collect();
    let answered: Vec<f64> = text
        .iter()
        .map(|t: &String| f64::from(u8::from(!t.is_empty())))
        .collect();
    Ok(UpstreamPredictions {
        task: task.to_string(),
        runs,
        labels,
        predictions: Matrix::from_vec(r, n, answered).ok_or_else(shape)?,
        scores: None,
        coref_examples: None,
        answers: Some(SpanAnswers {
            ids: questions.iter().map(|q| q.id.clone()).collect(),
            text: Matrix::from_vec(r, n, text).ok_or_else(shape)?,
            exact: Matrix::from_vec(r, n, exact).ok_or_else(shape)?,
            f1: Matrix::from_vec(r, n, f1).ok_or_else(shape)?,
        }),
    })
}

/// One run file's answers in question order: a JSON object with a string for every question
/// of `order` and no other key.
fn read_answers(path: &Path, order: &BTreeMap<&str, usize>) -> Result<Vec<String>> {
    let bad = |message: String| CollectorError::Mismatch {
        path: path.to_path_buf(),
        message,
    };
    let map: BTreeMap<String, serde_json::Value> = crate::atomic::read_json(path)?;
    let mut out = vec![None; order.len()];
    for (id, value) in map {
        let &i = order
            .get(id.as_str())
            .ok_or_else(|| bad(format!("question `{id}` is not in the dev file")))?;
        let serde_json::Value::String(text) = value else {
            return Err(bad(format!(
                "the answer to `{id}` is {value}, expected a string (\"\" for no answer)"
            )));
        };
        out[i] = Some(text);
    }
    let missing = out.iter().filter(|a| a.is_none()).count();
    if missing > 0 {
        let (id, _) = order
            .iter()
            .find(|&(_, &i)| out[i].is_none())
            .unwrap_or((&"", &0));
        return Err(bad(format!(
            "{missing} of the dev file's {} questions have no answer (first: `{id}`); a run \
             answers every question, \"\" for no answer",
            order.len()
        )));
    }
    Ok(out.into_iter().flatten().collect())
}
