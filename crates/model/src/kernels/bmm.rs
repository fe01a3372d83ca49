//! Batched matmul for attention (`Q·Kᵀ` and `P·V` over batch × heads), differentiable.
//!
//! candle's CPU matmul runs the batch items one after the other and splits each small
//! `T × d` product over the threads, which at attention sizes costs more in dispatch than it
//! gains. Here the batch items are spread over the threads and each product runs whole on one
//! thread, so the result does not depend on the thread count either.

use candle_core::{CpuStorage, CustomOp2, D, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// `a · b` for `a` `[..., m, k]` and `b` `[..., k, n]` with the same leading (batch) dims.
pub fn bmm(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let cpu_f32 = crate::kernels::cpu_kernel;
    if a.rank() >= 3 && cpu_f32(a) && cpu_f32(b) {
        a.apply_op2(b, Bmm)
    } else {
        a.matmul(b)
    }
}

struct Bmm;

/// `(batch, rows, cols, batch stride, row stride, col stride, offset)` of a rank ≥ 3 layout
/// whose leading dims flatten into one batch dim with a single stride.
fn matrices(l: &Layout) -> Option<(usize, usize, usize, usize, isize, isize, usize)> {
    let dims = l.shape().dims();
    let st = l.stride();
    let r = dims.len();
    for i in 0..r - 3 {
        if dims[i] > 1 && st[i] != st[i + 1] * dims[i + 1] {
            return None;
        }
    }
    let batch = dims[..r - 2].iter().product();
    Some((
        batch,
        dims[r - 2],
        dims[r - 1],
        st[r - 3],
        st[r - 2] as isize,
        st[r - 1] as isize,
        l.start_offset(),
    ))
}

impl CustomOp2 for Bmm {
    fn name(&self) -> &'static str {
        "multiberts-bmm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (da, db) = (l1.shape().dims(), l2.shape().dims());
        let r = da.len();
        if db.len() != r || da[..r - 2] != db[..r - 2] || da[r - 1] != db[r - 2] {
            candle_core::bail!("bmm: shapes {da:?} and {db:?} do not fit");
        }
        let (Some(ma), Some(mb)) = (matrices(l1), matrices(l2)) else {
            candle_core::bail!("bmm: batch dims must flatten (make the input contiguous)");
        };
        let (batch, m, k, a_bs, a_rs, a_cs, a_off) = ma;
        let (_, _, n, b_bs, b_rs, b_cs, b_off) = mb;
        let (a, b) = (s1.as_slice::<f32>()?, s2.as_slice::<f32>()?);
        let mut out = vec![0f32; batch * m * n];
        if m * n > 0 && k > 0 {
            out.par_chunks_mut(m * n).enumerate().for_each(|(i, dst)| {
                let lhs = &a[a_off + i * a_bs..];
                let rhs = &b[b_off + i * b_bs..];
                // SAFETY: the layouts were checked against the shapes above, so every element
                // the strides reach lies inside the storages; dst is m × n, row-major.
                unsafe {
                    gemm::gemm(
                        m,
                        n,
                        k,
                        dst.as_mut_ptr(),
                        1,
                        n as isize,
                        false,
                        lhs.as_ptr(),
                        a_cs,
                        a_rs,
                        rhs.as_ptr(),
                        b_cs,
                        b_rs,
                        0f32,
                        1f32,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    );
                }
            });
        }
        let mut shape = da.to_vec();
        shape[r - 1] = n;
        Ok((CpuStorage::F32(out), Shape::from(shape)))
    }

    fn bwd(
        &self,
        a: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let g = grad.contiguous()?;
        let da = g.apply_op2_no_bwd(&b.transpose(D::Minus1, D::Minus2)?, &Bmm)?;
        let db = a
            .transpose(D::Minus1, D::Minus2)?
            .apply_op2_no_bwd(&g, &Bmm)?;
        Ok((Some(da), Some(db)))
    }
}

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

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
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

    /// Against candle's matmul, with a transposed (strided) right operand as attention uses,
    /// forward and both gradients.
    #[test]
    fn matches_candle_matmul_forward_and_backward() {
        let a = Var::from_tensor(&randn(&[2, 3, 5, 4], 1)).unwrap();
        let k = Var::from_tensor(&randn(&[2, 3, 6, 4], 2)).unwrap();
        let w = randn(&[2, 3, 5, 6], 3);
        let run = |f: &dyn Fn(&Tensor, &Tensor) -> Result<Tensor>| {
            let kt = k.as_tensor().t().unwrap();
            let y = f(a.as_tensor(), &kt).unwrap();
            let g = (&y * &w).unwrap().sum_all().unwrap().backward().unwrap();
            (
                y,
                g.get(a.as_tensor()).unwrap().clone(),
                g.get(k.as_tensor()).unwrap().clone(),
            )
        };
        let ours = run(&|x, y| bmm(x, y));
        let theirs = run(&|x, y| x.matmul(y));
        assert_eq!(ours.0.dims(), [2, 3, 5, 6]);
        assert!(max_diff(&ours.0, &theirs.0) < 1e-5);
        assert!(max_diff(&ours.1, &theirs.1) < 1e-5);
        assert!(max_diff(&ours.2, &theirs.2) < 1e-5);
    }
}
