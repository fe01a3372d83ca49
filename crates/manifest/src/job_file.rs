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
use crate::pretrain::{PretrainJob, PretrainJobFile, PretrainJobSpec, PretrainStep};

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
    /// For a checkpoint a pre-training job of the manifest saves: that job and step (the
    /// checkpoint's path is the step's folder). Absent otherwise, so other job files are
    /// unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretrained: Option<PretrainStep>,
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
    /// `MULTIBERTS_DATA` and the manifest's `data_dir`). `root` is the sweep's folder of the
    /// results tree (`results/<name>`): a checkpoint a pre-training job saves is read from
    /// that job's folder there.
    pub fn job_file(
        &self,
        job: &Job,
        data_root: Option<&Path>,
        root: &Path,
    ) -> Result<JobFile, crate::ManifestError> {
        let task = self.registry.get(&job.task)?.clone();
        let mut checkpoint = job.checkpoint.clone();
        let mut pretrained = None;
        match &job.checkpoint.source {
            CheckpointSource::Path { path } => {
                let path = absolute(&self.base_dir().join(path));
                checkpoint.source = CheckpointSource::Path {
                    path: path.to_string_lossy().into_owned(),
                };
            }
            CheckpointSource::Pretrain {
                settings,
                seed,
                step,
            } => {
                let run = PretrainJob::new(settings, *seed);
                let dir = pretrain_job_dir(&absolute(root), &run).join(format!("step_{step}"));
                checkpoint.source = CheckpointSource::Path {
                    path: dir.to_string_lossy().into_owned(),
                };
                pretrained = Some(PretrainStep {
                    job: run.id,
                    step: *step,
                    dir,
                });
            }
            CheckpointSource::Hub { .. } | CheckpointSource::Init { .. } => {}
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
                pretrained,
            },
        })
    }

    /// The job files of every fine-tuning job of the sweep ([`Manifest::jobs`]), in order.
    pub fn job_files(
        &self,
        data_root: Option<&Path>,
        root: &Path,
    ) -> Result<Vec<JobFile>, crate::ManifestError> {
        self.jobs()
            .iter()
            .map(|job| self.job_file(job, data_root, root))
            .collect()
    }

    /// The job file of a pre-training job: its settings with paths made absolute against the
    /// manifest's folder.
    pub fn pretrain_job_file(&self, job: &PretrainJob) -> PretrainJobFile {
        PretrainJobFile {
            job: job.canonical.clone(),
            spec: PretrainJobSpec {
                id: job.id.clone(),
                run: job.run_folder(),
                settings: job.settings.resolved_against(self.base_dir()),
                seed: job.seed,
            },
        }
    }

    /// Every job the sweep runs: the pre-training jobs first (their checkpoints are the
    /// fine-tuning jobs' inputs), then the fine-tuning jobs, each in manifest order.
    pub fn sweep_jobs(
        &self,
        data_root: Option<&Path>,
        root: &Path,
    ) -> Result<Vec<SweepJob>, crate::ManifestError> {
        let mut out: Vec<SweepJob> = self
            .pretrain_jobs()
            .iter()
            .map(|j| SweepJob::Pretrain(self.pretrain_job_file(j)))
            .collect();
        for file in self.job_files(data_root, root)? {
            out.push(SweepJob::Finetune(file));
        }
        Ok(out)
    }

    /// The manifest's folder, which relative paths in it are read from.
    fn base_dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }
}

/// The folder of a pre-training job under a sweep's folder `root`:
/// `<root>/pretrain/seed_<seed>/<job id>`.
pub fn pretrain_job_dir(root: &Path, job: &PretrainJob) -> PathBuf {
    root.join(multiberts_tasks::name::PRETRAIN_DIR)
        .join(job.run_folder())
        .join(&job.id)
}

/// One job of a sweep, of either kind, as its job file (it serialises as that file).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[allow(
    clippy::large_enum_variant,
    reason = "nearly every job of a sweep is a fine-tuning job: boxing it saves no memory"
)]
pub enum SweepJob {
    /// A pre-training run of one seed.
    Pretrain(PretrainJobFile),
    /// A fine-tuning job.
    Finetune(JobFile),
}

impl SweepJob {
    /// The job id.
    pub fn id(&self) -> &str {
        match self {
            SweepJob::Pretrain(f) => &f.spec.id,
            SweepJob::Finetune(f) => &f.spec.id,
        }
    }

    /// Whether it is a pre-training job.
    pub fn is_pretrain(&self) -> bool {
        matches!(self, SweepJob::Pretrain(_))
    }

    /// The fine-tuning job, if it is one.
    pub fn finetune(&self) -> Option<&JobFile> {
        match self {
            SweepJob::Finetune(f) => Some(f),
            SweepJob::Pretrain(_) => None,
        }
    }

    /// The saved pre-training step it needs before it can start, if any.
    pub fn needs(&self) -> Option<&PretrainStep> {
        self.finetune().and_then(|f| f.spec.pretrained.as_ref())
    }

    /// One line for progress bars and logs.
    pub fn describe(&self) -> String {
        match self {
            SweepJob::Pretrain(f) => {
                let s = &f.spec;
                format!(
                    "{} pretrain {} seed={} steps={}",
                    s.id, s.settings.config, s.seed, s.settings.steps
                )
            }
            SweepJob::Finetune(f) => {
                let s = &f.spec;
                format!(
                    "{} {} {} lr={:e} seed={}",
                    s.id, s.task.name, s.checkpoint.id, s.learning_rate, s.finetune_seed
                )
            }
        }
    }
}

/// `path` made absolute against the working directory (not resolving links); unchanged when
/// the working directory cannot be read.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
