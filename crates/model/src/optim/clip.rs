//! Global-norm gradient clipping, as `torch.nn.utils.clip_grad_norm_`.

use candle_core::backprop::GradStore;
use candle_core::{DType, Tensor};

use crate::error::Result;
use crate::params::Params;

/// Scales all gradients so that their global L2 norm is at most `max_norm`, as
/// `torch.nn.utils.clip_grad_norm_` does: the coefficient is `min(1, max_norm / (norm + 1e-6))`.
/// Returns the norm before clipping (f32, like torch's).
pub fn clip_grad_norm(params: &Params, grads: &mut GradStore, max_norm: f64) -> Result<f32> {
    let mut sum_sq = 0f64;
    let mut present = Vec::new();
    // Off the CPU kernels (a GPU), each tensor's norm stays on the device and the norms come
    // back in one read, instead of one synchronising read per tensor.
    let mut device_norms = Vec::new();
    for (_, var) in params.iter() {
        if let Some(g) = grads.get(var.as_tensor()) {
            if crate::kernels::cpu_kernel(g) {
                let n = crate::kernels::inplace::sum_squares(g)?;
                // torch takes the norm of per-tensor f32 norms.
                let per_tensor = n.sqrt() as f32;
                sum_sq += f64::from(per_tensor) * f64::from(per_tensor);
            } else {
                device_norms.push(g.to_dtype(DType::F64)?.sqr()?.sum_all()?.reshape(1)?);
            }
            present.push(var.as_tensor().clone());
        }
    }
    if !device_norms.is_empty() {
        for n in Tensor::cat(&device_norms, 0)?.to_vec1::<f64>()? {
            let per_tensor = n.sqrt() as f32;
            sum_sq += f64::from(per_tensor) * f64::from(per_tensor);
        }
    }
    let total = sum_sq.sqrt() as f32;
    let coef = (max_norm as f32) / (total + 1e-6);
    if coef < 1.0 {
        for t in present {
            if let Some(g) = grads.get(&t) {
                // The store holds the only handle to a gradient it built, so scale in place.
                if !crate::kernels::inplace::scale(g, coef)? {
                    let scaled = (g * f64::from(coef))?;
                    grads.insert(&t, scaled);
                }
            }
        }
    }
    Ok(total)
}
