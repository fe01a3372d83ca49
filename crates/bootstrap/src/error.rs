//! Errors of the bootstrap library.

use multiberts_metrics::MetricError;

/// Why a bootstrap could not be run.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The prediction matrix, labels and run list do not fit together.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A metric rejected the data of one run (e.g. a prediction that is not a class id).
    #[error("run {run}: {source}")]
    Metric {
        /// Row of the run in the prediction matrix.
        run: usize,
        /// What the metric said.
        source: MetricError,
    },
    /// A side of the comparison has no runs.
    #[error("no {0} runs: every analysis needs at least one seed on each side it uses")]
    NoSeeds(&'static str),
    /// A paired comparison found no seed present on both sides.
    #[error("paired comparison: no seed has runs on both sides")]
    NoCommonSeeds,
    /// An option is out of range or a combination is not supported.
    #[error("invalid option: {0}")]
    InvalidOption(String),
}
