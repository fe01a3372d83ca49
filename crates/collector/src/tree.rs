//! The results tree: `results/<manifest name>/<task>/<checkpoint id>/<job id>/` holding
//! `job.json`, `metrics.json`, `predictions.parquet` and, written last, `DONE`.
//!
//! A job directory without `DONE` is not done: nothing in it is read as results, and
//! [`JobDir::prepare`] clears it before a re-run (keeping the runner's resume state in
//! `state/`). Every file is written atomically (see [`crate::atomic`]).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use multiberts_tasks::SafeName;
use multiberts_tasks::name::NAME_RULE;

use crate::atomic;
use crate::error::{CollectorError, Result, io_err};
use crate::predictions::{self, PredictionRow};
use crate::records::{DoneMarker, JobRecord, MetricsRecord};

/// `job.json`: the job as the sweep handed it over (canonical object and resolved spec); once
/// the job is done, also its provenance.
pub const JOB_FILE: &str = "job.json";
/// `metrics.json`: per-epoch dev metrics.
pub const METRICS_FILE: &str = "metrics.json";
/// `predictions.parquet`: one row per dev example.
pub const PREDICTIONS_FILE: &str = "predictions.parquet";
/// `DONE`: written last; its presence is what makes a job done.
pub const DONE_FILE: &str = "DONE";
/// `state/`: the runner's resume checkpoints, kept when an unfinished job is cleared and
/// deleted once the job is done (unless the runner is told to keep it).
pub const STATE_DIR: &str = "state";
/// Top-level names under `results/<manifest name>/` that are not tasks.
pub const RESERVED_NAMES: [&str; 6] = multiberts_tasks::name::RESERVED_NAMES;

/// `value` as one path component of the tree ([`SafeName`]'s rule); `what` names it in the
/// error.
pub(crate) fn component(what: &'static str, value: &str) -> Result<SafeName> {
    SafeName::new(value).map_err(|e| CollectorError::InvalidName {
        what,
        value: e.value,
        reason: format!("{}; {NAME_RULE}", e.problem),
    })
}

/// The results of one manifest: `results/<manifest name>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultsTree {
    root: PathBuf,
}

impl ResultsTree {
    /// The tree of manifest `name` under a results directory (`results/` by default).
    pub fn new(results_dir: &Path, name: &str) -> Result<Self> {
        let name = component("manifest name", name)?;
        Ok(Self {
            root: results_dir.join(name),
        })
    }

    /// `results/<manifest name>/`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The results directory the tree lies in (`results/`).
    pub fn results_dir(&self) -> &Path {
        self.root.parent().unwrap_or(Path::new(""))
    }

    /// The tree and the job of a job directory given by its path
    /// (`<results>/<manifest name>/<task>/<checkpoint>/<job id>`), wherever the tree lives: a
    /// job directory moved with its tree to another results root is still the same job.
    pub fn open_job(path: &Path) -> Result<(ResultsTree, JobDir)> {
        let bad = |reason: &str| CollectorError::Invalid {
            context: path.display().to_string(),
            message: format!(
                "not a job directory ({reason}); expected \
                 <results>/<manifest name>/<task>/<checkpoint>/<job id> with a job.json"
            ),
        };
        let names: Vec<String> = path
            .components()
            .rev()
            .take(4)
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let [job_id, checkpoint, task, name] = names.as_slice() else {
            return Err(bad("too few path components"));
        };
        let root = path
            .ancestors()
            .nth(3)
            .ok_or_else(|| bad("too few path components"))?;
        let results_dir = root.parent().unwrap_or(Path::new(""));
        let tree = ResultsTree::new(results_dir, name).map_err(|e| bad(&e.to_string()))?;
        let dir = if task == multiberts_tasks::name::PRETRAIN_DIR {
            tree.pretrain_job(checkpoint, job_id)
        } else {
            tree.job(task, checkpoint, job_id)
        }
        .map_err(|e| bad(&e.to_string()))?;
        if !path.join(JOB_FILE).is_file() {
            return Err(bad("it has no job.json"));
        }
        Ok((tree, dir))
    }

    /// The directory of one job (not created).
    pub fn job(&self, task: &str, checkpoint: &str, job_id: &str) -> Result<JobDir> {
        let task = component("task", task)?;
        if RESERVED_NAMES.contains(&task.as_str()) {
            return Err(CollectorError::InvalidName {
                what: "task",
                value: task.into_string(),
                reason: "is a reserved directory name of the results tree".into(),
            });
        }
        let checkpoint = component("checkpoint id", checkpoint)?;
        let job_id = component("job id", job_id)?;
        Ok(JobDir {
            path: self.root.join(&task).join(&checkpoint).join(&job_id),
            task,
            checkpoint,
            job_id,
        })
    }

    /// The directory of one pre-training job (not created):
    /// `results/<manifest name>/pretrain/<run>/<job id>`, with `run` (`seed_<seed>`) as its
    /// checkpoint and `pretrain` as its task. The tree's listings leave `pretrain/` out (a
    /// reserved name), so collect and the stale check see fine-tuning jobs only.
    pub fn pretrain_job(&self, run: &str, job_id: &str) -> Result<JobDir> {
        let run = component("pre-training run", run)?;
        let job_id = component("job id", job_id)?;
        let task = component("task", multiberts_tasks::name::PRETRAIN_DIR)?;
        Ok(JobDir {
            path: self.root.join(&task).join(&run).join(&job_id),
            task,
            checkpoint: run,
            job_id,
        })
    }

    /// `results/<manifest name>/predictions/`, where consolidated tables go.
    pub fn predictions_dir(&self) -> PathBuf {
        self.root.join("predictions")
    }

    /// Every job directory in the tree with its state, sorted by (task, checkpoint, job id).
    pub fn list_jobs(&self) -> Result<Vec<JobStatus>> {
        let mut out = Vec::new();
        for task in subdirs(&self.root)? {
            if !RESERVED_NAMES.contains(&task.as_str()) {
                self.list_into(&task, &mut out)?;
            }
        }
        Ok(out)
    }

    /// The job directories of one task with their state, sorted by (checkpoint, job id).
    pub fn list_task_jobs(&self, task: &str) -> Result<Vec<JobStatus>> {
        let mut out = Vec::new();
        self.list_into(task, &mut out)?;
        Ok(out)
    }

    fn list_into(&self, task: &str, out: &mut Vec<JobStatus>) -> Result<()> {
        let task_dir = self.root.join(task);
        for checkpoint in subdirs(&task_dir)? {
            for job_id in subdirs(&task_dir.join(&checkpoint))? {
                let dir = self.job(task, &checkpoint, &job_id)?;
                let state = if dir.is_done() {
                    JobState::Done
                } else {
                    JobState::Incomplete
                };
                out.push(JobStatus { dir, state });
            }
        }
        Ok(())
    }

    /// Counts of done and unfinished jobs per task.
    pub fn summary(&self) -> Result<BTreeMap<String, (usize, usize)>> {
        let mut m: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for j in self.list_jobs()? {
            let e = m.entry(j.dir.task.to_string()).or_default();
            match j.state {
                JobState::Done => e.0 += 1,
                JobState::Incomplete => e.1 += 1,
            }
        }
        Ok(m)
    }
}

/// Sorted names of the subdirectories of `dir` that are [`SafeName`]s; none if `dir` does not
/// exist.
fn subdirs(dir: &Path) -> Result<Vec<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(dir)(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err(dir))?;
        let is_dir = entry.file_type().map_err(io_err(entry.path()))?.is_dir();
        let name = entry.file_name().to_string_lossy().into_owned();
        // A folder no manifest can name (hidden, temporary, a space in it) is not part of the
        // tree: left alone, not an error.
        if is_dir && SafeName::check(&name).is_ok() {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}

/// Whether a job has finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// `DONE` is present: the job's files are complete results.
    Done,
    /// The directory exists without `DONE`: killed, failing or running; not results.
    Incomplete,
}

/// A job directory and its state, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStatus {
    /// The job directory.
    pub dir: JobDir,
    /// Done or not.
    pub state: JobState,
}

/// What [`JobDir::clear_incomplete`] removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClearMode {
    /// Everything but `state/` and `job.json` (the job as the sweep handed it over), so the
    /// runner can resume where it was killed.
    KeepResumeState,
    /// The whole directory: the job starts from scratch.
    Everything,
}

/// One job's directory: `results/<manifest>/<task>/<checkpoint>/<job id>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobDir {
    path: PathBuf,
    task: SafeName,
    checkpoint: SafeName,
    job_id: SafeName,
}

impl JobDir {
    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The task name.
    pub fn task(&self) -> &str {
        &self.task
    }

    /// The checkpoint id.
    pub fn checkpoint(&self) -> &str {
        &self.checkpoint
    }

    /// The job id.
    pub fn job_id(&self) -> &str {
        &self.job_id
    }

    /// `state/`, for the runner's resume checkpoints.
    pub fn state_dir(&self) -> PathBuf {
        self.path.join(STATE_DIR)
    }

    /// Deletes `state/` (the resume checkpoints: weights and optimizer moments, hundreds of
    /// megabytes to gigabytes per job) once they are no longer needed. Only a done job's state
    /// may go: an unfinished job needs it to resume. Returns whether anything was removed.
    pub fn remove_state(&self) -> Result<bool> {
        self.require_done()?;
        let state = self.state_dir();
        match fs::remove_dir_all(&state) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_err(&state)(e)),
        }
    }

    /// Holds the job directory (an exclusive `flock` on the directory itself) while this
    /// process runs its job: a second process (an orphaned child, a re-run, a requeued Slurm
    /// task) that tries gets [`CollectorError::Held`], and the lock vanishes with its holder,
    /// however it ends. Creates the directory if needed.
    pub fn lock(&self) -> Result<crate::lock::FileLock> {
        fs::create_dir_all(&self.path).map_err(io_err(&self.path))?;
        crate::lock::try_lock_dir(&self.path, crate::lock::LockMode::Exclusive)?.ok_or_else(|| {
            CollectorError::Held {
                path: self.path.clone(),
            }
        })
    }

    /// Whether a live process holds the job directory ([`JobDir::lock`]).
    pub fn is_held(&self) -> Result<bool> {
        crate::lock::dir_is_held(&self.path)
    }

    /// Whether the `DONE` marker is present.
    pub fn is_done(&self) -> bool {
        self.path.join(DONE_FILE).is_file()
    }

    fn refuse_if_done(&self) -> Result<()> {
        if self.is_done() {
            return Err(CollectorError::AlreadyDone {
                path: self.path.clone(),
            });
        }
        Ok(())
    }

    fn require_done(&self) -> Result<()> {
        if !self.is_done() {
            return Err(CollectorError::NotDone {
                path: self.path.clone(),
            });
        }
        Ok(())
    }

    /// Gets the directory ready for a (re-)run: refuses a done job, clears what an earlier,
    /// unfinished attempt left (keeping `state/`), and creates the directory.
    pub fn prepare(&self) -> Result<()> {
        self.clear_incomplete(ClearMode::KeepResumeState)?;
        fs::create_dir_all(&self.path).map_err(io_err(&self.path))
    }

    /// Removes what an unfinished attempt left. Refuses a done job (its results are never
    /// deleted by this). Returns whether anything was removed.
    pub fn clear_incomplete(&self, mode: ClearMode) -> Result<bool> {
        self.refuse_if_done()?;
        if !self.path.exists() {
            return Ok(false);
        }
        if mode == ClearMode::Everything {
            fs::remove_dir_all(&self.path).map_err(io_err(&self.path))?;
            return Ok(true);
        }
        let mut removed = false;
        for entry in fs::read_dir(&self.path).map_err(io_err(&self.path))? {
            let entry = entry.map_err(io_err(&self.path))?;
            if entry.file_name() == STATE_DIR || entry.file_name() == JOB_FILE {
                continue;
            }
            let p = entry.path();
            let is_dir = entry.file_type().map_err(io_err(&p))?.is_dir();
            if is_dir {
                fs::remove_dir_all(&p).map_err(io_err(&p))?;
            } else {
                fs::remove_file(&p).map_err(io_err(&p))?;
            }
            removed = true;
        }
        if removed {
            tracing::info!(job = %self.path.display(), "cleared an unfinished job directory");
        }
        Ok(removed)
    }

    fn ensure_dir(&self) -> Result<()> {
        self.refuse_if_done()?;
        fs::create_dir_all(&self.path).map_err(io_err(&self.path))
    }

    /// Writes `job.json` before the job runs: the job handed over as a value (the sweep's
    /// `multiberts_manifest::JobFile`). Refuses a done job.
    pub fn write_job_file<T: serde::Serialize>(&self, file: &T) -> Result<()> {
        self.ensure_dir()?;
        atomic::write_json(&self.path.join(JOB_FILE), file)
    }

    /// Reads `job.json` as the job file the sweep wrote (done or not): what `run-job` runs.
    pub fn read_job_file<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        atomic::read_json(&self.path.join(JOB_FILE))
    }

    /// Writes `job.json` atomically.
    pub fn write_job(&self, record: &JobRecord) -> Result<()> {
        self.ensure_dir()?;
        atomic::write_json(&self.path.join(JOB_FILE), record)
    }

    /// Writes `metrics.json` atomically (e.g. after every epoch).
    pub fn write_metrics(&self, record: &MetricsRecord) -> Result<()> {
        self.ensure_dir()?;
        atomic::write_json(&self.path.join(METRICS_FILE), record)
    }

    /// Writes `predictions.parquet` atomically.
    pub fn write_predictions(&self, rows: &[PredictionRow]) -> Result<()> {
        self.ensure_dir()?;
        predictions::write_predictions(&self.path.join(PREDICTIONS_FILE), rows)
    }

    /// Marks the job done, last. First checks that `job.json` and `metrics.json` parse and
    /// that `predictions.parquet` reads back with rows of this task, checkpoint and job id,
    /// one variant, split, learning rate and seed, and example indices `0..N` once each; the
    /// `DONE` marker records that identity.
    pub fn mark_done(&self) -> Result<DoneMarker> {
        self.refuse_if_done()?;
        let _: JobRecord = atomic::read_json(&self.path.join(JOB_FILE))?;
        let metrics: MetricsRecord = atomic::read_json(&self.path.join(METRICS_FILE))?;
        let pred_path = self.path.join(PREDICTIONS_FILE);
        let rows = predictions::read_predictions(&pred_path)?;
        let marker = self.identity(&pred_path, &rows)?;
        if metrics.final_primary().is_none() {
            return Err(CollectorError::Invalid {
                context: self.path.join(METRICS_FILE).display().to_string(),
                message: format!(
                    "no final value of the primary metric `{}`",
                    metrics.primary_metric
                ),
            });
        }
        atomic::write_json(&self.path.join(DONE_FILE), &marker)?;
        Ok(marker)
    }

    fn identity(&self, path: &Path, rows: &[PredictionRow]) -> Result<DoneMarker> {
        let invalid = |message: String| CollectorError::Invalid {
            context: path.display().to_string(),
            message,
        };
        let first = rows
            .first()
            .ok_or_else(|| invalid("no prediction rows".into()))?;
        let mut seen = vec![false; rows.len()];
        for (i, r) in rows.iter().enumerate() {
            let uniform = r.task == self.task
                && r.checkpoint == self.checkpoint
                && r.job_id == self.job_id
                && r.variant == first.variant
                && r.split == first.split
                && r.pretrain_seed == first.pretrain_seed
                && r.step == first.step
                && r.learning_rate.to_bits() == first.learning_rate.to_bits()
                && r.finetune_seed == first.finetune_seed;
            if !uniform {
                return Err(invalid(format!(
                    "row {i} (task `{}`, checkpoint `{}`, job `{}`) does not belong to this job \
                     directory ({}/{}/{}) or differs from row 0 in variant, split, seeds, step \
                     or learning rate",
                    r.task, r.checkpoint, r.job_id, self.task, self.checkpoint, self.job_id
                )));
            }
            let idx = usize::try_from(r.example_index)
                .ok()
                .filter(|&k| k < rows.len() && !seen[k]);
            match idx {
                Some(k) => seen[k] = true,
                None => {
                    return Err(invalid(format!(
                        "row {i}: example_index {} is out of 0..{} or repeated",
                        r.example_index,
                        rows.len()
                    )));
                }
            }
        }
        Ok(DoneMarker {
            rows: rows.len(),
            variant: first.variant.clone(),
            split: first.split.clone(),
            pretrain_seed: first.pretrain_seed,
            step: first.step,
            learning_rate: first.learning_rate,
            finetune_seed: first.finetune_seed,
        })
    }

    /// Makes a done job unfinished again by removing its `DONE` marker (its inputs changed:
    /// `sweep --rerun-stale`); the next run clears its outputs and runs it from the start.
    pub fn unmark_done(&self) -> Result<()> {
        let done = self.path.join(DONE_FILE);
        match fs::remove_file(&done) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(&done)(e)),
        }
    }

    /// Reads the `DONE` marker; the job must be done.
    pub fn read_done(&self) -> Result<DoneMarker> {
        self.require_done()?;
        atomic::read_json(&self.path.join(DONE_FILE))
    }

    /// Reads `job.json` of a done job.
    pub fn read_job(&self) -> Result<JobRecord> {
        self.require_done()?;
        atomic::read_json(&self.path.join(JOB_FILE))
    }

    /// Reads `metrics.json` of a done job.
    pub fn read_metrics(&self) -> Result<MetricsRecord> {
        self.require_done()?;
        atomic::read_json(&self.path.join(METRICS_FILE))
    }

    /// Reads `predictions.parquet` of a done job, checked against the sha256 its `job.json`
    /// recorded (records written before digests were kept are read unchecked).
    pub fn read_predictions(&self) -> Result<Vec<PredictionRow>> {
        self.require_done()?;
        let path = self.path.join(PREDICTIONS_FILE);
        if let Some(expected) = self.read_job()?.provenance.predictions_sha256 {
            crate::inputs::verify_digest(&path, &expected, &self.path)?;
        }
        predictions::read_predictions(&path)
    }
}
