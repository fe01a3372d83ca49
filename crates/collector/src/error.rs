//! The collector's error type: every variant names the file it is about.

use std::path::PathBuf;

/// Everything that can go wrong reading or writing the results tree and the upstream layouts.
#[derive(Debug, thiserror::Error)]
pub enum CollectorError {
    /// An operating-system error on a file or directory.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory that failed.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// A Parquet or Arrow error while reading or writing a predictions file.
    #[error("{path}: parquet: {message}")]
    Parquet {
        /// The predictions file.
        path: PathBuf,
        /// What the parquet/arrow library said.
        message: String,
    },

    /// A predictions file lacks a column of the documented schema.
    #[error("{path}: missing column `{column}` (expected {expected})")]
    MissingColumn {
        /// The predictions file.
        path: PathBuf,
        /// The missing column.
        column: String,
        /// The Arrow type the schema documents for it.
        expected: String,
    },

    /// A predictions column has another type than the documented schema.
    #[error("{path}: column `{column}` has type {found}, expected {expected}")]
    WrongColumnType {
        /// The predictions file.
        path: PathBuf,
        /// The column.
        column: String,
        /// The Arrow type the schema documents.
        expected: String,
        /// The Arrow type found in the file.
        found: String,
    },

    /// A null in a predictions column that the schema declares non-nullable.
    #[error("{path}: column `{column}` is null at row {row}, but the schema does not allow nulls")]
    UnexpectedNull {
        /// The predictions file.
        path: PathBuf,
        /// The column.
        column: String,
        /// The 0-based row in the file.
        row: usize,
    },

    /// A value that the schema's type cannot hold (e.g. 1.5 in an integer column written
    /// as floats by pandas).
    #[error("{path}: column `{column}` at row {row}: {message}")]
    BadValue {
        /// The predictions file.
        path: PathBuf,
        /// The column.
        column: String,
        /// The 0-based row in the file.
        row: usize,
        /// What is wrong with the value.
        message: String,
    },

    /// A JSON file that does not parse or does not have the expected shape.
    #[error("{path}: invalid JSON: {source}")]
    Json {
        /// The JSON file.
        path: PathBuf,
        /// The parse error (it carries line and column).
        source: serde_json::Error,
    },

    /// A malformed text file (TSV, labels, matrix) at a given 1-based line.
    #[error("{path}:{line}: {message}")]
    Malformed {
        /// The text file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What was expected and what was found.
        message: String,
    },

    /// Two files that must agree (runs and predictions, labels and predictions) do not.
    #[error("{path}: {message}")]
    Mismatch {
        /// The file found to disagree with the others.
        path: PathBuf,
        /// The counts or values that disagree.
        message: String,
    },

    /// A name used as a path component in the results tree is not a single safe component.
    #[error("invalid {what} `{value}`: {reason}")]
    InvalidName {
        /// Which name (task, checkpoint id, job id, manifest name).
        what: &'static str,
        /// The offending value.
        value: String,
        /// Why it was rejected and what is expected.
        reason: String,
    },

    /// A job directory was read as results but has no `DONE` marker.
    #[error("{path}: job is not done (no DONE marker); its files are not results")]
    NotDone {
        /// The job directory.
        path: PathBuf,
    },

    /// An operation that needs an unfinished job found a finished one.
    #[error("{path}: job is already done (DONE marker present)")]
    AlreadyDone {
        /// The job directory.
        path: PathBuf,
    },

    /// A result file no longer has the sha256 its job recorded (damaged or edited).
    #[error(
        "{path}: the file is damaged or was changed since its job finished (sha256 {found}, \
         recorded {expected}); delete {job_dir} and run `multiberts sweep` again to re-run the job"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The digest recorded when the job finished.
        expected: String,
        /// The digest now.
        found: String,
        /// The job directory to delete and re-run.
        job_dir: PathBuf,
    },

    /// A consolidated table no longer has the sha256 `collect` recorded for it.
    #[error(
        "{path}: the consolidated table is damaged or was changed since `multiberts collect` \
         wrote it (sha256 {found}, recorded {expected} in {selection}); run `multiberts collect` \
         again to write it anew from the job directories"
    )]
    CorruptTable {
        /// The table.
        path: PathBuf,
        /// The digest recorded when it was written.
        expected: String,
        /// The digest now.
        found: String,
        /// The record that holds the digest (`<task>.selection.json`).
        selection: PathBuf,
    },

    /// Another live process holds the job directory (runs its job).
    #[error(
        "{path}: another process is running this job (it holds the directory's lock); wait for it \
         to finish or stop it, then run again"
    )]
    Held {
        /// The job directory.
        path: PathBuf,
    },

    /// Inputs that cannot be turned into what was asked for (e.g. an export without required keys).
    #[error("{context}: {message}")]
    Invalid {
        /// The file, job or group the problem is about.
        context: String,
        /// What is wrong and what was expected.
        message: String,
    },
}

/// Shorthand for results with [`CollectorError`].
pub type Result<T, E = CollectorError> = std::result::Result<T, E>;

/// Wraps an I/O error with the path it happened on.
pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> CollectorError {
    let path = path.into();
    move |source| CollectorError::Io { path, source }
}
