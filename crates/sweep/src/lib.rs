//! Runs many jobs: a local supervisor of `multiberts run-job` child processes, or Slurm.
//!
//! [`run_local`] skips done jobs, runs the rest in a pool of child processes with retries,
//! fail-fast or keep-going, one log file per job under `results/<name>/logs/`, progress bars,
//! and a clean stop on Ctrl-C; a lock file ([`SweepLock`]) stops two sweeps from writing one
//! results directory. With [`GpuOptions`] each job gets a GPU of its own ([`GpuSlots`]), or a
//! share of one. [`slurm`] submits the same jobs to a Slurm cluster as job arrays.
//! [`request`] turns the user's choices into a checked [`SweepPlan`] and its options;
//! [`placement`] checks where the jobs run before any starts; [`summary`] words the plan and
//! the outcome. [`status`] says which jobs are done, running, failed or pending, and [`merge_slurm`] adds
//! Slurm's view.

pub mod child;
pub mod error;
pub mod gpus;
pub mod local;
pub mod lock;
pub mod placement;
pub mod record;
pub mod request;
pub mod slurm;
pub mod stale;
pub mod status;
pub mod summary;

pub use child::{
    ChildSettings, DEFAULT_CHECKPOINT_MINUTES, HELD_EXIT_CODE, PERMANENT_FAILURE_EXIT_CODE,
    die_with_parent, job_dir, stage_job, stage_unfinished,
};
pub use error::{Result, SweepError};
pub use gpus::{GpuOptions, GpuSlots, GpuSlotsError};
pub use local::{LocalOptions, SweepOutcome, default_jobs, run_local};
pub use lock::SweepLock;
pub use placement::{
    GpuChoice, collect_args, gpu_choice, local_gpus, parallel_jobs, refuse_tf32_on_cpu,
    refuse_while_in_slurm, warn_gpu_without_gres,
};
pub use record::{FailedJob, SweepRecord};
pub use request::{DeviceProbe, SlurmRequest, SweepPlan, SweepRequest, manifest_and_tree};
pub use stale::{RERUN_STALE_FLAG, check_stale, stale_note};
pub use status::{JobProgress, SweepStatus, merge_slurm, merge_slurm_ids, pretrain_status, status};
pub use summary::plan_text;
