//! Matrix products in torch's summation order where candle's `gemm` takes another one.
//!
//! MKL (torch's CPU BLAS) accumulates every output element over `k` in order with fused
//! multiply-adds, starting from zero. The `gemm` crate does the same for most shapes, but for
//! small outputs (m·n ≤ 256, with a row-major left side and a column-major right side) it
//! switches to "horizontal" kernels that split `k` over vector lanes, and for k ≤ 2 to a
//! kernel without fused multiply-adds. Those shapes are cheap, so here they are computed
//! directly in MKL's order; everything else goes to candle.

use candle_core::{CpuStorage, CustomOp2, DType, Layout, Result, Shape, Tensor};

/// Largest output (m·n) that `gemm` may hand to its horizontal kernels.
const HORIZONTAL_MAX: usize = 16 * 16;

/// Whether an `[m, k] · [k, n]` product must bypass `gemm` to sum in MKL's order.
pub(crate) fn needs_sequential(m: usize, k: usize, n: usize) -> bool {
    m * n <= HORIZONTAL_MAX || k <= 2
}

/// `out[i, j] = Σ_q a[i, q] · b[q, j]`, summed in `q` order with fused multiply-adds, for
/// element accessors `a(i, q)` and `b(q, j)`; `out` is row-major `[m, n]`.
pub(crate) fn sequential_into(
    out: &mut [f32],
    (m, k, n): (usize, usize, usize),
    a: impl Fn(usize, usize) -> f32,
    b: impl Fn(usize, usize) -> f32,
) {
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0f32;
            for q in 0..k {
                acc = a(i, q).mul_add(b(q, j), acc);
            }
            out[i * n + j] = acc;
        }
    }
}

/// `a · b` for rank-2 tensors, in MKL's order on the CPU for the shapes where `gemm` differs
/// (see the module comment). Records no gradient: for use inside analytic backward passes.
pub(crate) fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let cpu_f32 = |t: &Tensor| t.device().is_cpu() && t.dtype() == DType::F32 && t.rank() == 2;
    if cpu_f32(a) && cpu_f32(b) {
        let (m, k) = a.dims2()?;
        let n = b.dim(1)?;
        if needs_sequential(m, k, n) {
            return a.apply_op2_no_bwd(b, &Sequential);
        }
    }
    a.matmul(b)
}

struct Sequential;

/// Accessor of a rank-2 strided f32 storage.
fn accessor<'a>(s: &'a CpuStorage, l: &Layout) -> Result<impl Fn(usize, usize) -> f32 + 'a> {
    let data = s.as_slice::<f32>()?;
    let (off, st) = (l.start_offset(), l.stride().to_vec());
    Ok(move |i: usize, j: usize| data[off + i * st[0] + j * st[1]])
}

impl CustomOp2 for Sequential {
    fn name(&self) -> &'static str {
        "multiberts-sequential-matmul"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (m, k) = l1.shape().dims2()?;
        let (k2, n) = l2.shape().dims2()?;
        if k != k2 {
            candle_core::bail!("matmul: [{m}, {k}] · [{k2}, {n}] do not fit");
        }
        let mut out = vec![0f32; m * n];
        sequential_into(&mut out, (m, k, n), accessor(s1, l1)?, accessor(s2, l2)?);
        Ok((CpuStorage::F32(out), Shape::from((m, n))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn small_products_equal_the_fma_sum_and_large_ones_go_to_candle() {
        for (m, k, n) in [(8, 32, 32), (8, 2, 32), (2, 8, 32), (40, 24, 30)] {
            let a: Vec<f32> = (0..m * k)
                .map(|i| ((i * 7 % 13) as f32 - 6.0) * 0.1)
                .collect();
            let b: Vec<f32> = (0..k * n)
                .map(|i| ((i * 5 % 11) as f32 - 5.0) * 0.3)
                .collect();
            let ta = Tensor::from_vec(a.clone(), (m, k), &Device::Cpu).unwrap();
            // A transposed view, as `x · Wᵀ` passes it.
            let tb = Tensor::from_vec(b.clone(), (k, n), &Device::Cpu)
                .unwrap()
                .t()
                .unwrap()
                .contiguous()
                .unwrap()
                .t()
                .unwrap();
            let got = matmul(&ta, &tb).unwrap().flatten_all().unwrap();
            let mut want = vec![0f32; m * n];
            sequential_into(
                &mut want,
                (m, k, n),
                |i, q| a[i * k + q],
                |q, j| b[q * n + j],
            );
            let close = ta.matmul(&tb).unwrap().flatten_all().unwrap();
            let got = got.to_vec1::<f32>().unwrap();
            if needs_sequential(m, k, n) {
                assert_eq!(got, want, "{m}x{k}x{n}");
            }
            for (g, c) in got.iter().zip(close.to_vec1::<f32>().unwrap()) {
                assert!((g - c).abs() < 1e-5, "{m}x{k}x{n}: {g} vs {c}");
            }
        }
    }
}
