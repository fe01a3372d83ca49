//! Done jobs whose inputs changed since they ran (a data file edited, a checkpoint replaced):
//! a sweep neither reuses them silently nor reports them; it refuses, naming them, unless told
//! to re-run them (`--rerun-stale`).

use multiberts_collector::ResultsTree;
use multiberts_collector::inputs::{describe_stale, stale_jobs};

use crate::error::{Result, SweepError};

/// The flag that re-runs stale jobs.
pub const RERUN_STALE_FLAG: &str = "--rerun-stale";

/// Checks the done jobs of `tree` against their recorded inputs. With `rerun`, each stale job
/// is made unfinished again (its `DONE` marker removed) so that the sweep runs it from the
/// start, and their number is returned; without, a stale job is an error that lists them all.
/// Call it holding the results directory's lock exclusively ([`crate::SweepLock::acquire`]),
/// as [`crate::run_local`] and [`crate::slurm::submit_slurm`] do: re-marking changes the tree
/// that another sweep, `collect` or `report` would read.
pub fn check_stale(tree: &ResultsTree, rerun: bool) -> Result<usize> {
    let stale = stale_jobs(tree)?;
    if stale.is_empty() {
        return Ok(0);
    }
    if !rerun {
        return Err(SweepError::Stale {
            count: stale.len(),
            list: describe_stale(&stale),
        });
    }
    for job in &stale {
        let (_, dir) = ResultsTree::open_job(&job.dir)?;
        // Not while another process holds it (it would be running, not done).
        let _held = dir.lock()?;
        dir.unmark_done()?;
        tracing::warn!(job = %job.job_id, "inputs changed since the job ran; running it again");
    }
    Ok(stale.len())
}

/// What `multiberts status` says of the stale jobs of `tree` (empty when there are none).
pub fn stale_note(tree: &ResultsTree) -> Result<String> {
    let stale = stale_jobs(tree)?;
    if stale.is_empty() {
        return Ok(String::new());
    }
    Ok(format!(
        "{} done job(s) read files that have changed since they ran (stale; `collect` refuses \
         them, `multiberts sweep --rerun-stale` runs them again):\n{}\n",
        stale.len(),
        describe_stale(&stale)
    ))
}
