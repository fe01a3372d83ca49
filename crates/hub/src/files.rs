//! Files of the hub cache: hashing, atomic writes, and the snapshot links to blobs.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{HubError, io_err};

pub(crate) struct HashWriter<'a>(pub(crate) &'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub(crate) fn sha256_file(path: &Path) -> Result<String, HubError> {
    let mut f = File::open(path).map_err(io_err(path))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut f, &mut HashWriter(&mut hasher)).map_err(io_err(path))?;
    Ok(hex::encode(hasher.finalize()))
}

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), HubError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let tmp = PathBuf::from(format!("{}.tmp{}", path.display(), std::process::id()));
    fs::write(&tmp, bytes).map_err(io_err(&tmp))?;
    fs::rename(&tmp, path).map_err(io_err(path))
}

/// Makes `pointer` refer to `blob`: a relative symlink on Unix (as `huggingface_hub` does), a
/// copy elsewhere. Created under a temporary name and renamed, so readers never see half.
pub(crate) fn link_pointer(blob: &Path, pointer: &Path) -> Result<(), HubError> {
    let dir = pointer.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let tmp = PathBuf::from(format!("{}.tmp{}", pointer.display(), std::process::id()));
    let _ = fs::remove_file(&tmp);
    #[cfg(unix)]
    {
        // pointer = <repo>/snapshots/<commit>/<a>/<b>/file, blob = <repo>/blobs/<etag>
        let repo_dir = blob
            .parent()
            .and_then(Path::parent)
            .unwrap_or(Path::new("."));
        let depth = pointer
            .strip_prefix(repo_dir)
            .map(|rel| rel.components().count().saturating_sub(1))
            .unwrap_or(2);
        let mut target = PathBuf::new();
        for _ in 0..depth {
            target.push("..");
        }
        target.push("blobs");
        target.push(blob.file_name().unwrap_or_default());
        std::os::unix::fs::symlink(&target, &tmp).map_err(io_err(&tmp))?;
    }
    #[cfg(not(unix))]
    {
        fs::copy(blob, &tmp).map_err(io_err(&tmp))?;
    }
    fs::rename(&tmp, pointer).map_err(io_err(pointer))
}
