//! `logs/sweep-state.json`: what the running (or last) sweep is doing, for `multiberts status`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Result;

/// The state file's name under `logs/`.
pub const STATE_FILE: &str = "sweep-state.json";

/// One job that failed in the last sweep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedJob {
    /// The job id.
    pub id: String,
    /// Attempts made.
    pub attempts: u32,
    /// How the last attempt ended (`exit status 1`, `signal 9`, …).
    pub status: String,
    /// The job's log file.
    pub log: PathBuf,
}

/// The supervisor's view, rewritten atomically whenever a job starts or ends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepRecord {
    /// The supervisor's pid.
    pub pid: u32,
    /// Jobs running now.
    pub running: Vec<String>,
    /// Jobs that failed for good, by id.
    pub failed: BTreeMap<String, FailedJob>,
}

/// `logs/` of a manifest's results directory.
pub fn logs_dir(output_dir: &Path) -> PathBuf {
    output_dir.join("logs")
}

/// The log file of a job.
pub fn log_path(output_dir: &Path, job_id: &str) -> PathBuf {
    logs_dir(output_dir).join(format!("{job_id}.log"))
}

impl SweepRecord {
    /// Reads the last sweep's record (`None` when no sweep ran here).
    pub fn read(output_dir: &Path) -> Result<Option<SweepRecord>> {
        let path = logs_dir(output_dir).join(STATE_FILE);
        if !path.is_file() {
            return Ok(None);
        }
        Ok(Some(multiberts_collector::atomic::read_json(&path)?))
    }

    /// Writes the record atomically.
    pub fn write(&self, output_dir: &Path) -> Result<()> {
        let path = logs_dir(output_dir).join(STATE_FILE);
        multiberts_collector::atomic::write_json(&path, self)?;
        Ok(())
    }
}

/// The last `n` lines of a file (empty when it cannot be read).
pub fn tail(path: &Path, n: usize) -> Vec<String> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| (*l).to_string())
        .collect()
}

/// Most lines of a job log shown as its failure reason.
const FAILURE_REASON_LINES: usize = 6;

/// Why a job failed, from its log: the last `error:` line `run-job` printed (with what
/// follows it), else the log's last lines (a panic, a kill).
pub fn failure_reason(log: &Path) -> Vec<String> {
    let lines: Vec<String> = tail(log, 40)
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .collect();
    let start = lines
        .iter()
        .rposition(|l| l.starts_with("error: "))
        .unwrap_or_else(|| lines.len().saturating_sub(FAILURE_REASON_LINES));
    lines[start..]
        .iter()
        .take(FAILURE_REASON_LINES)
        .cloned()
        .collect()
}
