//! The error type of model building, running and optimisation.

use std::path::PathBuf;

/// Errors from building, running or optimising a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The tensors given do not match what the config needs; every problem is listed by name.
    #[error("{}", describe_mismatch(missing, unexpected, wrong_shape))]
    Mismatch {
        /// Parameters the model needs that the tensors lack.
        missing: Vec<String>,
        /// Tensors that no parameter uses.
        unexpected: Vec<String>,
        /// `(name, expected shape, found shape)`.
        wrong_shape: Vec<(String, Vec<usize>, Vec<usize>)>,
    },
    /// A batch is malformed (ragged rows, ids out of range, ...).
    #[error("invalid batch: {0}")]
    Batch(String),
    /// A device check or benchmark cannot use what it was given (an unknown model size, a
    /// fixture without a tensor it needs).
    #[error("{0}")]
    Check(String),
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong and what was expected.
        message: String,
    },
    /// A config problem.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// An error inside candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

fn describe_mismatch(
    missing: &[String],
    unexpected: &[String],
    wrong_shape: &[(String, Vec<usize>, Vec<usize>)],
) -> String {
    let mut parts = vec!["checkpoint tensors do not match the model config".to_owned()];
    // The first few of each kind: a wrong config makes every tensor wrong.
    const SHOWN: usize = 5;
    let more = |n: usize| {
        (n > SHOWN)
            .then(|| format!("and {} more", n - SHOWN))
            .into_iter()
    };
    let list = |names: &[String]| {
        names
            .iter()
            .take(SHOWN)
            .cloned()
            .chain(more(names.len()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !missing.is_empty() {
        parts.push(format!("missing: {}", list(missing)));
    }
    if !unexpected.is_empty() {
        parts.push(format!("unexpected: {}", list(unexpected)));
    }
    for (name, want, got) in wrong_shape.iter().take(SHOWN) {
        parts.push(format!("{name}: expected shape {want:?}, found {got:?}"));
    }
    parts.extend(more(wrong_shape.len()).map(|m| format!("{m} tensors of another shape")));
    parts.join("; ")
}

impl ModelError {
    /// A [`ModelError::Mismatch`] found while building from the checkpoint whose weights are
    /// `weights` and whose config is `config`, made to name them; other errors unchanged.
    pub fn in_checkpoint(self, weights: &std::path::Path, config: &std::path::Path) -> Self {
        match self {
            ModelError::Mismatch { .. } => ModelError::file(
                weights,
                format!(
                    "{self}; {} does not describe these weights (a config of another model \
                     size, or weights of another model)",
                    config.display()
                ),
            ),
            other => other,
        }
    }

    /// A file error with a message.
    pub fn file(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        Self::File {
            path: path.into(),
            message: message.to_string(),
        }
    }
}

/// Result with [`ModelError`].
pub type Result<T, E = ModelError> = std::result::Result<T, E>;
