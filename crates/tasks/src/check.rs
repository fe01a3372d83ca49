//! `multiberts data check`: is each split of a task present and well-formed, how many
//! examples does it hold and how are its labels distributed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::{
    DataFormat, Label, SplitData, SplitSource, TaskError, TaskKind, TaskRegistry, TaskSpec,
};

/// The outcome of checking one split (or, with split `-`, a whole task whose data is missing).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitCheck {
    /// The task.
    pub task: String,
    /// The split (`-` when the task has no data at all).
    pub split: String,
    /// `ok`, `missing` or `error` (a malformed file).
    pub status: &'static str,
    /// The source format read (when read).
    pub format: Option<String>,
    /// Examples read.
    pub examples: Option<usize>,
    /// The label distribution ([`label_summary`]).
    pub labels: Option<String>,
    /// The files read, relative to the data root.
    pub files: Vec<String>,
    /// Why the split is missing or malformed.
    pub error: Option<String>,
}

/// Checks every split of `spec`'s first source present under `root` (without a root, only
/// generated tasks can be checked).
pub fn check_task(spec: &TaskSpec, root: Option<&Path>) -> Vec<SplitCheck> {
    let report = |split: &str, status, error: Option<String>| SplitCheck {
        task: spec.name.to_string(),
        split: split.to_string(),
        status,
        format: None,
        examples: None,
        labels: None,
        files: Vec::new(),
        error,
    };
    let synthetic_root = PathBuf::from(".");
    let root = match root {
        Some(r) => r,
        None if spec
            .sources
            .iter()
            .any(|s| s.format == DataFormat::Synthetic) =>
        {
            &synthetic_root
        }
        None => {
            return vec![report(
                "-",
                "missing",
                Some("no data root: pass --data-dir DIR or set MULTIBERTS_DATA".to_string()),
            )];
        }
    };
    let source = match spec.resolve_source(root) {
        Ok(source) => source,
        Err(e) => return vec![report("-", "missing", Some(e.to_string()))],
    };
    let mut out = Vec::new();
    for split in source.splits.keys() {
        let files_exist = match &source.splits[split] {
            SplitSource::Files(files) => files.iter().all(|f| root.join(f).is_file()),
            SplitSource::Generated(_) => true,
        };
        if !files_exist {
            out.push(report(split, "missing", Some("file not found".to_string())));
            continue;
        }
        match spec.load_split_from(source, root, split) {
            Ok(data) => out.push(SplitCheck {
                task: spec.name.to_string(),
                split: split.clone(),
                status: "ok",
                format: Some(data.format.to_string()),
                examples: Some(data.examples.len()),
                labels: Some(label_summary(spec, &data)),
                files: data.files.iter().map(|f| f.path.clone()).collect(),
                error: None,
            }),
            Err(e) => out.push(report(split, "error", Some(e.to_string()))),
        }
    }
    out
}

/// A `multiberts data check`: every split of the tasks asked for, checked.
#[derive(Debug, Clone)]
pub struct DataCheck {
    /// One outcome per split (or per task without data), task by task.
    pub reports: Vec<SplitCheck>,
    /// Whether the tasks were named (`--task`): then a task without data is an error too.
    pub explicit: bool,
}

/// Why a data check fails, once its table is printed.
#[derive(Debug, thiserror::Error)]
pub enum CheckFailed {
    /// Files that did not read.
    #[error("{0} data file(s) are malformed (see the errors above)")]
    Malformed(usize),
    /// Tasks named on the command line without data.
    #[error("no data found for {}", .0.join(", "))]
    Missing(Vec<String>),
}

impl DataCheck {
    /// Checks the tasks `asked` (`--task`), else `manifest_tasks`, else every task of
    /// `registry`, under `root`; an unknown name is an error.
    pub fn run(
        registry: &TaskRegistry,
        asked: &[String],
        manifest_tasks: Option<&[String]>,
        root: Option<&Path>,
    ) -> Result<DataCheck, TaskError> {
        let names = if !asked.is_empty() {
            asked.to_vec()
        } else if let Some(names) = manifest_tasks {
            names.to_vec()
        } else {
            registry.names()
        };
        let mut reports = Vec::new();
        for name in &names {
            reports.extend(check_task(registry.get(name)?, root));
        }
        Ok(DataCheck {
            reports,
            explicit: !asked.is_empty(),
        })
    }

    /// Ok unless a file is malformed or a task named on the command line has no data.
    pub fn verdict(&self) -> Result<(), CheckFailed> {
        let failed = self.reports.iter().filter(|r| r.status == "error").count();
        if failed > 0 {
            return Err(CheckFailed::Malformed(failed));
        }
        let missing: Vec<String> = self
            .reports
            .iter()
            .filter(|r| r.status == "missing")
            .map(|r| r.task.clone())
            .collect();
        if self.explicit && !missing.is_empty() {
            return Err(CheckFailed::Missing(missing));
        }
        Ok(())
    }
}

/// "0: 428 (49.1%), 1: 444 (50.9%)" (with "; N choice items" for choice tasks) or, for
/// regression, "mean 2.360, min 0, max 5".
pub fn label_summary(spec: &TaskSpec, data: &SplitData) -> String {
    let n = data.examples.len().max(1) as f64;
    if spec.kind == TaskKind::Regression {
        let values: Vec<f64> = data.examples.iter().map(|e| e.label.as_f64()).collect();
        let mean = values.iter().sum::<f64>() / n;
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        return format!("mean {mean:.3}, min {min}, max {max}");
    }
    if spec.kind == TaskKind::Span {
        // Questions with a gold answer are labelled 1, unanswerable ones 0.
        let answerable = data
            .examples
            .iter()
            .filter(|e| e.label.as_f64() == 1.0)
            .count();
        return format!(
            "{answerable} answerable, {} unanswerable",
            data.examples.len() - answerable
        );
    }
    let mut counts = vec![0usize; spec.labels.len()];
    for e in &data.examples {
        if let Label::Class(c) = e.label
            && let Some(slot) = counts.get_mut(c)
        {
            *slot += 1;
        }
    }
    let mut summary = spec
        .labels
        .iter()
        .zip(&counts)
        .map(|(l, &c)| format!("{l}: {c} ({:.1}%)", 100.0 * c as f64 / n))
        .collect::<Vec<_>>()
        .join(", ");
    // Choice tasks (Winogender, WinoBias) are scored per item, so say how many there are.
    let items: BTreeSet<&str> = data
        .examples
        .iter()
        .filter_map(|e| e.choice.as_ref().map(|c| c.group.as_str()))
        .collect();
    if !items.is_empty() {
        summary.push_str(&format!("; {} choice items", items.len()));
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TaskRegistry;

    #[test]
    fn a_generated_task_checks_without_a_data_root() {
        let registry = TaskRegistry::builtin().unwrap();
        let synthetic = registry
            .iter()
            .find(|s| {
                s.sources
                    .iter()
                    .any(|src| src.format == DataFormat::Synthetic)
            })
            .expect("a built-in generated task");
        let checks = check_task(synthetic, None);
        assert!(!checks.is_empty());
        for c in &checks {
            assert_eq!(c.status, "ok", "{c:?}");
            assert!(c.examples.is_some_and(|n| n > 0), "{c:?}");
            assert!(
                c.labels.as_deref().is_some_and(|l| l.contains('%')),
                "{c:?}"
            );
        }
    }

    #[test]
    fn a_task_without_data_is_missing_with_the_reason() {
        let registry = TaskRegistry::builtin().unwrap();
        let sst2 = registry.get("sst2").unwrap();
        let none = check_task(sst2, None);
        assert_eq!(none.len(), 1);
        assert_eq!((none[0].split.as_str(), none[0].status), ("-", "missing"));
        assert!(none[0].error.as_deref().unwrap().contains("--data-dir"));
        let empty = tempfile::tempdir().unwrap();
        let absent = check_task(sst2, Some(empty.path()));
        assert_eq!(absent[0].status, "missing");
    }

    #[test]
    fn a_malformed_file_is_an_error_naming_it() {
        let registry = TaskRegistry::builtin().unwrap();
        let sst2 = registry.get("sst2").unwrap();
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("SST-2");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("train.tsv"), "sentence\tlabel\ngood\t1\nbad\t0\n").unwrap();
        std::fs::write(dir.join("dev.tsv"), "sentence\tlabel\nfine\t7\n").unwrap();
        let checks = check_task(sst2, Some(root.path()));
        let train = checks.iter().find(|c| c.split == "train").unwrap();
        assert_eq!(train.status, "ok", "{train:?}");
        assert_eq!(train.labels.as_deref(), Some("0: 1 (50.0%), 1: 1 (50.0%)"));
        let dev = checks.iter().find(|c| c.split != "train").unwrap();
        assert_eq!(dev.status, "error", "{dev:?}");
        assert!(dev.error.as_deref().unwrap().contains("dev.tsv"), "{dev:?}");
    }

    #[test]
    fn a_data_check_fails_on_malformed_files_and_on_named_tasks_without_data() {
        let registry = TaskRegistry::builtin().unwrap();
        let empty = tempfile::tempdir().unwrap();
        let asked = ["sst2".to_string(), "rte".to_string()];
        let named = DataCheck::run(&registry, &asked, None, Some(empty.path())).unwrap();
        assert_eq!(
            named.verdict().unwrap_err().to_string(),
            "no data found for sst2, rte"
        );
        // The same tasks from a manifest: missing data is listed, not an error.
        let listed = DataCheck::run(&registry, &[], Some(&asked), Some(empty.path())).unwrap();
        assert_eq!(listed.reports.len(), 2);
        assert!(listed.verdict().is_ok());
        let unknown = DataCheck::run(&registry, &["nope".into()], None, None);
        assert!(matches!(unknown, Err(TaskError::UnknownTask { .. })));
        let dir = empty.path().join("SST-2");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("train.tsv"), "sentence\tlabel\ngood\t1\n").unwrap();
        std::fs::write(dir.join("dev.tsv"), "sentence\tlabel\nfine\t7\n").unwrap();
        let malformed = DataCheck::run(&registry, &asked[..1], None, Some(empty.path())).unwrap();
        assert_eq!(
            malformed.verdict().unwrap_err().to_string(),
            "1 data file(s) are malformed (see the errors above)"
        );
    }
}
