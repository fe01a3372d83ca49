//! The upstream coreference layout (one folder per group of runs):
//!
//! ```text
//! run_info.tsv    index column, pretrain_seed, finetune_seed [, learning_rate, step, extra keys…]
//! label_info.tsv  index column, gender, pronoun_type, answer, occupation, other_participant,
//!                 someone (True/False), template_idx — one row per Winogender sentence
//! preds.tsv       whitespace-separated matrix, runs × sentences, the predicted referent
//!                 (0 = occupation, 1 = other participant); rows align with run_info.tsv
//! ```
//!
//! The index column is the unnamed first column pandas writes (`index_col=0` on read).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::text::{self, Sep};
use super::{CorefExample, Matrix, RunInfo, UpstreamPredictions, format_number, python_float};
use crate::error::{CollectorError, Result, io_err};

/// The columns of `label_info.tsv` after the index column, in the upstream order.
pub const LABEL_COLUMNS: [&str; 7] = [
    "gender",
    "pronoun_type",
    "answer",
    "occupation",
    "other_participant",
    "someone",
    "template_idx",
];

/// Reads `run_info.tsv`, `label_info.tsv` and `preds.tsv` from `dir`. The task is `coref`;
/// labels are the `answer` column; there are no class scores.
pub fn import_coref(dir: &Path) -> Result<UpstreamPredictions> {
    let runs = read_run_info(&dir.join("run_info.tsv"))?;
    let examples = read_label_info(&dir.join("label_info.tsv"))?;
    let preds_path = dir.join("preds.tsv");
    let (values, rows, cols) = text::read_numeric(&preds_path, Sep::Whitespace, text::parse_f64)?;
    if rows != runs.len() {
        return Err(CollectorError::Mismatch {
            path: preds_path,
            message: format!(
                "{rows} rows of predictions, but run_info.tsv lists {} runs",
                runs.len()
            ),
        });
    }
    if rows > 0 && cols != examples.len() {
        return Err(CollectorError::Mismatch {
            path: preds_path,
            message: format!(
                "{cols} predictions per row, but label_info.tsv has {} examples",
                examples.len()
            ),
        });
    }
    let labels = examples.iter().map(|e| e.answer as f64).collect();
    let n = examples.len();
    let predictions = Matrix::from_vec(rows, n, values).ok_or_else(|| CollectorError::Invalid {
        context: dir.display().to_string(),
        message: "internal shape error".into(),
    })?;
    Ok(UpstreamPredictions {
        task: "coref".into(),
        runs,
        labels,
        predictions,
        scores: None,
        coref_examples: Some(examples),
        answers: None,
    })
}

fn is_index_header(h: &str) -> bool {
    h.is_empty() || h.starts_with("Unnamed")
}

fn read_run_info(path: &Path) -> Result<Vec<RunInfo>> {
    let table = text::read_table(path)?;
    let c_pre = table.column(path, "pretrain_seed")?;
    let c_ft = table.column(path, "finetune_seed")?;
    let c_lr = table
        .header
        .iter()
        .position(|h| h == "learning_rate" || h == "lr");
    let c_step = table
        .header
        .iter()
        .position(|h| h == "step" || h == "n_steps");
    let typed: BTreeSet<usize> = [Some(c_pre), Some(c_ft), c_lr, c_step]
        .into_iter()
        .flatten()
        .collect();
    let mut runs = Vec::with_capacity(table.rows.len());
    for (line, row) in &table.rows {
        let int = |c: usize, name: &str| {
            text::parse_int(&row[c]).ok_or_else(|| CollectorError::Malformed {
                path: path.to_path_buf(),
                line: *line,
                message: format!("`{name}` is `{}`, expected an integer", row[c]),
            })
        };
        let learning_rate =
            match c_lr {
                Some(c) if !row[c].is_empty() => Some(text::parse_f64(&row[c]).ok_or_else(
                    || CollectorError::Malformed {
                        path: path.to_path_buf(),
                        line: *line,
                        message: format!(
                            "`{}` is `{}`, expected a number",
                            table.header[c], row[c]
                        ),
                    },
                )?),
                _ => None,
            };
        let mut keys = BTreeMap::new();
        for (i, name) in table.header.iter().enumerate() {
            if i == 0 && is_index_header(name) {
                continue;
            }
            if !typed.contains(&i) && !row[i].is_empty() {
                keys.insert(name.clone(), row[i].clone());
            }
        }
        runs.push(RunInfo {
            pretrain_seed: Some(int(c_pre, "pretrain_seed")?),
            finetune_seed: Some(int(c_ft, "finetune_seed")?),
            learning_rate,
            step: c_step.map(|c| row[c].clone()).filter(|s| !s.is_empty()),
            keys,
        });
    }
    Ok(runs)
}

fn read_label_info(path: &Path) -> Result<Vec<CorefExample>> {
    let table = text::read_table(path)?;
    let cols: Vec<usize> = LABEL_COLUMNS
        .iter()
        .map(|c| table.column(path, c))
        .collect::<Result<_>>()?;
    let mut out = Vec::with_capacity(table.rows.len());
    for (line, row) in &table.rows {
        let bad = |k: usize, expected: &str| CollectorError::Malformed {
            path: path.to_path_buf(),
            line: *line,
            message: format!(
                "`{}` is `{}`, expected {expected}",
                LABEL_COLUMNS[k], row[cols[k]]
            ),
        };
        let someone = match row[cols[5]].as_str() {
            "True" | "true" | "1" => true,
            "False" | "false" | "0" => false,
            _ => return Err(bad(5, "True or False")),
        };
        out.push(CorefExample {
            gender: row[cols[0]].clone(),
            pronoun_type: row[cols[1]].clone(),
            answer: text::parse_int(&row[cols[2]]).ok_or_else(|| bad(2, "an integer"))?,
            occupation: row[cols[3]].clone(),
            other_participant: row[cols[4]].clone(),
            someone,
            template_idx: text::parse_int(&row[cols[6]]).ok_or_else(|| bad(6, "an integer"))?,
        });
    }
    Ok(out)
}

/// Writes `data` in the coref layout into `dir` (created if needed). Needs the per-example
/// Winogender metadata (`coref_examples`), whose answers must equal the labels. Runs need
/// pre-training and fine-tuning seeds; learning rate, step and extra keys become extra
/// `run_info.tsv` columns. `preds.tsv` is written last.
pub fn export_coref(dir: &Path, data: &UpstreamPredictions) -> Result<()> {
    let ctx = || format!("coref export to {}", dir.display());
    let invalid = |message: String| CollectorError::Invalid {
        context: ctx(),
        message,
    };
    let examples = data.coref_examples.as_ref().ok_or_else(|| {
        invalid("per-example Winogender metadata (coref_examples) is required".into())
    })?;
    if examples.len() != data.labels.len() || data.predictions.cols() != examples.len() {
        return Err(invalid(format!(
            "{} examples of metadata, {} labels and {} prediction columns must agree",
            examples.len(),
            data.labels.len(),
            data.predictions.cols()
        )));
    }
    if data.predictions.rows() != data.runs.len() {
        return Err(invalid(format!(
            "{} runs but {} prediction rows",
            data.runs.len(),
            data.predictions.rows()
        )));
    }
    for (i, (e, &l)) in examples.iter().zip(&data.labels).enumerate() {
        if e.answer as f64 != l {
            return Err(invalid(format!(
                "example {i}: answer {} differs from label {l}",
                e.answer
            )));
        }
    }
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;

    let any_lr = data.runs.iter().any(|r| r.learning_rate.is_some());
    let any_step = data.runs.iter().any(|r| r.step.is_some());
    let extra: BTreeSet<&String> = data.runs.iter().flat_map(|r| r.keys.keys()).collect();
    let mut header = vec![
        String::new(),
        "pretrain_seed".into(),
        "finetune_seed".into(),
    ];
    if any_lr {
        header.push("learning_rate".into());
    }
    if any_step {
        header.push("step".into());
    }
    header.extend(extra.iter().map(|k| k.to_string()));
    let mut rows = Vec::with_capacity(data.runs.len());
    for (r, run) in data.runs.iter().enumerate() {
        let seed = |v: Option<i64>, what: &str| {
            v.map(|s| s.to_string())
                .ok_or_else(|| invalid(format!("run {r} has no {what}")))
        };
        let mut row = vec![
            r.to_string(),
            seed(run.pretrain_seed, "pre-training seed")?,
            seed(run.finetune_seed, "fine-tuning seed")?,
        ];
        if any_lr {
            row.push(run.learning_rate.map(python_float).unwrap_or_default());
        }
        if any_step {
            row.push(run.step.clone().unwrap_or_default());
        }
        row.extend(
            extra
                .iter()
                .map(|k| run.keys.get(*k).cloned().unwrap_or_default()),
        );
        rows.push(row);
    }
    text::write_table(&dir.join("run_info.tsv"), &header, &rows)?;

    let mut label_header = vec![String::new()];
    label_header.extend(LABEL_COLUMNS.iter().map(|s| s.to_string()));
    let label_rows: Vec<Vec<String>> = examples
        .iter()
        .enumerate()
        .map(|(i, e)| {
            vec![
                i.to_string(),
                e.gender.clone(),
                e.pronoun_type.clone(),
                e.answer.to_string(),
                e.occupation.clone(),
                e.other_participant.clone(),
                if e.someone { "True" } else { "False" }.to_string(),
                e.template_idx.to_string(),
            ]
        })
        .collect();
    text::write_table(&dir.join("label_info.tsv"), &label_header, &label_rows)?;

    let lines = (0..data.runs.len()).map(|r| {
        data.predictions
            .row(r)
            .iter()
            .map(|&v| format_number(v))
            .collect::<Vec<_>>()
            .join("\t")
    });
    text::write_lines(&dir.join("preds.tsv"), lines)
}
