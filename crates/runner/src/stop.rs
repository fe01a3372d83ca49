//! Cooperative stop: `SIGUSR2` asks a running job to stop at the next optimizer-step boundary
//! after saving its resume state. Slurm sends it (through the batch script) before a time limit
//! or a preemption, so the job can requeue itself and continue where it stopped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Exit status of `multiberts run-job` when it stopped on request with its state saved
/// (`EX_TEMPFAIL`: try again later). The Slurm batch script requeues the job on it.
pub const STOPPED_EXIT_CODE: u8 = 75;

/// Exit status of `multiberts run-job` when another process holds the job directory: the
/// sweep skips the job (`multiberts_sweep::HELD_EXIT_CODE`; repeated here because the runner
/// does not link the sweep crate).
pub const HELD_EXIT_CODE: u8 = 69;

/// Exit status of `multiberts run-job` for a failure a retry cannot fix: the sweep does not
/// retry the job (`multiberts_sweep::PERMANENT_FAILURE_EXIT_CODE`, repeated here).
pub const PERMANENT_FAILURE_EXIT_CODE: u8 = 65;

/// Environment variable of a test hook: sleep this many milliseconds after every optimizer
/// step, so that a test can signal a tiny job while it trains. Changes no result.
pub const STEP_SLEEP_ENV: &str = "MULTIBERTS_TEST_STEP_SLEEP_MS";

/// Environment variable of the test hook that stops a job right after a given step, as if it
/// had been killed there.
pub const ABORT_ENV: &str = "MULTIBERTS_ABORT_AFTER_STEP";

/// [`ABORT_ENV`] is set to something that is not a step number.
#[derive(Debug, thiserror::Error)]
#[error("{ABORT_ENV}={value:?} is not a step number")]
pub struct AbortStepError {
    /// The variable's value.
    pub value: String,
    /// Why it is not a number.
    pub source: std::num::ParseIntError,
}

/// The test hook's step ([`ABORT_ENV`]), if set.
pub fn abort_after_step() -> Result<Option<u64>, AbortStepError> {
    match std::env::var(ABORT_ENV) {
        Ok(value) => match value.parse::<u64>() {
            Ok(step) => Ok(Some(step)),
            Err(source) => Err(AbortStepError { value, source }),
        },
        Err(_) => Ok(None),
    }
}

fn flag() -> &'static Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        #[cfg(unix)]
        if let Err(e) =
            signal_hook::flag::register(signal_hook::consts::SIGUSR2, Arc::clone(&flag))
        {
            tracing::warn!(error = %e, "cannot install the USR2 handler; a stop request will kill the job");
        }
        flag
    })
}

/// Installs the `SIGUSR2` handler (once per process; later calls do nothing). [`crate::run_job`]
/// calls it; a caller may call it earlier to cover its own start-up.
pub fn install() {
    flag();
}

/// Whether a stop was requested (by `SIGUSR2` or [`request`]).
pub fn requested() -> bool {
    flag().load(Ordering::SeqCst)
}

/// Asks the jobs of this process to stop at their next step boundary, as `SIGUSR2` does.
pub fn request() {
    flag().store(true, Ordering::SeqCst);
}

/// The per-step sleep of the test hook ([`STEP_SLEEP_ENV`]), if set to a number.
pub(crate) fn step_sleep() -> Option<Duration> {
    let ms: u64 = std::env::var(STEP_SLEEP_ENV).ok()?.trim().parse().ok()?;
    (ms > 0).then(|| Duration::from_millis(ms))
}
