//! Fused CPU kernels that cut the tensors the autograd graph keeps alive (and the passes over
//! memory): a linear layer whose bias is added in the matmul's own output buffer, and LayerNorm
//! with its affine part, each with an analytic backward. The affine-free normalisation (the
//! composite path's first step) lives here too, so the LayerNorm family is in one file.
//!
//! candle records every op's output as a graph node and keeps it until the graph is dropped,
//! so `x·Wᵀ` followed by `+ b` holds two activations where one is enough, and LayerNorm as
//! normalise → `· w` → `+ b` holds three. On any device other than the CPU or any dtype other
//! than f32 these functions fall back to the same maths in plain candle ops.
//!
//! Every kernel works on fixed row blocks and sums in a fixed order, so results do not depend
//! on the thread count.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, D, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use crate::kernels::{contiguous_f32, min_rows};
use crate::kernels::{small_mm, torch_cpu};

fn all_cpu_f32(ts: &[&Tensor]) -> bool {
    ts.iter().all(|t| crate::kernels::cpu_kernel(t))
}

// ---------------------------------------------------------------------------------------------
// Linear layer.

/// `x · weightᵀ + bias` for `x` `[M, K]`, a torch-layout `weight` `[N, K]` and `bias` `[N]`,
/// giving `[M, N]`; differentiable in all three.
pub fn linear(x: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Tensor> {
    if all_cpu_f32(&[x, weight, bias]) {
        x.contiguous()?
            .apply_op3(&weight.contiguous()?, &bias.contiguous()?, LinearBias)
    } else {
        x.matmul(&weight.t()?)?.broadcast_add(bias)
    }
}

struct LinearBias;

impl CustomOp3 for LinearBias {
    fn name(&self) -> &'static str {
        "multiberts-linear"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        ws: &CpuStorage,
        wl: &Layout,
        bs: &CpuStorage,
        bl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (m, k) = xl.shape().dims2()?;
        let (n, wk) = wl.shape().dims2()?;
        if wk != k || bl.shape().dims() != [n] {
            candle_core::bail!(
                "linear: x {:?}, weight {:?}, bias {:?} do not fit",
                xl.shape(),
                wl.shape(),
                bl.shape()
            );
        }
        let bias = contiguous_f32(bs, bl, self.name())?;
        let (x, w) = (
            contiguous_f32(xs, xl, self.name())?,
            contiguous_f32(ws, wl, self.name())?,
        );
        let mut y = vec![0f32; m * n];
        // x · Wᵀ: the weight is row-major [n, k], so its transpose is [k, n].
        small_mm::matmul_into(
            &mut y,
            (m, k, n),
            small_mm::Operand::row_major(x, k),
            small_mm::Operand::transposed(w, k),
        );
        y.par_chunks_mut(n)
            .with_min_len(min_rows(n))
            .for_each(|row| {
                for (yi, &bi) in row.iter_mut().zip(bias) {
                    *yi += bi;
                }
            });
        let y = CpuStorage::F32(y);
        Ok((y, Shape::from((m, n))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        _bias: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        // Detached so that the gradients hold no graph (and no reference to the activations).
        let (x, weight, g) = (x.detach(), weight.detach(), grad.detach());
        let dx = small_mm::matmul(&g, &weight)?;
        let dw = small_mm::matmul(&g.t()?, &x)?;
        let db = column_sums(&g)?;
        Ok((Some(dx), Some(dw), Some(db)))
    }
}

/// Sums a `[M, N]` tensor over its rows, as torch's `sum(0)` does on the CPU (see
/// [`torch_cpu::column_sums`]); candle's `sum(0)` elsewhere.
fn column_sums(g: &Tensor) -> Result<Tensor> {
    if all_cpu_f32(&[g]) && g.rank() == 2 {
        g.contiguous()?.apply_op1_no_bwd(&ColumnSums)
    } else {
        g.sum(0)
    }
}

struct ColumnSums;

impl CustomOp1 for ColumnSums {
    fn name(&self) -> &'static str {
        "multiberts-column-sums"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let g = contiguous_f32(s, l, self.name())?;
        let (rows, cols) = l.shape().dims2()?;
        let mut out = vec![0f32; cols];
        out.par_chunks_mut(BLOCK_COLS)
            .enumerate()
            .for_each(|(block, sums)| {
                torch_cpu::column_sums(sums, g, rows, cols, block * BLOCK_COLS);
            });
        Ok((CpuStorage::F32(out), Shape::from(cols)))
    }
}

// ---------------------------------------------------------------------------------------------
// LayerNorm with its affine part.

/// `(x − mean) / sqrt(var + eps) · weight + bias` over the last dimension with the biased
/// variance (torch's LayerNorm); one output tensor, differentiable in `x`, `weight` and `bias`.
pub fn layer_norm(x: &Tensor, weight: &Tensor, bias: &Tensor, eps: f64) -> Result<Tensor> {
    if all_cpu_f32(&[x, weight, bias]) {
        x.contiguous()?.apply_op3(
            &weight.contiguous()?,
            &bias.contiguous()?,
            LayerNormAffine { eps },
        )
    } else {
        let xhat = normalize(x, eps)?;
        xhat.broadcast_mul(weight)?.broadcast_add(bias)
    }
}

struct LayerNormAffine {
    eps: f64,
}

impl CustomOp3 for LayerNormAffine {
    fn name(&self) -> &'static str {
        "multiberts-layer-norm"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        ws: &CpuStorage,
        wl: &Layout,
        bs: &CpuStorage,
        bl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(xs, xl, self.name())?;
        let w = contiguous_f32(ws, wl, self.name())?;
        let b = contiguous_f32(bs, bl, self.name())?;
        let n = xl.shape().dims()[xl.shape().rank() - 1];
        if w.len() != n || b.len() != n {
            candle_core::bail!(
                "layer_norm: weight/bias of length {} for rows of {n}",
                w.len()
            );
        }
        let eps = self.eps;
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(n)
            .zip(x.par_chunks(n))
            .with_min_len(min_rows(n))
            .for_each(|(y, xr)| torch_cpu::layer_norm_row(y, xr, w, b, eps));
        Ok((CpuStorage::F32(out), xl.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        _bias: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let g = grad.contiguous()?;
        let eps = self.eps;
        let dx = x.apply_op3_no_bwd(&g, weight, &LayerNormBwdInput { eps })?;
        let n = weight.elem_count();
        let dwb = x.apply_op2_no_bwd(&g, &LayerNormBwdAffine { eps })?;
        let dw = dwb.narrow(0, 0, n)?;
        let db = dwb.narrow(0, n, n)?;
        Ok((Some(dx), Some(dw), Some(db)))
    }
}

/// `dx = rstd · (ĝ − mean(ĝ) − x̂ · mean(ĝ · x̂))` with `ĝ = g · w`, row by row; inputs (x, g, w).
struct LayerNormBwdInput {
    eps: f64,
}

impl CustomOp3 for LayerNormBwdInput {
    fn name(&self) -> &'static str {
        "multiberts-layer-norm-bwd"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        gs: &CpuStorage,
        gl: &Layout,
        ws: &CpuStorage,
        wl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(xs, xl, self.name())?;
        let g = contiguous_f32(gs, gl, self.name())?;
        let w = contiguous_f32(ws, wl, self.name())?;
        let n = w.len();
        let eps = self.eps;
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(n)
            .zip(x.par_chunks(n).zip(g.par_chunks(n)))
            .with_min_len(min_rows(n))
            .for_each(|(dx, (xr, gr))| torch_cpu::layer_norm_input_grad_row(dx, xr, gr, w, eps));
        Ok((CpuStorage::F32(out), xl.shape().clone()))
    }
}

/// Columns per task of the affine-gradient reduction: each column is summed over the rows in
/// row order (as torch does with one thread), so the split only decides who does the work.
const BLOCK_COLS: usize = 8;

/// `[Σ_rows g · x̂, Σ_rows g]` as one `[2n]` vector; inputs (x, g).
struct LayerNormBwdAffine {
    eps: f64,
}

impl CustomOp2 for LayerNormBwdAffine {
    fn name(&self) -> &'static str {
        "multiberts-layer-norm-bwd-affine"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        gs: &CpuStorage,
        gl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(xs, xl, self.name())?;
        let g = contiguous_f32(gs, gl, self.name())?;
        let n = xl.shape().dims()[xl.shape().rank() - 1];
        let eps = self.eps;
        let stats: Vec<(f32, f32)> = x
            .par_chunks(n)
            .with_min_len(min_rows(n))
            .map(|xr| torch_cpu::layer_norm_stats(xr, eps))
            .collect();
        let mut out = vec![0f32; 2 * n];
        let (dw, db) = out.split_at_mut(n);
        dw.par_chunks_mut(BLOCK_COLS)
            .zip(db.par_chunks_mut(BLOCK_COLS))
            .enumerate()
            .for_each(|(block, (dw, db))| {
                let cols = block * BLOCK_COLS..block * BLOCK_COLS + dw.len();
                for ((xr, gr), &(mean, rstd)) in x.chunks(n).zip(g.chunks(n)).zip(&stats) {
                    torch_cpu::layer_norm_affine_grad_accumulate(
                        dw,
                        db,
                        &xr[cols.clone()],
                        &gr[cols.clone()],
                        mean,
                        rstd,
                    );
                }
            });
        Ok((CpuStorage::F32(out), Shape::from(2 * n)))
    }
}

// ---------------------------------------------------------------------------------------------
// LayerNorm without its affine part (the composite path of `layer_norm`).

/// `(x − mean) / sqrt(var + eps)` over the last dimension (the affine-free part of LayerNorm).
pub fn normalize(x: &Tensor, eps: f64) -> Result<Tensor> {
    if all_cpu_f32(&[x]) {
        x.contiguous()?.apply_op1(Normalize { eps })
    } else {
        let mean = x.mean_keepdim(D::Minus1)?;
        let xc = x.broadcast_sub(&mean)?;
        let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
        xc.broadcast_div(&(var + eps)?.sqrt()?)
    }
}

struct Normalize {
    eps: f64,
}

/// Mean and 1/sqrt(var + eps) of one row, accumulated in f64 so that long rows stay accurate.
pub(crate) fn row_stats(x: &[f32], eps: f64) -> (f32, f32) {
    let n = x.len() as f64;
    let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = x
        .iter()
        .map(|&v| {
            let d = f64::from(v) - mean;
            d * d
        })
        .sum::<f64>()
        / n;
    (mean as f32, (1.0 / (var + eps).sqrt()) as f32)
}

impl CustomOp1 for Normalize {
    fn name(&self) -> &'static str {
        "multiberts-normalize"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(storage, layout, self.name())?;
        let n = layout.shape().dims()[layout.shape().rank() - 1];
        let eps = self.eps;
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(n)
            .zip(x.par_chunks(n))
            .with_min_len(min_rows(n))
            .for_each(|(y, xr)| {
                let (mean, rstd) = row_stats(xr, eps);
                for (yi, &xi) in y.iter_mut().zip(xr) {
                    *yi = (xi - mean) * rstd;
                }
            });
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let g = grad_res.contiguous()?;
        Ok(Some(
            arg.apply_op2_no_bwd(&g, &NormalizeBwd { eps: self.eps })?,
        ))
    }
}

/// `dx = rstd · (g − mean(g) − x̂ · mean(g · x̂))` row by row; inputs are (x, g).
struct NormalizeBwd {
    eps: f64,
}

impl CustomOp2 for NormalizeBwd {
    fn name(&self) -> &'static str {
        "multiberts-normalize-bwd"
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
        let n = l1.shape().dims()[l1.shape().rank() - 1];
        let eps = self.eps;
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(n)
            .zip(x.par_chunks(n).zip(g.par_chunks(n)))
            .with_min_len(min_rows(n))
            .for_each(|(dx, (xr, gr))| {
                let (mean, rstd) = row_stats(xr, eps);
                let mut sum_g = 0f64;
                let mut sum_gx = 0f64;
                for (&xi, &gi) in xr.iter().zip(gr) {
                    let xh = (xi - mean) * rstd;
                    sum_g += f64::from(gi);
                    sum_gx += f64::from(gi * xh);
                }
                let mean_g = (sum_g / n as f64) as f32;
                let mean_gx = (sum_gx / n as f64) as f32;
                for ((d, &xi), &gi) in dx.iter_mut().zip(xr).zip(gr) {
                    let xh = (xi - mean) * rstd;
                    *d = rstd * (gi - mean_g - xh * mean_gx);
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeededRng;
    use candle_core::{DType, Device, Var};

    fn randn(shape: &[usize], seed: u64) -> Tensor {
        let n = shape.iter().product();
        let v = SeededRng::new(seed, 0).normal_vec(n, 1.0);
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
    }

    fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a.to_dtype(DType::F32).unwrap() - b.to_dtype(DType::F32).unwrap())
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

    /// Output and the gradients of `Σ out · r` (fixed random `r`) with respect to every input,
    /// once through the f32 kernel and once through the f64 composite fallback.
    fn kernel_and_composite(
        inputs: &[Tensor],
        f: impl Fn(&[Tensor]) -> Result<Tensor>,
    ) -> Vec<(Tensor, Tensor)> {
        let run = |dtype: DType| {
            let vars: Vec<Var> = inputs
                .iter()
                .map(|t| Var::from_tensor(&t.to_dtype(dtype).unwrap()).unwrap())
                .collect();
            let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
            let y = f(&ts).unwrap();
            let r = randn(y.dims(), 77).to_dtype(dtype).unwrap();
            let grads = (&y * &r).unwrap().sum_all().unwrap().backward().unwrap();
            let mut out = vec![y];
            out.extend(ts.iter().map(|t| grads.get(t).unwrap().clone()));
            out
        };
        run(DType::F32).into_iter().zip(run(DType::F64)).collect()
    }

    #[test]
    fn linear_kernel_matches_composite_forward_and_backward() {
        let inputs = [randn(&[37, 24], 1), randn(&[10, 24], 2), randn(&[10], 3)];
        for (i, (k, c)) in kernel_and_composite(&inputs, |t| linear(&t[0], &t[1], &t[2]))
            .iter()
            .enumerate()
        {
            assert!(max_abs_diff(k, c) < 2e-5, "output/grad {i}");
        }
    }

    #[test]
    fn layer_norm_kernel_matches_composite_forward_and_backward() {
        // Enough rows for several reduction blocks.
        let inputs = [
            (randn(&[150, 48], 4) * 3.0).unwrap(),
            randn(&[48], 5),
            randn(&[48], 6),
        ];
        for (i, (k, c)) in kernel_and_composite(&inputs, |t| layer_norm(&t[0], &t[1], &t[2], 1e-12))
            .iter()
            .enumerate()
        {
            assert!(
                max_abs_diff(k, c) < 5e-5,
                "output/grad {i}: {}",
                max_abs_diff(k, c)
            );
        }
    }
}
