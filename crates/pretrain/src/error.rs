//! The pre-training error type: every variant names the file, line or step that went wrong.

use std::path::PathBuf;

/// Why a pre-training run could not go on.
#[derive(Debug, thiserror::Error)]
pub enum PretrainError {
    /// A corpus file could not be read or holds no text.
    #[error("{path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Corpus {
        /// The corpus file.
        path: PathBuf,
        /// 1-based line, where one is to blame.
        line: Option<usize>,
        /// What was wrong and what was expected.
        message: String,
    },
    /// The run's settings do not make sense together.
    #[error("pre-training settings: {0}")]
    Settings(String),
    /// The working directory, which relative paths are read from, cannot be read.
    #[error("cannot read the working directory")]
    WorkingDirectory(#[source] std::io::Error),
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The loss became NaN or infinite.
    #[error(
        "pre-training run {run}: the loss is {loss} at step {step}; lower the learning rate. \
         The checkpoints saved so far are kept."
    )]
    NonFiniteLoss {
        /// The run's name.
        run: String,
        /// 1-based step.
        step: u64,
        /// The loss.
        loss: f32,
    },
    /// Stopped after a step by the test hook that simulates a kill.
    #[error("pre-training run {run}: aborted after step {step} (test hook)")]
    Aborted {
        /// The run's name.
        run: String,
        /// The last step taken.
        step: u64,
    },
    /// Stopped on request (USR2, Ctrl-C) after saving the resume state.
    #[error("pre-training run {run}: stopped at step {step}; the resume state is saved")]
    Stopped {
        /// The run's name.
        run: String,
        /// The last step taken.
        step: u64,
    },
    /// The model failed.
    #[error(transparent)]
    Model(#[from] multiberts_model::error::ModelError),
    /// The tokenizer could not be built.
    #[error(transparent)]
    Tokenizer(#[from] multiberts_model::tokenizer::TokenizerError),
    /// The resume state could not be read or written.
    #[error(transparent)]
    Runner(#[from] multiberts_runner::error::RunnerError),
    /// Writing a file atomically failed.
    #[error(transparent)]
    Collector(#[from] multiberts_collector::CollectorError),
    /// An error inside candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

impl PretrainError {
    /// A file error.
    pub fn file(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        Self::File {
            path: path.into(),
            message: message.to_string(),
        }
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, PretrainError>;
