//! `sweep --backend slurm`: submit every job that is not done, not pending or running in Slurm
//! (and, unless asked, not failed there) as job arrays no larger than `MaxArraySize`, then a
//! collect job that waits for all of them with `afterany`.
//!
//! Pre-training jobs go into arrays of their own, submitted first; the fine-tuning arrays
//! wait for them with `--dependency=afterok:<pre-training arrays>` (and for pre-training
//! tasks of earlier submissions still in Slurm), so no fine-tuning job starts before every
//! pre-training job it may need has finished. A fine-tuning job whose pre-training job failed
//! in Slurm and is not resubmitted is not submitted ([`SubmitOutcome::blocked`]).

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use multiberts_collector::ResultsTree;
use multiberts_manifest::{SlurmConfig, SweepJob};

use crate::child::ChildSettings;

use crate::error::{Result, SweepError};
use crate::lock::SweepLock;
use crate::slurm::cli::{DEFAULT_MAX_ARRAY_SIZE, SlurmCli, StateClass};
use crate::slurm::record::{
    ARRAY_SCRIPT, ArrayRecord, COLLECT_SCRIPT, DIRS_FILE, JOBS_FILE, SubmissionRecord, next_label,
    slurm_log_dir, submissions_dir, write_record,
};
use crate::slurm::script::{ScriptContext, array_script, collect_script, shell_quote};
use crate::slurm::view::slurm_view;

/// How to submit a sweep to Slurm.
#[derive(Debug, Clone)]
pub struct SlurmOptions {
    /// The `multiberts` executable (absolute: jobs run it from the compute nodes).
    pub exe: PathBuf,
    /// What every `run-job` is told besides its job directory (`--threads` comes from
    /// `SLURM_CPUS_PER_TASK`).
    pub settings: ChildSettings,
    /// `collect` and its options; `None` submits no collect job.
    pub collect_args: Option<Vec<OsString>>,
    /// The manifest's results directory, `results/<name>` (absolute).
    pub output_dir: PathBuf,
    /// Where jobs start (`--chdir`).
    pub workdir: PathBuf,
    /// The sweep's name.
    pub name: String,
    /// Resources and options: the manifest's `[slurm]` table with command-line overrides.
    pub config: SlurmConfig,
    /// Also submit jobs whose latest Slurm task failed, was cancelled or timed out.
    pub resubmit_failed: bool,
    /// Print instead of writing and submitting.
    pub dry_run: bool,
    /// Run again the done jobs whose input files changed since they ran (`--rerun-stale`):
    /// they are made unfinished under the sweep's lock ([`crate::check_stale`]), as
    /// [`crate::LocalOptions::rerun_stale`] says.
    pub rerun_stale: bool,
}

/// One `sbatch` call of a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SbatchCall {
    /// The command line, as a shell would run it.
    pub command: String,
    /// The job id Slurm gave it (`None` in a dry run).
    pub job_id: Option<String>,
}

/// What a submission did (or, in a dry run, would do).
#[derive(Debug, Clone, Default)]
pub struct SubmitOutcome {
    /// Jobs in the manifest.
    pub total: usize,
    /// Jobs with a `DONE` marker.
    pub already_done: usize,
    /// Jobs pending or running in Slurm: not submitted again.
    pub active: Vec<String>,
    /// Jobs whose latest Slurm task failed, left alone (no `--resubmit-failed`).
    pub failed_skipped: Vec<String>,
    /// Jobs submitted now, in array order (pre-training jobs first).
    pub submitted: Vec<String>,
    /// Of those, the pre-training jobs (the first ones).
    pub submitted_pretrain: usize,
    /// Fine-tuning jobs not submitted because their pre-training job failed in Slurm and is
    /// not resubmitted: `(job id, pre-training job id)`.
    pub blocked: Vec<(String, String)>,
    /// Of those, jobs that had failed in Slurm before.
    pub resubmitted: usize,
    /// The submission's folder (`results/<name>/slurm/<NNN>`).
    pub dir: Option<PathBuf>,
    /// The scripts written (or, in a dry run, that would be), with their paths.
    pub scripts: Vec<(PathBuf, String)>,
    /// The `sbatch` calls, arrays first, then collect.
    pub calls: Vec<SbatchCall>,
    /// The array ids of earlier submissions the collect job also waits for.
    pub waits_for: Vec<String>,
    /// Whether Slurm's commands answered (a dry run works without them).
    pub slurm_reachable: bool,
}

fn command_text(args: &[&OsStr]) -> String {
    let mut s = String::from("sbatch --parsable");
    for a in args {
        s.push(' ');
        s.push_str(&shell_quote(&a.to_string_lossy()));
    }
    s
}

/// Submits the jobs of `jobs` that need it (see the module doc). Holds the results
/// directory's lock while it re-marks stale jobs (with `rerun_stale`) and submits (not in a
/// dry run, unless it re-marks stale jobs).
pub fn submit_slurm(
    jobs: &[SweepJob],
    tree: &ResultsTree,
    opts: &SlurmOptions,
) -> Result<SubmitOutcome> {
    opts.config.validate().map_err(SweepError::SlurmOptions)?;
    let _lock = if opts.dry_run && !opts.rerun_stale {
        None
    } else {
        Some(SweepLock::acquire(&opts.output_dir)?)
    };
    if opts.rerun_stale {
        crate::stale::check_stale(tree, true)?;
    }
    let cli = SlurmCli;
    let view = slurm_view(&opts.output_dir, &cli, false)?;
    if !view.reachable && !opts.dry_run {
        return Err(SweepError::SlurmMissing {
            command: "squeue".into(),
            source: std::io::ErrorKind::NotFound.into(),
        });
    }
    let mut outcome = SubmitOutcome {
        total: jobs.len(),
        slurm_reachable: view.reachable,
        ..SubmitOutcome::default()
    };
    let mut to_submit = Vec::new();
    for file in jobs {
        let id = file.id().to_string();
        let dir = crate::child::job_dir(tree, file)?;
        if dir.is_done() {
            outcome.already_done += 1;
            continue;
        }
        let before = outcome.submitted.len();
        match view.jobs.get(&id).and_then(|j| j.class()) {
            Some(StateClass::Active) => outcome.active.push(id),
            Some(StateClass::Failed) if !opts.resubmit_failed => {
                outcome.failed_skipped.push(id);
            }
            Some(StateClass::Failed) => {
                outcome.resubmitted += 1;
                outcome.submitted.push(id);
            }
            // Never submitted, forgotten by Slurm, or completed without a DONE marker.
            Some(StateClass::Completed) | None => outcome.submitted.push(id),
        }
        if outcome.submitted.len() > before {
            to_submit.push((file, dir));
        }
    }
    // A fine-tuning job whose pre-training job failed and stays so would fail too.
    to_submit.retain(|(file, _)| {
        let Some(needs) = file.needs() else {
            return true;
        };
        let stuck = outcome.failed_skipped.contains(&needs.job) && !needs.dir.is_dir();
        if stuck {
            outcome
                .blocked
                .push((file.id().to_string(), needs.job.clone()));
        }
        !stuck
    });
    // Pre-training first: its arrays are submitted before the fine-tuning arrays wait on them.
    to_submit.sort_by_key(|(file, _)| !file.is_pretrain());
    outcome.submitted = to_submit.iter().map(|(f, _)| f.id().to_string()).collect();
    outcome.submitted_pretrain = to_submit.iter().filter(|(f, _)| f.is_pretrain()).count();
    // Pre-training tasks of earlier submissions that submitted fine-tuning jobs need.
    let mut earlier_pretrain: Vec<String> = Vec::new();
    for (file, _) in &to_submit {
        let Some(needs) = file.needs() else {
            continue;
        };
        if let Some(task) = view
            .jobs
            .get(&needs.job)
            .filter(|j| j.class() == Some(StateClass::Active))
            .map(|j| j.task_id())
            && !earlier_pretrain.contains(&task)
        {
            earlier_pretrain.push(task);
        }
    }
    if outcome.submitted.is_empty() {
        return Ok(outcome);
    }

    let label = next_label(&opts.output_dir);
    let dir = submissions_dir(&opts.output_dir).join(&label);
    let log_dir = slurm_log_dir(&opts.output_dir);
    let max_array = if view.reachable {
        match cli.max_array_size() {
            Ok(n) => n,
            Err(e) if opts.dry_run => {
                tracing::debug!(error = %e, "no cluster config; assuming MaxArraySize {DEFAULT_MAX_ARRAY_SIZE}");
                DEFAULT_MAX_ARRAY_SIZE
            }
            Err(e) => return Err(e),
        }
    } else {
        DEFAULT_MAX_ARRAY_SIZE
    }
    .max(1);
    let ctx = ScriptContext {
        name: &opts.name,
        submission: &label,
        workdir: &opts.workdir,
        log_dir: &log_dir,
        config: &opts.config,
        exe: &opts.exe,
    };
    let jobs_path = dir.join(JOBS_FILE);
    let dirs_path = dir.join(DIRS_FILE);
    let array_path = dir.join(ARRAY_SCRIPT);
    let collect_path = dir.join(COLLECT_SCRIPT);
    outcome.scripts.push((
        array_path.clone(),
        array_script(&ctx, &jobs_path, &dirs_path, &opts.settings),
    ));
    if let Some(args) = &opts.collect_args {
        outcome
            .scripts
            .push((collect_path.clone(), collect_script(&ctx, args)));
    }
    outcome.dir = Some(dir.clone());

    if !opts.dry_run {
        for d in [&dir, &log_dir] {
            std::fs::create_dir_all(d)
                .map_err(|e| SweepError::file(d, format!("cannot create directory: {e}")))?;
        }
        // Each job handed over as a value, before anything can start it.
        let mut dirs = String::new();
        for (file, job_dir) in &to_submit {
            job_dir.write_job_file(file)?;
            dirs.push_str(&job_dir.path().to_string_lossy());
            dirs.push('\n');
        }
        multiberts_collector::atomic::write_bytes(&dirs_path, dirs.as_bytes())?;
        let mut list = outcome.submitted.join("\n");
        list.push('\n');
        multiberts_collector::atomic::write_bytes(&jobs_path, list.as_bytes())?;
        for (path, text) in &outcome.scripts {
            multiberts_collector::atomic::write_bytes(path, text.as_bytes())?;
        }
    }

    let mut record = SubmissionRecord {
        label: label.clone(),
        submitted_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        arrays: Vec::new(),
        collect: None,
    };
    let pretrain = outcome.submitted_pretrain;
    let mut chunks = array_chunks(pretrain, max_array, opts.config.array_parallelism);
    let pretrain_arrays = chunks.len();
    let finetune = outcome.submitted.len() - pretrain;
    for (offset, count, throttle) in
        array_chunks(finetune, max_array, opts.config.array_parallelism)
    {
        chunks.push((offset + pretrain, count, throttle));
    }
    let mut pretrain_ids: Vec<String> = Vec::new();
    for (k, (offset, count, throttle)) in chunks.into_iter().enumerate() {
        let array = format!("--array=0-{}%{throttle}", count - 1);
        let offset_text = offset.to_string();
        let mut waits: Vec<String> = Vec::new();
        if k >= pretrain_arrays {
            waits = if opts.dry_run {
                (1..=pretrain_arrays)
                    .map(|i| format!("<array {i}>"))
                    .collect()
            } else {
                pretrain_ids.clone()
            };
            waits.extend(earlier_pretrain.iter().cloned());
        }
        let dependency = format!("--dependency=afterok:{}", waits.join(":"));
        let mut args: Vec<&OsStr> = Vec::new();
        if k >= pretrain_arrays && !waits.is_empty() {
            args.push(dependency.as_ref());
            args.push("--kill-on-invalid-dep=yes".as_ref());
        }
        args.extend([array.as_ref(), array_path.as_os_str(), offset_text.as_ref()]);
        let command = command_text(&args);
        let job_id = if opts.dry_run {
            None
        } else {
            let id = cli.sbatch(&args)?;
            if k < pretrain_arrays {
                pretrain_ids.push(id.clone());
            }
            record.arrays.push(ArrayRecord {
                id: id.clone(),
                offset,
                count,
            });
            // Written after every array, so that a failure later leaves an accurate record.
            write_record(&dir, &record)?;
            tracing::debug!(array = %id, offset, count, "submitted");
            Some(id)
        };
        outcome.calls.push(SbatchCall { command, job_id });
    }

    if opts.collect_args.is_some() {
        let earlier = view.active_arrays();
        outcome.waits_for = earlier.iter().cloned().collect();
        let mut deps: Vec<String> = if opts.dry_run {
            (1..=outcome.calls.len())
                .map(|i| format!("<array {i}>"))
                .collect()
        } else {
            record.arrays.iter().map(|a| a.id.clone()).collect()
        };
        deps.extend(earlier);
        let dependency = format!("--dependency=afterany:{}", deps.join(":"));
        let args: [&OsStr; 3] = [
            dependency.as_ref(),
            "--kill-on-invalid-dep=yes".as_ref(),
            collect_path.as_os_str(),
        ];
        let command = command_text(&args);
        let job_id = if opts.dry_run {
            None
        } else {
            let id = cli.sbatch(&args)?;
            record.collect = Some(id.clone());
            write_record(&dir, &record)?;
            Some(id)
        };
        outcome.calls.push(SbatchCall { command, job_id });
    }
    Ok(outcome)
}

/// Splits `n` jobs into arrays of at most `max_array` tasks (indices `0..count`, since
/// `MaxArraySize` bounds the largest index + 1): `(offset, count, throttle)` for each, the
/// throttle being `parallelism` capped at the array's size.
pub fn array_chunks(n: usize, max_array: usize, parallelism: u32) -> Vec<(usize, usize, usize)> {
    let max_array = max_array.max(1);
    (0..n)
        .step_by(max_array)
        .map(|offset| {
            let count = (n - offset).min(max_array);
            let throttle = (parallelism as usize).clamp(1, count);
            (offset, count, throttle)
        })
        .collect()
}

/// Absolute form of `path` (against the working directory), for scripts run elsewhere.
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::array_chunks;

    #[test]
    fn arrays_split_at_max_array_size() {
        assert_eq!(array_chunks(4, 1001, 256), [(0, 4, 4)]);
        assert_eq!(array_chunks(1001, 1001, 256), [(0, 1001, 256)]);
        assert_eq!(
            array_chunks(2500, 1001, 64),
            [(0, 1001, 64), (1001, 1001, 64), (2002, 498, 64)]
        );
        assert_eq!(array_chunks(5, 2, 1), [(0, 2, 1), (2, 2, 1), (4, 1, 1)]);
        assert!(array_chunks(0, 1001, 8).is_empty());
    }
}
