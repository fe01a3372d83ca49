//! The lock of a manifest's results directory: an OS lock (`flock`) on its `.sweep.lock` file.
//! A sweep holds it exclusively (two sweeps never write one directory); `collect` and `report`
//! hold it shared (they never read a directory a sweep is writing, and may run side by side).
//! The kernel releases it when its holder exits, however it exits (`kill -9` included), so a
//! dead sweep's lock is never in the way. The file holds the exclusive holder's pid, for the
//! messages; its last holder removes it.

use std::io::Write;
use std::path::{Path, PathBuf};

use multiberts_collector::lock::{FileLock, LockMode, try_lock_file, try_lock_open};

use crate::error::{Result, SweepError};

/// The lock's file name inside a manifest's results directory.
pub const LOCK_FILE: &str = ".sweep.lock";

/// A held lock; dropping it releases it.
#[derive(Debug)]
pub struct SweepLock {
    _lock: FileLock,
}

/// The pid of the sweep that holds `dir`'s lock (exclusively), if a live one does.
pub fn holder(dir: &Path) -> Option<u32> {
    let path = dir.join(LOCK_FILE);
    let file = std::fs::File::open(&path).ok()?;
    match try_lock_open(file, &path, LockMode::Shared) {
        Ok(None) => Some(written_pid(&path)),
        _ => None,
    }
}

/// The pid written in a lock file (0 when it cannot be read).
fn written_pid(path: &Path) -> u32 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0)
}

impl SweepLock {
    /// Takes the lock of `dir` exclusively (a sweep; `dir` is created if needed), or says
    /// which sweep holds it.
    pub fn acquire(dir: &Path) -> Result<SweepLock> {
        let lock = Self::take(dir, LockMode::Exclusive)?;
        let path = dir.join(LOCK_FILE);
        if let Some(mut file) = lock.file() {
            file.set_len(0)
                .and_then(|()| writeln!(file, "{}", std::process::id()))
                .map_err(|e| SweepError::file(&path, format!("cannot write: {e}")))?;
        }
        Ok(SweepLock { _lock: lock })
    }

    /// Takes the lock of `dir` shared (`collect`, `report`: readers, side by side), or says
    /// which sweep is writing it.
    pub fn acquire_shared(dir: &Path) -> Result<SweepLock> {
        Ok(SweepLock {
            _lock: Self::take(dir, LockMode::Shared)?,
        })
    }

    fn take(dir: &Path, mode: LockMode) -> Result<FileLock> {
        std::fs::create_dir_all(dir)
            .map_err(|e| SweepError::file(dir, format!("cannot create directory: {e}")))?;
        let path: PathBuf = dir.join(LOCK_FILE);
        match try_lock_file(&path, mode)? {
            Some(lock) => Ok(lock),
            // Held shared, so by readers only.
            None if mode == LockMode::Exclusive && holder(dir).is_none() => {
                Err(SweepError::Reading {
                    dir: dir.to_path_buf(),
                    lock: path,
                })
            }
            None => Err(SweepError::Locked {
                dir: dir.to_path_buf(),
                pid: written_pid(&path),
                lock: path,
            }),
        }
    }
}
