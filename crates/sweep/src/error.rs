//! The sweep's error type.

use std::path::PathBuf;

/// Why a sweep could not run.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// Another live sweep holds the results directory.
    #[error(
        "another sweep (pid {pid}) is writing {dir}; wait for it or stop it (its lock is {lock})"
    )]
    Locked {
        /// The results directory.
        dir: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// The process holding it.
        pid: u32,
    },
    /// `collect` or `report` is reading the results directory (holds its lock shared).
    #[error(
        "`collect` or `report` is reading {dir}; wait for it to finish and run again (its lock is {lock})"
    )]
    Reading {
        /// The results directory.
        dir: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// Job directories held by live processes that are not this sweep's (an earlier sweep's
    /// orphaned child, a hand-started `run-job`): their jobs cannot be started or cleared.
    #[error(
        "{} job(s) are being run by another process (their directories are locked): {}; wait for \
         those processes to finish or stop them, then run again",
        dirs.len(),
        dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    Held {
        /// The held job directories.
        dirs: Vec<PathBuf>,
    },
    /// Done jobs read files that have changed since.
    #[error(
        "{count} done job(s) read files that have changed since they ran, so their results no \
         longer match their inputs:\n{list}\nrun `multiberts sweep --rerun-stale` to run them again \
         (or restore the files)"
    )]
    Stale {
        /// How many.
        count: usize,
        /// One line per job: its directory and the changed files.
        list: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The results tree could not be read.
    #[error(transparent)]
    Collector(#[from] multiberts_collector::CollectorError),
    /// The GPUs to run on are not usable (none, zero jobs per GPU, listed twice).
    #[error(transparent)]
    Gpus(#[from] crate::gpus::GpuSlotsError),
    /// A child process could not be started.
    #[error("cannot start `{exe}` for job {job}: {source}")]
    Spawn {
        /// The executable.
        exe: PathBuf,
        /// The job id.
        job: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A Slurm command is not installed (not on `PATH`).
    #[error(
        "`{command}` cannot be run; the Slurm backend needs Slurm's client commands (sbatch, squeue, scontrol) on PATH"
    )]
    SlurmMissing {
        /// The command.
        command: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A Slurm command failed or printed something unexpected.
    #[error("`{command}` failed: {message}")]
    Slurm {
        /// The command line.
        command: String,
        /// Its error output, or what was unexpected.
        message: String,
    },
    /// The sweep cannot run where it was asked to (GPUs not visible, a mode the device lacks,
    /// Slurm jobs still writing the results directory); the message says what to change.
    #[error("{0}")]
    Placement(String),
    /// Invalid Slurm options (from the manifest's `[slurm]` table or the command line).
    #[error("invalid Slurm options: {0}")]
    SlurmOptions(String),
    /// The manifest cannot be read or expanded into jobs.
    #[error(transparent)]
    Manifest(#[from] multiberts_manifest::ManifestError),
    /// A device cannot be used (this build lacks CUDA, a GPU does not open).
    #[error(transparent)]
    Device(crate::request::DeviceFailure),
    /// The running executable cannot be found (the children run it).
    #[error("cannot find the multiberts executable")]
    Exe(#[source] std::io::Error),
    /// The working directory cannot be read.
    #[error("cannot read the working directory")]
    WorkingDirectory(#[source] std::io::Error),
    /// Ctrl-C (or SIGTERM) stopped the sweep.
    #[error("interrupted; run the same command again to resume")]
    Interrupted,
    /// Jobs failed or were not started.
    #[error("{left} of {total} jobs are not done; see `multiberts status{manifest_arg}`")]
    NotDone {
        /// Jobs not done.
        left: usize,
        /// Jobs in the manifest.
        total: usize,
        /// ` <manifest>` as the user gave it (empty for the demo).
        manifest_arg: String,
    },
}

impl SweepError {
    pub(crate) fn file(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        SweepError::File {
            path: path.into(),
            message: message.to_string(),
        }
    }
}

/// The sweep's result type.
pub type Result<T, E = SweepError> = std::result::Result<T, E>;
