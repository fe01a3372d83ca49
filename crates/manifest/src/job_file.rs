//! `job.json` as the sweep writes it into a job's directory before starting the job: the job
//! handed over as a value. `multiberts run-job <job dir>` reads it and never re-expands the
//! manifest, so a job directory is self-contained (it can be moved to another results root,
//! or run by hand on another node).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use multiberts_tasks::{Augmentation, TaskSpec};

use crate::checkpoint::{Checkpoint, CheckpointSource};
use crate::hyper::Hyper;
use crate::job::{Job, job_id};
use crate::manifest::Manifest;

/// The contents of `job.json` before the job runs. The runner rewrites the file when the job
/// is done, adding its provenance beside these two keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobFile {
    /// The canonical job object, exactly as the manifest expanded it; the job id hashes it.
    pub job: Value,
    /// Everything else the job needs, resolved by the sweep.
    pub spec: JobSpec,
}

/// One job, resolved: its task spec, its checkpoint with an absolute path, its data root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    /// The job id (the hash of [`JobFile::job`]).
    pub id: String,
    /// The task's spec as the manifest's registry held it when the sweep was planned.
    pub task: TaskSpec,
    /// The task variant (`""` for the task as specified).
    pub variant: String,
    /// Augmentation of the training split.
    pub augment: Option<Augmentation>,
    /// The checkpoint; a local path is absolute (resolved against the manifest's folder).
    pub checkpoint: Checkpoint,
    /// The task's resolved hyper-parameters.
    pub hyper: Hyper,
    /// This job's peak learning rate.
    pub learning_rate: f64,
    /// This job's fine-tuning seed.
    pub finetune_seed: u64,
    /// Where the task's data files live (absolute); `None` for generated tasks without one.
    pub data_root: Option<PathBuf>,
}

/// Why a `job.json` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JobFileError {
    /// The file's canonical object does not hash to its job id: it was edited by hand.
    #[error(
        "{}: the job object hashes to `{actual}` but the file says job `{expected}`; the file \
         was edited (re-run `multiberts sweep`, which writes it again)",
        path.display()
    )]
    IdMismatch {
        /// The file.
        path: PathBuf,
        /// The id in `spec.id`.
        expected: String,
        /// The hash of `job`.
        actual: String,
    },
}

impl JobFile {
    /// Checks that the canonical object hashes to the job id (`path` names the file in the
    /// error).
    pub fn check(&self, path: &Path) -> Result<(), JobFileError> {
        let actual = job_id(&self.job);
        if actual != self.spec.id {
            return Err(JobFileError::IdMismatch {
                path: path.to_path_buf(),
                expected: self.spec.id.clone(),
                actual,
            });
        }
        Ok(())
    }
}

impl Manifest {
    /// The job file of `job`, one of this manifest's jobs: its task spec from the registry
    /// (the manifest checked it exists), a local checkpoint path made absolute, and the data
    /// root to read from (`data_root`, resolved by the caller from `--data-dir`,
    /// `MULTIBERTS_DATA` and the manifest's `data_dir`).
    pub fn job_file(
        &self,
        job: &Job,
        data_root: Option<&Path>,
    ) -> Result<JobFile, crate::ManifestError> {
        let task = self.registry.get(&job.task)?.clone();
        let mut checkpoint = job.checkpoint.clone();
        if let CheckpointSource::Path { path } = &mut checkpoint.source {
            let dir = self.path.parent().unwrap_or(Path::new("."));
            *path = absolute(&dir.join(&*path)).to_string_lossy().into_owned();
        }
        Ok(JobFile {
            job: job.canonical.clone(),
            spec: JobSpec {
                id: job.id.clone(),
                task,
                variant: job.variant.clone(),
                augment: job.augment,
                checkpoint,
                hyper: job.hyper.clone(),
                learning_rate: job.learning_rate,
                finetune_seed: job.finetune_seed,
                data_root: data_root.map(absolute),
            },
        })
    }

    /// The job files of every job of the sweep ([`Manifest::jobs`]), in order.
    pub fn job_files(
        &self,
        data_root: Option<&Path>,
    ) -> Result<Vec<JobFile>, crate::ManifestError> {
        self.jobs()
            .iter()
            .map(|job| self.job_file(job, data_root))
            .collect()
    }
}

/// `path` made absolute against the working directory (not resolving links); unchanged when
/// the working directory cannot be read.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
