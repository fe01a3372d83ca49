//! Why a checkpoint could not be read. Every variant names the file concerned.

use std::path::{Path, PathBuf};

use crate::pickle;

/// Why a checkpoint could not be loaded. Every variant names the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A directory holds none of [`crate::WEIGHT_FILES`].
    #[error(
        "no weights file in {dir}: expected one of model.safetensors, pytorch_model.bin; found: {}",
        if found.is_empty() { "nothing".to_string() } else { found.join(", ") }
    )]
    NoWeightsFile {
        /// The directory searched.
        dir: PathBuf,
        /// The file names it does hold (sorted).
        found: Vec<String>,
    },
    /// The file is none of the supported formats.
    #[error(
        "{path}: not a checkpoint: expected a safetensors file, a PyTorch zip archive or a \
         legacy PyTorch pickle, but the file starts with {head}"
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
        /// Its first bytes, escaped.
        head: String,
    },
    /// A safetensors file is malformed.
    #[error("{path}: invalid safetensors file: {source}")]
    Safetensors {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        source: safetensors::SafeTensorError,
    },
    /// A zip archive is malformed (corrupt or truncated).
    #[error("{path}: corrupt PyTorch zip archive: {source}")]
    Zip {
        /// The file.
        path: PathBuf,
        /// The zip reader's error.
        source: zip::result::ZipError,
    },
    /// The file's structure is not that of a torch checkpoint (details in `what`).
    #[error("{path}: {what}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What was expected and what was found.
        what: String,
    },
    /// A pickle inside the file could not be decoded.
    #[error("{path}: cannot decode pickle {part}: {source}")]
    Pickle {
        /// The file.
        path: PathBuf,
        /// Which pickle (e.g. `pytorch_model/data.pkl` or `legacy pickle 4 of 5`).
        part: String,
        /// The decoder's error.
        source: pickle::PickleError,
    },
    /// A tensor has a dtype this loader does not convert.
    #[error("{path}: tensor {tensor}: unsupported dtype {dtype}")]
    UnknownDtype {
        /// The file.
        path: PathBuf,
        /// The tensor's name in the file.
        tensor: String,
        /// The dtype as the file names it.
        dtype: String,
    },
    /// A storage holds fewer bytes than its tensors need.
    #[error(
        "{path}: storage {key} is truncated: tensor {tensor} needs {needed} bytes, the file has \
         {available}"
    )]
    TruncatedStorage {
        /// The file.
        path: PathBuf,
        /// The storage key (zip entry name or legacy key).
        key: String,
        /// A tensor that reads past the end.
        tensor: String,
        /// Bytes the tensor needs from the start of the storage.
        needed: u64,
        /// Bytes present.
        available: u64,
    },
    /// Two names in the file map to the same normalised name (e.g. `bert.x` and `x`).
    #[error("{path}: tensors {first} and {second} both normalise to {name}")]
    DuplicateTensor {
        /// The file.
        path: PathBuf,
        /// The normalised name.
        name: String,
        /// The first original name.
        first: String,
        /// The second original name.
        second: String,
    },
    /// The tensor library (candle, in `multiberts-model`) refused to build a tensor.
    #[error("{path}: tensor {tensor}: {source}")]
    Candle {
        /// The file.
        path: PathBuf,
        /// The tensor's name in the file.
        tensor: String,
        /// The tensor library's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl CheckpointError {
    pub(crate) fn malformed(path: &Path, what: impl Into<String>) -> Self {
        CheckpointError::Malformed {
            path: path.to_path_buf(),
            what: what.into(),
        }
    }
}
