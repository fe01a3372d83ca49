//! Cooperative stop: `SIGUSR2` asks a running job to stop at the next optimizer-step boundary
//! after saving its resume state. Slurm sends it (through the batch script) before a time limit
//! or a preemption, so the job can requeue itself and continue where it stopped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Exit status of `multiberts run-job` when it stopped on request with its state saved
/// (`EX_TEMPFAIL`: try again later). The Slurm batch script requeues the job on it.
pub const STOPPED_EXIT_CODE: u8 = 75;

/// Environment variable of a test hook: sleep this many milliseconds after every optimizer
/// step, so that a test can signal a tiny job while it trains. Changes no result.
pub const STEP_SLEEP_ENV: &str = "MULTIBERTS_TEST_STEP_SLEEP_MS";

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
