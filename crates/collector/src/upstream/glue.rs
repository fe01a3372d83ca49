//! The upstream GLUE layout: `index.tsv`, one TSV of class scores per run, `<TASK>_dev_labels`.
//!
//! ```text
//! <root>/index.tsv                 file task pretrain_id n_steps lr ft_seed release [extra keys…]
//! <root>/<TASK>_dev_labels         one label per line (int; float for regression)
//! <root>/<TASK>/release=<r>,pretrain_id=<i>,n_steps=<s>,lr=<lr>,ft_seed=<k>.tsv
//!                                  one row per dev example, tab-separated class scores
//!                                  (one column for regression)
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::text::{self, Sep};
use super::{ClassScores, Matrix, RunInfo, UpstreamPredictions, format_number, python_float};
use crate::error::{CollectorError, Result, io_err};

/// The columns of `index.tsv` the notebooks rely on, in their order.
pub const INDEX_COLUMNS: [&str; 7] = [
    "file",
    "task",
    "pretrain_id",
    "n_steps",
    "lr",
    "ft_seed",
    "release",
];

/// One run listed in `index.tsv`: its line, its file (relative to the layout's root) and
/// what the row says about it.
pub(crate) type IndexedRun = (u64, String, RunInfo);

/// One `index.tsv` row: column name → value.
pub(crate) type IndexRow = BTreeMap<String, String>;

/// The labels file of a task: `<root>/<TASK>_dev_labels`.
pub fn labels_path(root: &Path, task: &str) -> PathBuf {
    root.join(format!("{task}_dev_labels"))
}

/// The runs of `task` in `<root>/index.tsv` that `keep` accepts: (line, file, run), and the
/// index's path. An index that does not list the task at all is an error naming the tasks it
/// lists.
pub(crate) fn read_index(
    root: &Path,
    task: &str,
    keep: impl Fn(&RunInfo) -> bool,
) -> Result<(PathBuf, Vec<IndexedRun>)> {
    let index_path = root.join("index.tsv");
    let table = text::read_table(&index_path)?;
    let cols: Vec<usize> = INDEX_COLUMNS[..6]
        .iter()
        .map(|c| table.column(&index_path, c))
        .collect::<Result<_>>()?;
    let (c_file, c_task, c_pid, c_steps, c_lr, c_ft) =
        (cols[0], cols[1], cols[2], cols[3], cols[4], cols[5]);
    let typed: BTreeSet<usize> = cols.iter().copied().collect();
    let mut tasks_seen = BTreeSet::new();
    let mut selected: Vec<IndexedRun> = Vec::new();
    for (line, row) in &table.rows {
        tasks_seen.insert(row[c_task].clone());
        if row[c_task] != task {
            continue;
        }
        let bad = |col: &str, value: &str, expected: &str| CollectorError::Malformed {
            path: index_path.clone(),
            line: *line,
            message: format!("`{col}` is `{value}`, expected {expected}"),
        };
        let missing = |s: &str| s.is_empty() || s == "NA" || s == "nan";
        let pretrain_seed = text::parse_int(&row[c_pid]);
        let mut keys = BTreeMap::new();
        if pretrain_seed.is_none() && !missing(&row[c_pid]) {
            keys.insert("pretrain_id".to_string(), row[c_pid].clone());
        }
        let finetune_seed =
            text::parse_int(&row[c_ft]).ok_or_else(|| bad("ft_seed", &row[c_ft], "an integer"))?;
        let learning_rate =
            text::parse_f64(&row[c_lr]).ok_or_else(|| bad("lr", &row[c_lr], "a number"))?;
        let step = (!missing(&row[c_steps])).then(|| row[c_steps].clone());
        for (i, name) in table.header.iter().enumerate() {
            // Empty cells are absent keys (other tasks' extra columns).
            if !typed.contains(&i) && !name.is_empty() && !row[i].is_empty() {
                keys.insert(name.clone(), row[i].clone());
            }
        }
        let run = RunInfo {
            pretrain_seed,
            finetune_seed: Some(finetune_seed),
            learning_rate: Some(learning_rate),
            step,
            keys,
        };
        if keep(&run) {
            selected.push((*line, row[c_file].clone(), run));
        }
    }
    if !tasks_seen.contains(task) {
        return Err(CollectorError::Invalid {
            context: index_path.display().to_string(),
            message: format!(
                "no runs of task `{task}` (tasks listed: {})",
                tasks_seen.into_iter().collect::<Vec<_>>().join(", ")
            ),
        });
    }

    Ok((index_path, selected))
}

/// Reads every run of `task` listed in `<root>/index.tsv`, with its labels and scores.
pub fn import_glue(root: &Path, task: &str) -> Result<UpstreamPredictions> {
    import_glue_where(root, task, |_| true)
}

/// Like [`import_glue`], reading only the runs `keep` accepts (e.g. `release == multiberts`),
/// so unwanted run files are never opened.
pub fn import_glue_where(
    root: &Path,
    task: &str,
    keep: impl Fn(&RunInfo) -> bool,
) -> Result<UpstreamPredictions> {
    // It names `<root>/<task>_dev_labels`: one component, never a path out of `root`.
    crate::tree::component("task", task)?;
    let (index_path, selected) = read_index(root, task, keep)?;
    let labels_file = labels_path(root, task);
    let (labels, n_labels, label_width) =
        text::read_numeric(&labels_file, Sep::Whitespace, text::parse_f64)?;
    if label_width > 1 {
        return Err(CollectorError::Malformed {
            path: labels_file,
            line: 1,
            message: format!("{label_width} fields per line, expected one label per line"),
        });
    }

    let mut runs = Vec::with_capacity(selected.len());
    let mut preds = Vec::with_capacity(selected.len() * n_labels);
    let mut scores = Vec::new();
    let mut classes: Option<(usize, PathBuf)> = None;
    for (line, file, run) in selected {
        let path = root.join(&file);
        if !path.is_file() {
            return Err(CollectorError::Malformed {
                path: index_path.clone(),
                line,
                message: format!("run file `{}` does not exist", path.display()),
            });
        }
        let (values, n_rows, width) =
            text::read_numeric(&path, Sep::Tab, |s| s.parse::<f64>().ok())?;
        if n_rows != n_labels {
            return Err(CollectorError::Mismatch {
                path,
                message: format!(
                    "{n_rows} prediction rows, but {} has {n_labels} labels",
                    labels_file.display()
                ),
            });
        }
        match &classes {
            None => classes = Some((width, path.clone())),
            Some((w, first)) if *w != width => {
                return Err(CollectorError::Mismatch {
                    path,
                    message: format!("{width} score columns, but {} has {w}", first.display()),
                });
            }
            Some(_) => {}
        }
        for row in values.chunks(width.max(1)) {
            if width == 1 {
                preds.push(row[0]);
                scores.push(row[0] as f32);
            } else {
                // The argmax is taken on the values as read (f64, as the reference notebooks
                // read them), so near-ties break as there; first maximum wins, NaN counts as
                // the maximum (numpy's argmax). Scores are kept as f32 (our Parquet's
                // precision).
                scores.extend(row.iter().map(|&v| v as f32));
                preds.push(argmax(row) as f64);
            }
        }
        runs.push(run);
    }
    let n_runs = runs.len();
    let width = classes.map_or(0, |c| c.0);
    let shape_err = || CollectorError::Invalid {
        context: root.display().to_string(),
        message: "internal shape error".into(),
    };
    Ok(UpstreamPredictions {
        task: task.to_string(),
        runs,
        labels,
        predictions: Matrix::from_vec(n_runs, n_labels, preds).ok_or_else(shape_err)?,
        scores: Some(ClassScores::from_vec(n_runs, n_labels, width, scores).ok_or_else(shape_err)?),
        coref_examples: None,
        answers: None,
    })
}

/// Index of the first maximum; a NaN counts as the maximum, as in numpy.
fn argmax(xs: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in xs.iter().enumerate() {
        if x.is_nan() {
            return i;
        }
        if x > xs[best] {
            best = i;
        }
    }
    best
}

/// Writes `data` in the GLUE layout under `root`: one run file per run, the labels file, and
/// `index.tsv` last (so the index never lists a file that is not written). Rows of other
/// tasks already in `index.tsv` are kept; those of this task are replaced. Extra run keys become
/// extra `index.tsv` columns. Needs class scores, a learning rate and a fine-tuning seed per
/// run, and a pre-training id (seed, or `pretrain_id` key); file names must be unique.
pub fn export_glue(root: &Path, data: &UpstreamPredictions) -> Result<()> {
    let task = data.task.as_str();
    crate::tree::component("task", task)?;
    let scores = data
        .scores
        .as_ref()
        .ok_or_else(|| CollectorError::Invalid {
            context: format!("GLUE export of `{task}`"),
            message: "class scores are required (the coref layout has none)".into(),
        })?;
    let n = data.labels.len();
    if scores.runs() != data.runs.len()
        || scores.examples() != n
        || data.predictions.rows() != data.runs.len()
    {
        return Err(CollectorError::Invalid {
            context: format!("GLUE export of `{task}`"),
            message: format!(
                "{} runs and {n} labels, but scores are {}×{} and predictions {}×{}",
                data.runs.len(),
                scores.runs(),
                scores.examples(),
                data.predictions.rows(),
                data.predictions.cols()
            ),
        });
    }
    std::fs::create_dir_all(root.join(task)).map_err(io_err(root.join(task)))?;

    let (files, index_rows) = run_files(task, &data.runs, "tsv", "GLUE")?;
    for (r, file) in files.iter().enumerate() {
        let lines = (0..n).map(|e| {
            if scores.classes() == 1 {
                format_number(data.predictions.row(r)[e])
            } else {
                scores
                    .get(r, e)
                    .iter()
                    .map(|v| format!("{v}"))
                    .collect::<Vec<_>>()
                    .join("\t")
            }
        });
        text::write_lines(&root.join(file), lines)?;
    }
    text::write_lines(
        &labels_path(root, task),
        data.labels.iter().map(|&l| format_number(l)),
    )?;

    write_index(root, task, index_rows)
}

/// One file name and `index.tsv` row per run of `task`:
/// `<task>/release=…,pretrain_id=…,n_steps=…,lr=…,ft_seed=….<extension>`, the upstream
/// naming (`layout` names the layout in errors). Needs a learning rate, a fine-tuning seed and
/// a pre-training id (seed, or `pretrain_id` key) per run; names must be unique.
pub(crate) fn run_files(
    task: &str,
    runs: &[RunInfo],
    extension: &str,
    layout: &str,
) -> Result<(Vec<String>, Vec<IndexRow>)> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut index_rows: Vec<IndexRow> = Vec::with_capacity(runs.len());
    let mut files = Vec::with_capacity(runs.len());
    for (r, run) in runs.iter().enumerate() {
        let ctx = format!("{layout} export of `{task}`, run {r}");
        let need = |what: &str| CollectorError::Invalid {
            context: ctx.clone(),
            message: format!("{what} is required for the {layout} file name"),
        };
        let release = run
            .keys
            .get("release")
            .cloned()
            .unwrap_or_else(|| "multiberts".into());
        let pretrain_id = run
            .get("pretrain_id")
            .ok_or_else(|| need("a pre-training seed or `pretrain_id` key"))?;
        let n_steps = run.step.clone().unwrap_or_else(|| "NA".into());
        let lr = python_float(run.learning_rate.ok_or_else(|| need("a learning rate"))?);
        let ft_seed = run
            .finetune_seed
            .ok_or_else(|| need("a fine-tuning seed"))?
            .to_string();
        for (what, v) in [
            ("release", &release),
            ("pretrain_id", &pretrain_id),
            ("n_steps", &n_steps),
        ] {
            if v.is_empty() || v.contains(['/', '\\', ',', '=', '\t', '\n', '\r']) {
                return Err(CollectorError::Invalid {
                    context: ctx,
                    message: format!("{what} `{v}` cannot be part of a {layout} file name"),
                });
            }
        }
        let file = format!(
            "{task}/release={release},pretrain_id={pretrain_id},n_steps={n_steps},lr={lr},ft_seed={ft_seed}.{extension}"
        );
        if let Some(prev) = seen.insert(file.clone(), r) {
            return Err(CollectorError::Invalid {
                context: ctx,
                message: format!(
                    "runs {prev} and {r} both map to `{file}`; give them distinct `release` keys"
                ),
            });
        }
        let mut row = BTreeMap::new();
        row.insert("file".to_string(), file.clone());
        row.insert("task".to_string(), task.to_string());
        row.insert("pretrain_id".to_string(), pretrain_id);
        row.insert("n_steps".to_string(), n_steps);
        row.insert("lr".to_string(), lr);
        row.insert("ft_seed".to_string(), ft_seed);
        for (k, v) in &run.keys {
            if k != "pretrain_id" {
                row.insert(k.clone(), v.clone());
            }
        }
        row.insert("release".to_string(), release);
        index_rows.push(row);
        files.push(file);
    }
    Ok((files, index_rows))
}

/// Writes `<root>/index.tsv` with `index_rows` as the rows of `task`: rows of other tasks
/// already there are kept, this task's are replaced; extra run keys become extra columns.
pub(crate) fn write_index(root: &Path, task: &str, index_rows: Vec<IndexRow>) -> Result<()> {
    // Keep other tasks' rows of an existing index.
    let index_path = root.join("index.tsv");
    let mut all_rows: Vec<BTreeMap<String, String>> = Vec::new();
    if index_path.is_file() {
        let old = text::read_table(&index_path)?;
        let c_task = old.column(&index_path, "task")?;
        for (_, row) in old.rows {
            if row[c_task] != task {
                all_rows.push(old.header.iter().cloned().zip(row).collect());
            }
        }
    }
    all_rows.extend(index_rows);
    let mut header: Vec<String> = INDEX_COLUMNS.iter().map(|s| s.to_string()).collect();
    let extra: BTreeSet<&String> = all_rows
        .iter()
        .flat_map(|r| r.keys())
        .filter(|k| !INDEX_COLUMNS.contains(&k.as_str()) && !k.is_empty())
        .collect();
    header.extend(extra.into_iter().cloned());
    let rows: Vec<Vec<String>> = all_rows
        .iter()
        .map(|r| {
            header
                .iter()
                .map(|h| r.get(h).cloned().unwrap_or_default())
                .collect()
        })
        .collect();
    text::write_table(&index_path, &header, &rows)
}
