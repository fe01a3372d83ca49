//! Readers of stored predictions: each [`LayoutReader`] reads one storage layout into the engine's
//! neutral form ([`UpstreamPredictions`]). `multiberts bootstrap` picks one per side; the
//! engine ([`crate::engine`]) never sees the layout.
//!
//! A new layout (e.g. SQuAD's per-question exact/F1, resampling questions) is one more type
//! implementing [`LayoutReader`]: read its runs, put one value per run and example into
//! `predictions` (a per-question score, analysed with the `mean` metric) and the run keys its
//! selectors need into each [`RunInfo`](multiberts_collector::upstream::RunInfo).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use multiberts_collector::upstream::{
    GoldQuestion, UpstreamPredictions, import_coref, import_glue, import_squad,
};

use crate::error::{ReportError, Result, WithContext};

/// One storage layout of predictions, read into the engine's neutral form.
pub trait LayoutReader: std::fmt::Debug {
    /// Where the predictions of `task` come from, for the report's heading.
    fn source(&self, task: Option<&str>) -> String;

    /// Reads the runs of `task` (the task asked for with `--task` or a `task=` selector; a
    /// layout holding one task may ignore it).
    fn read(&self, task: Option<&str>) -> Result<UpstreamPredictions>;

    /// The Winogender `occupations-stats.tsv` that comes with these predictions, if any (the
    /// bias metrics' default).
    fn occupation_stats(&self) -> Option<PathBuf> {
        None
    }
}

/// Our predictions Parquet (one row per run × example).
#[derive(Debug, Clone)]
pub struct ParquetLayout {
    /// The file.
    pub path: PathBuf,
}

impl LayoutReader for ParquetLayout {
    fn source(&self, _task: Option<&str>) -> String {
        self.path.display().to_string()
    }

    /// The task asked for, else the only task of the file.
    fn read(&self, task: Option<&str>) -> Result<UpstreamPredictions> {
        let path = &self.path;
        // A consolidated table is checked against the digest `collect` recorded for it.
        multiberts_collector::consolidate::check_table(path)?;
        let rows = multiberts_collector::read_predictions(path)
            .with_context(|| format!("cannot read predictions {}", path.display()))?;
        let tasks: BTreeSet<String> = rows.iter().map(|r| r.task.clone()).collect();
        let listed = || tasks.iter().cloned().collect::<Vec<_>>().join(", ");
        let task = match task {
            Some(t) => t.to_string(),
            None if tasks.len() == 1 => tasks.iter().next().cloned().unwrap_or_default(),
            None => {
                return Err(ReportError::Request(format!(
                    "{} holds several tasks ({}); choose one with --task or task=… in a selector",
                    path.display(),
                    listed()
                )));
            }
        };
        let rows: Vec<_> = rows
            .into_iter()
            .filter(|r| r.task.eq_ignore_ascii_case(&task))
            .collect();
        if rows.is_empty() {
            return Err(ReportError::Request(format!(
                "{} has no rows of task {task:?} (tasks: {})",
                path.display(),
                listed()
            )));
        }
        UpstreamPredictions::from_prediction_rows(&rows)
            .with_context(|| format!("in {}", path.display()))
    }
}

/// The upstream GLUE layout (`index.tsv`, one TSV of class scores per run, labels).
#[derive(Debug, Clone)]
pub struct GlueLayout {
    /// The layout's root.
    pub root: PathBuf,
}

impl LayoutReader for GlueLayout {
    fn source(&self, task: Option<&str>) -> String {
        format!("{} ({})", self.root.display(), task.unwrap_or_default())
    }

    fn read(&self, task: Option<&str>) -> Result<UpstreamPredictions> {
        let task = task.ok_or_else(|| {
            ReportError::Request(
                "the GLUE layout needs a task (--task, e.g. MNLI, or task=… in the selectors)"
                    .into(),
            )
        })?;
        import_glue(&self.root, task)
            .with_context(|| format!("cannot read the GLUE layout under {}", self.root.display()))
    }
}

/// The upstream SQuAD layout (`index.tsv`, one JSON of answers per run), scored against the
/// gold answers of a dev file (the examples are its questions, in file order).
#[derive(Debug, Clone)]
pub struct SquadLayout {
    /// The layout's root.
    pub root: PathBuf,
    /// The SQuAD dev file (e.g. `dev-v2.0.json`).
    pub data: PathBuf,
}

impl LayoutReader for SquadLayout {
    fn source(&self, task: Option<&str>) -> String {
        format!("{} ({})", self.root.display(), task.unwrap_or("v2.0"))
    }

    /// The runs of `task` (default `v2.0`, as upstream), every answer scored by the official
    /// rules.
    fn read(&self, task: Option<&str>) -> Result<UpstreamPredictions> {
        let dev = multiberts_tasks::squad::read_squad(&self.data)?;
        let golds: Vec<GoldQuestion> = dev
            .questions
            .into_iter()
            .map(|q| GoldQuestion {
                id: q.id,
                answers: q.answers.into_iter().map(|a| a.text).collect(),
            })
            .collect();
        import_squad(&self.root, task.unwrap_or("v2.0"), &golds)
            .with_context(|| format!("cannot read the SQuAD layout under {}", self.root.display()))
    }
}

/// The upstream coref layout (`run_info.tsv`, `label_info.tsv`, `preds.tsv` in one folder).
#[derive(Debug, Clone)]
pub struct CorefLayout {
    /// The folder.
    pub dir: PathBuf,
}

impl LayoutReader for CorefLayout {
    fn source(&self, _task: Option<&str>) -> String {
        self.dir.display().to_string()
    }

    fn read(&self, _task: Option<&str>) -> Result<UpstreamPredictions> {
        import_coref(&self.dir)
            .with_context(|| format!("cannot read the coref layout in {}", self.dir.display()))
    }

    /// An exported coref folder carries its own `occupations-stats.tsv`.
    fn occupation_stats(&self) -> Option<PathBuf> {
        Some(self.dir.join("occupations-stats.tsv")).filter(|p| p.is_file())
    }
}

/// The layout the `bootstrap` flags name: `--predictions FILE`, `--glue DIR`, `--squad DIR`
/// (with `--data DEV.json`) or `--coref DIR` (the first one given).
pub fn layout_of(
    predictions: Option<&Path>,
    glue: Option<&Path>,
    squad: Option<(&Path, &Path)>,
    coref: Option<&Path>,
) -> Result<Box<dyn LayoutReader>> {
    if let Some(path) = predictions {
        return Ok(Box::new(ParquetLayout {
            path: path.to_path_buf(),
        }));
    }
    if let Some(root) = glue {
        return Ok(Box::new(GlueLayout {
            root: root.to_path_buf(),
        }));
    }
    if let Some((root, data)) = squad {
        return Ok(Box::new(SquadLayout {
            root: root.to_path_buf(),
            data: data.to_path_buf(),
        }));
    }
    if let Some(dir) = coref {
        return Ok(Box::new(CorefLayout {
            dir: dir.to_path_buf(),
        }));
    }
    Err(ReportError::Request(
        "no predictions given: pass --predictions FILE, --glue DIR --task T, --squad DIR --data \
         DEV.json, or --coref DIR"
            .into(),
    ))
}
