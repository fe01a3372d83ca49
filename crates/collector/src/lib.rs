//! The results tree: atomic job outputs, DONE markers, the predictions Parquet schema,
//! consolidation per task, and export/import of the upstream MultiBERTs layouts.
//!
//! - [`predictions`]: the predictions Parquet contract ([`PredictionRow`], [`write_predictions`],
//!   [`read_predictions`]).
//! - [`tree`]: the results tree `results/<manifest>/<task>/<checkpoint>/<job id>/` with
//!   `job.json`, `metrics.json`, `predictions.parquet` and `DONE` last ([`ResultsTree`],
//!   [`JobDir`]); [`records`] holds the JSON shapes.
//! - [`consolidate`]: per task, done jobs → `predictions/<task>.parquet` under the paper's
//!   best-learning-rate rule, recorded in `predictions/<task>.selection.json`.
//! - [`inputs`]: the digests of a job's input files and predictions, checked on later runs.
//! - [`lock`]: `flock` locks: a job directory held by the process that runs it, a results
//!   directory by its sweep (exclusive) or its readers (shared).
//! - [`upstream`]: the GLUE (`index.tsv` + one TSV per run + labels) and coref (`run_info.tsv`,
//!   `label_info.tsv`, `preds.tsv`) layouts of the original release, read into and written from
//!   one neutral [`upstream::UpstreamPredictions`].
//!
//! The user-facing description of the files lives in `docs/results.md`.

pub mod atomic;
pub mod consolidate;
pub mod error;
pub mod inputs;
pub mod lock;
pub mod predictions;
pub mod records;
pub mod steps;
pub mod tree;
pub mod upstream;

pub use consolidate::{
    ConsolidateOptions, Consolidation, LrGroup, LrRule, consolidate_task, consolidate_task_of,
    select_best_lr,
};
pub use error::{CollectorError, Result};
pub use inputs::{InputCheck, InputFile, StaleJob};
pub use lock::{FileLock, LockMode};
pub use predictions::{
    AnswerColumns, PredictionRow, PredictionsWriter, read_predictions, write_predictions,
};
pub use records::{DoneMarker, EpochMetrics, JobRecord, MetricsRecord, Provenance};
pub use steps::StepUnit;
pub use tree::{ClearMode, JobDir, JobState, JobStatus, ResultsTree};
