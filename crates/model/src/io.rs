//! Small file helpers shared by the model crate: atomic writes.

use std::path::{Path, PathBuf};

use crate::error::{ModelError, Result};

/// Writes a file atomically: `write` fills a temporary file in the same directory, which is
/// then renamed over `path`, so readers never see a half-written file.
pub fn atomic_write(
    path: &Path,
    write: impl FnOnce(&Path) -> std::result::Result<(), String>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| ModelError::file(path, "not a file path"))?
        .to_string_lossy()
        .into_owned();
    // Said plainly here: a writer's own error would name its temporary file instead.
    if !dir.is_dir() {
        return Err(ModelError::file(
            path,
            format!(
                "the folder {} does not exist; create it first or write elsewhere",
                dir.display()
            ),
        ));
    }
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    // The mode an ordinary file create gives (0666 minus the umask), taken before the writer
    // runs: some writers create their file 0600, which would make results unreadable to the
    // group.
    let mode = std::fs::File::create(&tmp)
        .and_then(|f| f.metadata())
        .map(|m| m.permissions())
        .map_err(|e| ModelError::file(path, format!("cannot create a file beside it: {e}")))?;
    if let Err(message) = write(&tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(ModelError::file(path, message));
    }
    if let Err(e) = std::fs::set_permissions(&tmp, mode) {
        let _ = std::fs::remove_file(&tmp);
        return Err(ModelError::file(
            path,
            format!("cannot set its permissions: {e}"),
        ));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        ModelError::file(
            path,
            format!("cannot move the finished file into place: {e}"),
        )
    })
}
