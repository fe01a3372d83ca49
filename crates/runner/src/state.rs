//! Resume checkpoints in a job's `state/`: model weights, optimizer moments, the dropout
//! stream and the position in the data, so a killed job continues bit-identically.
//!
//! The weights and moments go to files named by step; `state.json`, written last and
//! atomically, names them. A kill at any moment leaves either the previous complete state or
//! the new one.

use std::path::{Path, PathBuf};

use multiberts_collector::EpochMetrics;
use multiberts_model::optim::AdamW;
use multiberts_model::params::Params;
use multiberts_model::rng::RngState;
use serde::{Deserialize, Serialize};

use crate::error::{Result, RunnerError};

const STATE_FILE: &str = "state.json";

/// Where training stands, as saved in `state.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResumeState {
    /// The job the state belongs to (a state of another job is never used).
    pub job_id: String,
    /// Optimizer steps taken.
    pub step: u64,
    /// 0-based epoch to continue in.
    pub epoch: u32,
    /// Batches of that epoch already trained on.
    pub batch: usize,
    /// Sum of the training losses of that epoch so far.
    pub loss_sum: f64,
    /// Number of losses in `loss_sum`.
    pub loss_count: u64,
    /// The dropout stream.
    pub dropout_rng: RngState,
    /// Dev metrics of the finished epochs.
    pub epochs: Vec<EpochMetrics>,
    /// Weights file, relative to the state directory.
    pub model_file: String,
    /// Optimizer file, relative to the state directory.
    pub optimizer_file: String,
}

/// Reads `state/state.json` when present and belonging to `job_id`.
pub fn load(dir: &Path, job_id: &str) -> Result<Option<ResumeState>> {
    let path = dir.join(STATE_FILE);
    if !path.is_file() {
        return Ok(None);
    }
    let state: ResumeState = multiberts_collector::atomic::read_json(&path)?;
    if state.job_id != job_id {
        tracing::warn!(path = %path.display(), found = %state.job_id, "resume state of another job; ignored");
        return Ok(None);
    }
    Ok(Some(state))
}

/// Copies the saved weights into `params` (same names and shapes required) and the moments
/// into `optimizer`.
pub fn restore(
    dir: &Path,
    state: &ResumeState,
    params: &Params,
    optimizer: &mut AdamW,
) -> Result<()> {
    params.load_safetensors(&dir.join(&state.model_file))?;
    optimizer.load(&dir.join(&state.optimizer_file))?;
    Ok(())
}

/// Saves weights, moments and `state` (whose file names are filled in here), then removes
/// the files of older states.
pub fn save(dir: &Path, mut state: ResumeState, params: &Params, optimizer: &AdamW) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| RunnerError::file(dir, format!("cannot create directory: {e}")))?;
    state.model_file = format!("model-{:08}.safetensors", state.step);
    state.optimizer_file = format!("optimizer-{:08}.safetensors", state.step);
    params.save_safetensors(&dir.join(&state.model_file))?;
    optimizer.save(&dir.join(&state.optimizer_file))?;
    multiberts_collector::atomic::write_json(&dir.join(STATE_FILE), &state)?;
    let keep = [
        state.model_file.as_str(),
        state.optimizer_file.as_str(),
        STATE_FILE,
    ];
    let entries =
        std::fs::read_dir(dir).map_err(|e| RunnerError::file(dir, format!("cannot list: {e}")))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !keep.contains(&name.as_str()) && !name.starts_with('.') {
            let p: PathBuf = entry.path();
            if let Err(e) = std::fs::remove_file(&p) {
                tracing::warn!(path = %p.display(), error = %e, "cannot remove an old resume file");
            }
        }
    }
    Ok(())
}
