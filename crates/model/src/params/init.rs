//! Hugging Face weight initialisation from our seeded streams.
//!
//! Each tensor draws from its own stream, keyed by (seed, parameter name), so a tensor's values
//! do not depend on which other parameters exist or in which order they are created: the same
//! seed always gives bit-identical weights.

use candle_core::{DType, Device, Tensor};

use crate::error::Result;
use crate::rng::SeededRng;

/// How a parameter is initialised (as `BertPreTrainedModel._init_weights` does).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// N(0, std²): Linear weights.
    Normal(f64),
    /// N(0, std²) with the padding row zeroed: embeddings with a `padding_idx`.
    Embedding {
        /// Standard deviation.
        std: f64,
        /// Row set to zero.
        pad_row: Option<usize>,
    },
    /// All zeros: biases.
    Zeros,
    /// All ones: LayerNorm weights.
    Ones,
}

impl Init {
    /// The initial tensor for parameter `name` under `seed`.
    pub fn tensor(
        &self,
        shape: &[usize],
        seed: u64,
        name: &str,
        device: &Device,
    ) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        let t = match *self {
            Init::Zeros => Tensor::zeros(shape, DType::F32, device)?,
            Init::Ones => Tensor::ones(shape, DType::F32, device)?,
            Init::Normal(std) => {
                let v = SeededRng::named(seed, name).normal_vec(n, std);
                Tensor::from_vec(v, shape, device)?
            }
            Init::Embedding { std, pad_row } => {
                let mut v = SeededRng::named(seed, name).normal_vec(n, std);
                if let (Some(row), [rows, cols]) = (pad_row, shape)
                    && row < *rows
                {
                    v[row * cols..(row + 1) * cols].fill(0.0);
                }
                Tensor::from_vec(v, shape, device)?
            }
        };
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedding_init_zeroes_pad_row_and_has_right_std() {
        let t = Init::Embedding {
            std: 0.02,
            pad_row: Some(0),
        }
        .tensor(&[500, 64], 1, "w", &Device::Cpu)
        .unwrap();
        let v = t.to_vec2::<f32>().unwrap();
        assert!(v[0].iter().all(|&x| x == 0.0));
        let rest: Vec<f64> = v[1..].iter().flatten().map(|&x| f64::from(x)).collect();
        let n = rest.len() as f64;
        let mean = rest.iter().sum::<f64>() / n;
        let sd = (rest.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
        assert!(mean.abs() < 0.001, "{mean}");
        assert!((sd - 0.02).abs() < 0.0005, "{sd}");
    }
}
