//! Reading `.safetensors` files.

use std::borrow::Cow;
use std::path::Path;

use safetensors::SafeTensors;

use crate::error::CheckpointError;
use crate::raw::{RawTensor, StorageDtype};

/// Reads every tensor of a safetensors file held in `bytes`, in file order.
pub(crate) fn read<'a>(
    path: &Path,
    bytes: &'a [u8],
) -> Result<Vec<RawTensor<'a>>, CheckpointError> {
    let st = SafeTensors::deserialize(bytes).map_err(|source| CheckpointError::Safetensors {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for (name, view) in st.iter() {
        let dtype = StorageDtype::from_safetensors(view.dtype()).ok_or_else(|| {
            CheckpointError::UnknownDtype {
                path: path.to_path_buf(),
                tensor: name.to_string(),
                dtype: format!("{:?}", view.dtype()),
            }
        })?;
        out.push(RawTensor {
            name: name.to_string(),
            dtype,
            shape: view.shape().to_vec(),
            data: Cow::Borrowed(view.data()),
        });
    }
    Ok(out)
}
