//! `multiberts status`: a table of job states per task, then the failed jobs with the last
//! lines of their logs.

use std::fmt::Write;

use comfy_table::Table;

use multiberts_manifest::{Job, Manifest, PretrainJob};
use multiberts_sweep::JobProgress;

/// The columns of the table: done, running, queued (shown only for Slurm submissions),
/// failed, pending.
const STATES: usize = 5;
/// The column of queued jobs.
const QUEUED: usize = 2;

/// The table of job states per task and in all, followed by every failed job with the last
/// `tail` lines of its log. `slurm` is `Some` when the results have Slurm submissions (which
/// adds the queued column), holding whether Slurm's commands could be asked.
pub fn report(
    manifest: &Manifest,
    jobs: &[Job],
    progress: &[JobProgress],
    slurm: Option<bool>,
    tail: usize,
) -> String {
    let table = progress_table(manifest, jobs, progress, slurm.is_some());
    let mut out = format!("{table}\n");
    if slurm == Some(false) {
        out.push_str("(Slurm's commands are not available here: showing DONE markers only)\n");
    }
    for (job, p) in jobs.iter().zip(progress) {
        if let JobProgress::Failed { status, log } = p {
            let _ = writeln!(
                out,
                "\nfailed: {} {} {} lr={:e} seed={} ({status}); last lines of {}:",
                job.id,
                job.task,
                job.checkpoint.id,
                job.learning_rate,
                job.finetune_seed,
                log.display()
            );
            for line in multiberts_sweep::record::tail(log, tail) {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    out
}

/// The pre-training jobs' states (one row each: id, seed, state), then each failed one with
/// the last `tail` lines of its log; empty without pre-training jobs.
pub fn pretrain_report(jobs: &[PretrainJob], progress: &[JobProgress], tail: usize) -> String {
    if jobs.is_empty() {
        return String::new();
    }
    let mut table = crate::new_table(["pre-training job", "seed", "state"]);
    let mut failed = String::new();
    for (job, p) in jobs.iter().zip(progress) {
        let state = match p {
            JobProgress::Done => "done".to_string(),
            JobProgress::Running => "running".to_string(),
            JobProgress::Queued { task, state } => format!("queued (Slurm {task} {state})"),
            JobProgress::Failed { status, .. } => format!("failed ({status})"),
            JobProgress::Pending { started: true } => "pending (interrupted)".to_string(),
            JobProgress::Pending { started: false } => "pending".to_string(),
        };
        table.add_row(vec![job.id.clone(), job.seed.to_string(), state]);
        if let JobProgress::Failed { log, .. } = p {
            let _ = writeln!(
                failed,
                "\nfailed: pre-training job {} (seed {}); last lines of {}:",
                job.id,
                job.seed,
                log.display()
            );
            for line in multiberts_sweep::record::tail(log, tail) {
                let _ = writeln!(failed, "  {line}");
            }
        }
    }
    format!("{table}\n{failed}")
}

/// The column a job's state counts in.
fn column(p: &JobProgress) -> usize {
    match p {
        JobProgress::Done => 0,
        JobProgress::Running => 1,
        JobProgress::Queued { .. } => QUEUED,
        JobProgress::Failed { .. } => 3,
        JobProgress::Pending { .. } => 4,
    }
}

/// One row per task (and variant) and a row `all`.
fn progress_table(
    manifest: &Manifest,
    jobs: &[Job],
    progress: &[JobProgress],
    slurm: bool,
) -> Table {
    let mut header = vec!["task", "done", "running"];
    if slurm {
        header.push("queued");
    }
    header.extend(["failed", "pending", "total"]);
    let mut table = crate::new_table::<0>([]);
    table.set_header(header);
    let row_of = |name: String, counts: &[usize; STATES], total: usize| {
        let mut row = vec![name];
        for (k, c) in counts.iter().enumerate() {
            if k != QUEUED || slurm {
                row.push(c.to_string());
            }
        }
        row.push(total.to_string());
        row
    };
    let mut totals = [0usize; STATES];
    for task in &manifest.tasks {
        let mut counts = [0usize; STATES];
        for (job, p) in jobs.iter().zip(progress) {
            if job.task == task.name && job.variant == task.variant {
                counts[column(p)] += 1;
            }
        }
        for (total, count) in totals.iter_mut().zip(counts) {
            *total += count;
        }
        table.add_row(row_of(task.display_name(), &counts, counts.iter().sum()));
    }
    table.add_row(row_of("all".into(), &totals, jobs.len()));
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo's 60 jobs: the first failed (its log has three lines), the second queued in
    /// Slurm, the rest done.
    fn demo_report(slurm: Option<bool>) -> String {
        let manifest = Manifest::demo().expect("the embedded demo parses");
        let jobs = manifest.jobs();
        let dir = tempfile::tempdir().expect("temporary folder");
        let log = dir.path().join("first.log");
        std::fs::write(&log, "one\ntwo\nthree\n").expect("log written");
        let mut progress = vec![JobProgress::Done; jobs.len()];
        progress[0] = JobProgress::Failed {
            status: "exit status 1".into(),
            log: log.clone(),
        };
        progress[1] = JobProgress::Queued {
            task: "12_1".into(),
            state: "PENDING".into(),
        };
        report(&manifest, &jobs, &progress, slurm, 2)
    }

    #[test]
    fn counts_per_task_and_the_failed_jobs_last_lines() {
        let text = demo_report(Some(false));
        let rows: Vec<&str> = text.lines().filter(|l| l.contains('┆')).collect();
        let cells = |row: &str| -> Vec<String> {
            row.trim_matches(|c| c == '│' || c == ' ')
                .split('┆')
                .map(|c| c.trim().to_string())
                .collect()
        };
        assert_eq!(
            cells(rows[0]),
            [
                "task", "done", "running", "queued", "failed", "pending", "total"
            ]
        );
        assert_eq!(
            cells(rows[1]),
            ["demo-sentiment", "18", "0", "1", "1", "0", "20"]
        );
        assert_eq!(cells(rows[5]), ["all", "58", "0", "1", "1", "0", "60"]);
        assert!(text.contains("(Slurm's commands are not available here"));
        let failed = text.find("\nfailed: ").expect("the failed job is listed");
        assert_eq!(
            &text[failed..].lines().skip(2).collect::<Vec<_>>(),
            &["  two", "  three"]
        );
    }

    #[test]
    fn no_queued_column_without_slurm() {
        let text = demo_report(None);
        assert!(!text.contains("queued"));
        assert!(!text.contains("Slurm"));
    }
}
