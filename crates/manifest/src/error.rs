//! Errors of the manifest crate.

use std::path::PathBuf;

use multiberts_tasks::TaskError;
use multiberts_tasks::diag::Diagnostic;

/// What can go wrong loading a manifest.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The manifest file could not be read.
    #[error("cannot read manifest {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The manifest is malformed: the diagnostic names file, line, column and expectation.
    #[error("{0}")]
    Invalid(Box<Diagnostic>),
    /// A task spec (from the manifest's `tasks_dir`) is malformed.
    #[error(transparent)]
    Task(#[from] TaskError),
    /// The manifest file given to a command cannot be used ([`crate::Manifest::load_or_demo`]).
    #[error("invalid manifest {}", path.display())]
    Load {
        /// The file.
        path: PathBuf,
        /// Why.
        source: Box<ManifestError>,
    },
    /// The embedded demo manifest does not validate (a bug).
    #[error("the embedded demo manifest is invalid (a bug)")]
    Demo(#[source] Box<ManifestError>),
}
