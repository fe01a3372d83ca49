//! Checkpoints as candle tensors: loading a checkpoint directory or weights file (read by
//! `multiberts-checkpoint`, which needs no tensor library) into f32 tensors on a device, and
//! writing random-init checkpoints ([`write_random_checkpoint`]).
//!
//! The result of [`load_checkpoint`] is a flat map from Hugging Face `BertModel` parameter names
//! (without the `bert.` prefix) to tensors, plus the sha256 of every file read. Checking the
//! names and shapes against a config is the parameter builder's job
//! ([`crate::params::ParamBuilder`]); this module only reads and normalises.

mod random;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use multiberts_checkpoint::{RawTensor, WeightsFile};

pub use multiberts_checkpoint::{
    CheckpointError, CheckpointFormat, FileDigest, StorageDtype, WEIGHT_FILES, detect_format,
    normalize_name, resolve_weights_file,
};
pub use random::{random_encoder, write_random_checkpoint};

/// The tensors of a checkpoint, under normalised names, with the digests of the files read.
#[derive(Debug)]
pub struct LoadedCheckpoint {
    /// Parameter name (HF `BertModel` style, no `bert.` prefix) to tensor. Floating-point
    /// tensors are f32; integer tensors (if any survive normalisation) are i64, bool/u8 are u8.
    pub tensors: HashMap<String, Tensor>,
    /// Every file read, with its sha256: the weights file and, if present, `config.json`.
    pub files: Vec<FileDigest>,
    /// The `config.json` beside the weights, if there is one.
    pub config_path: Option<PathBuf>,
    /// The weights file that was read.
    pub weights_path: PathBuf,
    /// The format it was read as.
    pub format: CheckpointFormat,
    /// Names in the file that were dropped on purpose (`cls.*` heads, `position_ids` buffers),
    /// as they appear in the file.
    pub ignored: Vec<String>,
}

/// Loads a checkpoint from a weights file or from a directory holding `model.safetensors`
/// (preferred) or `pytorch_model.bin`, with `config.json` beside it.
///
/// The format is detected from the file's first bytes, not its name. Tensor names are
/// normalised with [`normalize_name`]; dropped names are listed in
/// [`LoadedCheckpoint::ignored`]. Tensors are created on `device`.
pub fn load_checkpoint(path: &Path, device: &Device) -> Result<LoadedCheckpoint, CheckpointError> {
    load_checkpoint_named(path, device, normalize_name)
}

/// [`load_checkpoint`] with another naming rule: `rename` maps a name in the file to the name
/// to keep it under, or to `None` to drop it (e.g. keeping the pre-training heads, which
/// [`normalize_name`] drops).
pub fn load_checkpoint_named(
    path: &Path,
    device: &Device,
    rename: impl Fn(&str) -> Option<String>,
) -> Result<LoadedCheckpoint, CheckpointError> {
    let file = WeightsFile::read(path)?;
    let raw = file.tensors()?;

    let mut tensors = HashMap::with_capacity(raw.len());
    let mut originals: HashMap<String, String> = HashMap::with_capacity(raw.len());
    let mut ignored = Vec::new();
    for t in raw {
        let Some(name) = rename(&t.name) else {
            ignored.push(t.name);
            continue;
        };
        if let Some(first) = originals.get(&name) {
            return Err(CheckpointError::DuplicateTensor {
                path: file.weights_path.clone(),
                name,
                first: first.clone(),
                second: t.name,
            });
        }
        let tensor = to_tensor(&t, device).map_err(|source| CheckpointError::Candle {
            path: file.weights_path.clone(),
            tensor: t.name.clone(),
            source: Box::new(source),
        })?;
        originals.insert(name.clone(), t.name);
        tensors.insert(name, tensor);
    }
    tracing::debug!(
        tensors = tensors.len(),
        ignored = ignored.len(),
        "checkpoint loaded"
    );
    let WeightsFile {
        files,
        config_path,
        weights_path,
        format,
        ..
    } = file;
    Ok(LoadedCheckpoint {
        tensors,
        files,
        config_path,
        weights_path,
        format,
        ignored,
    })
}

/// Converts a raw tensor to a candle tensor on `device`: floats become f32 (f64 is rounded to
/// nearest, f16/bf16 widen exactly), integers i64, bool/u8 u8.
fn to_tensor(raw: &RawTensor<'_>, device: &Device) -> candle_core::Result<Tensor> {
    let cpu = Device::Cpu;
    let shape = raw.shape.as_slice();
    let t = match raw.dtype {
        StorageDtype::F32 => Tensor::from_raw_buffer(&raw.data, DType::F32, shape, &cpu)?,
        StorageDtype::F64 => {
            Tensor::from_raw_buffer(&raw.data, DType::F64, shape, &cpu)?.to_dtype(DType::F32)?
        }
        StorageDtype::F16 => {
            Tensor::from_raw_buffer(&raw.data, DType::F16, shape, &cpu)?.to_dtype(DType::F32)?
        }
        StorageDtype::BF16 => {
            Tensor::from_raw_buffer(&raw.data, DType::BF16, shape, &cpu)?.to_dtype(DType::F32)?
        }
        StorageDtype::I64 => Tensor::from_raw_buffer(&raw.data, DType::I64, shape, &cpu)?,
        StorageDtype::I32 | StorageDtype::I16 | StorageDtype::I8 => {
            let size = raw.dtype.size();
            let values: Vec<i64> = raw
                .data
                .chunks_exact(size)
                .map(|c| match c.len() {
                    4 => i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                    2 => i64::from(i16::from_le_bytes([c[0], c[1]])),
                    _ => i64::from(c[0] as i8),
                })
                .collect();
            Tensor::from_vec(values, shape, &cpu)?
        }
        StorageDtype::U8 | StorageDtype::Bool => {
            Tensor::from_raw_buffer(&raw.data, DType::U8, shape, &cpu)?
        }
    };
    t.to_device(device)
}
