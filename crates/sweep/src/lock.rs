//! A lock file that stops two sweeps from writing one results directory. It holds the owner's
//! pid; a lock whose process is gone (a crashed or killed sweep) is taken over.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Result, SweepError};

/// The lock's file name inside a manifest's results directory.
pub const LOCK_FILE: &str = ".sweep.lock";

/// A held lock; dropping it removes the file.
#[derive(Debug)]
pub struct SweepLock {
    path: PathBuf,
}

/// The pid in a lock file, if the file exists and names a live process.
pub fn holder(dir: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(dir.join(LOCK_FILE)).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    alive(pid).then_some(pid)
}

fn alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        // Without /proc we cannot tell: assume the holder lives (the user can delete the file).
        true
    }
}

impl SweepLock {
    /// Takes the lock of `dir` (created if needed), or says which sweep holds it.
    pub fn acquire(dir: &Path) -> Result<SweepLock> {
        std::fs::create_dir_all(dir)
            .map_err(|e| SweepError::file(dir, format!("cannot create directory: {e}")))?;
        let path = dir.join(LOCK_FILE);
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    writeln!(f, "{}", std::process::id())
                        .map_err(|e| SweepError::file(&path, format!("cannot write: {e}")))?;
                    return Ok(SweepLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if let Some(pid) = holder(dir) {
                        return Err(SweepError::Locked {
                            dir: dir.to_path_buf(),
                            lock: path,
                            pid,
                        });
                    }
                    tracing::warn!(lock = %path.display(), "removing the stale lock of a sweep that is gone");
                    std::fs::remove_file(&path).map_err(|e| {
                        SweepError::file(&path, format!("cannot remove stale lock: {e}"))
                    })?;
                }
                Err(e) => return Err(SweepError::file(&path, format!("cannot create: {e}"))),
            }
        }
        Err(SweepError::file(
            &path,
            "cannot take the lock (it keeps reappearing)",
        ))
    }
}

impl Drop for SweepLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
