//! Dropout driven by our own seeded stream, and the train/eval switch that turns it on.

use std::sync::Arc;

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use crate::kernels::packing::TokenIndex;
use crate::rng::SeededRng;

/// Whether a forward pass trains (dropout on, masks drawn from the stream) or evaluates.
#[derive(Debug)]
pub enum Mode<'a> {
    /// Dropout is the identity.
    Eval,
    /// Dropout is active; masks come from this stream, in a fixed order, so the same seed
    /// gives the same masks.
    Train(&'a mut SeededRng),
}

impl Mode<'_> {
    /// Whether dropout is active.
    pub fn is_train(&self) -> bool {
        matches!(self, Mode::Train(_))
    }
}

/// Inverted dropout: zero each element with probability `p` and scale the rest by 1/(1−p), as
/// `torch.nn.Dropout` does. The identity in eval mode or when `p` is 0.
pub fn dropout(x: &Tensor, p: f64, mode: &mut Mode<'_>) -> Result<Tensor> {
    let Some(mask) = draw_mask(x, p, mode)? else {
        return Ok(x.clone());
    };
    if is_cpu_f32(x) {
        x.contiguous()?.apply_op1(mask)
    } else {
        x * mask.as_tensor(x)?
    }
}

/// `dropout(y) + residual` (the residual branch of a transformer layer) as one op whose graph
/// node keeps a byte mask instead of a dropped copy of `y` and a float mask. Draws the same
/// mask from the stream as [`dropout`] and gives bit-identical results.
pub fn dropout_add(y: &Tensor, residual: &Tensor, p: f64, mode: &mut Mode<'_>) -> Result<Tensor> {
    let Some(mask) = draw_mask(y, p, mode)? else {
        return y + residual;
    };
    if is_cpu_f32(y) && is_cpu_f32(residual) && y.dims() == residual.dims() {
        y.contiguous()?
            .apply_op2(&residual.contiguous()?, DropoutAdd(mask))
    } else {
        (y * mask.as_tensor(y)?)? + residual
    }
}

fn is_cpu_f32(x: &Tensor) -> bool {
    crate::kernels::cpu_kernel(x)
}

/// The kept elements (1) of one dropout draw and the scale applied to them.
#[derive(Clone)]
struct DropoutMask {
    keep: Arc<Vec<u8>>,
    scale: f32,
}

/// Dropout of a padded `[B·T, H]` tensor whose mask is drawn for the `kept` rows only, exactly
/// as [`dropout`] draws it for the packed `[N, H]` tensor of those rows; the other rows (padded
/// positions, which nothing reads) are only scaled. So an encoder can run every
/// position (no packing, which costs index scatters on a GPU) and still consume the random
/// stream as the packed CPU path does.
pub fn dropout_kept(x: &Tensor, p: f64, mode: &mut Mode<'_>, kept: &TokenIndex) -> Result<Tensor> {
    match draw_kept_mask(x, p, mode, kept)? {
        None => Ok(x.clone()),
        Some(mask) => x * mask.as_tensor(x)?,
    }
}

/// `dropout_kept(y) + residual`, see [`dropout_kept`] and [`dropout_add`].
pub fn dropout_add_kept(
    y: &Tensor,
    residual: &Tensor,
    p: f64,
    mode: &mut Mode<'_>,
    kept: &TokenIndex,
) -> Result<Tensor> {
    match draw_kept_mask(y, p, mode, kept)? {
        None => y + residual,
        Some(mask) => (y * mask.as_tensor(y)?)? + residual,
    }
}

fn draw_kept_mask(
    x: &Tensor,
    p: f64,
    mode: &mut Mode<'_>,
    kept: &TokenIndex,
) -> Result<Option<DropoutMask>> {
    let (_, h) = x.dims2()?;
    let Some(mask) = draw_mask_n(kept.len() * h, p, mode)? else {
        return Ok(None);
    };
    Ok(Some(DropoutMask {
        keep: Arc::new(kept.spread_rows(&mask.keep, h, 1)),
        scale: mask.scale,
    }))
}

/// Draws one mask for `x` from the mode's stream, or `None` when dropout is the identity.
fn draw_mask(x: &Tensor, p: f64, mode: &mut Mode<'_>) -> Result<Option<DropoutMask>> {
    draw_mask_n(x.elem_count(), p, mode)
}

/// Draws a mask of `n` elements from the mode's stream, or `None` when dropout is the identity.
fn draw_mask_n(n: usize, p: f64, mode: &mut Mode<'_>) -> Result<Option<DropoutMask>> {
    let rng = match mode {
        Mode::Train(rng) if p > 0.0 => rng,
        _ => return Ok(None),
    };
    if !(0.0..1.0).contains(&p) {
        candle_core::bail!("dropout probability must be in [0, 1), got {p}");
    }
    let scale = (1.0 / (1.0 - p)) as f32;
    // Keep an element when a uniform 32-bit draw is at or above p·2³².
    let threshold = (p * 4_294_967_296.0).round() as u64;
    let keep = rng.keep_mask(n, threshold);
    Ok(Some(DropoutMask {
        keep: Arc::new(keep),
        scale,
    }))
}

impl DropoutMask {
    /// The mask as a tensor of `scale` and 0 shaped like `x` (for the non-CPU path). The
    /// bytes travel to the device (a quarter of the f32 mask's size) and become floats there.
    fn as_tensor(&self, x: &Tensor) -> Result<Tensor> {
        Tensor::from_slice(self.keep.as_slice(), x.shape(), x.device())?
            .to_dtype(x.dtype())?
            .affine(f64::from(self.scale), 0.0)
    }

    fn factor(&self, keep: u8) -> f32 {
        if keep == 1 { self.scale } else { 0.0 }
    }

    /// `out[i] = x[i] · (scale or 0)` (the same product as multiplying by the float mask).
    fn apply(&self, x: &[f32]) -> Vec<f32> {
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(CHUNK)
            .zip(x.par_chunks(CHUNK).zip(self.keep.par_chunks(CHUNK)))
            .for_each(|(o, (xr, kr))| {
                for ((oi, &xi), &ki) in o.iter_mut().zip(xr).zip(kr) {
                    *oi = xi * self.factor(ki);
                }
            });
        out
    }
}

/// Elements per rayon task.
const CHUNK: usize = 1 << 14;

fn slice_of<'a>(s: &'a CpuStorage, l: &Layout, len: usize) -> Result<&'a [f32]> {
    let (start, end) = l
        .contiguous_offsets()
        .ok_or_else(|| candle_core::Error::Msg("dropout: input must be contiguous".into()))?;
    let v = &s.as_slice::<f32>()?[start..end];
    if v.len() != len {
        candle_core::bail!(
            "dropout: mask of {len} elements for a tensor of {}",
            v.len()
        );
    }
    Ok(v)
}

impl CustomOp1 for DropoutMask {
    fn name(&self) -> &'static str {
        "multiberts-dropout"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = slice_of(s, l, self.keep.len())?;
        Ok((CpuStorage::F32(self.apply(x)), l.shape().clone()))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(grad.contiguous()?.apply_op1_no_bwd(self)?))
    }
}

struct DropoutAdd(DropoutMask);

impl CustomOp2 for DropoutAdd {
    fn name(&self) -> &'static str {
        "multiberts-dropout-add"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let n = self.0.keep.len();
        let y = slice_of(s1, l1, n)?;
        let r = slice_of(s2, l2, n)?;
        let mut out = self.0.apply(y);
        out.par_chunks_mut(CHUNK)
            .zip(r.par_chunks(CHUNK))
            .for_each(|(o, rr)| {
                for (oi, &ri) in o.iter_mut().zip(rr) {
                    *oi += ri;
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _y: &Tensor,
        _residual: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let g = grad.contiguous()?;
        Ok((Some(g.apply_op1_no_bwd(&self.0)?), Some(g)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device, Var};

    #[test]
    fn eval_is_identity_and_train_is_seeded() {
        let x = Tensor::ones((200, 50), DType::F32, &Device::Cpu).unwrap();
        let y = dropout(&x, 0.1, &mut Mode::Eval).unwrap();
        assert_eq!(y.to_vec2::<f32>().unwrap(), x.to_vec2::<f32>().unwrap());

        let mut r1 = SeededRng::new(4, 9);
        let mut r2 = SeededRng::new(4, 9);
        let a = dropout(&x, 0.1, &mut Mode::Train(&mut r1)).unwrap();
        let b = dropout(&x, 0.1, &mut Mode::Train(&mut r2)).unwrap();
        let (a, b) = (
            a.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            b.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        );
        assert_eq!(a, b);
        let dropped = a.iter().filter(|&&v| v == 0.0).count();
        // 10 000 Bernoulli(0.1) draws: mean 1000, sd 30.
        assert!((880..1120).contains(&dropped), "{dropped}");
        let kept: Vec<_> = a.iter().filter(|&&v| v != 0.0).collect();
        assert!(kept.iter().all(|&&v| (v - 1.0 / 0.9).abs() < 1e-6));
    }

    /// The fused residual op draws the same mask as `dropout` and gives the same bits, and its
    /// gradient is the mask for `y` and one for the residual.
    #[test]
    fn dropout_add_is_dropout_then_add() {
        let y = Var::from_tensor(
            &Tensor::arange(0f32, 600.0, &Device::Cpu)
                .unwrap()
                .reshape((20, 30))
                .unwrap(),
        )
        .unwrap();
        let r = Var::from_tensor(&(y.as_tensor() * 0.5).unwrap()).unwrap();
        let (mut r1, mut r2) = (SeededRng::new(8, 1), SeededRng::new(8, 1));
        let fused =
            dropout_add(y.as_tensor(), r.as_tensor(), 0.3, &mut Mode::Train(&mut r1)).unwrap();
        let plain = (dropout(y.as_tensor(), 0.3, &mut Mode::Train(&mut r2)).unwrap()
            + r.as_tensor())
        .unwrap();
        let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(flat(&fused), flat(&plain));
        let grads = fused.sum_all().unwrap().backward().unwrap();
        let gy = flat(grads.get(y.as_tensor()).unwrap());
        let gr = flat(grads.get(r.as_tensor()).unwrap());
        assert!(gr.iter().all(|&v| v == 1.0));
        // Where an element was kept (fused ≠ residual, or y = 0), its gradient is 1/(1−p).
        for ((g, f), (yi, ri)) in gy
            .iter()
            .zip(flat(&fused))
            .zip(flat(y.as_tensor()).iter().zip(flat(r.as_tensor())))
        {
            let kept = f != ri || *yi == 0.0;
            let want = if kept { (1.0 / 0.7) as f32 } else { 0.0 };
            if *yi != 0.0 {
                assert!((g - want).abs() < 1e-6, "{g} {want}");
            }
        }
        assert_eq!(
            flat(&dropout_add(y.as_tensor(), r.as_tensor(), 0.3, &mut Mode::Eval).unwrap()),
            flat(&(y.as_tensor() + r.as_tensor()).unwrap())
        );
    }
}
