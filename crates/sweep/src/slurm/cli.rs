//! Slurm's client commands (`sbatch`, `squeue`, `scontrol`, `sacct`), run as child processes and
//! parsed from their text output: the CLI flags are stable across Slurm releases, while
//! libslurm's ABI and the `--json` schemas are not.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::process::Command;

use crate::error::{Result, SweepError};

/// Slurm's default `MaxArraySize`: array indices 0..=1000.
pub const DEFAULT_MAX_ARRAY_SIZE: usize = 1001;

/// One array task as Slurm reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskState {
    /// The state: `PENDING`, `RUNNING`, `COMPLETED`, `FAILED`, `CANCELLED`, `TIMEOUT`, …
    pub state: String,
    /// Why it is pending or ended (`Priority`, `BeginTime`, `NonZeroExitCode`, …).
    pub reason: String,
    /// `code:signal` when Slurm recorded one (`scontrol`/`sacct`).
    pub exit_code: Option<String>,
    /// How often it was requeued (`scontrol`).
    pub restarts: Option<u32>,
}

/// How a state counts for submission and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateClass {
    /// Still going: pending, running, requeued, suspended, completing.
    Active,
    /// Ended successfully.
    Completed,
    /// Ended without success: failed, cancelled, timed out, out of memory, node failure, …
    Failed,
}

/// Classifies a Slurm job state (as printed by `squeue %T`, `scontrol` or `sacct`, where
/// `sacct` may add text such as `CANCELLED by 0`).
pub fn classify(state: &str) -> StateClass {
    let word = state.split_whitespace().next().unwrap_or("");
    match word {
        "COMPLETED" => StateClass::Completed,
        "PENDING" | "RUNNING" | "REQUEUED" | "REQUEUE_HOLD" | "REQUEUE_FED" | "CONFIGURING"
        | "COMPLETING" | "SUSPENDED" | "RESIZING" | "SIGNALING" | "STAGE_OUT" | "STOPPED"
        | "RESV_DEL_HOLD" | "POWER_UP_NODE" | "UPDATE_DB" => StateClass::Active,
        _ => StateClass::Failed,
    }
}

/// The array-task states Slurm knows, by (array job id, task index).
pub type TaskStates = BTreeMap<(String, u32), TaskState>;

/// Runs Slurm's client commands.
#[derive(Debug, Clone, Default)]
pub struct SlurmCli;

fn command_line(program: &str, args: &[&OsStr]) -> String {
    let mut line = program.to_string();
    for a in args {
        line.push(' ');
        line.push_str(&a.to_string_lossy());
    }
    line
}

impl SlurmCli {
    /// Runs `program args`, returning stdout; a failure carries stderr.
    fn run(&self, program: &str, args: &[&OsStr]) -> Result<String> {
        let out = Command::new(program)
            .args(args)
            .output()
            .map_err(|source| {
                if source.kind() == std::io::ErrorKind::NotFound {
                    SweepError::SlurmMissing {
                        command: program.to_string(),
                        source,
                    }
                } else {
                    SweepError::Slurm {
                        command: command_line(program, args),
                        message: source.to_string(),
                    }
                }
            })?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
            return Err(SweepError::Slurm {
                command: command_line(program, args),
                message: if err.is_empty() {
                    format!("{}", out.status)
                } else {
                    err
                },
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Whether Slurm's client commands are installed.
    pub fn available(&self) -> bool {
        Command::new("squeue")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// The cluster's `MaxArraySize` (from `scontrol show config`), or Slurm's default.
    pub fn max_array_size(&self) -> Result<usize> {
        let text = self.run("scontrol", &["show".as_ref(), "config".as_ref()])?;
        Ok(parse_max_array_size(&text).unwrap_or(DEFAULT_MAX_ARRAY_SIZE))
    }

    /// Submits a script with `sbatch --parsable`, returning the job id.
    pub fn sbatch(&self, args: &[&OsStr]) -> Result<String> {
        let mut all: Vec<&OsStr> = vec!["--parsable".as_ref()];
        all.extend_from_slice(args);
        let text = self.run("sbatch", &all)?;
        parse_sbatch(&text).ok_or_else(|| SweepError::Slurm {
            command: command_line("sbatch", &all),
            message: format!("expected a job id, got {:?}", text.trim()),
        })
    }

    /// States of every task of the given arrays that Slurm still remembers (finished jobs are
    /// forgotten after `MinJobAge`): `squeue -h -t all -j IDS -o '%i|%T|%r'`.
    pub fn squeue(&self, array_ids: &[String]) -> Result<TaskStates> {
        if array_ids.is_empty() {
            return Ok(TaskStates::new());
        }
        let ids = array_ids.join(",");
        let args: [&OsStr; 6] = [
            "-h".as_ref(),
            "-t".as_ref(),
            "all".as_ref(),
            "-j".as_ref(),
            ids.as_ref(),
            "-o%i|%T|%r".as_ref(),
        ];
        match self.run("squeue", &args) {
            Ok(text) => Ok(parse_squeue(&text)),
            // Every id is unknown (all purged): nothing to report.
            Err(SweepError::Slurm { message, .. }) if message.contains("Invalid job id") => {
                Ok(TaskStates::new())
            }
            Err(e) => Err(e),
        }
    }

    /// Details (exit code, restarts) of every task of one array: `scontrol -o show job ID`.
    pub fn scontrol_job(&self, array_id: &str) -> Result<TaskStates> {
        let args: [&OsStr; 4] = [
            "-o".as_ref(),
            "show".as_ref(),
            "job".as_ref(),
            array_id.as_ref(),
        ];
        match self.run("scontrol", &args) {
            Ok(text) => Ok(parse_scontrol(&text)),
            Err(SweepError::Slurm { message, .. }) if message.contains("Invalid job id") => {
                Ok(TaskStates::new())
            }
            Err(e) => Err(e),
        }
    }

    /// What the accounting database says about the given arrays, on clusters that have one
    /// (`sacct -X -n --parsable2 -o JobID,State,ExitCode -j IDS`); empty where it is disabled.
    pub fn sacct(&self, array_ids: &[String]) -> TaskStates {
        if array_ids.is_empty() {
            return TaskStates::new();
        }
        let ids = array_ids.join(",");
        let args: [&OsStr; 7] = [
            "-X".as_ref(),
            "-n".as_ref(),
            "--parsable2".as_ref(),
            "-o".as_ref(),
            "JobID,State,ExitCode".as_ref(),
            "-j".as_ref(),
            ids.as_ref(),
        ];
        match self.run("sacct", &args) {
            Ok(text) => parse_sacct(&text),
            Err(e) => {
                tracing::debug!(error = %e, "no accounting data from sacct");
                TaskStates::new()
            }
        }
    }
}

/// `MaxArraySize = N` from `scontrol show config`.
pub fn parse_max_array_size(text: &str) -> Option<usize> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == "MaxArraySize")
            .then(|| value.trim().parse().ok())
            .flatten()
    })
}

/// The job id of `sbatch --parsable` (`ID` or `ID;cluster`).
pub fn parse_sbatch(text: &str) -> Option<String> {
    let id = text.trim().split(';').next()?.trim();
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_digit())).then(|| id.to_string())
}

/// Expands an array index expression: `3`, `[3-4%2]`, `0-2,5,7-9%4`.
pub fn expand_indices(spec: &str) -> Option<Vec<u32>> {
    let spec = spec.trim_start_matches('[').trim_end_matches(']');
    let spec = spec.split('%').next()?;
    let mut out = Vec::new();
    for part in spec.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
                if b < a {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().ok()?),
        }
    }
    Some(out)
}

/// Splits `A_i` / `A_[ranges]` into the array id and its indices; `None` for a plain job.
fn split_task_id(id: &str) -> Option<(String, Vec<u32>)> {
    let (array, tasks) = id.split_once('_')?;
    if array.is_empty() || !array.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((array.to_string(), expand_indices(tasks)?))
}

/// Records `state` for every task that `id` (`A_i`, `A_[ranges]`) names; plain jobs are skipped.
fn insert_tasks(out: &mut TaskStates, id: &str, state: TaskState) {
    if let Some((array, indices)) = split_task_id(id) {
        for i in indices {
            out.insert((array.clone(), i), state.clone());
        }
    }
}

/// Lines of `squeue -o '%i|%T|%r'`.
pub fn parse_squeue(text: &str) -> TaskStates {
    let mut out = TaskStates::new();
    for line in text.lines() {
        let mut fields = line.trim().splitn(3, '|');
        let (Some(id), Some(state), reason) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        let state = TaskState {
            state: state.to_string(),
            reason: reason.unwrap_or("").to_string(),
            exit_code: None,
            restarts: None,
        };
        insert_tasks(&mut out, id, state);
    }
    out
}

/// Records of `scontrol -o show job` (one line per task; `key=value` words).
pub fn parse_scontrol(text: &str) -> TaskStates {
    let mut out = TaskStates::new();
    for line in text.lines() {
        let fields: BTreeMap<&str, &str> = line
            .split_whitespace()
            .filter_map(|w| w.split_once('='))
            .collect();
        let (Some(array), Some(tasks), Some(state)) = (
            fields.get("ArrayJobId"),
            fields.get("ArrayTaskId"),
            fields.get("JobState"),
        ) else {
            continue;
        };
        let Some(indices) = expand_indices(tasks) else {
            continue;
        };
        for i in indices {
            out.insert(
                ((*array).to_string(), i),
                TaskState {
                    state: (*state).to_string(),
                    reason: fields.get("Reason").copied().unwrap_or("").to_string(),
                    exit_code: fields.get("ExitCode").map(|s| (*s).to_string()),
                    restarts: fields.get("Restarts").and_then(|s| s.parse().ok()),
                },
            );
        }
    }
    out
}

/// Lines of `sacct -X -n --parsable2 -o JobID,State,ExitCode`.
pub fn parse_sacct(text: &str) -> TaskStates {
    let mut out = TaskStates::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.trim().split('|').collect();
        let [id, state, exit] = fields.as_slice() else {
            continue;
        };
        let state = TaskState {
            state: (*state).to_string(),
            reason: String::new(),
            exit_code: Some((*exit).to_string()),
            restarts: None,
        };
        insert_tasks(&mut out, id, state);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squeue_lines_with_pending_ranges() {
        // Captured from Slurm 22.05 while a 5-task %2 array ran.
        let text = "1_0|COMPLETED|None\n1_[3-4%2]|PENDING|JobArrayTaskLimit\n1_2|RUNNING|None\n\
                    1_1|FAILED|NonZeroExitCode\n17|RUNNING|None\n";
        let s = parse_squeue(text);
        assert_eq!(s.len(), 5);
        assert_eq!(s[&("1".into(), 4)].state, "PENDING");
        assert_eq!(s[&("1".into(), 4)].reason, "JobArrayTaskLimit");
        assert_eq!(s[&("1".into(), 1)].state, "FAILED");
        assert_eq!(classify(&s[&("1".into(), 1)].state), StateClass::Failed);
        assert_eq!(classify("RUNNING"), StateClass::Active);
        assert_eq!(classify("CANCELLED by 0"), StateClass::Failed);
        assert_eq!(classify("COMPLETED"), StateClass::Completed);
    }

    #[test]
    fn scontrol_records_carry_exit_codes() {
        let text = "JobId=3 ArrayJobId=1 ArrayTaskId=1 ArrayTaskThrottle=2 JobName=t.sh \
                    JobState=FAILED Reason=NonZeroExitCode Dependency=(null) Requeue=1 \
                    Restarts=0 BatchFlag=1 Reboot=0 ExitCode=3:0 RunTime=00:00:02\n\
                    JobId=1 ArrayJobId=1 ArrayTaskId=3-4%2 JobState=PENDING \
                    Reason=JobArrayTaskLimit Restarts=0 ExitCode=0:0\n";
        let s = parse_scontrol(text);
        let t = &s[&("1".into(), 1)];
        assert_eq!(t.exit_code.as_deref(), Some("3:0"));
        assert_eq!(t.restarts, Some(0));
        assert_eq!(t.reason, "NonZeroExitCode");
        assert_eq!(s[&("1".into(), 3)].state, "PENDING");
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn sacct_config_and_sbatch_outputs() {
        let s = parse_sacct("12_0|COMPLETED|0:0\n12_1|CANCELLED by 0|0:15\n12_[2-3]|PENDING|0:0\n");
        assert_eq!(s.len(), 4);
        assert_eq!(s[&("12".into(), 1)].exit_code.as_deref(), Some("0:15"));
        assert_eq!(
            parse_max_array_size("MaxArraySize            = 1001\nMaxJobCount = 10000\n"),
            Some(1001)
        );
        assert_eq!(parse_max_array_size("nothing"), None);
        assert_eq!(parse_sbatch("42\n").as_deref(), Some("42"));
        assert_eq!(parse_sbatch("42;cluster\n").as_deref(), Some("42"));
        assert_eq!(parse_sbatch("Submitted batch job 42"), None);
        assert_eq!(expand_indices("0-2,5,7-8%3"), Some(vec![0, 1, 2, 5, 7, 8]));
        assert_eq!(expand_indices("[4]"), Some(vec![4]));
        assert_eq!(expand_indices("x"), None);
    }
}
