//! Atomic file writes: a temporary file in the destination's directory, fsync, rename, and
//! fsync of the directory, so a reader sees either the old file, or the complete new one.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{CollectorError, Result, io_err};

/// A file being written atomically: all writes go to a temporary file in the destination's
/// directory (named `.<name>.*.tmp`), which [`AtomicFile::commit`] fsyncs and renames into place.
/// Dropped without commit, the temporary file is removed and the destination is untouched.
pub struct AtomicFile {
    path: PathBuf,
    tmp: tempfile::NamedTempFile,
}

impl AtomicFile {
    /// Starts writing `path`; the directory must exist.
    pub fn create(path: &Path) -> Result<Self> {
        let dir = parent_dir(path);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut builder = tempfile::Builder::new();
        let prefix = format!(".{name}.");
        builder.prefix(&prefix).suffix(".tmp");
        // tempfile's default (0600) would make results unreadable to the group; 0666 minus
        // the umask is what an ordinary file create gives.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let tmp = builder.tempfile_in(dir).map_err(io_err(dir))?;
        Ok(Self {
            path: path.to_path_buf(),
            tmp,
        })
    }

    /// The destination path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The temporary file to write into.
    pub fn file_mut(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    /// A second handle on the temporary file, for writers that must own their sink.
    pub fn reopen(&self) -> Result<File> {
        self.tmp.reopen().map_err(io_err(self.tmp.path()))
    }

    /// Flushes the data to disk, renames the file into place and syncs the directory.
    pub fn commit(mut self) -> Result<()> {
        self.tmp
            .as_file_mut()
            .sync_all()
            .map_err(io_err(self.tmp.path()))?;
        let path = self.path;
        self.tmp.persist(&path).map_err(|e| CollectorError::Io {
            path: path.clone(),
            source: e.error,
        })?;
        sync_dir(parent_dir(&path))
    }
}

/// Writes `path` atomically with whatever `fill` writes into the temporary file.
pub fn write_with<F>(path: &Path, fill: F) -> Result<()>
where
    F: FnOnce(&mut File) -> Result<()>,
{
    let mut file = AtomicFile::create(path)?;
    fill(file.file_mut())?;
    file.commit()
}

/// Writes `bytes` to `path` atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, |file| file.write_all(bytes).map_err(io_err(path)))
}

/// Writes `value` as pretty JSON (with a final newline) to `path` atomically.
pub fn write_json<T: serde::Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    write_with(path, |file| {
        let mut w = BufWriter::new(file);
        serde_json::to_writer_pretty(&mut w, value).map_err(|source| CollectorError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        w.write_all(b"\n").map_err(io_err(path))?;
        w.flush().map_err(io_err(path))
    })
}

/// Reads and parses a JSON file, naming the file (and line/column) on error.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    serde_json::from_slice(&bytes).map_err(|source| CollectorError::Json {
        path: path.to_path_buf(),
        source,
    })
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Makes a rename inside `dir` durable. Directories cannot be opened for sync on every
/// platform; where they cannot, the rename is still atomic, only its durability is weaker.
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(dir))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// True for the temporary files [`write_with`] leaves behind if the process is killed mid-write.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp")
}
