//! Operating-system locks (`flock`) on the results tree: a job directory is held exclusively by
//! the process that runs its job, and a manifest's results directory by its sweep (exclusive)
//! or by `collect`/`report` (shared). The kernel drops a lock when its holder exits, however it
//! exits (`kill -9` included), so there is never a stale lock to take over.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

use crate::error::{CollectorError, Result, io_err};

/// How a lock is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Many holders at once (readers: `collect`, `report`), but no exclusive one.
    Shared,
    /// One holder alone (a sweep, the process running a job).
    Exclusive,
}

/// A held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct FileLock {
    path: PathBuf,
    /// `None` where the file system cannot lock (some network file systems): the holder goes
    /// on unlocked, as before locks existed, after a warning.
    file: Option<File>,
    /// A lock file (not a directory) is removed by its last holder.
    remove: bool,
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let Some(file) = &self.file else {
            return;
        };
        // Only the last holder removes it: the one that can take it exclusively. A process
        // that opened the file meanwhile finds it unlinked once it has the lock, and retries.
        if self.remove && file.try_lock().is_ok() && same_file(file, &self.path) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Whether `path` still names the open `file` (it was not removed or replaced).
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

impl FileLock {
    /// The locked file or directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open lock file (to write the holder's pid into), unless locking is unsupported here.
    /// Never clone it: a second handle would keep the lock after this one is dropped.
    pub fn file(&self) -> Option<&File> {
        self.file.as_ref()
    }
}

/// Whether an error says that this file system does not support `flock` at all.
fn unsupported(e: &std::io::Error) -> bool {
    // ENOLCK (37 on Linux): NFS without a lock manager.
    e.kind() == std::io::ErrorKind::Unsupported || e.raw_os_error() == Some(37)
}

/// Tries to lock the open `file` (a regular file or a directory) at `path`. `Ok(None)`: another
/// process holds it in a conflicting mode.
pub fn try_lock_open(file: File, path: &Path, mode: LockMode) -> Result<Option<FileLock>> {
    let tried = match mode {
        LockMode::Shared => file.try_lock_shared(),
        LockMode::Exclusive => file.try_lock(),
    };
    match tried {
        Ok(()) => Ok(Some(FileLock {
            path: path.to_path_buf(),
            file: Some(file),
            remove: false,
        })),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) if unsupported(&e) => {
            tracing::warn!(path = %path.display(), error = %e, "this file system cannot lock files; going on without the lock");
            Ok(Some(FileLock {
                path: path.to_path_buf(),
                file: None,
                remove: false,
            }))
        }
        Err(TryLockError::Error(e)) => Err(CollectorError::Io {
            path: path.to_path_buf(),
            source: e,
        }),
    }
}

/// Tries to lock the directory `dir` itself (no file is created in it). `Ok(None)`: another
/// process holds it.
pub fn try_lock_dir(dir: &Path, mode: LockMode) -> Result<Option<FileLock>> {
    let file = File::open(dir).map_err(io_err(dir))?;
    try_lock_open(file, dir, mode)
}

/// Whether a live process holds `dir` (locked in any mode). A directory that does not exist is
/// not held.
pub fn dir_is_held(dir: &Path) -> Result<bool> {
    match File::open(dir) {
        Ok(file) => Ok(try_lock_open(file, dir, LockMode::Exclusive)?.is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(CollectorError::Io {
            path: dir.to_path_buf(),
            source: e,
        }),
    }
}

/// Tries to lock the lock file `path` (created if missing; its last holder removes it).
/// `Ok(None)`: another process holds it in a conflicting mode.
pub fn try_lock_file(path: &Path, mode: LockMode) -> Result<Option<FileLock>> {
    loop {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io_err(path))?;
        let Some(mut lock) = try_lock_open(file, path, mode)? else {
            return Ok(None);
        };
        match &lock.file {
            // Removed by its last holder between our open and our lock: lock the new one.
            Some(file) if !same_file(file, path) => continue,
            _ => {
                lock.remove = true;
                return Ok(Some(lock));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_excludes_everything_shared_excludes_only_exclusive() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let held = try_lock_dir(dir, LockMode::Exclusive).unwrap().unwrap();
        assert!(dir_is_held(dir).unwrap());
        assert!(try_lock_dir(dir, LockMode::Shared).unwrap().is_none());
        drop(held);
        assert!(!dir_is_held(dir).unwrap());
        let a = try_lock_dir(dir, LockMode::Shared).unwrap().unwrap();
        let b = try_lock_dir(dir, LockMode::Shared).unwrap();
        assert!(b.is_some(), "two readers at once");
        assert!(try_lock_dir(dir, LockMode::Exclusive).unwrap().is_none());
        drop((a, b));
        assert!(!dir_is_held(&dir.join("missing")).unwrap());

        let file = dir.join(".lock");
        let held = try_lock_file(&file, LockMode::Exclusive).unwrap().unwrap();
        assert!(try_lock_file(&file, LockMode::Shared).unwrap().is_none());
        drop(held);
        assert!(!file.exists(), "the last holder removes the lock file");
        let a = try_lock_file(&file, LockMode::Shared).unwrap().unwrap();
        let b = try_lock_file(&file, LockMode::Shared).unwrap().unwrap();
        drop(a);
        assert!(file.exists(), "kept while another reader holds it");
        assert!(try_lock_file(&file, LockMode::Exclusive).unwrap().is_none());
        drop(b);
        assert!(!file.exists());
    }
}
