//! The report's typed errors.

use std::path::PathBuf;

/// Why a report could not be built or written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Reading or writing the results tree (tables, selection records, report files).
    #[error(transparent)]
    Collector(#[from] multiberts_collector::CollectorError),
    /// The bootstrap refused its inputs.
    #[error(transparent)]
    Bootstrap(#[from] multiberts_bootstrap::BootstrapError),
    /// A metric name or computation failed.
    #[error(transparent)]
    Metric(#[from] multiberts_metrics::MetricError),
    /// A task could not be found or its evaluation data read.
    #[error(transparent)]
    Task(#[from] multiberts_tasks::TaskError),
    /// A consolidated predictions table whose runs do not line up.
    #[error("{}: {message}", path.display())]
    Table {
        /// The table.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A task of the manifest has not been consolidated yet.
    #[error(
        "task `{task}` has no consolidated table: {} is missing; run `multiberts collect {manifest}` first",
        path.display()
    )]
    NotCollected {
        /// The task.
        task: String,
        /// The missing file.
        path: PathBuf,
        /// The manifest, as the user passes it to `collect`.
        manifest: String,
    },
    /// An analysis failed; the source says why.
    #[error("analysis `{name}` failed")]
    Analysis {
        /// The analysis.
        name: String,
        /// The cause.
        #[source]
        source: Box<ReportError>,
    },
    /// A bias metric on a task without Winogender metadata.
    #[error(
        "metric {metric} needs Winogender metadata, and task `{task}` has none (its evaluation \
         examples carry no choice items with occupation and gender, or its data was not found: \
         pass --data-dir or set MULTIBERTS_DATA)"
    )]
    NoCorefData {
        /// The task.
        task: String,
        /// The metric.
        metric: String,
    },
    /// An analysis' `rng` that does not parse.
    #[error("rng `{spec}`: {message}")]
    Rng {
        /// The spec as written.
        spec: String,
        /// Why it does not parse.
        message: String,
    },
    /// Malformed Winogender metadata in a task's evaluation split.
    #[error("Winogender metadata of task `{task}`: {message}")]
    CorefMetadata {
        /// The task.
        task: String,
        /// What is wrong.
        message: String,
    },
    /// Drawing a figure failed (plotters' SVG backend refused it).
    #[error("cannot draw the figure report/{file}: {message}")]
    Figure {
        /// The figure's file name under `report/`.
        file: String,
        /// Why.
        message: String,
    },
    /// A selector that does not parse or names an unknown key.
    #[error(transparent)]
    Selector(#[from] multiberts_manifest::SelectorError),
    /// Reading stored predictions failed; the context says what was read.
    #[error("{context}")]
    Read {
        /// What was being read.
        context: String,
        /// The cause.
        #[source]
        source: Box<ReportError>,
    },
    /// An analysis of stored predictions that cannot run as asked (no runs selected, sides
    /// overlapping, a missing option); the message says what to change.
    #[error("{0}")]
    Request(String),
    /// Writing the draws of `multiberts bootstrap --samples`.
    #[error("cannot write samples to {}", path.display())]
    Samples {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Box<multiberts_collector::CollectorError>,
    },
    /// Done jobs whose input files changed since they ran: their results would not match
    /// their inputs.
    #[error(
        "{count} done job(s) read files that have changed since they ran; their results would \
         not match their inputs:\n{jobs}\nrun `multiberts sweep --rerun-stale` to run them again \
         (or restore the files)"
    )]
    Stale {
        /// How many.
        count: usize,
        /// Each job and its changed files, one per line.
        jobs: String,
    },
    /// Writing `summary.csv`.
    #[error("cannot write the CSV of {}: {source}", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: csv::Error,
    },
}

/// Results of this crate.
pub type Result<T, E = ReportError> = std::result::Result<T, E>;

/// Adds what was being done to an error (a read error keeps its cause; a missing value
/// becomes the message).
pub(crate) trait WithContext<T> {
    /// The error with `context` (what was being done) in front.
    fn with_context(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: Into<ReportError>> WithContext<T> for std::result::Result<T, E> {
    fn with_context(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| ReportError::Read {
            context: context(),
            source: Box::new(e.into()),
        })
    }
}

impl<T> WithContext<T> for Option<T> {
    fn with_context(self, context: impl FnOnce() -> String) -> Result<T> {
        self.ok_or_else(|| ReportError::Request(context()))
    }
}
