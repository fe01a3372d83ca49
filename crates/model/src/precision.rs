//! The numeric precision of training and evaluation: `fp32` (plain float32), `tf32` (float32
//! with cuBLAS's TF32 tensor-core matmuls) or `bf16` (torch-style autocast: matmuls in
//! bfloat16, everything else in float32).
//!
//! `bf16` follows what `torch.autocast(dtype=torch.bfloat16)` does for a BERT: the inputs of
//! every encoder matmul (the linear layers and both attention products) are rounded to
//! bfloat16 and the product comes back as float32; weights, their master copy, gradients,
//! LayerNorm, softmax, GELU, the loss and the optimizer stay in float32. The classification
//! head runs in float32. Bias additions happen in float32 (torch adds them in bfloat16 inside
//! the matmul), so results differ from torch's autocast in the last bits.

use candle_core::{DType, Device, Tensor};

/// How matmuls are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Float32 everywhere (the default, and what the CPU kernels reproduce from torch).
    #[default]
    Fp32,
    /// Float32 tensors, matmuls on TF32 tensor cores (cuBLAS `CUBLAS_COMPUTE_32F_FAST_TF32`);
    /// CUDA only.
    Tf32,
    /// bfloat16 matmul inputs with float32 results, float32 elsewhere (autocast).
    Bf16,
}

/// A precision the device cannot run.
#[derive(Debug, thiserror::Error)]
#[error(
    "precision `{precision}` needs a CUDA GPU (TF32 is a tensor-core mode of NVIDIA GPUs), but \
     the job runs on `{device}`; use precision = \"fp32\" (or \"bf16\") on the CPU"
)]
pub struct UnsupportedPrecision {
    /// What was asked for.
    pub precision: Precision,
    /// Where the job runs.
    pub device: String,
}

impl Precision {
    /// Every precision, in the order the docs list them.
    pub const ALL: [Precision; 3] = [Precision::Fp32, Precision::Tf32, Precision::Bf16];

    /// The name manifests and `job.json` use: `fp32`, `tf32`, `bf16`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Fp32 => "fp32",
            Self::Tf32 => "tf32",
            Self::Bf16 => "bf16",
        }
    }

    /// Parses a name as [`Precision::name`] writes it (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
    }

    /// Checks that a job on `device` can use this precision: TF32 needs a CUDA device.
    pub fn check_device(self, device: &Device) -> Result<(), UnsupportedPrecision> {
        if self == Self::Tf32 && !device.is_cuda() {
            return Err(UnsupportedPrecision {
                precision: self,
                device: if device.is_cpu() {
                    "cpu"
                } else {
                    "this device"
                }
                .into(),
            });
        }
        Ok(())
    }

    /// Sets the process-wide cuBLAS mode this precision needs (TF32 on for `tf32`, off
    /// otherwise). A no-op in a build without CUDA. One job runs per process, so a global
    /// switch is enough.
    pub fn apply_to_cublas(self) {
        candle_core::cuda::set_gemm_reduced_precision_f32(self == Self::Tf32);
    }

    /// `a · b` under this precision; for `bf16` the inputs are rounded to bfloat16 and the
    /// product returned as float32. Differentiable in both.
    pub(crate) fn matmul(self, a: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Self::Bf16 if a.dtype() == DType::F32 => a
                .to_dtype(DType::BF16)?
                .matmul(&b.to_dtype(DType::BF16)?)?
                .to_dtype(DType::F32),
            _ => a.matmul(b),
        }
    }

    /// Whether matmuls leave float32 (so the torch-order f32 kernels do not apply).
    pub(crate) fn is_reduced(self) -> bool {
        self == Self::Bf16
    }
}

/// A precision name that is none of `fp32`, `tf32`, `bf16`.
#[derive(Debug, thiserror::Error)]
#[error("unknown precision `{0}`; expected fp32, tf32 or bf16")]
pub struct UnknownPrecision(pub String);

impl std::str::FromStr for Precision {
    type Err = UnknownPrecision;

    /// As [`Precision::parse`], with an error naming the choices (`--precision`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| UnknownPrecision(s.to_string()))
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_tf32_needs_cuda() {
        for p in Precision::ALL {
            assert_eq!(Precision::parse(p.name()), Some(p));
            assert_eq!(Precision::parse(&p.name().to_uppercase()), Some(p));
        }
        assert_eq!(Precision::parse("fp16"), None);
        assert_eq!(
            "fp16".parse::<Precision>().unwrap_err().to_string(),
            "unknown precision `fp16`; expected fp32, tf32 or bf16"
        );
        assert_eq!("BF16".parse::<Precision>().unwrap(), Precision::Bf16);
        let err = Precision::Tf32.check_device(&Device::Cpu).unwrap_err();
        assert!(err.to_string().contains("needs a CUDA GPU"), "{err}");
        assert!(Precision::Bf16.check_device(&Device::Cpu).is_ok());
        assert!(Precision::Fp32.check_device(&Device::Cpu).is_ok());
    }

    #[test]
    fn bf16_matmul_rounds_its_inputs_and_returns_f32() {
        let a = Tensor::new(&[[1.0f32 + 1.0 / 1024.0, 2.0]], &Device::Cpu).unwrap();
        let b = Tensor::new(&[[1.0f32], [1.0]], &Device::Cpu).unwrap();
        let fp32 = Precision::Fp32.matmul(&a, &b).unwrap();
        let bf16 = Precision::Bf16.matmul(&a, &b).unwrap();
        assert_eq!(bf16.dtype(), DType::F32);
        // 1 + 2^-10 is below bfloat16's resolution at 1 (2^-7): it rounds to 1.
        assert_eq!(fp32.to_vec2::<f32>().unwrap()[0][0], 3.0 + 1.0 / 1024.0);
        assert_eq!(bf16.to_vec2::<f32>().unwrap()[0][0], 3.0);
    }
}
