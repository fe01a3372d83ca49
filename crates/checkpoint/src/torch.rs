//! Reading `torch.save` files: the zip format (torch >= 1.6) and the legacy non-zip format.
//!
//! Both hold a pickled state dict whose tensors are `_rebuild_tensor_v2(storage, offset, size,
//! stride, ...)` calls; a storage is a persistent id `("storage", torch.FloatStorage, key,
//! location, numel[, view])`. The zip format keeps each storage's bytes in `<prefix>/data/<key>`;
//! the legacy format appends, after the pickles, every storage as an int64 element count
//! followed by its bytes, in the order of a pickled list of keys.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::path::Path;

use crate::error::CheckpointError;
use crate::pickle::{self, Value};
use crate::raw::{RawTensor, StorageDtype};

/// `0x1950a86a20f9469cfc6c`, the first pickle of a legacy file, as little-endian bytes.
const LEGACY_MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
const LEGACY_PROTOCOL: i64 = 1001;

/// A tensor's view into a storage, as pickled.
struct TensorRef {
    name: String,
    key: String,
    dtype: StorageDtype,
    offset: usize,
    size: Vec<usize>,
    stride: Vec<usize>,
}

/// Reads a zip-format torch file held in `bytes`.
pub(crate) fn read_zip(
    path: &Path,
    bytes: &[u8],
) -> Result<Vec<RawTensor<'static>>, CheckpointError> {
    let zip_err = |source| CheckpointError::Zip {
        path: path.to_path_buf(),
        source,
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(zip_err)?;
    let names: Vec<String> = archive.file_names().map(str::to_string).collect();
    // torch names the archive's top folder after the file; take the shallowest data.pkl.
    let pkl = names
        .iter()
        .filter(|n| *n == "data.pkl" || n.ends_with("/data.pkl"))
        .min_by_key(|n| n.matches('/').count())
        .cloned()
        .ok_or_else(|| {
            let mut shown: Vec<&str> = names.iter().map(String::as_str).take(10).collect();
            if names.len() > 10 {
                shown.push("...");
            }
            CheckpointError::malformed(
                path,
                format!(
                    "zip archive has no data.pkl, so it is not a torch.save file (entries: {})",
                    shown.join(", ")
                ),
            )
        })?;
    let prefix = pkl.strip_suffix("data.pkl").unwrap_or("").to_string();
    // torch >= 2.1 records the byte order of the storages; older files are little-endian.
    let byteorder = format!("{prefix}byteorder");
    if names.contains(&byteorder) {
        let order = read_entry(path, &mut archive, &byteorder)?;
        if order.trim_ascii() != b"little" {
            return Err(CheckpointError::malformed(
                path,
                format!(
                    "storages are {:?}-endian; only little-endian files are supported",
                    String::from_utf8_lossy(order.trim_ascii())
                ),
            ));
        }
    }
    let pkl_bytes = read_entry(path, &mut archive, &pkl)?;
    let (value, _) = pickle::load(&pkl_bytes).map_err(|source| CheckpointError::Pickle {
        path: path.to_path_buf(),
        part: pkl.clone(),
        source,
    })?;
    let refs = tensor_refs(path, value)?;

    let mut storages: HashMap<String, Vec<u8>> = HashMap::new();
    let mut out = Vec::with_capacity(refs.len());
    for r in refs {
        if !storages.contains_key(&r.key) {
            let entry = format!("{prefix}data/{}", r.key);
            if !names.contains(&entry) {
                return Err(CheckpointError::malformed(
                    path,
                    format!(
                        "tensor {} refers to storage {entry}, which the zip archive lacks",
                        r.name
                    ),
                ));
            }
            let data = read_entry(path, &mut archive, &entry)?;
            storages.insert(r.key.clone(), data);
        }
        let storage = &storages[&r.key];
        let key = format!("{prefix}data/{}", r.key);
        out.push(materialize(path, &key, storage, r)?);
    }
    Ok(out)
}

fn read_entry(
    path: &Path,
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
) -> Result<Vec<u8>, CheckpointError> {
    let mut file = archive
        .by_name(name)
        .map_err(|source| CheckpointError::Zip {
            path: path.to_path_buf(),
            source,
        })?;
    let mut data = Vec::new();
    file.read_to_end(&mut data)
        .map_err(|e| CheckpointError::malformed(path, format!("corrupt zip entry {name}: {e}")))?;
    Ok(data)
}

/// Reads a legacy (pre-1.6, non-zip) torch file held in `bytes`.
pub(crate) fn read_legacy(
    path: &Path,
    bytes: &[u8],
) -> Result<Vec<RawTensor<'static>>, CheckpointError> {
    const PARTS: [&str; 5] = [
        "magic number",
        "protocol version",
        "system info",
        "state dict",
        "storage keys",
    ];
    let mut pos = 0usize;
    let mut values = Vec::with_capacity(PARTS.len());
    for (i, part) in PARTS.iter().enumerate() {
        let (value, used) = pickle::load(&bytes[pos..]).map_err(|mut source| {
            source.offset += pos;
            CheckpointError::Pickle {
                path: path.to_path_buf(),
                part: format!("{} of 5 ({part}) of the legacy torch format", i + 1),
                source,
            }
        })?;
        pos += used;
        values.push(value);
    }
    let mut values = values.into_iter();
    let (magic, protocol, sys_info, state, keys) = match (
        values.next(),
        values.next(),
        values.next(),
        values.next(),
        values.next(),
    ) {
        (Some(a), Some(b), Some(c), Some(d), Some(e)) => (a, b, c, d, e),
        _ => {
            return Err(CheckpointError::malformed(
                path,
                "legacy torch file has fewer than 5 pickles",
            ));
        }
    };
    if magic != Value::BigInt(LEGACY_MAGIC.to_vec()) {
        return Err(CheckpointError::malformed(
            path,
            "legacy torch file: wrong magic number (expected 0x1950a86a20f9469cfc6c)",
        ));
    }
    if protocol.as_int() != Some(LEGACY_PROTOCOL) {
        return Err(CheckpointError::malformed(
            path,
            format!("legacy torch file: protocol version {protocol:?}, expected {LEGACY_PROTOCOL}"),
        ));
    }
    if let Value::Dict(info) = &sys_info {
        let little = info
            .iter()
            .find(|(k, _)| k.as_str() == Some("little_endian"))
            .map(|(_, v)| v.clone());
        if little == Some(Value::Bool(false)) {
            return Err(CheckpointError::malformed(
                path,
                "legacy torch file was written on a big-endian machine, which is not supported",
            ));
        }
    }
    let refs = tensor_refs(path, state)?;
    let Value::List(keys) = keys else {
        return Err(CheckpointError::malformed(
            path,
            format!(
                "legacy torch file: expected a list of storage keys, found {}",
                keys.kind()
            ),
        ));
    };

    let mut dtypes: HashMap<&str, (StorageDtype, &str)> = HashMap::new();
    for r in &refs {
        if let Some((dtype, first)) = dtypes.insert(&r.key, (r.dtype, &r.name))
            && dtype != r.dtype
        {
            return Err(CheckpointError::malformed(
                path,
                format!(
                    "storage {} is used as {dtype:?} by {first} and as {:?} by {}",
                    r.key, r.dtype, r.name
                ),
            ));
        }
    }
    let mut storages: HashMap<String, &[u8]> = HashMap::new();
    for key in keys {
        let Value::Str(key) = key else {
            return Err(CheckpointError::malformed(
                path,
                format!(
                    "legacy torch file: storage key is a {}, expected str",
                    key.kind()
                ),
            ));
        };
        let Some(&(dtype, user)) = dtypes.get(key.as_str()) else {
            return Err(CheckpointError::malformed(
                path,
                format!(
                    "legacy torch file: storage {key} is listed but no tensor uses it, so its element size is unknown"
                ),
            ));
        };
        let truncated = |needed: u64, available: u64| CheckpointError::TruncatedStorage {
            path: path.to_path_buf(),
            key: key.clone(),
            tensor: user.to_string(),
            needed,
            available,
        };
        let header = bytes
            .get(pos..pos + 8)
            .ok_or_else(|| truncated(8, bytes.len().saturating_sub(pos) as u64))?;
        pos += 8;
        let mut count = [0u8; 8];
        count.copy_from_slice(header);
        let count = i64::from_le_bytes(count);
        let len = usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_mul(dtype.size()))
            .ok_or_else(|| {
                CheckpointError::malformed(
                    path,
                    format!("storage {key}: invalid element count {count}"),
                )
            })?;
        let available = bytes.len() - pos;
        if len > available {
            return Err(truncated(len as u64, available as u64));
        }
        storages.insert(key, &bytes[pos..pos + len]);
        pos += len;
    }
    if pos != bytes.len() {
        tracing::warn!(
            path = %path.display(),
            trailing = bytes.len() - pos,
            "legacy torch file has bytes after its last storage"
        );
    }

    let mut out = Vec::with_capacity(refs.len());
    for r in refs {
        let Some(storage) = storages.get(&r.key) else {
            return Err(CheckpointError::malformed(
                path,
                format!(
                    "tensor {} refers to storage {}, which the file does not hold",
                    r.name, r.key
                ),
            ));
        };
        let key = r.key.clone();
        out.push(materialize(path, &key, storage, r)?);
    }
    Ok(out)
}

/// Finds the state dict in a decoded pickle and the tensor references in it.
fn tensor_refs(path: &Path, value: Value) -> Result<Vec<TensorRef>, CheckpointError> {
    let Value::Dict(entries) = value else {
        return Err(CheckpointError::malformed(
            path,
            format!(
                "expected a state dict (a dict of tensors) at the top of the pickle, found a {}",
                value.kind()
            ),
        ));
    };
    // Training checkpoints sometimes wrap the weights: {"state_dict": {...}, "epoch": ...}.
    let has_tensor = entries.iter().any(|(_, v)| is_tensor(v));
    if !has_tensor {
        for wrapper in ["state_dict", "model", "module"] {
            if let Some((_, inner @ Value::Dict(_))) =
                entries.iter().find(|(k, _)| k.as_str() == Some(wrapper))
            {
                return tensor_refs(path, inner.clone());
            }
        }
    }
    let mut refs = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let Value::Str(name) = key else {
            tracing::debug!(key = ?key, "skipping a state-dict entry whose key is not a str");
            continue;
        };
        if let Some((module, global, offset)) = object_global(&value).filter(|_| !is_tensor(&value))
        {
            // An object of a class this loader does not read (a numpy array, a quantized or
            // sparse tensor): skipping it would report the weight as missing later.
            return Err(CheckpointError::malformed(
                path,
                format!(
                    "state-dict entry `{name}` is built by `{module}.{global}` (pickle byte \
                     {offset}), which this loader does not read; supported are dense tensors \
                     (torch._utils._rebuild_tensor_v2, _rebuild_parameter); re-save the weights \
                     as plain tensors or as safetensors"
                ),
            ));
        }
        if !is_tensor(&value) {
            tracing::debug!(
                name,
                kind = value.kind(),
                "skipping a state-dict entry that is not a tensor"
            );
            continue;
        }
        let r = tensor_ref(name.clone(), value)
            .map_err(|what| CheckpointError::malformed(path, format!("tensor {name}: {what}")))?;
        match r {
            Ok(r) => refs.push(r),
            Err(dtype) => {
                return Err(CheckpointError::UnknownDtype {
                    path: path.to_path_buf(),
                    tensor: name,
                    dtype,
                });
            }
        }
    }
    Ok(refs)
}

fn unwrap_tensor_call(value: &Value) -> Option<(&str, &[Value])> {
    match value {
        Value::Call { callable, args } => match (callable.as_ref(), args.as_ref()) {
            (Value::Global { module, name, .. }, Value::Tuple(args))
                if module == "torch._utils" || module == "torch._tensor" =>
            {
                Some((name.as_str(), args.as_slice()))
            }
            _ => None,
        },
        Value::Build { object, .. } => unwrap_tensor_call(object),
        _ => None,
    }
}

/// The global that builds `value` (`module`, `name`, pickle offset), when it is an object
/// (a call or a `BUILD` of a call) rather than a plain value.
fn object_global(value: &Value) -> Option<(&str, &str, usize)> {
    match value {
        Value::Call { callable, .. } => match callable.as_ref() {
            Value::Global {
                module,
                name,
                offset,
            } => Some((module, name, *offset)),
            _ => None,
        },
        Value::Build { object, .. } => object_global(object),
        _ => None,
    }
}

fn is_tensor(value: &Value) -> bool {
    matches!(
        unwrap_tensor_call(value),
        Some((
            "_rebuild_tensor_v2"
                | "_rebuild_tensor"
                | "_rebuild_parameter"
                | "_rebuild_parameter_with_state"
                | "_rebuild_from_type_v2",
            _
        ))
    )
}

/// Decodes one tensor. The outer error is a structural problem; the inner `Err` is an
/// unsupported storage dtype (its class name).
fn tensor_ref(name: String, value: Value) -> Result<Result<TensorRef, String>, String> {
    let (func, args) =
        unwrap_tensor_call(&value).ok_or_else(|| format!("not a tensor ({})", value.kind()))?;
    match func {
        "_rebuild_parameter" | "_rebuild_parameter_with_state" => {
            let data = args.first().ok_or("_rebuild_parameter without arguments")?;
            tensor_ref(name, data.clone())
        }
        "_rebuild_from_type_v2" => {
            // (func, type, args, state): the real rebuild is func(*args).
            let (Some(f), Some(inner)) = (args.first(), args.get(2)) else {
                return Err("_rebuild_from_type_v2 with fewer than 3 arguments".into());
            };
            let call = Value::Call {
                callable: Box::new(f.clone()),
                args: Box::new(inner.clone()),
            };
            tensor_ref(name, call)
        }
        "_rebuild_tensor_v2" | "_rebuild_tensor" => {
            if args.len() < 4 {
                return Err(format!(
                    "{func} with {} arguments, expected at least 4",
                    args.len()
                ));
            }
            let Value::PersistentId(pid) = &args[0] else {
                return Err(format!(
                    "storage is a {}, expected a persistent id",
                    args[0].kind()
                ));
            };
            let Value::Tuple(pid) = pid.as_ref() else {
                return Err("storage persistent id is not a tuple".into());
            };
            if pid.len() < 5 || pid[0].as_str() != Some("storage") {
                return Err(
                    "storage persistent id is not (\"storage\", type, key, location, numel, ...)"
                        .into(),
                );
            }
            if pid.get(5).is_some_and(|v| *v != Value::None) {
                return Err("storage views (pre-0.4 torch files) are not supported".into());
            }
            let class = match &pid[1] {
                Value::Global { name, .. } => name.clone(),
                other => {
                    return Err(format!(
                        "storage type is a {}, expected a class",
                        other.kind()
                    ));
                }
            };
            let Some(dtype) = StorageDtype::from_torch_storage(&class) else {
                return Ok(Err(class));
            };
            let key = match &pid[2] {
                Value::Str(s) => s.clone(),
                Value::Int(i) => i.to_string(),
                other => return Err(format!("storage key is a {}, expected str", other.kind())),
            };
            let offset =
                non_negative(&args[1]).ok_or("storage offset is not a non-negative int")?;
            let size = dims(&args[2]).ok_or("size is not a tuple of non-negative ints")?;
            let stride = dims(&args[3]).ok_or("stride is not a tuple of non-negative ints")?;
            if size.len() != stride.len() {
                return Err(format!(
                    "size has {} dims but stride has {}",
                    size.len(),
                    stride.len()
                ));
            }
            Ok(Ok(TensorRef {
                name,
                key,
                dtype,
                offset,
                size,
                stride,
            }))
        }
        other => Err(format!(
            "unsupported tensor constructor torch._utils.{other}"
        )),
    }
}

fn non_negative(v: &Value) -> Option<usize> {
    v.as_int().and_then(|i| usize::try_from(i).ok())
}

fn dims(v: &Value) -> Option<Vec<usize>> {
    match v {
        Value::Tuple(items) | Value::List(items) => items.iter().map(non_negative).collect(),
        _ => None,
    }
}

/// Copies a (possibly strided) view out of a storage into contiguous row-major bytes.
fn materialize(
    path: &Path,
    key: &str,
    storage: &[u8],
    r: TensorRef,
) -> Result<RawTensor<'static>, CheckpointError> {
    let es = r.dtype.size();
    let overflow =
        || CheckpointError::malformed(path, format!("tensor {}: size overflows", r.name));
    let numel = r
        .size
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(overflow)?;
    if numel == 0 {
        return Ok(RawTensor {
            name: r.name,
            dtype: r.dtype,
            shape: r.size,
            data: Cow::Owned(Vec::new()),
        });
    }
    let max_index = r
        .size
        .iter()
        .zip(&r.stride)
        .try_fold(r.offset, |acc, (&d, &s)| {
            acc.checked_add((d - 1).checked_mul(s)?)
        })
        .ok_or_else(overflow)?;
    let needed = max_index
        .checked_add(1)
        .and_then(|n| n.checked_mul(es))
        .ok_or_else(overflow)?;
    if needed > storage.len() {
        return Err(CheckpointError::TruncatedStorage {
            path: path.to_path_buf(),
            key: key.to_string(),
            tensor: r.name,
            needed: needed as u64,
            available: storage.len() as u64,
        });
    }
    let contiguous = {
        let mut expected = 1usize;
        let mut ok = true;
        for (&d, &s) in r.size.iter().zip(&r.stride).rev() {
            if d != 1 && s != expected {
                ok = false;
                break;
            }
            expected *= d;
        }
        ok
    };
    let data = if contiguous {
        storage[r.offset * es..(r.offset + numel) * es].to_vec()
    } else {
        let mut data = Vec::with_capacity(numel * es);
        let mut index = vec![0usize; r.size.len()];
        for _ in 0..numel {
            let at: usize = r.offset
                + index
                    .iter()
                    .zip(&r.stride)
                    .map(|(i, s)| i * s)
                    .sum::<usize>();
            data.extend_from_slice(&storage[at * es..(at + 1) * es]);
            for d in (0..index.len()).rev() {
                index[d] += 1;
                if index[d] < r.size[d] {
                    break;
                }
                index[d] = 0;
            }
        }
        data
    };
    Ok(RawTensor {
        name: r.name,
        dtype: r.dtype,
        shape: r.size,
        data: Cow::Owned(data),
    })
}
