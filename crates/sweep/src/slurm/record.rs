//! Submissions on record: `results/<name>/slurm/<NNN>/` holds the job list (`jobs.txt`, one
//! job id per line; line i is array index i), their directories (`job-dirs.txt`), the scripts, and `submission.json` with the Slurm
//! ids. Status and later submissions read them to find each job's latest Slurm task.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Result, SweepError};

/// The record's file name in a submission folder.
pub const SUBMISSION_FILE: &str = "submission.json";
/// The job list's file name.
pub const JOBS_FILE: &str = "jobs.txt";
/// The job directories, line for line with the job list (what each array task runs).
pub const DIRS_FILE: &str = "job-dirs.txt";
/// The array script's file name.
pub const ARRAY_SCRIPT: &str = "array.sbatch";
/// The collect script's file name.
pub const COLLECT_SCRIPT: &str = "collect.sbatch";

/// One submitted array: lines `offset .. offset + count` of the job list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArrayRecord {
    /// Slurm's array job id.
    pub id: String,
    /// The first line (0-based) of the job list it runs.
    pub offset: usize,
    /// Its tasks.
    pub count: usize,
}

/// `submission.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmissionRecord {
    /// The folder's name (`001`, `002`, …): later submissions win.
    pub label: String,
    /// Seconds since the Unix epoch.
    pub submitted_at: u64,
    /// The arrays, in order.
    pub arrays: Vec<ArrayRecord>,
    /// The collect job, if one was submitted.
    pub collect: Option<String>,
}

/// A submission read back: its record and job list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// Its folder.
    pub dir: PathBuf,
    /// `submission.json`.
    pub record: SubmissionRecord,
    /// The job ids, by line.
    pub jobs: Vec<String>,
}

impl Submission {
    /// The Slurm task (array id, index) running line `line` of the job list.
    pub fn task_of(&self, line: usize) -> Option<(String, u32)> {
        self.record.arrays.iter().find_map(|a| {
            (line >= a.offset && line < a.offset + a.count)
                .then(|| (a.id.clone(), u32::try_from(line - a.offset).ok()))
                .and_then(|(id, i)| Some((id, i?)))
        })
    }
}

/// `results/<name>/slurm`.
pub fn submissions_dir(output_dir: &Path) -> PathBuf {
    output_dir.join("slurm")
}

/// `results/<name>/logs/slurm`: one `.out` and `.err` per array task (`<array>_<index>`).
pub fn slurm_log_dir(output_dir: &Path) -> PathBuf {
    output_dir.join("logs").join("slurm")
}

/// The stderr log of an array task.
pub fn task_log(output_dir: &Path, array: &str, index: u32, ext: &str) -> PathBuf {
    slurm_log_dir(output_dir).join(format!("{array}_{index}.{ext}"))
}

/// Every recorded submission, oldest first. Folders without a record (a submission that
/// failed before its first array was accepted) are skipped.
pub fn read_submissions(output_dir: &Path) -> Result<Vec<Submission>> {
    let dir = submissions_dir(output_dir);
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let entries =
        std::fs::read_dir(&dir).map_err(|e| SweepError::file(&dir, format!("cannot list: {e}")))?;
    let mut folders: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(SUBMISSION_FILE).is_file())
        .collect();
    // By number, so that 1000 comes after 999.
    folders.sort_by_key(|p| {
        let n = p
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u64>().ok());
        (n, p.clone())
    });
    let mut out = Vec::with_capacity(folders.len());
    for folder in folders {
        let record: SubmissionRecord =
            multiberts_collector::atomic::read_json(&folder.join(SUBMISSION_FILE))?;
        let jobs_path = folder.join(JOBS_FILE);
        let text = std::fs::read_to_string(&jobs_path)
            .map_err(|e| SweepError::file(&jobs_path, format!("cannot read: {e}")))?;
        let jobs = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        out.push(Submission {
            dir: folder,
            record,
            jobs,
        });
    }
    Ok(out)
}

/// The label of the next submission: one more than the largest numbered folder.
pub fn next_label(output_dir: &Path) -> String {
    let dir = submissions_dir(output_dir);
    let last = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0);
    format!("{:03}", last + 1)
}

/// Writes the record atomically.
pub fn write_record(dir: &Path, record: &SubmissionRecord) -> Result<()> {
    multiberts_collector::atomic::write_json(&dir.join(SUBMISSION_FILE), record)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_map_to_array_tasks_across_chunks() {
        let s = Submission {
            dir: PathBuf::new(),
            record: SubmissionRecord {
                label: "001".into(),
                submitted_at: 0,
                arrays: vec![
                    ArrayRecord {
                        id: "10".into(),
                        offset: 0,
                        count: 3,
                    },
                    ArrayRecord {
                        id: "14".into(),
                        offset: 3,
                        count: 2,
                    },
                ],
                collect: None,
            },
            jobs: vec!["a".into(); 5],
        };
        assert_eq!(s.task_of(0), Some(("10".into(), 0)));
        assert_eq!(s.task_of(2), Some(("10".into(), 2)));
        assert_eq!(s.task_of(3), Some(("14".into(), 0)));
        assert_eq!(s.task_of(4), Some(("14".into(), 1)));
        assert_eq!(s.task_of(5), None);
    }

    #[test]
    fn labels_count_up_and_records_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(next_label(dir.path()), "001");
        let sub = submissions_dir(dir.path()).join("001");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(JOBS_FILE), "j1\nj2\n").unwrap();
        let record = SubmissionRecord {
            label: "001".into(),
            submitted_at: 5,
            arrays: vec![ArrayRecord {
                id: "7".into(),
                offset: 0,
                count: 2,
            }],
            collect: Some("8".into()),
        };
        write_record(&sub, &record).unwrap();
        assert_eq!(next_label(dir.path()), "002");
        let read = read_submissions(dir.path()).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].record, record);
        assert_eq!(read[0].jobs, ["j1", "j2"]);
    }
}
