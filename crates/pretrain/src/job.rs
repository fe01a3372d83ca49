//! A manifest's pre-training job, as `multiberts run-job` runs it: its directory and
//! `job.json` checked as a fine-tuning job's are, then the run under the directory's lock.
//! Errors leave as the runner's, so that `run-job` exits with the same statuses for both kinds
//! of job: held 69, stopped 75, permanent 65.

use std::path::Path;

use multiberts_collector::{JobDir, ResultsTree};
use multiberts_manifest::PretrainJobFile;
use multiberts_runner::RunnerError;

use crate::{PretrainError, PretrainOptions};

/// The directory and job file of a pre-training job (`job.kind = "pretrain"`), checked as a
/// fine-tuning job's is (the object hashes to the id, the directory is the job's own);
/// `None` for a fine-tuning job or a directory without a readable `job.json` (the fine-tuning
/// path then names what is missing).
pub fn open_job(path: &Path) -> Result<Option<(JobDir, PretrainJobFile)>, RunnerError> {
    let file_path = path.join(multiberts_collector::tree::JOB_FILE);
    let Ok(text) = std::fs::read(&file_path) else {
        return Ok(None);
    };
    let invalid = |message: String| RunnerError::Invalid {
        job: path.display().to_string(),
        message,
    };
    let value: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| invalid(format!("{}: not JSON: {e}", file_path.display())))?;
    if !multiberts_manifest::pretrain::is_pretrain_job(&value) {
        return Ok(None);
    }
    let file: PretrainJobFile = serde_json::from_value(value).map_err(|e| {
        invalid(format!(
            "{}: not a pre-training job file: {e}",
            file_path.display()
        ))
    })?;
    file.check(&file_path).map_err(|e| invalid(e.to_string()))?;
    let (_, dir) = ResultsTree::open_job(path).map_err(RunnerError::Collector)?;
    let s = &file.spec;
    let own = (dir.task(), dir.checkpoint(), dir.job_id())
        == (
            multiberts_tasks::name::PRETRAIN_DIR,
            s.run.as_str(),
            s.id.as_str(),
        );
    if !own {
        return Err(invalid(format!(
            "job.json describes pre-training job pretrain/{}/{} but lies in {}; job files are \
             written by the sweep into their own job's directory",
            s.run,
            s.id,
            dir.path().display()
        )));
    }
    Ok(Some((dir, file)))
}

/// What a pre-training job did, as `run-job` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOutcome {
    /// The job's id.
    pub id: String,
    /// Its directory.
    pub dir: std::path::PathBuf,
    /// Whether it was done before this call.
    pub already_done: bool,
    /// Its optimizer steps.
    pub steps: u64,
    /// The steps it saved a checkpoint after, in order.
    pub saved: Vec<u64>,
}

impl std::fmt::Display for JobOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (id, dir) = (&self.id, self.dir.display());
        if self.already_done {
            return write!(f, "pre-training job {id} is already done: {dir}");
        }
        let saved: Vec<String> = self.saved.iter().map(u64::to_string).collect();
        write!(
            f,
            "pre-training job {id} done: {} steps, saved steps {}; {dir}",
            self.steps,
            saved.join(", ")
        )
    }
}

/// Runs (or resumes, or finds done) a pre-training job in its directory, holding the
/// directory's lock throughout.
pub fn run_job(
    dir: &JobDir,
    file: &PretrainJobFile,
    options: &PretrainOptions,
) -> Result<JobOutcome, RunnerError> {
    let id = &file.spec.id;
    let _held = dir.lock().map_err(RunnerError::Collector)?;
    let as_runner = |e: PretrainError| match e {
        PretrainError::Stopped { step, .. } => RunnerError::Stopped {
            job: id.clone(),
            step,
        },
        e if e.is_permanent() => RunnerError::Invalid {
            job: id.clone(),
            message: e.to_string(),
        },
        e => RunnerError::file(dir.path(), e),
    };
    let spec = crate::spec_of_job(file).map_err(as_runner)?;
    tracing::info!(
        job = %id,
        seed = spec.seed,
        steps = spec.steps,
        device = %multiberts_runner::device::device_name(&options.device),
        "run-job (pre-training)"
    );
    let summary = crate::pretrain(&spec, dir.path(), options).map_err(as_runner)?;
    Ok(JobOutcome {
        id: id.clone(),
        dir: dir.path().to_path_buf(),
        already_done: summary.already_done,
        steps: spec.steps,
        saved: summary.checkpoints.iter().map(|(s, _)| *s).collect(),
    })
}
