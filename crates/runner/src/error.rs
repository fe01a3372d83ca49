//! The runner's error type: every variant says which job, file or step went wrong.

use std::path::PathBuf;

/// Why a job could not run to completion.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// The job's task is not in the registry or its data could not be read.
    #[error(transparent)]
    Task(#[from] multiberts_tasks::TaskError),
    /// Building, loading or running the model failed.
    #[error(transparent)]
    Model(#[from] multiberts_model::error::ModelError),
    /// A checkpoint could not be loaded.
    #[error(transparent)]
    Checkpoint(#[from] multiberts_model::checkpoint::CheckpointError),
    /// A hub download failed.
    #[error(transparent)]
    Hub(#[from] multiberts_model::hub::HubError),
    /// The tokenizer could not be built or failed on an input.
    #[error(transparent)]
    Tokenizer(#[from] multiberts_model::tokenizer::TokenizerError),
    /// Writing the results tree failed.
    #[error(transparent)]
    Collector(#[from] multiberts_collector::CollectorError),
    /// A metric could not be computed.
    #[error("metric `{metric}`: {source}")]
    Metric {
        /// The metric's name.
        metric: String,
        /// The underlying error.
        source: multiberts_metrics::MetricError,
    },
    /// An error inside candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong and what was expected.
        message: String,
    },
    /// The training loss became NaN or infinite.
    #[error(
        "job {job}: the training loss is {loss} at step {step} (epoch {epoch}); lower the \
         learning rate or check the data. Nothing was marked done."
    )]
    NonFiniteLoss {
        /// The job id.
        job: String,
        /// 1-based optimizer step whose loss was not finite.
        step: u64,
        /// 1-based epoch.
        epoch: u32,
        /// The loss value.
        loss: f32,
    },
    /// The data does not fit the task (e.g. a regression value in a classification task).
    #[error("task `{task}`, split `{split}`, example {index} (`{id}`): {message}")]
    Data {
        /// Task name.
        task: String,
        /// Split name.
        split: String,
        /// 0-based example position.
        index: usize,
        /// The example's id.
        id: String,
        /// What is wrong.
        message: String,
    },
    /// The job cannot run as described (empty split, unsupported task kind, ...).
    #[error("job {job}: {message}")]
    Invalid {
        /// The job id.
        job: String,
        /// What is wrong.
        message: String,
    },
    /// The run stopped on purpose after a given step (a test hook simulating a kill).
    #[error("job {job}: stopped after step {step} as asked (MULTIBERTS_ABORT_AFTER_STEP)")]
    Aborted {
        /// The job id.
        job: String,
        /// The last step taken.
        step: u64,
    },
    /// The run stopped cooperatively on request (SIGUSR2, e.g. Slurm's warning before a time
    /// limit or preemption) after saving its resume state; a re-run continues from there.
    #[error(
        "job {job}: stopped on request (USR2) after step {step}; its resume state is saved and a re-run continues from there"
    )]
    Stopped {
        /// The job id.
        job: String,
        /// The last step taken (and saved).
        step: u64,
    },
}

impl RunnerError {
    /// A data error about example `index` of `examples` (task `task`, split `split`).
    pub fn data(
        task: &str,
        split: &str,
        examples: &[multiberts_tasks::Example],
        index: usize,
        message: String,
    ) -> Self {
        RunnerError::Data {
            task: task.into(),
            split: split.into(),
            index,
            id: examples[index].id.clone(),
            message,
        }
    }

    /// Whether retrying the job cannot help: the inputs are wrong (a missing or malformed data
    /// or checkpoint file, a shape mismatch, bad data, a loss that diverges the same way every
    /// time). Hub downloads, candle's device errors and writes to the results tree (a full
    /// disk) may succeed on a retry. A job another process runs is neither
    /// ([`RunnerError::is_held`]).
    pub fn is_permanent(&self) -> bool {
        use multiberts_model::error::ModelError;
        match self {
            RunnerError::Task(_)
            | RunnerError::Checkpoint(_)
            | RunnerError::Tokenizer(_)
            | RunnerError::Metric { .. }
            | RunnerError::NonFiniteLoss { .. }
            | RunnerError::Data { .. }
            | RunnerError::Invalid { .. } => true,
            RunnerError::Model(e) => !matches!(e, ModelError::Candle(_)),
            RunnerError::Collector(_)
            | RunnerError::Hub(_)
            | RunnerError::Candle(_)
            | RunnerError::File { .. }
            | RunnerError::Aborted { .. }
            | RunnerError::Stopped { .. } => false,
        }
    }

    /// `run-job`'s exit status for this error: [`STOPPED_EXIT_CODE`](crate::STOPPED_EXIT_CODE)
    /// for a job stopped on request (Slurm's batch script requeues it),
    /// [`HELD_EXIT_CODE`](crate::stop::HELD_EXIT_CODE) for a job another process runs (the
    /// sweep skips it), [`PERMANENT_FAILURE_EXIT_CODE`](crate::stop::PERMANENT_FAILURE_EXIT_CODE)
    /// for one a retry cannot fix (the sweep does not retry it), else 1.
    pub fn exit_code(&self) -> u8 {
        if matches!(self, RunnerError::Stopped { .. }) {
            crate::STOPPED_EXIT_CODE
        } else if self.is_held() {
            crate::stop::HELD_EXIT_CODE
        } else if self.is_permanent() {
            crate::stop::PERMANENT_FAILURE_EXIT_CODE
        } else {
            1
        }
    }

    /// Whether another live process holds the job's directory (runs the job): no failure of
    /// the job itself; `run-job` exits with its own status so that a sweep skips the job.
    pub fn is_held(&self) -> bool {
        matches!(
            self,
            RunnerError::Collector(multiberts_collector::CollectorError::Held { .. })
        )
    }

    /// A file error with a message.
    pub fn file(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        RunnerError::File {
            path: path.into(),
            message: message.to_string(),
        }
    }
}

/// The runner's result type.
pub type Result<T, E = RunnerError> = std::result::Result<T, E>;
