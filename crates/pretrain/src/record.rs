//! `run.json`: what a run was asked to compute and the files it read (size, modification
//! time, sha256), so a finished run is never reused for other settings or changed files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use multiberts_collector::InputFile;
use multiberts_collector::inputs::sha256_file;

use crate::error::{PretrainError, Result};
use crate::run::PretrainSpec;

/// The record of a run (`<run>/run.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The settings.
    pub spec: PretrainSpec,
    /// Every corpus file and the vocabulary, as read.
    pub inputs: BTreeMap<PathBuf, InputFile>,
    /// The version of the code that ran it.
    pub code_version: String,
}

impl RunRecord {
    /// The record of `spec` with its input files as they are now.
    pub fn current(spec: &PretrainSpec) -> Result<Self> {
        let mut inputs = BTreeMap::new();
        for path in spec.corpus.iter().chain([&spec.vocab]) {
            // Before hashing: a missing or unreadable file is named as such.
            std::fs::File::open(path).map_err(|e| PretrainError::Corpus {
                path: path.clone(),
                line: None,
                message: format!("cannot read: {e}"),
            })?;
            let sha = sha256_file(path)?;
            let file = InputFile::of(path, sha)
                .ok_or_else(|| PretrainError::file(path, "cannot read its size and time"))?;
            inputs.insert(path.clone(), file);
        }
        Ok(Self {
            spec: spec.clone(),
            inputs,
            code_version: multiberts_runner::code_version(),
        })
    }

    /// Reads `<run>/run.json`, if there is one.
    pub fn read(run: &Path) -> Result<Option<Self>> {
        let path = run.join("run.json");
        if !path.is_file() {
            return Ok(None);
        }
        Ok(Some(multiberts_collector::atomic::read_json(&path)?))
    }

    /// Writes `<run>/run.json` atomically.
    pub fn write(&self, run: &Path) -> Result<()> {
        Ok(multiberts_collector::atomic::write_json(
            &run.join("run.json"),
            self,
        )?)
    }

    /// The input files whose content differs from `now`'s (a file whose size and time are
    /// unchanged is taken as unchanged, as the fine-tuning jobs' check does).
    pub fn changed_inputs(&self, now: &RunRecord) -> Vec<PathBuf> {
        let mut changed = Vec::new();
        for (path, then) in &self.inputs {
            match now.inputs.get(path) {
                Some(file) if file.sha256 == then.sha256 => {}
                _ => changed.push(path.clone()),
            }
        }
        changed
    }
}

/// Checks that the finished run in `run` computed `now`: the same settings and unchanged input
/// files. Otherwise an error saying what differs and what to do.
pub fn check_finished(run: &Path, now: &RunRecord) -> Result<()> {
    let Some(then) = RunRecord::read(run)? else {
        return Err(PretrainError::file(
            run,
            "is marked DONE but has no run.json; delete the folder to pre-train again",
        ));
    };
    if then.spec != now.spec {
        return Err(PretrainError::Settings(format!(
            "{} holds a finished run with other settings ({}); give another --out, or delete \
             the folder to pre-train again",
            run.display(),
            differences(&then.spec, &now.spec).join(", ")
        )));
    }
    let changed = then.changed_inputs(now);
    if !changed.is_empty() {
        let list: Vec<String> = changed.iter().map(|p| p.display().to_string()).collect();
        return Err(PretrainError::Settings(format!(
            "{} was pre-trained on files that have changed since: {}; delete the folder to \
             pre-train again (its checkpoints no longer match their inputs)",
            run.display(),
            list.join(", ")
        )));
    }
    Ok(())
}

/// The top-level settings that differ, as `key: then → now`.
fn differences(then: &PretrainSpec, now: &PretrainSpec) -> Vec<String> {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(then), serde_json::to_value(now))
    else {
        return vec!["unreadable".into()];
    };
    a.iter()
        .filter(|(k, v)| b.get(*k) != Some(v))
        .map(|(k, v)| {
            format!(
                "{k}: {v} → {}",
                b.get(k).unwrap_or(&serde_json::Value::Null)
            )
        })
        .collect()
}
