//! Question + context windows ("features") as Hugging Face's `run_qa.py` builds them in
//! `prepare_train_features` and `prepare_validation_features`.
//!
//! Each window is `[CLS] question [SEP] context-part [SEP]` (token types 0 then 1). A context
//! longer than the room left by the question is cut into overlapping parts exactly as the
//! tokenizers library's `only_second` truncation with `return_overflowing_tokens` and
//! `stride = doc_stride` does: parts of `room = max_seq_len - 3 - question_tokens` context
//! tokens starting every `room - doc_stride` tokens, the last part ending at the context's end.
//! As in the legacy `squad_convert_examples_to_features` (and BERT's `run_squad.py`), the
//! question is first cut to `max_query_len` tokens; `run_qa.py` itself does not cut it and
//! fails instead when a question leaves no room for the stride.
//!
//! Windows are not padded: [`Window::inputs`] pads on demand to any length.
//!
//! The windows equal what the tokenizers library's own `truncate_encodings` and
//! `post_process` make of the fully tokenized pair (tested on the real samples). They do not
//! equal what `Tokenizer::encode` returns with tokenizers 0.23.1 to 0.23.2 (the version this
//! workspace locks): its truncation "early exit" stops tokenizing the context after
//! `max_length` tokens, so the overflow loses every window past that point
//! (huggingface/tokenizers#2091, open). Hugging Face's Python `run_qa.py` on those versions
//! is affected the same way; with tokenizers up to 0.22.2 it builds these windows.
//!
//! Each context is tokenized once and shared by its questions' windows (SQuAD has about five
//! questions per paragraph); tokenizing it alone gives the same tokens and offsets as
//! tokenizing it as the second text of a pair, since BERT normalises and splits each text on
//! its own.

use std::ops::Range;
use std::sync::Arc;

use multiberts_model::tokenizer::WordPieceTokenizer;
use multiberts_tasks::CharSpan;
use multiberts_tasks::squad::{SquadDataset, SquadQuestion};
use rayon::prelude::*;

use crate::error::QaError;

/// Window settings; the defaults are `run_qa.py`'s and BERT's SQuAD settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QaConfig {
    /// Tokens per window, special tokens included (384).
    pub max_seq_len: usize,
    /// Context tokens shared by consecutive windows of one question (128).
    pub doc_stride: usize,
    /// Question tokens kept (64); longer questions lose their end.
    pub max_query_len: usize,
}

impl Default for QaConfig {
    fn default() -> Self {
        Self {
            max_seq_len: 384,
            doc_stride: 128,
            max_query_len: 64,
        }
    }
}

impl QaConfig {
    /// Checks that every window has room for more context tokens than the stride (otherwise
    /// consecutive windows could not advance; the tokenizers library panics there).
    pub fn validate(&self) -> Result<(), QaError> {
        let fixed = 3 + self.max_query_len;
        if self.max_seq_len <= fixed + self.doc_stride {
            return Err(QaError::Config(format!(
                "max_seq_len {} leaves {} context tokens after [CLS], [SEP], [SEP] and a \
                 {}-token question; expected more than doc_stride {} (raise max_seq_len or \
                 lower doc_stride / max_query_len)",
                self.max_seq_len,
                self.max_seq_len.saturating_sub(fixed),
                self.max_query_len,
                self.doc_stride
            )));
        }
        Ok(())
    }
}

/// The WordPiece tokens of one paragraph's context, with their offsets into it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextTokens {
    /// The context text.
    pub text: Arc<str>,
    /// Token ids (no special tokens).
    pub ids: Vec<u32>,
    /// Each token's span in code points (Python `str` indices, the unit of SQuAD's
    /// `answer_start` and of Hugging Face's `offset_mapping`).
    pub offsets: Vec<CharSpan>,
    /// The same spans in UTF-8 bytes, for slicing [`ContextTokens::text`].
    pub byte_offsets: Vec<(usize, usize)>,
}

impl ContextTokens {
    /// The context text from the start of token `first` to the end of token `last`
    /// (`context[offsets[first][0]:offsets[last][1]]` in `run_qa.py`).
    pub fn span_text(&self, first: usize, last: usize) -> &str {
        let (start, _) = self.byte_offsets[first];
        let (_, end) = self.byte_offsets[last];
        self.text.get(start..end.max(start)).unwrap_or("")
    }
}

/// One window: a question with one part of its context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Index of the question in [`SquadDataset::questions`].
    pub question: usize,
    /// Index of its paragraph in [`Features::contexts`] (= [`SquadDataset::paragraphs`]).
    pub paragraph: usize,
    /// `[CLS] question [SEP] context-part [SEP]`, unpadded.
    pub input_ids: Vec<u32>,
    /// Position in `input_ids` of the first context token (question tokens + 2).
    pub context_start: usize,
    /// The context tokens of this window, as indices into [`ContextTokens`].
    pub context_tokens: Range<usize>,
    /// Training label: position of the answer's first token, or 0 (`[CLS]`) when the question
    /// is unanswerable or its (first) answer is not wholly inside this window.
    pub start_position: usize,
    /// Training label: position of the answer's last token, or 0 as for `start_position`.
    pub end_position: usize,
}

/// A window's model inputs, padded to a chosen length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowInputs {
    /// Token ids, then `pad_id`.
    pub input_ids: Vec<u32>,
    /// 0 for `[CLS] question [SEP]`, 1 for `context [SEP]`, 0 for padding.
    pub token_type_ids: Vec<u32>,
    /// 1 for real tokens, 0 for padding.
    pub attention_mask: Vec<u32>,
}

impl Window {
    /// Number of tokens (no padding).
    pub fn len(&self) -> usize {
        self.input_ids.len()
    }

    /// Whether the window has no tokens (never true for a built window).
    pub fn is_empty(&self) -> bool {
        self.input_ids.is_empty()
    }

    /// Positions of the context tokens in the window: the only positions with an offset
    /// (`run_qa.py`'s validation `offset_mapping` is `None` elsewhere).
    pub fn context_positions(&self) -> Range<usize> {
        self.context_start..self.context_start + self.context_tokens.len()
    }

    /// The [`ContextTokens`] index of the token at window position `position`, if it is a
    /// context token.
    pub fn context_token(&self, position: usize) -> Option<usize> {
        self.context_positions()
            .contains(&position)
            .then(|| self.context_tokens.start + (position - self.context_start))
    }

    /// Whether this window's training label is the answer (not `[CLS]`).
    pub fn has_answer_label(&self) -> bool {
        self.start_position != 0
    }

    /// The model inputs padded on the right to `pad_to` tokens (if longer than the window),
    /// as `padding="max_length"` does: `pad_id`, token type 0, mask 0.
    pub fn inputs(&self, pad_to: Option<usize>, pad_id: u32) -> WindowInputs {
        let len = pad_to.map_or(self.len(), |p| p.max(self.len()));
        let mut input_ids = self.input_ids.clone();
        input_ids.resize(len, pad_id);
        // Type 0 up to and including the [SEP] after the question, 1 for the context and its
        // [SEP], 0 again for padding.
        let token_type_ids = (0..len)
            .map(|i| u32::from(i >= self.context_start && i < self.len()))
            .collect();
        let attention_mask = (0..len).map(|i| u32::from(i < self.len())).collect();
        WindowInputs {
            input_ids,
            token_type_ids,
            attention_mask,
        }
    }
}

/// Every window of a dataset, with the tokenized contexts they point into.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// The windows, grouped by question in question order (a question's windows are
    /// consecutive, in context order).
    pub windows: Vec<Window>,
    /// The tokenized context of every paragraph, indexed like [`SquadDataset::paragraphs`].
    pub contexts: Vec<ContextTokens>,
    /// `question_windows[q]`: the indices in `windows` of question `q`'s windows.
    pub question_windows: Vec<Range<usize>>,
    /// The settings the windows were built with.
    pub config: QaConfig,
}

impl Features {
    /// The windows of question `question`.
    pub fn windows_of(&self, question: usize) -> &[Window] {
        &self.windows[self.question_windows[question].clone()]
    }

    /// The character span (into the window's context) of the token at `position` of window
    /// `window`, or `None` for question, special and padding positions.
    pub fn offset(&self, window: &Window, position: usize) -> Option<CharSpan> {
        let t = window.context_token(position)?;
        Some(self.contexts[window.paragraph].offsets[t])
    }

    /// `run_qa.py`'s validation `offset_mapping` of a window: the character span of each
    /// context token, `None` for every other position.
    pub fn offset_mapping(&self, window: &Window) -> Vec<Option<CharSpan>> {
        (0..window.len()).map(|p| self.offset(window, p)).collect()
    }

    /// The context text covered by window positions `start..=end` (both context tokens).
    pub fn span_text(&self, window: &Window, start: usize, end: usize) -> Option<&str> {
        let (a, b) = (window.context_token(start)?, window.context_token(end)?);
        Some(self.contexts[window.paragraph].span_text(a, b))
    }
}

/// Builds the windows of every question of `dataset`, with training labels from each
/// question's first gold answer.
///
/// The same windows serve training and evaluation (`run_qa.py`'s two feature functions make
/// identical inputs and differ only in the labels and in hiding non-context offsets, which
/// [`Features::offset`] does).
pub fn build_features(
    dataset: &SquadDataset,
    tokenizer: &WordPieceTokenizer,
    config: &QaConfig,
) -> Result<Features, QaError> {
    config.validate()?;
    let special = Special::of(tokenizer)?;
    let contexts: Vec<ContextTokens> = dataset
        .paragraphs
        .par_iter()
        .enumerate()
        .map(|(i, p)| tokenize_context(tokenizer, &p.context, i))
        .collect::<Result<_, _>>()?;
    let per_question: Vec<Vec<Window>> = dataset
        .questions
        .par_iter()
        .enumerate()
        .map(|(qi, q)| {
            let question_ids = tokenize_question(tokenizer, q, config.max_query_len)?;
            Ok(question_windows(
                special,
                qi,
                q,
                &question_ids,
                &contexts[q.paragraph],
                config,
            ))
        })
        .collect::<Result<_, QaError>>()?;
    let mut windows = Vec::with_capacity(per_question.iter().map(Vec::len).sum());
    let mut question_windows = Vec::with_capacity(per_question.len());
    for ws in per_question {
        let start = windows.len();
        windows.extend(ws);
        question_windows.push(start..windows.len());
    }
    Ok(Features {
        windows,
        contexts,
        question_windows,
        config: *config,
    })
}

fn tokenize_context(
    tokenizer: &WordPieceTokenizer,
    text: &Arc<str>,
    paragraph: usize,
) -> Result<ContextTokens, QaError> {
    let enc = tokenizer
        .encode(text, None, None)
        .map_err(|source| QaError::Tokenize {
            what: format!("the context of paragraph {paragraph}"),
            source,
        })?;
    let mut out = ContextTokens {
        text: Arc::clone(text),
        ids: Vec::with_capacity(enc.len()),
        offsets: Vec::with_capacity(enc.len()),
        byte_offsets: Vec::with_capacity(enc.len()),
    };
    for i in 0..enc.len() {
        // Only the text's own tokens: the encoding also holds [CLS] and [SEP].
        if enc.sequence_ids[i].is_some() {
            out.ids.push(enc.ids[i]);
            let (s, e) = enc.offsets[i];
            out.offsets.push(CharSpan::new(s, e));
            out.byte_offsets.push(enc.byte_offsets[i]);
        }
    }
    Ok(out)
}

/// The question's token ids (no special tokens), at most `max_query_len` of them. Leading
/// whitespace is stripped first as `run_qa.py` does (`q.lstrip()`; with BERT's tokenizer it
/// changes nothing, but it keeps the offsets of a question-side use right).
fn tokenize_question(
    tokenizer: &WordPieceTokenizer,
    question: &SquadQuestion,
    max_query_len: usize,
) -> Result<Vec<u32>, QaError> {
    let text = question
        .question
        .trim_start_matches(|c: char| c.is_whitespace() || ('\u{1C}'..='\u{1F}').contains(&c));
    let enc = tokenizer
        .encode(text, None, Some(max_query_len + 2))
        .map_err(|source| QaError::Tokenize {
            what: format!("question {}", question.id),
            source,
        })?;
    Ok(enc
        .ids
        .iter()
        .zip(&enc.sequence_ids)
        .filter(|(_, s)| s.is_some())
        .map(|(&id, _)| id)
        .collect())
}

/// The context-token ranges of one question's windows: the tokenizers library's overflow with
/// a stride (`Encoding::truncate`): parts of `room` tokens every `room - stride` tokens until a
/// part reaches the end.
pub fn window_spans(context_len: usize, room: usize, stride: usize) -> Vec<Range<usize>> {
    // A context that fits (or an empty one) gives one part: the first stop is its end.
    let step = room.saturating_sub(stride).max(1);
    let mut spans = Vec::new();
    let mut start = 0;
    loop {
        let stop = (start + room).min(context_len);
        spans.push(start..stop);
        if stop == context_len {
            return spans;
        }
        start += step;
    }
}

/// The ids of `[CLS]` and `[SEP]` (or the tokenizer's configured equivalents).
#[derive(Debug, Clone, Copy)]
struct Special {
    cls: u32,
    sep: u32,
}

impl Special {
    fn of(tokenizer: &WordPieceTokenizer) -> Result<Special, QaError> {
        let options = tokenizer.options();
        let id = |token: &str| {
            tokenizer.token_to_id(token).ok_or_else(|| {
                QaError::Config(format!(
                    "the tokenizer has no id for its special token {token}"
                ))
            })
        };
        Ok(Special {
            cls: id(&options.cls_token)?,
            sep: id(&options.sep_token)?,
        })
    }
}

fn question_windows(
    special: Special,
    question_index: usize,
    question: &SquadQuestion,
    question_ids: &[u32],
    context: &ContextTokens,
    config: &QaConfig,
) -> Vec<Window> {
    // validate() guarantees room > doc_stride for any question of at most max_query_len tokens.
    let room = config.max_seq_len - 3 - question_ids.len();
    let context_start = question_ids.len() + 2;
    let answer = question.answers.first().map(|a| a.char_span());
    window_spans(context.ids.len(), room, config.doc_stride)
        .into_iter()
        .map(|tokens| {
            let mut input_ids = Vec::with_capacity(context_start + tokens.len() + 1);
            input_ids.push(special.cls);
            input_ids.extend_from_slice(question_ids);
            input_ids.push(special.sep);
            input_ids.extend_from_slice(&context.ids[tokens.clone()]);
            input_ids.push(special.sep);
            let (start, end) = answer
                .and_then(|a| label(&context.offsets[tokens.clone()], a))
                .map_or((0, 0), |(s, e)| (context_start + s, context_start + e));
            Window {
                question: question_index,
                paragraph: question.paragraph,
                input_ids,
                context_start,
                context_tokens: tokens,
                start_position: start,
                end_position: end,
            }
        })
        .collect()
}

/// `prepare_train_features`' label of one window, as indices into the window's context
/// tokens: `None` (label `[CLS]`) unless the first token starts at or before the answer and
/// the last ends at or after it; then the start is the last token starting at or before the
/// answer's first character and the end the first token ending at or after its last.
///
/// One deliberate difference: `run_qa.py`'s start loop walks on past the window's last
/// context token onto `[SEP]`/padding (their offsets `(0, 0)` also start "at or before" the
/// answer) when the answer starts in that last token, and then labels the final position;
/// here the search stops at the context's end, which labels the token holding the answer.
fn label(offsets: &[CharSpan], answer: CharSpan) -> Option<(usize, usize)> {
    let (first, last) = (offsets.first()?, offsets.last()?);
    if !(first.start <= answer.start && last.end >= answer.end) {
        return None;
    }
    let start = offsets
        .iter()
        .take_while(|o| o.start <= answer.start)
        .count()
        - 1;
    let end = offsets.len()
        - offsets
            .iter()
            .rev()
            .take_while(|o| o.end >= answer.end)
            .count();
    Some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_spans_step_by_room_minus_stride_until_the_end() {
        assert_eq!(window_spans(0, 10, 3), vec![0..0]);
        assert_eq!(window_spans(10, 10, 3), vec![0..10]);
        assert_eq!(window_spans(11, 10, 3), vec![0..10, 7..11]);
        assert_eq!(window_spans(24, 10, 3), vec![0..10, 7..17, 14..24]);
        assert_eq!(window_spans(25, 10, 3), vec![0..10, 7..17, 14..24, 21..25]);
    }

    #[test]
    fn labels_cover_the_answer_with_whole_tokens() {
        let offsets = [(0, 3), (4, 9), (9, 11), (12, 15)].map(|(s, e)| CharSpan::new(s, e));
        // Exactly token 1.
        assert_eq!(label(&offsets, CharSpan::new(4, 9)), Some((1, 1)));
        // Inside tokens 1..=2 ("##" piece): the whole tokens around it.
        assert_eq!(label(&offsets, CharSpan::new(5, 10)), Some((1, 2)));
        // Starts in the last token: that token, not past it (run_qa.py would overrun).
        assert_eq!(label(&offsets, CharSpan::new(13, 15)), Some((3, 3)));
        // Not wholly inside: [CLS].
        assert_eq!(label(&offsets, CharSpan::new(12, 16)), None);
        assert_eq!(label(&[], CharSpan::new(0, 1)), None);
    }

    #[test]
    fn settings_that_leave_no_room_for_the_stride_are_rejected() {
        let bad = QaConfig {
            max_seq_len: 64,
            doc_stride: 32,
            max_query_len: 29,
        };
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.contains("leaves 32 context tokens"), "{err}");
        assert!(QaConfig::default().validate().is_ok());
    }
}
