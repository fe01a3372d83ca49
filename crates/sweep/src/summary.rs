//! What a sweep says it will do and what it did, as text: the local pool's plan and outcome
//! (with the first failures' reasons read from their logs) and a Slurm submission.

use std::fmt::Write as _;
use std::path::Path;

use crate::local::{LocalOptions, SweepOutcome};
use crate::record::failure_reason;
use crate::slurm::SubmitOutcome;

/// Failed jobs whose reasons the outcome shows.
pub const FAILURE_REASONS_SHOWN: usize = 5;

/// `0, 2, 3`.
fn gpu_list_text(gpus: &[usize]) -> String {
    gpus.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `1 job`, `2 jobs`.
fn jobs_text(n: usize) -> String {
    format!("{n} job{}", if n == 1 { "" } else { "s" })
}

/// How the local pool will run sweep `name`'s `total` jobs (`device`: what the jobs run on
/// without GPU slots).
pub fn plan_text(name: &str, total: usize, options: &LocalOptions, device: &str) -> String {
    let on = match &options.gpus {
        Some(g) => format!(
            "GPU{} {} ({} job{} per GPU)",
            if g.gpus.len() == 1 { "" } else { "s" },
            gpu_list_text(&g.gpus),
            g.per_gpu,
            if g.per_gpu == 1 { "" } else { "s" }
        ),
        None => device.to_string(),
    };
    format!(
        "sweep {name}: {total} jobs, {} at a time, {} thread(s) each, on {on}; logs in {}",
        options.jobs,
        options.threads_per_job,
        options.output_dir.join("logs").display()
    )
}

impl SweepOutcome {
    /// What the local pool did, one line per failed job with the first failures' reasons
    /// read from their logs; every line ends in a newline.
    pub fn text(&self) -> String {
        let mut t = String::new();
        if self.already_done == self.total {
            let _ = writeln!(t, "nothing to do: all {} jobs are done", self.total);
        } else {
            let _ = writeln!(
                t,
                "{} jobs finished, {} were already done, {} failed, {} not started{}",
                self.succeeded.len(),
                self.already_done,
                self.failed.len(),
                self.not_started,
                if self.held.is_empty() {
                    String::new()
                } else {
                    format!(", {} held by another process", self.held.len())
                }
            );
        }
        for id in &self.held {
            let _ = writeln!(
                t,
                "  held by another process, skipped: {id} (that process runs it; run the sweep \
                 again once it has ended)"
            );
        }
        for (id, why) in &self.blocked {
            let _ = writeln!(t, "  not started: {id} ({why})");
        }
        for (i, f) in self.failed.iter().enumerate() {
            let _ = writeln!(
                t,
                "  failed: {} ({}, {} attempt{}); log: {}",
                f.id,
                f.status,
                f.attempts,
                if f.attempts == 1 { "" } else { "s" },
                f.log.display()
            );
            // Shown here so that a failure reads without opening the log; the first few only.
            if i < FAILURE_REASONS_SHOWN {
                for line in failure_reason(&f.log) {
                    let _ = writeln!(t, "      {line}");
                }
            } else if i == FAILURE_REASONS_SHOWN {
                t += "      (`multiberts status --tail N` shows the logs of the others)\n";
            }
        }
        t
    }
}

impl SubmitOutcome {
    /// What a Slurm submission of sweep `name` did (or, `dry_run`, would do); `manifest_arg`
    /// is ` <manifest>` as the user gave it (empty for the demo), for suggested commands. Every
    /// line ends in a newline.
    pub fn text(&self, name: &str, manifest_arg: &str, dry_run: bool) -> String {
        let mut t = String::new();
        let status_cmd = format!("multiberts status{manifest_arg}");
        let _ = writeln!(
            t,
            "sweep {name} on Slurm: {} jobs; {} done, {} pending or running in Slurm (not submitted again){}",
            self.total,
            self.already_done,
            self.active.len(),
            if self.resubmitted > 0 {
                format!(", {} failed before (resubmitted)", self.resubmitted)
            } else {
                String::new()
            }
        );
        if !self.failed_skipped.is_empty() {
            let n = self.failed_skipped.len();
            let _ = writeln!(
                t,
                "{} failed in Slurm and {} left alone; see `{status_cmd}`, then add --resubmit-failed",
                jobs_text(n),
                if n == 1 { "is" } else { "are" }
            );
        }
        if self.submitted.is_empty() {
            if self.already_done == self.total {
                let _ = writeln!(
                    t,
                    "nothing to submit: all {} jobs are done (the collect job wrote the report; \
                     `multiberts collect{manifest_arg}` writes it again)",
                    self.total
                );
            } else {
                t += "nothing to submit\n";
            }
            return t;
        }
        let dir = self
            .dir
            .as_ref()
            .map_or_else(String::new, |d| d.display().to_string());
        if dry_run {
            self.dry_run_text(&mut t, &dir);
            return t;
        }
        let _ = writeln!(
            t,
            "submitted {} from {dir}:",
            jobs_text(self.submitted.len())
        );
        for call in &self.calls {
            let job = call.job_id.as_deref().unwrap_or("?");
            let _ = writeln!(t, "  {}  -> job {job}", call.command);
        }
        if !self.waits_for.is_empty() {
            let _ = writeln!(
                t,
                "the collect job also waits for the earlier arrays {}",
                self.waits_for.join(", ")
            );
        }
        let logs = self
            .dir
            .as_deref()
            .and_then(Path::parent)
            .and_then(Path::parent);
        if let Some(out) = logs {
            let logs = out.join("logs").join("slurm");
            let _ = writeln!(t, "logs: {}/<array>_<index>.out|err", logs.display());
        }
        let _ = writeln!(t, "follow with `{status_cmd}`");
        t
    }

    /// The scripts and sbatch lines a dry run would submit from `dir`.
    fn dry_run_text(&self, t: &mut String, dir: &str) {
        let _ = writeln!(
            t,
            "dry run: would write the job list ({} ids, line i = array index i) and these scripts into {dir}",
            self.submitted.len()
        );
        if !self.slurm_reachable {
            t.push_str(
                "(Slurm's commands are not available here: jobs submitted earlier were not checked)\n",
            );
        }
        for (path, text) in &self.scripts {
            let _ = writeln!(t, "\n# ---- {} ----\n{text}", path.display());
        }
        t.push_str("# ---- sbatch command lines ----\n");
        for call in &self.calls {
            let _ = writeln!(t, "{}", call.command);
        }
        t.push_str("\ndry run: nothing was written or submitted\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::FailedJob;

    #[test]
    fn the_outcome_names_each_failure_and_its_log() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("job.log");
        std::fs::write(&log, "step 1\nerror: cannot read vocab.txt\n").unwrap();
        let outcome = SweepOutcome {
            total: 3,
            already_done: 1,
            succeeded: vec!["a".into()],
            failed: vec![FailedJob {
                id: "b".into(),
                status: "exit status: 1".into(),
                attempts: 2,
                log: log.clone(),
            }],
            not_started: 0,
            interrupted: false,
            held: Vec::new(),
            blocked: Vec::new(),
        };
        let text = outcome.text();
        assert!(
            text.starts_with("1 jobs finished, 1 were already done, 1 failed, 0 not started\n"),
            "{text}"
        );
        assert!(
            text.contains("failed: b (exit status: 1, 2 attempts)"),
            "{text}"
        );
        assert!(text.contains("cannot read vocab.txt"), "{text}");
    }

    #[test]
    fn held_jobs_are_counted_and_listed_apart_from_failures() {
        let outcome = SweepOutcome {
            total: 2,
            succeeded: vec!["a".into()],
            held: vec!["b".into()],
            ..SweepOutcome::default()
        };
        let text = outcome.text();
        assert!(
            text.starts_with(
                "1 jobs finished, 0 were already done, 0 failed, 0 not started, 1 held by \
                 another process\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("held by another process, skipped: b"),
            "{text}"
        );
        assert!(!text.contains("failed: b"), "{text}");
    }
}
