//! A tensor as read from a file, before conversion to a candle tensor.

use std::borrow::Cow;

use candle_core::{DType, Device, Tensor};

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
pub(crate) struct RawTensor<'a> {
    pub name: String,
    pub dtype: StorageDtype,
    pub shape: Vec<usize>,
    pub data: Cow<'a, [u8]>,
}

impl RawTensor<'_> {
    /// Converts to a candle tensor on `device`: floats become f32 (f64 is rounded to nearest,
    /// f16/bf16 widen exactly), integers i64, bool/u8 u8.
    pub fn to_tensor(&self, device: &Device) -> candle_core::Result<Tensor> {
        let cpu = Device::Cpu;
        let shape = self.shape.as_slice();
        let t = match self.dtype {
            StorageDtype::F32 => Tensor::from_raw_buffer(&self.data, DType::F32, shape, &cpu)?,
            StorageDtype::F64 => Tensor::from_raw_buffer(&self.data, DType::F64, shape, &cpu)?
                .to_dtype(DType::F32)?,
            StorageDtype::F16 => Tensor::from_raw_buffer(&self.data, DType::F16, shape, &cpu)?
                .to_dtype(DType::F32)?,
            StorageDtype::BF16 => Tensor::from_raw_buffer(&self.data, DType::BF16, shape, &cpu)?
                .to_dtype(DType::F32)?,
            StorageDtype::I64 => Tensor::from_raw_buffer(&self.data, DType::I64, shape, &cpu)?,
            StorageDtype::I32 | StorageDtype::I16 | StorageDtype::I8 => {
                let size = self.dtype.size();
                let values: Vec<i64> = self
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
                Tensor::from_raw_buffer(&self.data, DType::U8, shape, &cpu)?
            }
        };
        t.to_device(device)
    }
}
