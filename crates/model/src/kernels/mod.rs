//! The model's ops, each in two implementations: an f32 CPU kernel that rounds as torch's CPU
//! kernels do (and saves the activations candle's autograd would keep), and a composite of
//! differentiable candle ops that any device (a CUDA GPU) runs. [`path`] chooses between them,
//! once for every op ([`cpu_kernel`]); `MULTIBERTS_KERNELS=portable` runs the GPU's ops on the
//! CPU.
//!
//! * [`fused`]: the linear layer (bias added in the matmul's buffer) and LayerNorm (with and
//!   without its affine part).
//! * [`ops`]: masked attention softmax, tanh, GELU.
//! * [`bmm`]: batched attention matmuls.
//! * [`dropout`]: dropout from our seeded streams, and the train/eval [`dropout::Mode`].
//! * [`packing`]: which positions of a padded batch run through the token-wise ops.
//! * [`inplace`]: whole-gradient passes without temporaries (norm, scaling, a zeroed row).
//! * `xent`: cross-entropy with torch's rounding.
//! * `torch_cpu`, `small_mm`: the rounding of torch's CPU kernels and of MKL's matmuls, which
//!   the kernels above are built from.
//!
//! Every kernel works on fixed rows or blocks with a fixed summation order, so results do not
//! depend on the thread count. Nothing here knows about BERT: the encoder (`crate::bert`), the
//! heads and the optimizer call these ops.

pub mod bmm;
pub mod dropout;
pub mod fused;
pub mod inplace;
pub mod ops;
pub mod packing;
pub mod path;
mod small_mm;
mod torch_cpu;
pub(crate) mod xent;

use candle_core::{CpuStorage, Layout, Result};

pub(crate) use path::cpu_kernel;

/// Rows per rayon task: small rows are not worth a task each.
pub(crate) fn min_rows(width: usize) -> usize {
    (4096 / width.max(1)).max(1)
}

pub(crate) fn contiguous_f32<'a>(
    storage: &'a CpuStorage,
    layout: &Layout,
    op: &str,
) -> Result<&'a [f32]> {
    let slice = storage.as_slice::<f32>()?;
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&slice[start..end]),
        None => candle_core::bail!("{op}: input must be contiguous"),
    }
}
