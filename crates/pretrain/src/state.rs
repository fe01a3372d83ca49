//! The resume state of a pre-training run in `<run>/state/`: the weights, the optimizer's
//! moments, the dropout stream, the step and the loss log. The data order and the masks are
//! functions of (seed, step), so nothing else is needed to continue bit-identically. The
//! weights and moments go to files named by step; `state.json`, written last and atomically,
//! names the step, so a kill leaves the previous complete state or the new one.

use std::path::Path;

use serde::{Deserialize, Serialize};

use multiberts_model::optim::AdamW;
use multiberts_model::params::Params;
use multiberts_model::rng::{RngState, SeededRng};

use crate::error::{PretrainError, Result};
use crate::record::RunRecord;
use crate::run::StepLog;

const STATE_FILE: &str = "state.json";

/// Where a run stands.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ResumeState {
    /// The settings and input files the state belongs to (a state of other settings or of
    /// changed files is never used).
    pub(crate) record: RunRecord,
    /// Steps taken.
    pub(crate) step: u64,
    /// The dropout stream.
    pub(crate) dropout_rng: RngState,
    /// The losses of the steps taken.
    pub(crate) log: Vec<StepLog>,
}

fn model_file(step: u64) -> String {
    format!("model-{step:08}.safetensors")
}

fn optimizer_file(step: u64) -> String {
    format!("optimizer-{step:08}.safetensors")
}

/// The saved state of `spec` in `<dir>/state/`, restored into `params` and `optimizer`, or a
/// fresh start.
pub(crate) fn load_or_start(
    dir: &Path,
    record: &RunRecord,
    params: &Params,
    optimizer: &mut AdamW,
) -> Result<ResumeState> {
    let spec = &record.spec;
    let state_dir = dir.join("state");
    let path = state_dir.join(STATE_FILE);
    let fresh = ResumeState {
        record: record.clone(),
        step: 0,
        dropout_rng: SeededRng::named(spec.seed, "pretrain/dropout").state(),
        log: Vec::new(),
    };
    if !path.is_file() {
        return Ok(fresh);
    }
    let state: ResumeState = multiberts_collector::atomic::read_json(&path)?;
    if state.record.spec != *spec {
        tracing::warn!(path = %path.display(), "resume state of other settings; starting over");
        return Ok(fresh);
    }
    let changed = state.record.changed_inputs(record);
    if !changed.is_empty() {
        tracing::warn!(path = %path.display(), ?changed, "input files changed since the resume state was saved; starting over");
        return Ok(fresh);
    }
    params.load_safetensors(&state_dir.join(model_file(state.step)))?;
    optimizer.load(&state_dir.join(optimizer_file(state.step)))?;
    tracing::info!(run = %spec.name, step = state.step, "resuming");
    Ok(state)
}

/// Saves the weights, the moments and `state`, then removes older files.
pub(crate) fn save(
    dir: &Path,
    state: &ResumeState,
    params: &Params,
    optimizer: &AdamW,
) -> Result<()> {
    let state_dir = dir.join("state");
    std::fs::create_dir_all(&state_dir)
        .map_err(|e| PretrainError::file(&state_dir, format!("cannot create: {e}")))?;
    let (model, optim) = (model_file(state.step), optimizer_file(state.step));
    params.save_safetensors(&state_dir.join(&model))?;
    optimizer.save(&state_dir.join(&optim))?;
    multiberts_collector::atomic::write_json(&state_dir.join(STATE_FILE), state)?;
    let keep = [model.as_str(), optim.as_str(), STATE_FILE];
    let entries = std::fs::read_dir(&state_dir)
        .map_err(|e| PretrainError::file(&state_dir, format!("cannot list: {e}")))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let old = !keep.contains(&name.as_str()) && !name.starts_with('.');
        if old && let Err(e) = std::fs::remove_file(entry.path()) {
            tracing::warn!(path = %entry.path().display(), error = %e, "cannot remove an old resume file");
        }
    }
    Ok(())
}
