//! Character spans → token spans for span-pair tasks.
//!
//! A span-pair example carries two character spans (code points, end exclusive) into its text.
//! The text is tokenized in full; each span becomes the inclusive range of the tokens whose
//! character offsets overlap it. When the text has more tokens than `max_seq_len − 2` allows, the
//! input is **truncated around the spans**: a window of `max_seq_len − 2` consecutive tokens
//! containing both spans, centred on them as far as the text allows (GAP paragraphs are often
//! longer than 128 tokens while the names and the pronoun are close together). A span that covers
//! no token is an error naming the example. Two spans too far apart for one window are an error
//! in evaluation data; a training split leaves such examples out and the job logs how many
//! ([`crate::features::TooFar`]).

use multiberts_model::tokenizer::Encoding;
use multiberts_tasks::CharSpan;

/// The token ids of a truncated span-pair input and its two spans (inclusive positions in
/// `ids`, `[CLS]` at 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Windowed {
    /// `[CLS]`, the window's tokens, `[SEP]`.
    pub ids: Vec<u32>,
    /// The two token spans.
    pub spans: [(u32, u32); 2],
}

/// The inclusive range of text tokens (positions in `enc`) overlapping `span`; `None` when no
/// token does (e.g. a span of only whitespace or past the end of the text).
pub fn token_range(enc: &Encoding, span: CharSpan) -> Option<(usize, usize)> {
    let mut first = None;
    let mut last = None;
    for (i, (&(s, e), seq)) in enc.offsets.iter().zip(&enc.sequence_ids).enumerate() {
        if *seq != Some(0) || e <= s {
            continue;
        }
        if s < span.end && e > span.start {
            first.get_or_insert(i);
            last = Some(i);
        }
    }
    Some((first?, last?))
}

/// Why a span pair does not fit a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowError {
    /// The two spans lie `tokens` apart, more than the `budget` of one window: the example is
    /// fine, only too long for `max_seq_len` (training may skip it, evaluation may not).
    TooFar {
        /// Tokens from the first span's start to the last span's end.
        tokens: usize,
        /// `max_seq_len − 2`.
        budget: usize,
    },
    /// The example itself is wrong (a span covering no token) or `max_seq_len` is unusable.
    Invalid(String),
}

impl std::fmt::Display for WindowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooFar { tokens, budget } => write!(
                f,
                "the two spans lie {tokens} tokens apart, more than max_seq_len − 2 = {budget}; \
                 raise max_seq_len or drop the example"
            ),
            Self::Invalid(message) => f.write_str(message),
        }
    }
}

/// Fits a full (untruncated, single-text) encoding and its two char spans into `max_len`
/// tokens. `Err` says what does not fit.
pub fn window(enc: &Encoding, spans: [CharSpan; 2], max_len: usize) -> Result<Windowed, String> {
    window_checked(enc, spans, max_len).map_err(|e| e.to_string())
}

/// [`window`] with a typed error, so that callers can tell a too-long example from a bad one.
pub fn window_checked(
    enc: &Encoding,
    spans: [CharSpan; 2],
    max_len: usize,
) -> Result<Windowed, WindowError> {
    let n = enc.ids.len();
    if n < 2 || max_len < 3 {
        return Err(WindowError::Invalid(format!(
            "max_seq_len {max_len} leaves no room for text"
        )));
    }
    let mut ranges = [(0usize, 0usize); 2];
    for (k, span) in spans.iter().enumerate() {
        ranges[k] = token_range(enc, *span).ok_or_else(|| {
            WindowError::Invalid(format!(
                "span {} (characters {}..{}) covers no token of the text",
                k + 1,
                span.start,
                span.end
            ))
        })?;
    }
    // Text tokens are positions 1..n-1 ([CLS] first, [SEP] last).
    let (text_lo, text_hi) = (1usize, n - 1);
    let budget = max_len - 2;
    let lo = ranges[0].0.min(ranges[1].0);
    let hi = ranges[0].1.max(ranges[1].1) + 1;
    let (start, end) = if text_hi - text_lo <= budget {
        (text_lo, text_hi)
    } else {
        if hi - lo > budget {
            return Err(WindowError::TooFar {
                tokens: hi - lo,
                budget,
            });
        }
        let slack = budget - (hi - lo);
        let start = lo
            .saturating_sub(slack / 2)
            .max(text_lo)
            .min(text_hi - budget);
        (start, start + budget)
    };
    let mut ids = Vec::with_capacity(end - start + 2);
    ids.push(enc.ids[0]);
    ids.extend_from_slice(&enc.ids[start..end]);
    ids.push(enc.ids[n - 1]);
    let shift = |p: usize| (p - start + 1) as u32;
    Ok(Windowed {
        ids,
        spans: [
            (shift(ranges[0].0), shift(ranges[0].1)),
            (shift(ranges[1].0), shift(ranges[1].1)),
        ],
    })
}
