//! Differentiable fused ops for the encoder.
//!
//! candle's own fused `layer_norm` and `softmax_last_dim` have no backward: they silently cut
//! the gradient graph (see shared/notes/candle.md). These replacements have an analytic
//! backward. On CPU with f32 they run as row-parallel kernels; on any other device or dtype they
//! fall back to a composite of differentiable candle ops with the same maths, so CUDA training
//! and f64 gradient checks work too.
//!
//! Every kernel works row by row with a fixed summation order, so results do not depend on the
//! thread count.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, D, DType, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use crate::kernels::torch_cpu;
use crate::kernels::{contiguous_f32, min_rows};

fn use_kernel(x: &Tensor) -> bool {
    crate::kernels::cpu_kernel(x)
}

// ---------------------------------------------------------------------------------------------
// Masked, scaled softmax over the last dimension.

/// `softmax(scale · scores + mask)` over the last dimension, for attention.
///
/// `scores` is `[B, heads, Tq, Tk]`; `attention_mask` is `[B, Tk]` with 1 for real tokens and 0
/// for padding. Padded keys get the additive mask `f32::MIN` (torch's `finfo(float32).min`), so
/// they receive exactly zero probability, as in Hugging Face's eager attention.
pub fn masked_softmax(scores: &Tensor, attention_mask: &Tensor, scale: f64) -> Result<Tensor> {
    let (b, _h, _tq, tk) = scores.dims4()?;
    let (mb, mt) = attention_mask.dims2()?;
    if mb != b || mt != tk {
        candle_core::bail!(
            "masked_softmax: mask shape [{mb}, {mt}] does not match scores [{b}, _, _, {tk}]"
        );
    }
    if use_kernel(scores) {
        let scores = scores.contiguous()?;
        let mask = attention_mask.to_dtype(DType::F32)?.contiguous()?;
        scores.apply_op2(
            &mask,
            MaskedSoftmax {
                scale: scale as f32,
            },
        )
    } else {
        let additive = ((attention_mask.to_dtype(scores.dtype())? - 1.0)?.neg()?
            * f64::from(f32::MIN))?
        .reshape((b, 1, 1, tk))?;
        let s = (scores * scale)?.broadcast_add(&additive)?;
        candle_nn::ops::softmax(&s, D::Minus1)
    }
}

struct MaskedSoftmax {
    scale: f32,
}

impl CustomOp2 for MaskedSoftmax {
    fn name(&self) -> &'static str {
        "multiberts-masked-softmax"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(s1, l1, self.name())?;
        let mask = contiguous_f32(s2, l2, self.name())?;
        let dims = l1.shape().dims();
        let tk = dims[dims.len() - 1];
        let rows_per_batch = dims[1] * dims[2];
        let scale = self.scale;
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(tk)
            .zip(x.par_chunks(tk))
            .enumerate()
            .with_min_len(min_rows(tk))
            .for_each(|(row, (y, xr))| {
                let m = &mask[(row / rows_per_batch) * tk..][..tk];
                for ((yi, &xi), &mi) in y.iter_mut().zip(xr).zip(m) {
                    let add = if mi == 0.0 { f32::MIN } else { 0.0 };
                    *yi = xi * scale + add;
                }
                torch_cpu::softmax_row(y);
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _scores: &Tensor,
        _mask: &Tensor,
        res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let grad =
            res.apply_op2_no_bwd(&grad_res.contiguous()?, &SoftmaxBwd { scale: self.scale })?;
        Ok((Some(grad), None))
    }
}

/// `dx = scale · y · (g − Σ g·y)` row by row; inputs are (y, g).
struct SoftmaxBwd {
    scale: f32,
}

impl CustomOp2 for SoftmaxBwd {
    fn name(&self) -> &'static str {
        "multiberts-softmax-bwd"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let y = contiguous_f32(s1, l1, self.name())?;
        let g = contiguous_f32(s2, l2, self.name())?;
        let n = l1.shape().dims()[l1.shape().rank() - 1];
        let scale = self.scale;
        let mut out = vec![0f32; y.len()];
        out.par_chunks_mut(n)
            .zip(y.par_chunks(n).zip(g.par_chunks(n)))
            .with_min_len(min_rows(n))
            .for_each(|(dx, (yr, gr))| {
                let dot = torch_cpu::softmax_grad_dot(yr, gr);
                for ((d, &yi), &gi) in dx.iter_mut().zip(yr).zip(gr) {
                    *d = scale * yi * (gi - dot);
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

// ---------------------------------------------------------------------------------------------
// Layer normalisation: with its affine part in [`super::fused`], where both kernels live.

pub use super::fused::{layer_norm, normalize};

// ---------------------------------------------------------------------------------------------
// tanh.

/// `tanh`, rounded as torch's CPU kernel rounds it, with torch's backward `g · (1 − y²)` (the
/// `1 − y²` fused); candle's `tanh` on other devices and dtypes.
pub fn tanh(x: &Tensor) -> Result<Tensor> {
    if use_kernel(x) {
        x.contiguous()?.apply_op1(Tanh)
    } else {
        x.tanh()
    }
}

struct Tanh;

impl CustomOp1 for Tanh {
    fn name(&self) -> &'static str {
        "multiberts-tanh"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(storage, layout, self.name())?;
        // torch's vectorised tanh is within an ulp: an f64 evaluation rounded once agrees
        // with it far more often than f32 `tanh` does.
        let out = x.iter().map(|&v| f64::from(v).tanh() as f32).collect();
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }

    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let g = grad_res.contiguous()?;
        Ok(Some(res.contiguous()?.apply_op2_no_bwd(&g, &TanhBwd)?))
    }
}

/// `dx = g · (1 − y²)` with `1 − y²` as one fused multiply-add; inputs are (y, g).
struct TanhBwd;

impl CustomOp2 for TanhBwd {
    fn name(&self) -> &'static str {
        "multiberts-tanh-bwd"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let y = contiguous_f32(s1, l1, self.name())?;
        let g = contiguous_f32(s2, l2, self.name())?;
        let out = y
            .iter()
            .zip(g)
            .map(|(&yi, &gi)| gi * (-yi).mul_add(yi, 1.0))
            .collect();
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

// ---------------------------------------------------------------------------------------------
// Exact GELU.

/// The exact GELU, `0.5 · x · (1 + erf(x / √2))` (HF's `"gelu"`), with an analytic backward
/// `0.5 · (1 + erf(x / √2)) + x · φ(x)`. On the CPU with f32 both are computed as torch 2.15
/// computes them there, through oneDNN's eltwise kernels (see `torch_cpu::gelu`); elsewhere
/// candle's `gelu_erf`.
pub fn gelu(x: &Tensor) -> Result<Tensor> {
    if use_kernel(x) {
        x.contiguous()?.apply_op1(Gelu)
    } else {
        x.gelu_erf()
    }
}

struct Gelu;

impl CustomOp1 for Gelu {
    fn name(&self) -> &'static str {
        "multiberts-gelu"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(storage, layout, self.name())?;
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(CHUNK)
            .zip(x.par_chunks(CHUNK))
            .for_each(|(y, xr)| {
                torch_cpu::gelu_slice(y, xr);
            });
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let g = grad_res.contiguous()?;
        Ok(Some(arg.apply_op2_no_bwd(&g, &GeluBwd)?))
    }
}

/// `dx = g · (0.5 · (1 + erf(x/√2)) + x · e^(−x²/2) / √(2π))`; inputs are (x, g).
struct GeluBwd;

impl CustomOp2 for GeluBwd {
    fn name(&self) -> &'static str {
        "multiberts-gelu-bwd"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(s1, l1, self.name())?;
        let g = contiguous_f32(s2, l2, self.name())?;
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(CHUNK)
            .zip(x.par_chunks(CHUNK).zip(g.par_chunks(CHUNK)))
            .for_each(|(dx, (xr, gr))| {
                torch_cpu::gelu_grad_slice(dx, xr, gr);
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// Elements per rayon task for element-wise kernels.
const CHUNK: usize = 1 << 14;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeededRng;
    use candle_core::{Device, Var};

    fn randn(shape: &[usize], seed: u64) -> Tensor {
        let n = shape.iter().product();
        let v = SeededRng::new(seed, 0).normal_vec(n, 1.0);
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
    }

    fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    /// Runs `f` on the fused kernel (f32 CPU) and on the composite fallback (f64), and returns
    /// the outputs and the gradient of `Σ out · w` for a fixed random `w`.
    fn both_paths(
        x: &Tensor,
        f: impl Fn(&Tensor) -> Result<Tensor>,
    ) -> ((Tensor, Tensor), (Tensor, Tensor)) {
        let run = |x: &Tensor| {
            let var = Var::from_tensor(x).unwrap();
            let y = f(var.as_tensor()).unwrap();
            let w = randn(y.dims(), 99).to_dtype(y.dtype()).unwrap();
            let loss = (&y * &w).unwrap().sum_all().unwrap();
            let grads = loss.backward().unwrap();
            let g = grads.get(var.as_tensor()).unwrap().clone();
            (
                y.to_dtype(DType::F32).unwrap(),
                g.to_dtype(DType::F32).unwrap(),
            )
        };
        (run(x), run(&x.to_dtype(DType::F64).unwrap()))
    }

    #[test]
    fn normalize_kernel_matches_composite_forward_and_backward() {
        let x = randn(&[3, 5, 24], 1);
        let ((y32, g32), (y64, g64)) = both_paths(&x, |t| normalize(t, 1e-12));
        assert!(max_abs_diff(&y32, &y64) < 1e-5);
        assert!(max_abs_diff(&g32, &g64) < 1e-5);
        // Each normalised row has mean 0 and variance 1.
        let mean = y32.mean_keepdim(D::Minus1).unwrap().abs().unwrap();
        assert!(
            mean.flatten_all()
                .unwrap()
                .max(0)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
                < 1e-6
        );
    }

    #[test]
    fn masked_softmax_matches_composite_and_ignores_padding() {
        let x = randn(&[2, 3, 4, 6], 2);
        let mask = Tensor::new(
            &[[1f32, 1., 1., 1., 1., 1.], [1., 1., 1., 1., 0., 0.]],
            &Device::Cpu,
        )
        .unwrap();
        let mask64 = mask.to_dtype(DType::F64).unwrap();
        let ((y32, g32), (y64, g64)) = both_paths(&x, |t| {
            let m = if t.dtype() == DType::F64 {
                &mask64
            } else {
                &mask
            };
            masked_softmax(t, m, 0.25)
        });
        assert!(max_abs_diff(&y32, &y64) < 1e-6);
        assert!(max_abs_diff(&g32, &g64) < 1e-6);
        // Padded keys of batch row 1 get exactly zero probability and zero gradient.
        let padded = y32.narrow(0, 1, 1).unwrap().narrow(3, 4, 2).unwrap();
        assert_eq!(
            padded
                .abs()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap(),
            0.0
        );
        let gpad = g32.narrow(0, 1, 1).unwrap().narrow(3, 4, 2).unwrap();
        assert_eq!(
            gpad.abs()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap(),
            0.0
        );
        let rows = y32
            .sum(D::Minus1)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert!(rows.iter().all(|s| (s - 1.0).abs() < 1e-6));
    }

    #[test]
    fn gelu_kernel_matches_closed_form_and_composite() {
        let x = (randn(&[4, 300], 4) * 3.0).unwrap();
        let ((y32, g32), (y64, g64)) = both_paths(&x, gelu);
        assert!(max_abs_diff(&y32, &y64) < 1e-5);
        assert!(max_abs_diff(&g32, &g64) < 1e-5);
        // gelu(1) = 0.5 (1 + erf(1/√2)) = 0.841344746...
        let one = Tensor::new(&[1f32], &Device::Cpu).unwrap();
        let v = gelu(&one).unwrap().to_vec1::<f32>().unwrap()[0];
        assert!((f64::from(v) - 0.841_344_746_068_543).abs() < 1e-6, "{v}");
    }

    #[test]
    fn masked_softmax_rejects_wrong_mask_shape() {
        let x = randn(&[2, 1, 3, 4], 3);
        let mask = Tensor::ones((2, 5), DType::F32, &Device::Cpu).unwrap();
        assert!(masked_softmax(&x, &mask, 1.0).is_err());
    }
}
