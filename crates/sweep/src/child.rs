//! How a sweep starts one job: `multiberts run-job <job dir> --settings <json>`. The job
//! itself travels as the job directory's `job.json` (written by the sweep just before); what
//! is not part of the job (device, resume interval, whether to keep the resume state) travels
//! as one serialised [`ChildSettings`], so the sweep and `run-job` cannot drift apart.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use multiberts_collector::{JobDir, ResultsTree};
use multiberts_manifest::SweepJob;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// The subcommand a sweep's children run.
pub const RUN_JOB: &str = "run-job";
/// The option that carries [`ChildSettings`] as JSON.
pub const SETTINGS_FLAG: &str = "--settings";

/// Exit status of `run-job` for a failure that retrying cannot fix (a missing or malformed
/// file, a shape mismatch, bad data): the sweep does not retry it (`EX_DATAERR`).
pub const PERMANENT_FAILURE_EXIT_CODE: u8 = 65;

/// Exit status of `run-job` when another live process holds the job's directory (runs the
/// job): no failure of the job, so the sweep neither retries it nor counts it as failed; it
/// reports it as skipped (`EX_UNAVAILABLE`).
pub const HELD_EXIT_CODE: u8 = 69;

// A Slurm batch script requeues its task on the stopped status: the others must differ.
const _: () = assert!(
    HELD_EXIT_CODE != crate::slurm::STOPPED_EXIT_CODE
        && PERMANENT_FAILURE_EXIT_CODE != crate::slurm::STOPPED_EXIT_CODE
        && HELD_EXIT_CODE != PERMANENT_FAILURE_EXIT_CODE
);

/// Makes the child started by `cmd` die with the process that starts it: on Linux a
/// parent-death signal (`SIGKILL`) is set in the child before it runs, so a sweep killed with
/// `kill -9` (or crashing) takes its `run-job` children with it instead of leaving them to
/// write job directories a re-run is about to use. The signal comes when the *thread* that
/// spawned the child ends: spawn from a thread that lives as long as the sweep. Elsewhere this
/// does nothing (the job-directory lock still keeps a re-run away from a job an orphan runs).
pub fn die_with_parent(cmd: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        let parent = libc::pid_t::try_from(std::process::id()).unwrap_or(0);
        // SAFETY: the closure runs in the forked child before exec and only makes
        // async-signal-safe system calls (prctl, getppid); it allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                let sig = libc::c_ulong::try_from(libc::SIGKILL).unwrap_or(9);
                if libc::prctl(libc::PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent died before prctl took effect: no signal will come, so stop now.
                if libc::getppid() != parent {
                    return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cmd;
}

/// Default minutes of work between two resume checkpoints of a job
/// (`multiberts_runner::save_schedule::DEFAULT_CHECKPOINT_MINUTES`, repeated here because the
/// sweep does not link the runner).
pub const DEFAULT_CHECKPOINT_MINUTES: u64 = 10;

/// Everything a sweep tells each `run-job` child besides the job directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChildSettings {
    /// Save a resume checkpoint every N optimizer steps (0: not by steps).
    pub checkpoint_every: u64,
    /// Save a resume checkpoint every N minutes of work (0: not by time).
    pub checkpoint_minutes: u64,
    /// Keep each finished job's last resume checkpoint in `<job dir>/state/`.
    pub keep_state: bool,
    /// Where the job trains: `cpu`, `cuda:N`. Always explicit, so that a `MULTIBERTS_DEVICE`
    /// in the child's environment (sbatch exports the submitting shell's) cannot move it.
    pub device: String,
}

impl Default for ChildSettings {
    fn default() -> Self {
        Self {
            checkpoint_every: 0,
            checkpoint_minutes: DEFAULT_CHECKPOINT_MINUTES,
            keep_state: false,
            device: "cpu".into(),
        }
    }
}

impl ChildSettings {
    /// The settings as one JSON argument.
    pub fn to_json(&self) -> String {
        // A struct of strings, integers and booleans always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses the JSON argument; the error says which key is wrong.
    pub fn from_json(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| {
            format!(
                "{SETTINGS_FLAG} {text:?} is not valid: {e} (expected a JSON object with keys \
                 checkpoint_every, checkpoint_minutes, keep_state, device)"
            )
        })
    }

    /// These settings on another device (a GPU slot of the local pool).
    pub fn on_device(&self, device: impl Into<String>) -> Self {
        Self {
            device: device.into(),
            ..self.clone()
        }
    }

    /// `<prefix…> run-job <job dir> --settings <json>`: the child's arguments.
    pub fn command_args(&self, prefix: &[OsString], job_dir: &Path) -> Vec<OsString> {
        let mut args = prefix.to_vec();
        args.push(RUN_JOB.into());
        args.push(job_dir.into());
        args.push(SETTINGS_FLAG.into());
        args.push(self.to_json().into());
        args
    }
}

/// The directory of `job` in `tree`: `<task>/<checkpoint>/<id>` for a fine-tuning job,
/// `pretrain/seed_<seed>/<id>` for a pre-training job.
pub fn job_dir(tree: &ResultsTree, job: &SweepJob) -> Result<JobDir> {
    Ok(match job {
        SweepJob::Finetune(file) => {
            let s = &file.spec;
            tree.job(&s.task.name, &s.checkpoint.id, &s.id)?
        }
        SweepJob::Pretrain(file) => tree.pretrain_job(&file.spec.run, &file.spec.id)?,
    })
}

/// `plan --write-jobs`: hands every unfinished job of `manifest` over as its job file (in
/// `tree`, reading data under `data_root`), calling `written` with each directory as it is
/// written; returns how many jobs were done and left out.
pub fn stage_unfinished(
    manifest: &multiberts_manifest::Manifest,
    tree: &ResultsTree,
    data_root: Option<&Path>,
    mut written: impl FnMut(&Path),
) -> Result<usize> {
    let mut done = 0;
    for file in manifest.sweep_jobs(data_root, tree.root())? {
        match stage_job(tree, &file)? {
            (dir, true) => written(dir.path()),
            (_, false) => done += 1,
        }
    }
    Ok(done)
}

/// Hands a job over: writes `job`'s file as the `job.json` of its directory in `tree`
/// (creating the directory) unless the job is done. Returns the directory and whether it was
/// written.
pub fn stage_job(tree: &ResultsTree, job: &SweepJob) -> Result<(JobDir, bool)> {
    let dir = job_dir(tree, job)?;
    if dir.is_done() {
        return Ok((dir, false));
    }
    dir.write_job_file(job)?;
    Ok((dir, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_unknown_keys_are_refused() {
        let s = ChildSettings {
            checkpoint_every: 7,
            checkpoint_minutes: 0,
            keep_state: true,
            device: "cuda:1".into(),
        };
        assert_eq!(ChildSettings::from_json(&s.to_json()), Ok(s.clone()));
        assert_eq!(ChildSettings::from_json("{}"), Ok(ChildSettings::default()));
        let err = ChildSettings::from_json(r#"{"devcie":"cpu"}"#).unwrap_err();
        assert!(err.contains("devcie") && err.contains("expected"), "{err}");
        let args = s.on_device("cuda:0").command_args(&[], Path::new("r/j"));
        let text: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(text[..3], ["run-job", "r/j", "--settings"]);
        assert!(text[3].contains(r#""device":"cuda:0""#), "{}", text[3]);
    }
}
