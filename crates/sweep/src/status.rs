//! `multiberts status`: each job of a manifest is done, running, queued (in Slurm), failed or
//! pending.

use std::path::PathBuf;

use multiberts_collector::JobDir;
use multiberts_collector::ResultsTree;
use multiberts_manifest::{Job, Manifest, PretrainJob};

use crate::error::Result;
use crate::lock;
use crate::record::{SweepRecord, log_path};
use crate::slurm::{SlurmCli, SlurmView, StateClass, slurm_view, task_log};

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
    /// Submitted to Slurm and waiting there (for resources, its throttle, a requeue delay).
    Queued {
        /// Slurm's task id, `<array>_<index>`.
        task: String,
        /// Slurm's state (`PENDING`, `REQUEUED`, …) and reason (`Priority`, `BeginTime`, …).
        state: String,
    },
    /// Not started, or interrupted (a re-run resumes it).
    Pending {
        /// Whether an earlier attempt left a directory (and perhaps resume state).
        started: bool,
    },
}

/// Where every job of a manifest stands (`multiberts status`): its fine-tuning and
/// pre-training jobs with their progress, with Slurm's view merged in when the results have
/// Slurm submissions.
#[derive(Debug)]
pub struct SweepStatus {
    /// The fine-tuning jobs, in manifest order.
    pub jobs: Vec<Job>,
    /// Their progress, in the same order.
    pub progress: Vec<JobProgress>,
    /// The pre-training jobs, in manifest order.
    pub pretrain: Vec<PretrainJob>,
    /// Their progress, in the same order.
    pub pretrain_progress: Vec<JobProgress>,
    /// `Some` when the results have Slurm submissions, holding whether Slurm's commands could
    /// be asked.
    pub slurm: Option<bool>,
}

impl SweepStatus {
    /// Reads the progress of every job of `manifest` in `tree`, and Slurm's view (a Slurm
    /// that cannot be asked is a warning: the DONE markers and local records remain).
    pub fn read(manifest: &Manifest, tree: &ResultsTree) -> Result<SweepStatus> {
        let out = tree.root();
        let jobs = manifest.jobs();
        let mut progress = status(&jobs, tree, out)?;
        let pretrain = manifest.pretrain_jobs();
        let mut pretrain_progress = pretrain_status(&pretrain, tree, out)?;
        let view = slurm_view(out, &SlurmCli, true).unwrap_or_else(|e| {
            tracing::warn!(
                "cannot read Slurm's view ({e}); showing DONE markers and local records"
            );
            SlurmView::default()
        });
        let slurm = view.has_submissions().then_some(view.reachable);
        if slurm.is_some() {
            merge_slurm(&jobs, &mut progress, &view, out);
            let ids: Vec<&str> = pretrain.iter().map(|j| j.id.as_str()).collect();
            merge_slurm_ids(&ids, &mut pretrain_progress, &view, out);
        }
        Ok(SweepStatus {
            jobs,
            progress,
            pretrain,
            pretrain_progress,
            slurm,
        })
    }
}

/// The progress of every job, in manifest order.
pub fn status(
    jobs: &[Job],
    tree: &ResultsTree,
    output_dir: &std::path::Path,
) -> Result<Vec<JobProgress>> {
    let dirs = jobs.iter().map(|job| {
        Ok((
            tree.job(&job.task, &job.checkpoint.id, &job.id)?,
            job.id.as_str(),
        ))
    });
    progress_all(dirs, output_dir)
}

/// The progress of every pre-training job ([`multiberts_manifest::Manifest::pretrain_jobs`]),
/// in manifest order.
pub fn pretrain_status(
    jobs: &[PretrainJob],
    tree: &ResultsTree,
    output_dir: &std::path::Path,
) -> Result<Vec<JobProgress>> {
    let dirs = jobs.iter().map(|job| {
        Ok((
            tree.pretrain_job(&job.run_folder(), &job.id)?,
            job.id.as_str(),
        ))
    });
    progress_all(dirs, output_dir)
}

/// The progress of each (job directory, id), judged against the last sweep's record.
fn progress_all<'a>(
    dirs: impl Iterator<Item = Result<(JobDir, &'a str)>>,
    output_dir: &std::path::Path,
) -> Result<Vec<JobProgress>> {
    let record = SweepRecord::read(output_dir)?.unwrap_or_default();
    let live = lock::holder(output_dir).is_some_and(|pid| pid == record.pid);
    dirs.map(|d| {
        let (dir, id) = d?;
        Ok(progress_of(&dir, id, &record, live, output_dir))
    })
    .collect()
}

/// Where job `id` in `dir` stands by its `DONE` marker and the last sweep's `record` (`live`:
/// whether that sweep still runs).
fn progress_of(
    dir: &JobDir,
    id: &str,
    record: &SweepRecord,
    live: bool,
    output_dir: &std::path::Path,
) -> JobProgress {
    if dir.is_done() {
        JobProgress::Done
    } else if live && record.running.iter().any(|r| r == id) {
        JobProgress::Running
    } else if let Some(f) = record.failed.get(id) {
        JobProgress::Failed {
            status: f.status.clone(),
            log: log_path(output_dir, id),
        }
    } else {
        JobProgress::Pending {
            started: dir.path().exists(),
        }
    }
}

/// Merges Slurm's view into `progress` (same order as `jobs`): a job that is not done takes
/// the state of its latest Slurm task, when Slurm still knows it. A failed task names its
/// state, exit code and stderr log; a task that completed without a `DONE` marker counts as
/// failed too.
pub fn merge_slurm(
    jobs: &[Job],
    progress: &mut [JobProgress],
    view: &SlurmView,
    output_dir: &std::path::Path,
) {
    let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
    merge_slurm_ids(&ids, progress, view, output_dir);
}

/// [`merge_slurm`] for jobs given by their ids (pre-training jobs too).
pub fn merge_slurm_ids(
    ids: &[&str],
    progress: &mut [JobProgress],
    view: &SlurmView,
    output_dir: &std::path::Path,
) {
    for (id, p) in ids.iter().zip(progress.iter_mut()) {
        if *p == JobProgress::Done {
            continue;
        }
        let Some(sj) = view.jobs.get(*id) else {
            continue;
        };
        let Some(task) = &sj.task else {
            continue;
        };
        let log = task_log(output_dir, &sj.array, sj.index, "err");
        let mut detail = format!("Slurm {} {}", sj.task_id(), task.state);
        if let Some(code) = &task.exit_code {
            detail.push_str(&format!(", exit code {code}"));
        }
        if !task.reason.is_empty() && task.reason != "None" {
            detail.push_str(&format!(", reason {}", task.reason));
        }
        if let Some(n) = task.restarts.filter(|&n| n > 0) {
            detail.push_str(&format!(", {n} restart(s)"));
        }
        *p = match sj.class() {
            Some(StateClass::Active)
                if matches!(
                    task.state.as_str(),
                    "RUNNING" | "COMPLETING" | "CONFIGURING" | "SIGNALING" | "STAGE_OUT"
                ) =>
            {
                JobProgress::Running
            }
            Some(StateClass::Active) => JobProgress::Queued {
                task: sj.task_id(),
                state: format!("{} ({})", task.state, task.reason),
            },
            Some(StateClass::Completed) => JobProgress::Failed {
                status: format!("{detail}, but no DONE marker"),
                log,
            },
            Some(StateClass::Failed) | None => JobProgress::Failed {
                status: detail,
                log,
            },
        };
    }
}
