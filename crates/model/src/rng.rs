//! Our own seeded random streams (candle's CPU RNG cannot be seeded).
//!
//! Every stream is ChaCha20 keyed by a 64-bit seed and a 64-bit stream id, so independent
//! consumers (weight init per tensor name, dropout, data order) never share numbers, and adding
//! a consumer does not shift anyone else's draws. The state is three integers, so a training run
//! can save it with a checkpoint and resume bit-identically.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};

/// A seeded, resumable random stream.
#[derive(Debug, Clone)]
pub struct SeededRng {
    seed: u64,
    rng: ChaCha20Rng,
    /// A spare normal deviate from the last Box–Muller pair.
    spare: Option<f64>,
}

/// The complete state of a [`SeededRng`], for saving with a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// The 64-bit seed the stream was made from.
    pub seed: u64,
    /// The stream id.
    pub stream: u64,
    /// Position in the stream, in 32-bit words.
    pub word_pos: u128,
    /// Whether a spare normal deviate was pending (its bits).
    pub spare_bits: Option<u64>,
}

/// A stable 64-bit id for a name (FNV-1a), used as a stream id so that each parameter name gets
/// its own init stream whatever order parameters are created in.
pub fn stream_id(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl SeededRng {
    /// The stream `stream` of seed `seed`.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Self {
            seed,
            rng,
            spare: None,
        }
    }

    /// The stream for a named consumer (e.g. a parameter name or `"dropout"`).
    pub fn named(seed: u64, name: &str) -> Self {
        Self::new(seed, stream_id(name))
    }

    /// Restores a stream from its saved state.
    pub fn from_state(state: RngState) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(state.seed);
        rng.set_stream(state.stream);
        rng.set_word_pos(state.word_pos);
        Self {
            seed: state.seed,
            rng,
            spare: state.spare_bits.map(f64::from_bits),
        }
    }

    /// The state to save; [`SeededRng::from_state`] continues exactly from here.
    pub fn state(&self) -> RngState {
        RngState {
            seed: self.seed,
            stream: self.rng.get_stream(),
            word_pos: self.rng.get_word_pos(),
            spare_bits: self.spare.map(f64::to_bits),
        }
    }

    /// A raw 32-bit draw.
    pub fn next_u32(&mut self) -> u32 {
        self.rng.next_u32()
    }

    /// `n` bytes, byte `i` being 1 when the `i`-th of the next `n` 32-bit draws is at least
    /// `threshold` (a dropout keep-mask). Exactly what `n` calls of [`SeededRng::next_u32`]
    /// give, computed in parallel: ChaCha20 can start anywhere in its stream, so each block of
    /// draws starts at its own word position.
    pub fn keep_mask(&mut self, n: usize, threshold: u64) -> Vec<u8> {
        use rayon::prelude::*;
        const BLOCK: usize = 1 << 16;
        let start = self.rng.get_word_pos();
        let mut keep = vec![0u8; n];
        keep.par_chunks_mut(BLOCK).enumerate().for_each(|(b, out)| {
            let mut rng = self.rng.clone();
            rng.set_word_pos(start + (b * BLOCK) as u128);
            for k in out.iter_mut() {
                *k = u8::from(u64::from(rng.next_u32()) >= threshold);
            }
        });
        self.rng.set_word_pos(start + n as u128);
        keep
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A standard normal deviate (Box–Muller in f64, so results are platform-independent).
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        // 1 - u is in (0, 1], so the log is finite.
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = std::f64::consts::TAU * u2;
        self.spare = Some(r * theta.sin());
        r * theta.cos()
    }

    /// `n` draws from N(0, std²) as f32.
    pub fn normal_vec(&mut self, n: usize, std: f64) -> Vec<f32> {
        (0..n).map(|_| (self.normal() * std) as f32).collect()
    }

    /// A uniformly random permutation of `0..n` (Fisher–Yates), for data order.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = (self.uniform() * (i + 1) as f64) as usize;
            v.swap(i, j.min(i));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers_and_streams_differ() {
        let a = SeededRng::named(7, "x").normal_vec(100, 1.0);
        let b = SeededRng::named(7, "x").normal_vec(100, 1.0);
        let c = SeededRng::named(7, "y").normal_vec(100, 1.0);
        let d = SeededRng::named(8, "x").normal_vec(100, 1.0);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn normal_moments() {
        let mut r = SeededRng::new(1, 0);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        // Standard errors: 1/sqrt(n) = 0.0022 for the mean, sqrt(2/n) = 0.0032 for the variance.
        assert!(mean.abs() < 0.01, "{mean}");
        assert!((var - 1.0).abs() < 0.015, "{var}");
    }

    #[test]
    fn state_round_trip_resumes_exactly() {
        let mut r = SeededRng::named(3, "dropout");
        r.normal(); // leaves a spare pending
        r.next_u32();
        let saved = r.state();
        let json = serde_json::to_string(&saved).unwrap();
        let mut resumed = SeededRng::from_state(serde_json::from_str(&json).unwrap());
        let want: Vec<f64> = (0..10).map(|_| r.normal()).collect();
        let got: Vec<f64> = (0..10).map(|_| resumed.normal()).collect();
        assert_eq!(want, got);
    }

    #[test]
    fn parallel_keep_mask_is_the_sequential_draw() {
        for n in [0, 1, 5, (1 << 16) + 7, 3 << 16] {
            let mut a = SeededRng::new(7, 3);
            let mut b = SeededRng::new(7, 3);
            a.next_u32();
            b.next_u32();
            let threshold = 429_496_730; // p = 0.1
            let seq: Vec<u8> = (0..n)
                .map(|_| u8::from(u64::from(a.next_u32()) >= threshold))
                .collect();
            assert_eq!(b.keep_mask(n, threshold), seq, "n = {n}");
            // The stream continues where the sequential draws left it.
            assert_eq!(a.next_u32(), b.next_u32(), "n = {n}");
        }
    }

    #[test]
    fn permutation_is_a_permutation() {
        let mut p = SeededRng::new(5, 1).permutation(1000);
        assert_ne!(p, (0..1000).collect::<Vec<_>>());
        p.sort_unstable();
        assert_eq!(p, (0..1000).collect::<Vec<_>>());
    }
}
