//! Mean cross-entropy on the CPU with torch's rounding (`log_softmax` then `nll_loss`), with an
//! analytic backward.
//!
//! Per row: `lsm = (x − max) − log Σ exp(x − max)`; the loss is `−Σ_b lsm[b, y_b] / B`. The
//! gradient is torch's `log_softmax_backward(nll_loss_backward)`: with `g = −(grad / B)` at the
//! label, `dx = [c = y] · g − exp(lsm) · g`.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};

use crate::kernels::contiguous_f32;
use crate::kernels::torch_cpu::sleef_expf;

/// Mean cross-entropy of f32 CPU `logits` `[B, C]` against `labels` (each `< C`, checked by
/// the caller), differentiable in the logits.
pub(crate) fn cross_entropy(logits: &Tensor, labels: Vec<u32>) -> Result<Tensor> {
    logits.contiguous()?.apply_op1(CrossEntropy { labels })
}

struct CrossEntropy {
    labels: Vec<u32>,
}

/// `log_softmax` of one row, as torch's CPU kernel rounds it (exp and log within an ulp;
/// evaluated here in f64 and rounded once).
fn log_softmax_row(x: &[f32]) -> Vec<f32> {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = x.iter().map(|&v| sleef_expf(v - max)).sum();
    let log_sum = f64::from(sum).ln() as f32;
    x.iter().map(|&v| (v - max) - log_sum).collect()
}

impl CustomOp1 for CrossEntropy {
    fn name(&self) -> &'static str {
        "multiberts-cross-entropy"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(s, l, self.name())?;
        let (b, c) = l.shape().dims2()?;
        let mut total = 0f32;
        for (row, &y) in x.chunks(c).zip(&self.labels) {
            total -= log_softmax_row(row)[y as usize];
        }
        Ok((CpuStorage::F32(vec![total / b as f32]), Shape::from(())))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let (b, c) = arg.dims2()?;
        let x = arg.flatten_all()?.to_vec1::<f32>()?;
        let g = -(grad.to_scalar::<f32>()? / b as f32);
        let mut dx = Vec::with_capacity(b * c);
        for (row, &y) in x.chunks(c).zip(&self.labels) {
            for (j, lsm) in log_softmax_row(row).into_iter().enumerate() {
                let at_label = if j == y as usize { g } else { 0.0 };
                dx.push(at_label - sleef_expf(lsm) * g);
            }
        }
        Ok(Some(Tensor::from_vec(dx, (b, c), arg.device())?))
    }
}
