//! Built-in, seeded data generators for tasks that need no download (the offline demo).
//!
//! The data is made of a small closed vocabulary ([`vocabulary`]) so that a generated
//! random-init checkpoint can ship a matching `vocab.txt`. The tasks are learnable by a tiny
//! BERT in seconds but not trivially (label noise, distractor words), so fine-tuning seeds and
//! pre-training seeds give visibly different scores.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use crate::example::{Example, Label};
use crate::spec::TaskKind;

/// Names of the built-in generators.
pub const GENERATORS: &[&str] = &["sentiment", "overlap", "coref"];

const POSITIVE: &[&str] = &[
    "good",
    "great",
    "fun",
    "lovely",
    "brilliant",
    "charming",
    "moving",
    "delightful",
    "superb",
    "warm",
];
const NEGATIVE: &[&str] = &[
    "bad", "dull", "awful", "boring", "weak", "clumsy", "tedious", "bland", "poor", "messy",
];
const FILLER: &[&str] = &[
    "the", "film", "story", "plot", "actors", "music", "scenes", "ending", "script", "camera",
    "it", "was", "is", "and", "but", "quite", "very", "a", "with", "too",
];
const NOUNS: &[&str] = &[
    "apple", "river", "stone", "cloud", "horse", "table", "window", "garden", "bridge", "candle",
    "forest", "island", "mirror", "pencil", "rocket", "violin", "wagon", "castle", "desert",
    "engine", "feather", "guitar", "harbor", "jacket", "kettle", "ladder", "magnet", "needle",
    "orange", "parrot", "quilt", "saddle", "tunnel", "umbrella", "valley", "walnut", "yacht",
    "zebra", "anchor", "basket",
];

/// The task kind a generator produces, or `None` for an unknown generator.
pub fn generator_kind(name: &str) -> Option<TaskKind> {
    match name {
        "sentiment" => Some(TaskKind::Classification),
        "overlap" => Some(TaskKind::Regression),
        "coref" => Some(TaskKind::SpanPair),
        _ => None,
    }
}

/// Every word any generator can emit, sorted and unique (for a generated `vocab.txt`).
pub fn vocabulary() -> Vec<&'static str> {
    let mut words: Vec<&'static str> = [POSITIVE, NEGATIVE, FILLER, NOUNS].concat();
    words.extend(crate::synthetic_coref::words());
    words.sort_unstable();
    words.dedup();
    words
}

/// Generates `count` examples of split `split` with generator `name` (`coref`: `count`
/// sentences, two examples each; see [`coref_occupation_stats`]).
///
/// Each split gets its own stream derived from the seed and the split name, so adding a split
/// never changes another one.
pub fn generate(name: &str, seed: u64, split: &str, count: usize) -> Option<Vec<Example>> {
    let mut rng = Draw(ChaCha8Rng::seed_from_u64(seed ^ fnv1a(split.as_bytes())));
    if name == "coref" {
        return Some(crate::synthetic_coref::generate(&mut rng, split, count));
    }
    let make: fn(&mut Draw) -> (String, Option<String>, Label) = match name {
        "sentiment" => sentiment,
        "overlap" => overlap,
        _ => return None,
    };
    Some(
        (0..count)
            .map(|i| {
                let (text_a, text_b, label) = make(&mut rng);
                Example::new(format!("{split}-{i}"), text_a, text_b, label)
            })
            .collect(),
    )
}

/// The occupations of the `coref` generator with their share of women (%), the BLS-like x of
/// its bias r, sorted by occupation.
pub fn coref_occupation_stats() -> Vec<(String, f64)> {
    crate::synthetic_coref::occupation_stats()
}

/// A review of filler words with a few positive and negative words; the label says which kind
/// is more frequent, flipped for 5% of examples.
fn sentiment(rng: &mut Draw) -> (String, Option<String>, Label) {
    let (pos, neg) = loop {
        let pos = rng.below(4);
        let neg = rng.below(4);
        if pos != neg {
            break (pos, neg);
        }
    };
    let mut words: Vec<&str> = (0..6 + rng.below(8)).map(|_| rng.pick(FILLER)).collect();
    for _ in 0..pos {
        let at = rng.below(words.len() + 1);
        words.insert(at, rng.pick(POSITIVE));
    }
    for _ in 0..neg {
        let at = rng.below(words.len() + 1);
        words.insert(at, rng.pick(NEGATIVE));
    }
    let mut positive = pos > neg;
    if rng.below(20) == 0 {
        positive = !positive;
    }
    (words.join(" "), None, Label::Class(usize::from(positive)))
}

/// Two bags of nouns; the target is 5 × their Jaccard overlap, like an STS-B score.
fn overlap(rng: &mut Draw) -> (String, Option<String>, Label) {
    let mut pool: Vec<&str> = NOUNS.to_vec();
    rng.shuffle(&mut pool);
    let len_a = 3 + rng.below(5);
    let len_b = 3 + rng.below(5);
    let shared = rng.below(len_a.min(len_b) + 1);
    let a: Vec<&str> = pool[..len_a].to_vec();
    let mut b: Vec<&str> = pool[..shared].to_vec();
    b.extend_from_slice(&pool[len_a..len_a + (len_b - shared)]);
    rng.shuffle(&mut b);
    let union = len_a + len_b - shared;
    let score = 5.0 * shared as f32 / union as f32;
    (a.join(" "), Some(b.join(" ")), Label::Value(score))
}

/// A tiny wrapper for the few draws the generators need.
pub(crate) struct Draw(ChaCha8Rng);

impl Draw {
    /// Uniform in `0..n` (n > 0). The modulo bias is below 2⁻⁵⁰ for these sizes.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.0.next_u64() % n as u64) as usize
    }

    pub(crate) fn pick(&mut self, words: &[&'static str]) -> &'static str {
        words[self.below(words.len())]
    }

    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// FNV-1a, to turn a split name into a stream offset that does not depend on Rust's hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_split_specific() {
        let a = generate("sentiment", 7, "train", 50).unwrap();
        let b = generate("sentiment", 7, "train", 50).unwrap();
        let dev = generate("sentiment", 7, "dev", 50).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, dev);
        assert!(generate("nope", 7, "train", 5).is_none());
    }

    #[test]
    fn sentiment_is_balanced_and_uses_the_vocabulary() {
        let vocab = vocabulary();
        let data = generate("sentiment", 1, "train", 2000).unwrap();
        let positives = data.iter().filter(|e| e.label == Label::Class(1)).count();
        assert!(
            (800..1200).contains(&positives),
            "{positives} positives of 2000"
        );
        for e in &data {
            assert!(
                e.text_a.split(' ').all(|w| vocab.contains(&w)),
                "{}",
                e.text_a
            );
        }
    }

    #[test]
    fn overlap_scores_span_the_range() {
        let data = generate("overlap", 1, "train", 1000).unwrap();
        let scores: Vec<f32> = data
            .iter()
            .map(|e| match e.label {
                Label::Value(v) => v,
                Label::Class(_) => panic!("regression labels expected"),
            })
            .collect();
        assert!(scores.iter().all(|s| (0.0..=5.0).contains(s)));
        assert!(scores.contains(&0.0));
        assert!(scores.contains(&5.0));
    }
}
