//! Reading BERT checkpoint files, without a tensor library: safetensors, PyTorch zip pickles
//! (the MultiBERTs hub format) and pre-1.6 legacy (non-zip) PyTorch pickles.
//!
//! [`WeightsFile::read`] finds the weights file of a checkpoint directory, reads it with the
//! sha256 of every file (for provenance) and tells its format from its first bytes;
//! [`WeightsFile::tensors`] decodes it into [`RawTensor`]s (name, dtype, shape, little-endian
//! bytes). Tensor names are mapped to Hugging Face `BertModel` names with [`normalize_name`].
//! Turning raw tensors into candle tensors, and checking names and shapes against a config, is
//! `multiberts-model`'s job (`multiberts_model::checkpoint::load_checkpoint`).
//!
//! [`pickle`] is a small, safe reader for the part of Python's pickle format `torch.save` writes.

mod error;
mod names;
pub mod pickle;
mod raw;
mod safetensors_file;
mod torch;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use error::CheckpointError;
pub use names::normalize_name;
pub use raw::{RawTensor, StorageDtype};

/// Weight file names looked for in a checkpoint directory, in order of preference.
pub const WEIGHT_FILES: [&str; 2] = ["model.safetensors", "pytorch_model.bin"];

/// The sha256 of one file that was read while loading a checkpoint (for provenance).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileDigest {
    /// The file as it was given or found (not canonicalised).
    pub path: PathBuf,
    /// Lower-case hex sha256 of the file's bytes.
    pub sha256: String,
}

/// The on-disk format a weights file was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointFormat {
    /// A `.safetensors` file.
    Safetensors,
    /// A PyTorch >= 1.6 zip archive (`data.pkl` + `data/<key>` storages).
    TorchZip,
    /// A PyTorch < 1.6 file: concatenated pickles followed by raw storages.
    TorchLegacy,
}

/// A checkpoint's weights file, read into memory, with the digests of the files read.
#[derive(Debug)]
pub struct WeightsFile {
    /// The weights file's bytes.
    pub bytes: Vec<u8>,
    /// Every file read, with its sha256: the weights file and, if present, `config.json`.
    pub files: Vec<FileDigest>,
    /// The `config.json` beside the weights, if there is one.
    pub config_path: Option<PathBuf>,
    /// The weights file that was read.
    pub weights_path: PathBuf,
    /// The format it is read as.
    pub format: CheckpointFormat,
}

impl WeightsFile {
    /// Reads the weights file of a checkpoint: `path` itself if it is a file, else
    /// `model.safetensors` (preferred) or `pytorch_model.bin` in the directory `path`, with the
    /// `config.json` beside it (only hashed here). The format is detected from the file's first
    /// bytes, not its name.
    pub fn read(path: &Path) -> Result<Self, CheckpointError> {
        let weights_path = resolve_weights_file(path)?;
        let dir = weights_path.parent().unwrap_or(Path::new("."));
        let config = dir.join("config.json");
        let config_path = config.is_file().then_some(config);

        let bytes = read_file(&weights_path)?;
        let mut files = vec![digest(&weights_path, &bytes)];
        if let Some(config) = &config_path {
            let config_bytes = read_file(config)?;
            files.push(digest(config, &config_bytes));
        }

        let format = detect_format(&weights_path, &bytes)?;
        tracing::info!(
            path = %weights_path.display(),
            ?format,
            bytes = bytes.len(),
            sha256 = %files[0].sha256,
            "reading checkpoint"
        );
        Ok(Self {
            bytes,
            files,
            config_path,
            weights_path,
            format,
        })
    }

    /// Every tensor of the file, in file order, under the names the file gives them
    /// (safetensors tensors borrow the file's bytes; torch tensors are copied out of their
    /// storages).
    pub fn tensors(&self) -> Result<Vec<RawTensor<'_>>, CheckpointError> {
        let (path, bytes) = (&self.weights_path, &self.bytes);
        Ok(match self.format {
            CheckpointFormat::Safetensors => safetensors_file::read(path, bytes)?,
            CheckpointFormat::TorchZip => torch::read_zip(path, bytes)?,
            CheckpointFormat::TorchLegacy => torch::read_legacy(path, bytes)?,
        })
    }
}

/// The weights file `path` stands for: `path` itself if it is a file, else the first of
/// [`WEIGHT_FILES`] present in the directory.
pub fn resolve_weights_file(path: &Path) -> Result<PathBuf, CheckpointError> {
    let meta = std::fs::metadata(path).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        return Ok(path.to_path_buf());
    }
    for name in WEIGHT_FILES {
        let candidate = path.join(name);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    let entries = std::fs::read_dir(path).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut found: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    Err(CheckpointError::NoWeightsFile {
        dir: path.to_path_buf(),
        found,
    })
}

fn read_file(path: &Path) -> Result<Vec<u8>, CheckpointError> {
    std::fs::read(path).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn digest(path: &Path, bytes: &[u8]) -> FileDigest {
    FileDigest {
        path: path.to_path_buf(),
        sha256: hex::encode(Sha256::digest(bytes)),
    }
}

/// Tells the format of a weights file from its first bytes.
pub fn detect_format(path: &Path, bytes: &[u8]) -> Result<CheckpointFormat, CheckpointError> {
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return Ok(CheckpointFormat::TorchZip);
    }
    // Legacy torch files start with a protocol-2 pickle of a 10-byte LONG1 magic number.
    if bytes.starts_with(&[0x80, 0x02, 0x8a, 0x0a]) {
        return Ok(CheckpointFormat::TorchLegacy);
    }
    // safetensors: an 8-byte little-endian header length, then a JSON object.
    if bytes.len() >= 9 && bytes[8] == b'{' {
        return Ok(CheckpointFormat::Safetensors);
    }
    let head: String = bytes
        .iter()
        .take(16)
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect();
    Err(CheckpointError::UnknownFormat {
        path: path.to_path_buf(),
        head: if head.is_empty() {
            "nothing (empty file)".to_string()
        } else {
            format!("\"{head}\"")
        },
    })
}
