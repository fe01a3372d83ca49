//! Slurm's view of a sweep: for each job on record, its latest array task and what Slurm says
//! about it (squeue; sacct where an accounting database exists; scontrol for exit codes).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use crate::error::{Result, SweepError};
use crate::slurm::cli::{SlurmCli, StateClass, TaskState, classify};
use crate::slurm::record::read_submissions;

/// One job's latest Slurm task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlurmJob {
    /// The submission (`001`, …) that last submitted it.
    pub submission: String,
    /// The array job id.
    pub array: String,
    /// The task index in the array.
    pub index: u32,
    /// What Slurm says, when it still remembers the task.
    pub task: Option<TaskState>,
}

impl SlurmJob {
    /// `<array>_<index>`, Slurm's name for the task.
    pub fn task_id(&self) -> String {
        format!("{}_{}", self.array, self.index)
    }

    /// How its state counts (`None` when Slurm no longer knows the task).
    pub fn class(&self) -> Option<StateClass> {
        self.task.as_ref().map(|t| classify(&t.state))
    }
}

/// The Slurm side of a sweep.
#[derive(Debug, Clone, Default)]
pub struct SlurmView {
    /// Jobs ever submitted to Slurm, by job id.
    pub jobs: HashMap<String, SlurmJob>,
    /// Whether Slurm's commands answered (false: the states are unknown).
    pub reachable: bool,
}

impl SlurmView {
    /// Whether any job of this sweep was ever submitted to Slurm.
    pub fn has_submissions(&self) -> bool {
        !self.jobs.is_empty()
    }

    /// Array ids whose tasks are still pending or running (for a collect job's dependency).
    pub fn active_arrays(&self) -> BTreeSet<String> {
        self.jobs
            .values()
            .filter(|j| j.class() == Some(StateClass::Active))
            .map(|j| j.array.clone())
            .collect()
    }
}

/// Reads the recorded submissions of `output_dir` and asks Slurm about each job's latest task.
/// With `exit_codes`, failed tasks also get their exit code and restart count (one `scontrol`
/// call per array with failures). When Slurm's commands are missing, the view says so and
/// holds no states.
pub fn slurm_view(output_dir: &Path, cli: &SlurmCli, exit_codes: bool) -> Result<SlurmView> {
    let mut view = SlurmView::default();
    for sub in read_submissions(output_dir)? {
        for (line, id) in sub.jobs.iter().enumerate() {
            if let Some((array, index)) = sub.task_of(line) {
                view.jobs.insert(
                    id.clone(),
                    SlurmJob {
                        submission: sub.record.label.clone(),
                        array,
                        index,
                        task: None,
                    },
                );
            }
        }
    }
    if view.jobs.is_empty() {
        view.reachable = true;
        return Ok(view);
    }
    let arrays: Vec<String> = view
        .jobs
        .values()
        .map(|j| j.array.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut states = match cli.squeue(&arrays) {
        Ok(s) => s,
        Err(SweepError::SlurmMissing { command, .. }) => {
            // Callers say what this means for them (`reachable` stays false).
            tracing::debug!("`{command}` is not available: no Slurm states");
            return Ok(view);
        }
        Err(e) => return Err(e),
    };
    view.reachable = true;
    // Tasks squeue no longer shows (older than MinJobAge): ask the accounting database.
    let forgotten: Vec<String> = view
        .jobs
        .values()
        .filter(|j| !states.contains_key(&(j.array.clone(), j.index)))
        .map(|j| j.array.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for (key, state) in cli.sacct(&forgotten) {
        states.entry(key).or_insert(state);
    }
    if exit_codes {
        let failing: BTreeSet<String> = view
            .jobs
            .values()
            .filter(|j| {
                states
                    .get(&(j.array.clone(), j.index))
                    .is_some_and(|t| classify(&t.state) == StateClass::Failed)
            })
            .map(|j| j.array.clone())
            .collect();
        for array in failing {
            for (key, detail) in cli.scontrol_job(&array)? {
                if let Some(t) = states.get_mut(&key) {
                    t.exit_code = t.exit_code.take().or(detail.exit_code);
                    t.restarts = t.restarts.or(detail.restarts);
                }
            }
        }
    }
    for job in view.jobs.values_mut() {
        job.task = states.get(&(job.array.clone(), job.index)).cloned();
    }
    Ok(view)
}
