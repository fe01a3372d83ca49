//! The results tree: atomic job outputs, DONE markers, the predictions Parquet schema,
//! consolidation per task, and export/import of the upstream MultiBERTs layouts.
//!
//! - [`predictions`]: the predictions Parquet contract ([`PredictionRow`], [`write_predictions`],
//!   [`read_predictions`]).
//! - [`upstream`]: the GLUE (`index.tsv` + one TSV per run + labels) and coref (`run_info.tsv`,
//!   `label_info.tsv`, `preds.tsv`) layouts of the original release, read into and written from
//!   one neutral [`upstream::UpstreamPredictions`].
//!
//! The user-facing description of the files lives in `docs/results.md`.

pub mod atomic;
pub mod error;
pub mod predictions;
pub mod upstream;

pub use error::{CollectorError, Result};
pub use predictions::{PredictionRow, PredictionsWriter, read_predictions, write_predictions};
