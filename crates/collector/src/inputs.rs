//! Inputs checked, not assumed: a done job records the size, modification time and sha256 of
//! every file it read (data files, the checkpoint's weights and `vocab.txt`) in its `job.json`,
//! and its predictions' sha256. [`InputCheck`] tells which done jobs read a file whose content
//! has changed since (cheaply: size and modification time first, the hash only when they
//! differ); [`verify_digest`] checks a predictions file against its recorded digest.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{CollectorError, Result, io_err};
use crate::records::Provenance;

/// One input file as a job read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: u64,
    /// Lower-case hex sha256 of its content when the job read it.
    pub sha256: String,
}

impl InputFile {
    /// `path`'s size and modification time now, with the `sha256` computed when it was read.
    /// `None` when the file cannot be examined (the record then simply lacks it).
    pub fn of(path: &Path, sha256: String) -> Option<InputFile> {
        let (size, mtime_ns) = size_and_mtime(path).ok()?;
        Some(InputFile {
            size,
            mtime_ns,
            sha256,
        })
    }
}

fn size_and_mtime(path: &Path) -> std::io::Result<(u64, u64)> {
    let meta = std::fs::metadata(path)?;
    let mtime = meta
        .modified()?
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    Ok((meta.len(), mtime))
}

/// Lower-case hex sha256 of a file's content, read in blocks.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(io_err(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Checks `path` against the sha256 its job recorded when it finished; `job_dir` goes into the
/// error, which says how to re-run the job.
pub fn verify_digest(path: &Path, expected: &str, job_dir: &Path) -> Result<()> {
    let found = sha256_file(path)?;
    if found == expected {
        return Ok(());
    }
    Err(CollectorError::Corrupt {
        path: path.to_path_buf(),
        expected: expected.to_string(),
        found,
        job_dir: job_dir.to_path_buf(),
    })
}

/// One done job that read a file whose content has changed since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleJob {
    /// The job directory.
    pub dir: PathBuf,
    /// The job id.
    pub job_id: String,
    /// The changed files.
    pub changed: Vec<PathBuf>,
}

/// Checks the recorded inputs of done jobs against the files now, remembering each file's
/// verdict (a sweep's jobs share their data and checkpoints).
#[derive(Debug, Default)]
pub struct InputCheck {
    verdicts: HashMap<(PathBuf, String), bool>,
}

impl InputCheck {
    /// A check that remembers nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The files of `provenance.inputs` whose content differs from what the job read. A file
    /// that no longer exists is not counted (results copied to another machine stay usable);
    /// a record without inputs (written before they were kept) has none: unknown, not stale.
    pub fn changed(&mut self, provenance: &Provenance) -> Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for (path, recorded) in &provenance.inputs {
            let path = PathBuf::from(path);
            let key = (path.clone(), recorded.sha256.clone());
            let changed = match self.verdicts.get(&key) {
                Some(&v) => v,
                None => {
                    let v = Self::differs(&path, recorded)?;
                    self.verdicts.insert(key, v);
                    v
                }
            };
            if changed {
                out.push(path);
            }
        }
        Ok(out)
    }

    fn differs(path: &Path, recorded: &InputFile) -> Result<bool> {
        match size_and_mtime(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_err(path)(e)),
            Ok((size, mtime)) if size == recorded.size && mtime == recorded.mtime_ns => Ok(false),
            Ok(_) => Ok(sha256_file(path)? != recorded.sha256),
        }
    }
}

/// The done jobs of `tree` that read a file whose content has changed since they ran.
pub fn stale_jobs(tree: &crate::ResultsTree) -> Result<Vec<StaleJob>> {
    let mut check = InputCheck::new();
    let mut out = Vec::new();
    for job in tree.list_jobs()? {
        if job.state != crate::JobState::Done {
            continue;
        }
        let changed = check.changed(&job.dir.read_job()?.provenance)?;
        if !changed.is_empty() {
            out.push(StaleJob {
                dir: job.dir.path().to_path_buf(),
                job_id: job.dir.job_id().to_string(),
                changed,
            });
        }
    }
    Ok(out)
}

/// One line per stale job: its directory and the files that changed.
pub fn describe_stale(stale: &[StaleJob]) -> String {
    stale
        .iter()
        .map(|s| {
            let files: Vec<String> = s.changed.iter().map(|f| f.display().to_string()).collect();
            format!("  {} (changed: {})", s.dir.display(), files.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_file_is_found_by_its_hash_and_a_touched_one_is_not() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("dev.tsv");
        std::fs::write(&data, "a\t1\n").unwrap();
        let sha = sha256_file(&data).unwrap();
        let mut prov = Provenance::default();
        let key = data.to_string_lossy().into_owned();
        prov.inputs
            .insert(key.clone(), InputFile::of(&data, sha.clone()).unwrap());
        assert!(InputCheck::new().changed(&prov).unwrap().is_empty());
        // Same content, new time: hashed, unchanged.
        prov.inputs.get_mut(&key).unwrap().mtime_ns -= 1;
        assert!(InputCheck::new().changed(&prov).unwrap().is_empty());
        // Same size, another label: changed.
        std::fs::write(&data, "a\t0\n").unwrap();
        assert_eq!(
            InputCheck::new().changed(&prov).unwrap(),
            vec![data.clone()]
        );
        // Gone: cannot be checked, not stale.
        std::fs::remove_file(&data).unwrap();
        assert!(InputCheck::new().changed(&prov).unwrap().is_empty());
        // An old record without inputs: unknown, not stale.
        assert!(
            InputCheck::new()
                .changed(&Provenance::default())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_digest_mismatch_names_the_file_and_the_rerun() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("predictions.parquet");
        std::fs::write(&file, b"PAR1 bytes").unwrap();
        let sha = sha256_file(&file).unwrap();
        verify_digest(&file, &sha, tmp.path()).unwrap();
        std::fs::write(&file, b"PAR1 bytez").unwrap();
        let err = verify_digest(&file, &sha, tmp.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("predictions.parquet"), "{err}");
        assert!(err.contains("multiberts sweep"), "{err}");
    }
}
