//! The Slurm backend: jobs go to Slurm as job arrays instead of a local pool.
//!
//! [`submit_slurm`] writes the pending job list and sbatch scripts into
//! `results/<name>/slurm/<NNN>/` and submits arrays (split at the cluster's `MaxArraySize`,
//! throttled with `%N`) plus a collect job with `afterany`; jobs that are done, or pending or
//! running in Slurm, are not submitted again. [`slurm_view`] reads the recorded submissions
//! back and asks Slurm (squeue, scontrol; sacct where it exists) what became of each job, for
//! `multiberts status`. Everything goes through Slurm's command-line tools.

pub mod cli;
pub mod record;
pub mod script;
pub mod submit;
pub mod view;

pub use cli::{SlurmCli, StateClass, TaskState};
pub use record::{Submission, SubmissionRecord, read_submissions, slurm_log_dir, task_log};
pub use script::STOPPED_EXIT_CODE;
pub use submit::{SbatchCall, SlurmOptions, SubmitOutcome, absolute, submit_slurm};
pub use view::{SlurmJob, SlurmView, slurm_view};
