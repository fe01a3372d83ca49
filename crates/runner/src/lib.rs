//! Fine-tunes and evaluates one job, handing per-example predictions to the collector.
//!
//! [`run_job`] takes a job directory's `job.json` (the job as the sweep handed it over), loads
//! the job's checkpoint (a generated random init, a local directory or a hub
//! repository), tokenizes the task once per vocabulary (cached), fine-tunes with the model
//! crate's AdamW, linear warm-up/decay and gradient clipping, evaluates after every epoch, and
//! writes `job.json`, `metrics.json`, `predictions.parquet` and `DONE` (last) through the
//! collector. Resume checkpoints in the job's `state/` make a killed job continue
//! bit-identically, and `SIGUSR2` ([`stop`]) makes a job save its state and stop at the next
//! step boundary.

pub mod checkpoint;
pub mod device;
pub mod error;
pub mod evaluate;
pub mod features;
mod head;
mod inputs;
mod job;
mod model;
mod outputs;
mod phases;
pub mod process;
mod progress;
mod qa;
pub mod save_schedule;
pub mod spans;
pub mod state;
pub mod stop;
mod train;

pub use error::{Result, RunnerError};
pub use job::{RunOptions, RunSummary, code_version, log_start, open_job_dir, run_job};
pub use save_schedule::SaveSchedule;
pub use stop::{STOPPED_EXIT_CODE, abort_after_step};
