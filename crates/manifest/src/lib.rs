//! Sweep manifests: schema, validation with file:line:column errors, expansion into jobs.
//!
//! A manifest (TOML) names checkpoints (hub templates over seeds and steps, local paths, or
//! generated random inits), tasks with hyper-parameter overrides, and Multi-Bootstrap analyses.
//! [`Manifest::jobs`] expands it into [`Job`]s whose ids hash a canonical description, so the
//! same manifest always yields the same ids and a changed hyper-parameter changes exactly the
//! jobs it affects. See `manifests/example.toml` for every key, documented.

mod analysis;
mod checkpoint;
mod error;
mod hyper;
mod ints;
mod job;
mod job_file;
mod manifest;
pub mod pretrain;
mod selector;
mod slurm;

pub use analysis::{Analysis, AnalysisKind};
pub use checkpoint::{Checkpoint, CheckpointSource, INIT_CONFIGS};
pub use error::ManifestError;
pub use hyper::{EvalOrder, Hyper, Precision};
pub use ints::{IntList, parse_range};
pub use job::{Job, MAX_JOBS, PROCEDURE_VERSION, canonical_string, job_id};
pub use job_file::{JobFile, JobFileError, JobSpec, SweepJob, pretrain_job_dir};
pub use manifest::{DEMO_MANIFEST, DEMO_PATH, Manifest, TaskEntry};
pub use pretrain::{PretrainJob, PretrainJobFile, PretrainSettings, PretrainStep};
pub use selector::{SELECTOR_KEYS, Selector, SelectorError};
pub use slurm::{
    DEFAULT_ARRAY_PARALLELISM, DEFAULT_SIGNAL_SECONDS, SlurmConfig, SlurmOverrides, parse_time,
};
