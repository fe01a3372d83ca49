//! Matrix products in MKL's summation order (torch's CPU BLAS), which `gemm` follows only in
//! part.
//!
//! MKL accumulates every output element over `k` in order with fused multiply-adds, starting
//! from zero, in blocks of [`K_BLOCK`] values of `k`; each block's sum is then added to the
//! output (measured on the fixture's weight gradients, where k = 384 = 2 blocks: bit-identical
//! with torch). `gemm` does the same within one call for most shapes, so each block is one
//! `gemm` call that adds into the output. For small outputs (m·n ≤ 256, or a single row or
//! column) `gemm` switches to kernels that split `k` over vector lanes, and for k ≤ 2 to one
//! without fused multiply-adds; those blocks are computed here directly, in MKL's order.

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};

/// Largest output (m·n) that `gemm` may hand to its horizontal kernels.
const HORIZONTAL_MAX: usize = 16 * 16;

/// Values of `k` that MKL sums in one go before adding the block to the output.
pub(crate) const K_BLOCK: usize = 192;

/// Whether an `[m, k] · [k, n]` block must bypass `gemm` to sum in MKL's order.
fn needs_sequential(m: usize, k: usize, n: usize) -> bool {
    m * n <= HORIZONTAL_MAX || k <= 2 || m == 1 || n == 1
}

/// A rank-2 f32 operand: its storage, start offset and (row, column) strides.
#[derive(Clone, Copy)]
pub(crate) struct Operand<'a> {
    data: &'a [f32],
    offset: usize,
    rs: usize,
    cs: usize,
}

impl<'a> Operand<'a> {
    /// A row-major `[rows, cols]` slice.
    pub(crate) fn row_major(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            offset: 0,
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose of a row-major `[rows, cols]` slice (so `[cols, rows]`).
    pub(crate) fn transposed(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            offset: 0,
            rs: 1,
            cs: cols,
        }
    }

    fn from_layout(s: &'a CpuStorage, l: &Layout) -> Result<Self> {
        let st = l.stride();
        Ok(Self {
            data: s.as_slice::<f32>()?,
            offset: l.start_offset(),
            rs: st[0],
            cs: st[1],
        })
    }

    fn at(&self, i: usize, j: usize) -> f32 {
        self.data[self.offset + i * self.rs + j * self.cs]
    }
}

/// `out = a · b` for `a` `[m, k]` and `b` `[k, n]`, `out` row-major `[m, n]`, in MKL's order
/// (see the module comment). Runs `gemm` with candle's thread setting; `gemm` splits the
/// output, never `k`, over threads, so the result does not depend on the thread count.
pub(crate) fn matmul_into(
    out: &mut [f32],
    (m, k, n): (usize, usize, usize),
    a: Operand,
    b: Operand,
) {
    out.fill(0.0);
    let threads = candle_core::utils::get_num_threads();
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    let mut block = vec![
        0f32;
        if needs_sequential(m, K_BLOCK, n) {
            m * n
        } else {
            0
        }
    ];
    for q0 in (0..k).step_by(K_BLOCK) {
        let kb = K_BLOCK.min(k - q0);
        if needs_sequential(m, kb, n) {
            // The last block can be short (k % K_BLOCK ≤ 2) where the others are not.
            block.resize(m * n, 0.0);
            for i in 0..m {
                for j in 0..n {
                    let mut acc = 0f32;
                    for q in q0..q0 + kb {
                        acc = a.at(i, q).mul_add(b.at(q, j), acc);
                    }
                    block[i * n + j] = acc;
                }
            }
            for (o, &v) in out.iter_mut().zip(&block) {
                *o += v;
            }
        } else {
            // SAFETY: `a` holds `[m, k]` and `b` `[k, n]` at the given offsets and strides (the
            // callers build them from checked shapes or layouts), so every element the block
            // reaches lies inside the slices; `out` is `m × n`, row-major.
            unsafe {
                gemm::gemm(
                    m,
                    n,
                    kb,
                    out.as_mut_ptr(),
                    1,
                    n as isize,
                    q0 > 0,
                    a.data.as_ptr().add(a.offset + q0 * a.cs),
                    a.cs as isize,
                    a.rs as isize,
                    b.data.as_ptr().add(b.offset + q0 * b.rs),
                    b.cs as isize,
                    b.rs as isize,
                    1f32,
                    1f32,
                    false,
                    false,
                    false,
                    parallelism,
                );
            }
        }
    }
}

/// `a · b` for rank-2 tensors, in MKL's order on the CPU with f32 (candle's matmul elsewhere).
/// Records no gradient: for use inside analytic backward passes.
pub(crate) fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let cpu_f32 = |t: &Tensor| crate::kernels::cpu_kernel(t) && t.rank() == 2;
    if cpu_f32(a) && cpu_f32(b) {
        a.apply_op2_no_bwd(b, &MklOrder)
    } else {
        a.matmul(b)
    }
}

struct MklOrder;

impl CustomOp2 for MklOrder {
    fn name(&self) -> &'static str {
        "multiberts-mkl-order-matmul"
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
        matmul_into(
            &mut out,
            (m, k, n),
            Operand::from_layout(s1, l1)?,
            Operand::from_layout(s2, l2)?,
        );
        Ok((CpuStorage::F32(out), Shape::from((m, n))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// MKL's order written out: FMA sums over blocks of `K_BLOCK`, blocks added in order.
    fn reference(a: &[f32], b: &[f32], (m, k, n): (usize, usize, usize)) -> Vec<f32> {
        let mut out = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut c = 0f32;
                for q0 in (0..k).step_by(K_BLOCK) {
                    let mut acc = 0f32;
                    for q in q0..(q0 + K_BLOCK).min(k) {
                        acc = a[i * k + q].mul_add(b[q * n + j], acc);
                    }
                    c += acc;
                }
                out[i * n + j] = c;
            }
        }
        out
    }

    #[test]
    fn products_follow_mkl_order_for_small_large_and_long_shapes() {
        // Small, long (several k-blocks), and long with a last block of 1 or 2 values of k,
        // which alone takes the sequential path.
        for (m, k, n) in [
            (8, 32, 32),
            (8, 2, 32),
            (2, 8, 32),
            (40, 24, 30),
            (33, 500, 20),
            (1, 300, 40),
            (20, 193, 30),
            (20, 386, 30),
        ] {
            let a: Vec<f32> = (0..m * k)
                .map(|i| ((i * 7 % 13) as f32 - 6.1) * 0.1)
                .collect();
            let b: Vec<f32> = (0..k * n)
                .map(|i| ((i * 5 % 11) as f32 - 5.3) * 0.3)
                .collect();
            let ta = Tensor::from_vec(a.clone(), (m, k), &Device::Cpu).unwrap();
            // A transposed view, as the backward passes give it.
            let tb = Tensor::from_vec(b.clone(), (k, n), &Device::Cpu)
                .unwrap()
                .t()
                .unwrap()
                .contiguous()
                .unwrap()
                .t()
                .unwrap();
            let got = matmul(&ta, &tb).unwrap().flatten_all().unwrap();
            assert_eq!(
                got.to_vec1::<f32>().unwrap(),
                reference(&a, &b, (m, k, n)),
                "{m}x{k}x{n}"
            );
        }
    }
}
