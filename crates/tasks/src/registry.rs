//! The set of known tasks: the specs embedded in the binary (`tasks/` of this repository) plus
//! any folder of user specs, which may add tasks or replace a built-in one by name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::TaskError;
use crate::spec::{DataFormat, SplitSource, TaskSpec, builtin_origin};

/// The specs shipped in `tasks/`, embedded so the binary works from any directory.
const BUILTIN: &[(&str, &str)] = &[
    (
        "glue/cola.toml",
        include_str!("../../../tasks/glue/cola.toml"),
    ),
    (
        "glue/mnli.toml",
        include_str!("../../../tasks/glue/mnli.toml"),
    ),
    (
        "glue/mrpc.toml",
        include_str!("../../../tasks/glue/mrpc.toml"),
    ),
    (
        "glue/qnli.toml",
        include_str!("../../../tasks/glue/qnli.toml"),
    ),
    (
        "glue/qqp.toml",
        include_str!("../../../tasks/glue/qqp.toml"),
    ),
    (
        "glue/rte.toml",
        include_str!("../../../tasks/glue/rte.toml"),
    ),
    (
        "glue/sst2.toml",
        include_str!("../../../tasks/glue/sst2.toml"),
    ),
    (
        "glue/stsb.toml",
        include_str!("../../../tasks/glue/stsb.toml"),
    ),
    (
        "demo/demo-sentiment.toml",
        include_str!("../../../tasks/demo/demo-sentiment.toml"),
    ),
    (
        "demo/demo-overlap.toml",
        include_str!("../../../tasks/demo/demo-overlap.toml"),
    ),
    (
        "coref/demo-coref.toml",
        include_str!("../../../tasks/coref/demo-coref.toml"),
    ),
    (
        "coref/gap.toml",
        include_str!("../../../tasks/coref/gap.toml"),
    ),
    (
        "coref/gap-winogender.toml",
        include_str!("../../../tasks/coref/gap-winogender.toml"),
    ),
    (
        "coref/ontonotes-coref.toml",
        include_str!("../../../tasks/coref/ontonotes-coref.toml"),
    ),
    (
        "coref/ontonotes-winogender.toml",
        include_str!("../../../tasks/coref/ontonotes-winogender.toml"),
    ),
    (
        "coref/winobias-anti.toml",
        include_str!("../../../tasks/coref/winobias-anti.toml"),
    ),
    (
        "coref/winobias-pro.toml",
        include_str!("../../../tasks/coref/winobias-pro.toml"),
    ),
    (
        "coref/winogender.toml",
        include_str!("../../../tasks/coref/winogender.toml"),
    ),
    (
        "coref/wsc.toml",
        include_str!("../../../tasks/coref/wsc.toml"),
    ),
    (
        "qa/squad1.toml",
        include_str!("../../../tasks/qa/squad1.toml"),
    ),
    (
        "qa/squad2.toml",
        include_str!("../../../tasks/qa/squad2.toml"),
    ),
];

/// Known task specs by name.
#[derive(Debug, Clone, Default)]
pub struct TaskRegistry {
    specs: BTreeMap<String, TaskSpec>,
}

impl TaskRegistry {
    /// The built-in specs.
    pub fn builtin() -> Result<TaskRegistry, TaskError> {
        let mut registry = TaskRegistry::default();
        for (relative, text) in BUILTIN {
            let spec = TaskSpec::from_toml(&builtin_origin(relative), text)?;
            registry.insert(spec, false)?;
        }
        Ok(registry)
    }

    /// The built-in specs plus, when given, those under `dir` (`--tasks-dir`), as
    /// `multiberts tasks` and `multiberts data check` load them.
    pub fn with_dir(dir: Option<&Path>) -> Result<TaskRegistry, TaskError> {
        let mut registry = Self::builtin().map_err(|e| TaskError::Builtin(Box::new(e)))?;
        if let Some(dir) = dir {
            registry.load_dir(dir).map_err(|e| TaskError::SpecDir {
                dir: dir.to_path_buf(),
                source: Box::new(e),
            })?;
        }
        Ok(registry)
    }

    /// Adds every `*.toml` under `dir` (recursively, in path order). A user spec replaces a
    /// built-in of the same name; two user specs of one name are an error.
    pub fn load_dir(&mut self, dir: &Path) -> Result<(), TaskError> {
        let mut files = Vec::new();
        collect_toml(dir, &mut files)?;
        files.sort();
        for file in files {
            let spec = TaskSpec::from_file(&file)?;
            self.insert(spec, true)?;
        }
        Ok(())
    }

    fn insert(&mut self, spec: TaskSpec, user: bool) -> Result<(), TaskError> {
        if let Some(existing) = self.specs.get(spec.name.as_str()) {
            let existing_is_builtin = existing.origin.starts_with("<builtin>");
            if !(user && existing_is_builtin) {
                return Err(TaskError::DuplicateTask {
                    name: spec.name.to_string(),
                    first: existing.origin.clone(),
                    second: spec.origin.clone(),
                });
            }
            tracing::info!(
                "task `{}` from {} replaces the built-in spec",
                spec.name,
                spec.origin.display()
            );
        }
        self.specs.insert(spec.name.to_string(), spec);
        Ok(())
    }

    /// The spec of `name`, or an error listing the known names.
    pub fn get(&self, name: &str) -> Result<&TaskSpec, TaskError> {
        self.specs.get(name).ok_or_else(|| TaskError::UnknownTask {
            name: name.to_string(),
            known: self.names().join(", "),
        })
    }

    /// Whether a task of that name is known.
    pub fn contains(&self, name: &str) -> bool {
        self.specs.contains_key(name)
    }

    /// Known task names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.specs.keys().cloned().collect()
    }

    /// Every spec, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &TaskSpec> {
        self.specs.values()
    }

    /// The tasks that can be fine-tuned and evaluate on `spec`'s evaluation data: their
    /// evaluation split reads the same files in the same format (`gap-winogender` and
    /// `ontonotes-winogender` for `winogender`). What to suggest when an evaluation-only task
    /// is asked to be trained on. Sorted by name.
    pub fn trainable_evaluating_on(&self, spec: &TaskSpec) -> Vec<&TaskSpec> {
        let eval_data = |s: &TaskSpec| -> Vec<(DataFormat, SplitSource)> {
            s.sources
                .iter()
                .filter_map(|src| {
                    src.splits
                        .get(&s.eval_split)
                        .map(|files| (src.format_of(&s.eval_split), files.clone()))
                })
                .collect()
        };
        let wanted = eval_data(spec);
        self.iter()
            .filter(|other| !other.eval_only && other.name != spec.name)
            .filter(|other| eval_data(other).iter().any(|d| wanted.contains(d)))
            .collect()
    }
}

fn collect_toml(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), TaskError> {
    let io = |source| TaskError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            collect_toml(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}
