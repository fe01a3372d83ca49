//! BERT's masking recipe (`create_masked_lm_predictions` in Google's `bert` repository): of
//! each sequence's `n` tokens, `max(1, round(0.15 · n))` are chosen among those that are not
//! `[CLS]`/`[SEP]` (in a random order); each chosen token becomes `[MASK]` with probability
//! 0.8, stays itself with 0.1, and becomes a random token with 0.1. The model must predict the
//! original token at every chosen position.
//!
//! Two choices of ours: the random replacement is drawn from the vocabulary without its
//! special tokens (`[PAD]`, `[UNK]`, `[CLS]`, `[SEP]`, `[MASK]`), and the masks are drawn
//! again for every batch from a stream keyed by (seed, step) ("dynamic" masking, as RoBERTa
//! and Hugging Face's collator do), so resuming at a step needs no saved masking state.

use multiberts_model::pretraining::MaskedPositions;
use multiberts_model::rng::SeededRng;

use crate::instances::{Instance, below};

/// The masking recipe's numbers and the ids it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskingRule {
    /// Share of each sequence's tokens to predict (BERT: 0.15).
    pub probability: f64,
    /// Share of chosen tokens replaced by `[MASK]` (BERT: 0.8).
    pub mask_share: f64,
    /// Share of chosen tokens replaced by a random token (BERT: 0.1); the rest stay.
    pub random_share: f64,
    /// `[MASK]`'s id.
    pub mask_id: u32,
    /// Ids that are never chosen and never drawn as a random replacement.
    pub special_ids: Vec<u32>,
    /// The vocabulary size.
    pub vocab_size: u32,
}

impl MaskingRule {
    /// BERT's 15 % with 80/10/10, for a vocabulary of `vocab_size` with these specials.
    pub fn bert(mask_id: u32, special_ids: Vec<u32>, vocab_size: u32) -> Self {
        Self {
            probability: 0.15,
            mask_share: 0.8,
            random_share: 0.1,
            mask_id,
            special_ids,
            vocab_size,
        }
    }

    /// A random token that is not special.
    fn random_token(&self, rng: &mut SeededRng) -> u32 {
        loop {
            let id = below(rng, self.vocab_size as usize) as u32;
            if !self.special_ids.contains(&id) {
                return id;
            }
        }
    }

    /// Masks one sequence: the ids fed to the model, and the chosen positions (increasing)
    /// with their original ids.
    pub fn mask(&self, instance: &Instance, rng: &mut SeededRng) -> (Vec<u32>, Vec<(usize, u32)>) {
        let mut ids = instance.ids.clone();
        let candidates: Vec<usize> = (0..ids.len())
            .filter(|&t| !self.special_ids.contains(&ids[t]))
            .collect();
        let wanted = ((ids.len() as f64 * self.probability).round() as usize).max(1);
        let order = rng.permutation(candidates.len());
        let mut chosen: Vec<usize> = order
            .into_iter()
            .take(wanted.min(candidates.len()))
            .map(|k| candidates[k])
            .collect();
        chosen.sort_unstable();
        let mut labels = Vec::with_capacity(chosen.len());
        for &t in &chosen {
            labels.push((t, ids[t]));
            let r = rng.uniform();
            if r < self.mask_share {
                ids[t] = self.mask_id;
            } else if r < self.mask_share + self.random_share {
                ids[t] = self.random_token(rng);
            }
        }
        (ids, labels)
    }
}

/// A masked batch, padded to its longest sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskedBatch {
    /// Token ids after masking, `[B][T]`.
    pub input_ids: Vec<Vec<i64>>,
    /// Segment ids, `[B][T]`.
    pub token_type_ids: Vec<Vec<i64>>,
    /// 1 for real tokens, 0 for padding, `[B][T]`.
    pub attention_mask: Vec<Vec<i64>>,
    /// The positions to predict (flat `b · T + t`) and their original ids.
    pub masked: MaskedPositions,
    /// Next-sentence labels, when the instances have them.
    pub next_sentence_labels: Option<Vec<u32>>,
}

/// Masks `instances` with `rule` (one stream for the batch, sequence after sequence) and pads
/// them with `pad_id` to the longest.
pub fn masked_batch(
    instances: &[&Instance],
    rule: &MaskingRule,
    pad_id: u32,
    rng: &mut SeededRng,
) -> MaskedBatch {
    let t = instances.iter().map(|i| i.ids.len()).max().unwrap_or(0);
    let mut batch = MaskedBatch {
        input_ids: Vec::with_capacity(instances.len()),
        token_type_ids: Vec::with_capacity(instances.len()),
        attention_mask: Vec::with_capacity(instances.len()),
        masked: MaskedPositions {
            positions: Vec::new(),
            labels: Vec::new(),
        },
        next_sentence_labels: instances
            .iter()
            .map(|i| i.next_sentence_label)
            .collect::<Option<Vec<u32>>>(),
    };
    for (b, instance) in instances.iter().enumerate() {
        let (ids, chosen) = rule.mask(instance, rng);
        let pad = t - ids.len();
        let widen = |v: &[u32], fill: i64| -> Vec<i64> {
            v.iter()
                .map(|&x| i64::from(x))
                .chain(std::iter::repeat_n(fill, pad))
                .collect()
        };
        batch.input_ids.push(widen(&ids, i64::from(pad_id)));
        batch.token_type_ids.push(widen(&instance.type_ids, 0));
        batch.attention_mask.push(widen(&vec![1; ids.len()], 0));
        for (pos, label) in chosen {
            batch.masked.positions.push((b * t + pos) as u32);
            batch.masked.labels.push(label);
        }
    }
    batch
}
