//! Dropout driven by our own seeded stream, and the train/eval switch that turns it on.

use candle_core::{Result, Tensor};

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
    let rng = match mode {
        Mode::Train(rng) if p > 0.0 => rng,
        _ => return Ok(x.clone()),
    };
    if !(0.0..1.0).contains(&p) {
        candle_core::bail!("dropout probability must be in [0, 1), got {p}");
    }
    let scale = (1.0 / (1.0 - p)) as f32;
    // Keep an element when a uniform 32-bit draw is at or above p·2³².
    let threshold = (p * 4_294_967_296.0).round() as u64;
    let mask: Vec<f32> = (0..x.elem_count())
        .map(|_| {
            if u64::from(rng.next_u32()) >= threshold {
                scale
            } else {
                0.0
            }
        })
        .collect();
    let mask = Tensor::from_vec(mask, x.shape(), x.device())?.to_dtype(x.dtype())?;
    x * mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

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
}
