//! A tensor as read from a file, before conversion to a tensor library's tensor.

use std::borrow::Cow;

/// The element type of a stored tensor, as the file declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageDtype {
    /// float64.
    F64,
    /// float32.
    F32,
    /// IEEE float16.
    F16,
    /// bfloat16.
    BF16,
    /// int64.
    I64,
    /// int32.
    I32,
    /// int16.
    I16,
    /// int8.
    I8,
    /// uint8.
    U8,
    /// bool (one byte each).
    Bool,
}

impl StorageDtype {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            StorageDtype::F64 | StorageDtype::I64 => 8,
            StorageDtype::F32 | StorageDtype::I32 => 4,
            StorageDtype::F16 | StorageDtype::BF16 | StorageDtype::I16 => 2,
            StorageDtype::I8 | StorageDtype::U8 | StorageDtype::Bool => 1,
        }
    }

    /// The dtype of a torch legacy storage class such as `FloatStorage`.
    pub fn from_torch_storage(class: &str) -> Option<Self> {
        Some(match class {
            "DoubleStorage" => StorageDtype::F64,
            "FloatStorage" => StorageDtype::F32,
            "HalfStorage" => StorageDtype::F16,
            "BFloat16Storage" => StorageDtype::BF16,
            "LongStorage" => StorageDtype::I64,
            "IntStorage" => StorageDtype::I32,
            "ShortStorage" => StorageDtype::I16,
            "CharStorage" => StorageDtype::I8,
            "ByteStorage" => StorageDtype::U8,
            "BoolStorage" => StorageDtype::Bool,
            _ => return None,
        })
    }

    /// The dtype of a safetensors dtype.
    pub fn from_safetensors(dtype: safetensors::Dtype) -> Option<Self> {
        use safetensors::Dtype as D;
        Some(match dtype {
            D::F64 => StorageDtype::F64,
            D::F32 => StorageDtype::F32,
            D::F16 => StorageDtype::F16,
            D::BF16 => StorageDtype::BF16,
            D::I64 => StorageDtype::I64,
            D::I32 => StorageDtype::I32,
            D::I16 => StorageDtype::I16,
            D::I8 => StorageDtype::I8,
            D::U8 => StorageDtype::U8,
            D::BOOL => StorageDtype::Bool,
            _ => return None,
        })
    }
}

/// A tensor's name, dtype, shape and contiguous little-endian row-major bytes.
#[derive(Debug, Clone)]
pub struct RawTensor<'a> {
    /// The name the file gives it (see [`crate::normalize_name`]).
    pub name: String,
    /// The element type the file declares.
    pub dtype: StorageDtype,
    /// The shape.
    pub shape: Vec<usize>,
    /// The elements, contiguous, row-major, little-endian.
    pub data: Cow<'a, [u8]>,
}
