//! Whole-tensor passes over gradients without temporaries: the sum of squares (for the global
//! norm), scaling (for clipping) and zeroing one row (the `[PAD]` embedding row), in place.
//!
//! A gradient in candle's `GradStore` is a fresh tensor that the store alone holds (backward
//! builds every parameter's gradient with `zeros + g`), so scaling it in place is invisible to
//! anything else; this saves one full allocation and pass per parameter per step. The kernels
//! apply to contiguous f32 tensors on the CPU; callers fall back to tensor ops otherwise.

use candle_core::{CpuStorage, DType, InplaceOp1, Layout, Result, Tensor};
use rayon::prelude::*;

/// Elements per task; fixed, so partial sums and their order do not depend on the thread count.
const CHUNK: usize = 1 << 14;

fn fits(t: &Tensor) -> bool {
    crate::kernels::cpu_kernel(t) && t.is_contiguous()
}

/// `Σ x²` accumulated in f64 (per fixed chunk, chunks added in order).
pub fn sum_squares(t: &Tensor) -> Result<f64> {
    if !fits(t) {
        return t.to_dtype(DType::F64)?.sqr()?.sum_all()?.to_scalar::<f64>();
    }
    let (storage, layout) = t.storage_and_layout();
    let candle_core::Storage::Cpu(cpu) = &*storage else {
        candle_core::bail!("sum_squares: expected a CPU tensor");
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("sum_squares: expected a contiguous tensor");
    };
    let x = &cpu.as_slice::<f32>()?[start..end];
    let partials: Vec<f64> = x
        .par_chunks(CHUNK)
        .map(|c| c.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>())
        .collect();
    Ok(partials.iter().sum())
}

/// Multiplies `t` by `coef` in place (f32 products, as `t * coef`). Returns `false` (and
/// does nothing) when `t` is not a contiguous CPU f32 tensor.
pub fn scale(t: &Tensor, coef: f32) -> Result<bool> {
    if !fits(t) {
        return Ok(false);
    }
    t.inplace_op1(&Scale(coef))?;
    Ok(true)
}

/// Sets row `row` of the 2-D tensor `t` to zero in place. Returns `false` (and does nothing)
/// when `t` is not a contiguous CPU f32 tensor.
pub fn zero_row(t: &Tensor, row: usize) -> Result<bool> {
    if !fits(t) {
        return Ok(false);
    }
    let (rows, width) = t.dims2()?;
    if row >= rows {
        candle_core::bail!("zero_row: row {row} of a [{rows}, {width}] tensor");
    }
    t.inplace_op1(&ZeroRange(row * width..(row + 1) * width))?;
    Ok(true)
}

fn slice_mut<'a>(s: &'a mut CpuStorage, l: &Layout) -> Result<&'a mut [f32]> {
    let Some((start, end)) = l.contiguous_offsets() else {
        candle_core::bail!("in-place op: expected a contiguous tensor");
    };
    match s {
        CpuStorage::F32(v) => Ok(&mut v[start..end]),
        _ => candle_core::bail!("in-place op: expected f32"),
    }
}

struct Scale(f32);

impl InplaceOp1 for Scale {
    fn name(&self) -> &'static str {
        "multiberts-scale"
    }

    fn cpu_fwd(&self, s: &mut CpuStorage, l: &Layout) -> Result<()> {
        let c = self.0;
        slice_mut(s, l)?.par_chunks_mut(CHUNK).for_each(|x| {
            for v in x {
                *v *= c;
            }
        });
        Ok(())
    }
}

struct ZeroRange(std::ops::Range<usize>);

impl InplaceOp1 for ZeroRange {
    fn name(&self) -> &'static str {
        "multiberts-zero-range"
    }

    fn cpu_fwd(&self, s: &mut CpuStorage, l: &Layout) -> Result<()> {
        slice_mut(s, l)?[self.0.clone()].fill(0.0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn sum_scale_and_zero_row_in_place() {
        let t = Tensor::arange(0f32, 12.0, &Device::Cpu)
            .unwrap()
            .reshape((3, 4))
            .unwrap();
        // 0² + 1² + … + 11² = 11·12·23/6 = 506.
        assert_eq!(sum_squares(&t).unwrap(), 506.0);
        assert!(scale(&t, 0.5).unwrap());
        assert!(zero_row(&t, 1).unwrap());
        assert_eq!(
            t.to_vec2::<f32>().unwrap(),
            vec![
                vec![0.0, 0.5, 1.0, 1.5],
                vec![0.0; 4],
                vec![4.0, 4.5, 5.0, 5.5]
            ]
        );
        assert!(zero_row(&t, 3).is_err());
        // Not applicable to f64: left alone, reported.
        let d = t.to_dtype(DType::F64).unwrap();
        assert!(!scale(&d, 2.0).unwrap());
        assert_eq!(
            sum_squares(&d).unwrap(),
            0.25 * (506.0 - 16.0 - 25.0 - 36.0 - 49.0)
        );
    }
}
