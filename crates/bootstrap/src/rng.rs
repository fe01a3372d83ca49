//! Random numbers: numpy's legacy MT19937 (`RandomState`) for compatibility mode, ChaCha8
//! streams for the default mode, and the masked-rejection index sampler both use.

use std::fmt;
use std::str::FromStr;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// Which random-number scheme a bootstrap uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "seed", rename_all = "snake_case")]
pub enum RngSpec {
    /// Default: draw i uses `ChaCha8Rng::seed_from_u64(seed)` with stream i, so each draw is
    /// independent of the others and of the thread count.
    Chacha8(u64),
    /// numpy's legacy `RandomState(seed)` consumed in the reference's order (sequential).
    Numpy(u32),
}

impl RngSpec {
    /// Scheme name used in signatures: `chacha8` or `numpy`.
    pub fn kind(&self) -> &'static str {
        match self {
            RngSpec::Chacha8(_) => "chacha8",
            RngSpec::Numpy(_) => "numpy",
        }
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        match *self {
            RngSpec::Chacha8(s) => s,
            RngSpec::Numpy(s) => u64::from(s),
        }
    }
}

impl Default for RngSpec {
    fn default() -> Self {
        RngSpec::Chacha8(0)
    }
}

impl fmt::Display for RngSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind(), self.seed())
    }
}

impl FromStr for RngSpec {
    type Err = String;

    /// Parses `numpy:SEED`, `chacha8:SEED`, or a bare `SEED` (chacha8).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, seed) = s.split_once(':').unwrap_or(("chacha8", s));
        let bad = || format!("invalid rng {s:?}: expected numpy:SEED (0..2^32) or chacha8:SEED");
        match kind {
            "numpy" => seed.parse().map(RngSpec::Numpy).map_err(|_| bad()),
            "chacha8" | "chacha" => seed.parse().map(RngSpec::Chacha8).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

/// A source of uniform 32-bit words and of uniform indices drawn from them.
pub trait U32Source {
    /// The next uniform `u32`.
    fn next_u32(&mut self) -> u32;

    /// A uniform index in `0..k` (`k` in `1..=2^32`); by default numpy's masked rejection
    /// ([`below`]).
    #[inline]
    fn index(&mut self, k: u64) -> u64
    where
        Self: Sized,
    {
        below(self, k)
    }
}

impl U32Source for ChaCha8Rng {
    #[inline]
    fn next_u32(&mut self) -> u32 {
        RngCore::next_u32(self)
    }

    /// Lemire's multiply-and-reject: unbiased and about one word per index (masked rejection
    /// needs up to two). `k = 1` consumes nothing, like numpy.
    #[inline]
    fn index(&mut self, k: u64) -> u64 {
        debug_assert!((1..=1u64 << 32).contains(&k));
        if k == 1 {
            return 0;
        }
        if k == 1u64 << 32 {
            return u64::from(RngCore::next_u32(self));
        }
        let mut m = u64::from(RngCore::next_u32(self)) * k;
        if (m as u32 as u64) < k {
            let threshold = (1u64 << 32) % k;
            while (m as u32 as u64) < threshold {
                m = u64::from(RngCore::next_u32(self)) * k;
            }
        }
        m >> 32
    }
}

/// The ChaCha8 stream of draw `draw` under base seed `seed`.
pub fn chacha_stream(seed: u64, draw: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(draw);
    rng
}

/// A uniform index in `0..k` by numpy's legacy masked rejection (`randint(0, k)` for
/// `k ≤ 2^32`): `v = next_u32() & mask` until `v < k`, with `mask` the smallest `2^m − 1 ≥
/// k − 1`. `k = 1` consumes nothing, exactly like numpy. `k` must be in `1..=2^32`.
#[inline]
pub fn below(src: &mut impl U32Source, k: u64) -> u64 {
    debug_assert!((1..=1u64 << 32).contains(&k));
    let max = k - 1;
    if max == 0 {
        return 0;
    }
    if max == u64::from(u32::MAX) {
        return u64::from(src.next_u32());
    }
    let mut mask = max;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    loop {
        let v = u64::from(src.next_u32()) & mask;
        if v <= max {
            return v;
        }
    }
}

const N: usize = 624;
const M: usize = 397;

/// MT19937 as numpy's legacy `RandomState(seed)` seeds it (`init_genrand`), with the standard
/// tempering.
#[derive(Clone)]
pub struct Mt19937 {
    mt: [u32; N],
    pos: usize,
}

impl Mt19937 {
    /// `RandomState(seed)` for an integer seed in `0..2^32`.
    pub fn new(seed: u32) -> Self {
        let mut mt = [0u32; N];
        mt[0] = seed;
        for i in 1..N {
            mt[i] = 1_812_433_253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        Self { mt, pos: N }
    }

    fn generate(&mut self) {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        const MATRIX_A: u32 = 0x9908_b0df;
        for i in 0..N {
            let y = (self.mt[i] & UPPER) | (self.mt[(i + 1) % N] & LOWER);
            let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
            self.mt[i] = self.mt[(i + M) % N] ^ (y >> 1) ^ mag;
        }
        self.pos = 0;
    }
}

impl U32Source for Mt19937 {
    #[inline]
    fn next_u32(&mut self) -> u32 {
        if self.pos >= N {
            self.generate();
        }
        let mut y = self.mt[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mt19937_matches_numpy_randomstate_42() {
        let mut r = Mt19937::new(42);
        let first: Vec<u32> = (0..3).map(|_| r.next_u32()).collect();
        assert_eq!(first, [1_608_637_542, 3_421_126_067, 4_083_286_876]);
    }

    #[test]
    fn choice_matches_numpy_test_vectors() {
        let mut r = Mt19937::new(42);
        let v: Vec<u64> = (0..25).map(|_| below(&mut r, 25)).take(10).collect();
        assert_eq!(v, [6, 19, 14, 10, 7, 20, 6, 18, 22, 10]);
        let mut r = Mt19937::new(42);
        let v: Vec<u64> = (0..10).map(|_| below(&mut r, 720)).collect();
        assert_eq!(v, [102, 435, 270, 106, 71, 700, 20, 614, 121, 466]);
    }

    #[test]
    fn chacha_index_is_uniform_and_in_range() {
        let mut r = chacha_stream(1, 0);
        let mut hist = [0u32; 7];
        for _ in 0..70_000 {
            hist[r.index(7) as usize] += 1;
        }
        // Each cell ~ Binomial(70000, 1/7): sd ≈ 92.6; allow 5 sd.
        for h in hist {
            assert!((f64::from(h) - 10_000.0).abs() < 463.0, "{hist:?}");
        }
        assert_eq!(r.index(1), 0);
    }

    #[test]
    fn k_one_consumes_nothing() {
        let mut a = Mt19937::new(7);
        let mut b = Mt19937::new(7);
        assert_eq!(below(&mut a, 1), 0);
        assert_eq!(a.next_u32(), b.next_u32());
    }

    #[test]
    fn spec_parses_and_prints() {
        assert_eq!("numpy:42".parse::<RngSpec>().unwrap(), RngSpec::Numpy(42));
        assert_eq!("7".parse::<RngSpec>().unwrap(), RngSpec::Chacha8(7));
        assert!("numpy:-1".parse::<RngSpec>().is_err());
        assert!("mt:1".parse::<RngSpec>().is_err());
        assert_eq!(RngSpec::Numpy(42).to_string(), "numpy:42");
    }
}
