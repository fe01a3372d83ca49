//! `multiberts status`: each job of a manifest is done, running, failed or pending.

use std::path::PathBuf;

use multiberts_collector::ResultsTree;
use multiberts_manifest::Job;

use crate::error::Result;
use crate::lock;
use crate::record::{SweepRecord, log_path};

/// Where one job stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobProgress {
    /// `DONE` is written.
    Done,
    /// A live sweep runs it now.
    Running,
    /// The last sweep gave up on it.
    Failed {
        /// How the last attempt ended.
        status: String,
        /// Its log file.
        log: PathBuf,
    },
    /// Not started, or interrupted (a re-run resumes it).
    Pending {
        /// Whether an earlier attempt left a directory (and perhaps resume state).
        started: bool,
    },
}

/// The progress of every job, in manifest order.
pub fn status(
    jobs: &[Job],
    tree: &ResultsTree,
    output_dir: &std::path::Path,
) -> Result<Vec<JobProgress>> {
    let record = SweepRecord::read(output_dir)?.unwrap_or_default();
    let live = lock::holder(output_dir).is_some_and(|pid| pid == record.pid);
    let mut out = Vec::with_capacity(jobs.len());
    for job in jobs {
        let dir = tree.job(&job.task, &job.checkpoint.id, &job.id)?;
        let p = if dir.is_done() {
            JobProgress::Done
        } else if live && record.running.contains(&job.id) {
            JobProgress::Running
        } else if let Some(f) = record.failed.get(&job.id) {
            JobProgress::Failed {
                status: f.status.clone(),
                log: log_path(output_dir, &job.id),
            }
        } else {
            JobProgress::Pending {
                started: dir.path().exists(),
            }
        };
        out.push(p);
    }
    Ok(out)
}
