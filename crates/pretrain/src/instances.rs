//! Training instances from documents, as BERT's `create_pretraining_data.py` builds them:
//! sentences of one document are gathered until they fill a sequence; with next-sentence
//! prediction the gathered run is split into segments A and B, and half the time B is taken
//! from a random other document instead (label 1, "not next"). Without it, each document's
//! tokens are packed into full sequences of one segment (no text is lost to truncation). BERT's `short_seq_prob` (10 % of shorter sequences) is not reproduced: every
//! instance aims at the full length.

use multiberts_model::rng::SeededRng;

use crate::corpus::Corpus;

/// One training sequence before masking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// `[CLS] A [SEP]` or `[CLS] A [SEP] B [SEP]`.
    pub ids: Vec<u32>,
    /// 0 over `[CLS] A [SEP]`, 1 over `B [SEP]`.
    pub type_ids: Vec<u32>,
    /// With next-sentence prediction: 0 when B follows A in its document, 1 when B is random.
    pub next_sentence_label: Option<u32>,
}

/// The special token ids an instance is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecialIds {
    /// `[CLS]`.
    pub cls: u32,
    /// `[SEP]`.
    pub sep: u32,
}

/// A uniform index below `n` (n ≥ 1).
pub(crate) fn below(rng: &mut SeededRng, n: usize) -> usize {
    ((rng.uniform() * n as f64) as usize).min(n.saturating_sub(1))
}

/// Every instance of `corpus` for sequences of `max_seq_len` tokens (special tokens
/// included), drawn with `rng` (which only next-sentence pairs use). Sentences longer than a
/// sequence are cut into pieces first.
pub fn build_instances(
    corpus: &Corpus,
    max_seq_len: usize,
    next_sentence: bool,
    special: SpecialIds,
    rng: &mut SeededRng,
) -> Vec<Instance> {
    let max_tokens = max_seq_len - if next_sentence { 3 } else { 2 };
    let documents: Vec<Vec<&[u32]>> = corpus
        .documents
        .iter()
        .map(|doc| doc.iter().flat_map(|s| s.chunks(max_tokens)).collect())
        .collect();
    if !next_sentence {
        // One segment: each document's tokens packed into full sequences, none lost.
        return corpus
            .documents
            .iter()
            .flat_map(|doc| {
                let tokens = doc.concat();
                let pieces: Vec<Instance> = tokens
                    .chunks(max_tokens)
                    .map(|a| assemble(a, None, special))
                    .collect();
                pieces
            })
            .collect();
    }
    let mut out = Vec::new();
    for d in 0..documents.len() {
        let doc = &documents[d];
        let mut chunk: Vec<&[u32]> = Vec::new();
        let mut length = 0;
        let mut i = 0;
        while i < doc.len() {
            chunk.push(doc[i]);
            length += doc[i].len();
            if i == doc.len() - 1 || length >= max_tokens {
                let (instance, unused) = pair(&documents, d, &chunk, max_tokens, special, rng);
                // Segments set aside for a random B are used again (as BERT does).
                i -= unused;
                out.push(instance);
                chunk.clear();
                length = 0;
            }
            i += 1;
        }
    }
    out
}

/// An A/B instance from the gathered `chunk` of document `d`, and how many of its segments
/// were not used (when B came from another document).
fn pair(
    documents: &[Vec<&[u32]>],
    d: usize,
    chunk: &[&[u32]],
    max_tokens: usize,
    special: SpecialIds,
    rng: &mut SeededRng,
) -> (Instance, usize) {
    let a_end = if chunk.len() >= 2 {
        1 + below(rng, chunk.len() - 1)
    } else {
        1
    };
    let mut a: Vec<u32> = chunk[..a_end].concat();
    let random_next = documents.len() > 1 && (chunk.len() == 1 || rng.uniform() < 0.5);
    let (mut b, unused) = if random_next {
        let target = max_tokens.saturating_sub(a.len()).max(1);
        let mut other = below(rng, documents.len() - 1);
        if other >= d {
            other += 1;
        }
        let doc = &documents[other];
        let start = below(rng, doc.len());
        let mut b = Vec::new();
        for s in &doc[start..] {
            b.extend_from_slice(s);
            if b.len() >= target {
                break;
            }
        }
        (b, chunk.len() - a_end)
    } else {
        (chunk[a_end..].concat(), 0)
    };
    if b.is_empty() && a.len() >= 2 {
        // One segment and no other document to draw from: its halves are A and B.
        b = a.split_off(a.len() / 2);
    }
    truncate_pair(&mut a, &mut b, max_tokens, rng);
    let label = u32::from(random_next);
    let mut instance = assemble(&a, Some(&b), special);
    instance.next_sentence_label = Some(label);
    (instance, unused)
}

/// BERT's `truncate_seq_pair`: drop tokens from the longer segment, from its front or back at
/// random, until both fit.
fn truncate_pair(a: &mut Vec<u32>, b: &mut Vec<u32>, max_tokens: usize, rng: &mut SeededRng) {
    while a.len() + b.len() > max_tokens {
        let longer = if a.len() > b.len() { &mut *a } else { &mut *b };
        if rng.uniform() < 0.5 {
            longer.remove(0);
        } else {
            longer.pop();
        }
    }
}

/// `[CLS] a [SEP] (b [SEP])` with its segment ids.
fn assemble(a: &[u32], b: Option<&[u32]>, special: SpecialIds) -> Instance {
    let mut ids = Vec::with_capacity(a.len() + b.map_or(0, <[u32]>::len) + 3);
    ids.push(special.cls);
    ids.extend_from_slice(a);
    ids.push(special.sep);
    let mut type_ids = vec![0; ids.len()];
    if let Some(b) = b {
        ids.extend_from_slice(b);
        ids.push(special.sep);
        type_ids.resize(ids.len(), 1);
    }
    Instance {
        ids,
        type_ids,
        next_sentence_label: None,
    }
}
