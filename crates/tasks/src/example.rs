//! The typed examples every reader produces, whatever the file format.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The gold label of one example.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Label {
    /// Index into the task's `labels` (classification, span-pair).
    Class(usize),
    /// A real-valued target (regression).
    Value(f32),
}

impl Label {
    /// The label as a number: the class index or the value (the predictions table stores this).
    pub fn as_f64(self) -> f64 {
        match self {
            Label::Class(c) => c as f64,
            Label::Value(v) => f64::from(v),
        }
    }
}

/// One example of a sentence, sentence-pair or span-pair task.
///
/// The span-pair fields serialize only when set, so the canonical JSON (and hence the digest)
/// of sentence and pair examples is the same as before they existed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// Stable id from the data (or the 0-based row number when the data has none).
    pub id: String,
    /// The first (or only) text.
    pub text_a: String,
    /// The second text of a pair task.
    pub text_b: Option<String>,
    /// The gold label. Span-pair tasks: `Label::Class(0)` / `Label::Class(1)` for the spec's
    /// `labels = ["0", "1"]` (1 = coreferent).
    pub label: Label,
    /// Span-pair tasks: two character spans into `text_a` (code-point offsets, end exclusive —
    /// the same unit as the tokenizer's `offsets`), e.g. (candidate antecedent, pronoun).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spans: Option<SpanPair>,
    /// Multiple-choice evaluation (Winogender): examples sharing `group` are the candidates of
    /// one item; the item's prediction is the candidate with the highest positive score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice: Option<Choice>,
    /// Per-example metadata kept for exports and analyses, e.g. for Winogender: gender,
    /// pronoun_type, answer, occupation, participant, someone, template_idx, sentid.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub meta: BTreeMap<String, String>,
}

impl Example {
    /// A sentence (or sentence-pair) example without spans, choice or metadata.
    pub fn new(id: String, text_a: String, text_b: Option<String>, label: Label) -> Example {
        Example {
            id,
            text_a,
            text_b,
            label,
            spans: None,
            choice: None,
            meta: BTreeMap::new(),
        }
    }

    /// The text of a character span of `text_a`, or `None` when the span is out of range.
    pub fn span_text(&self, span: CharSpan) -> Option<String> {
        span.text(&self.text_a)
    }
}

/// A span of characters: code-point offsets into a text, `end` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CharSpan {
    /// First code point of the span (0-based).
    pub start: usize,
    /// One past the last code point.
    pub end: usize,
}

impl CharSpan {
    /// The span `start..end` (code points).
    pub fn new(start: usize, end: usize) -> CharSpan {
        CharSpan { start, end }
    }

    /// Number of code points covered.
    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// Whether the span covers nothing.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// The covered text, or `None` when the span is empty, reversed or past the end of `text`.
    pub fn text(&self, text: &str) -> Option<String> {
        if self.is_empty() || self.end > text.chars().count() {
            return None;
        }
        Some(text.chars().skip(self.start).take(self.len()).collect())
    }

    /// The span of the code points covering the byte range `start..end` of `text` (both must
    /// be char boundaries; readers that search with `str::find` use this).
    pub fn from_bytes(text: &str, start: usize, end: usize) -> CharSpan {
        let start_chars = text[..start].chars().count();
        CharSpan {
            start: start_chars,
            end: start_chars + text[start..end].chars().count(),
        }
    }
}

/// The two spans of a span-pair example, e.g. (candidate antecedent, pronoun).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpanPair {
    /// The first span (a candidate antecedent or mention).
    pub span1: CharSpan,
    /// The second span (usually the pronoun).
    pub span2: CharSpan,
}

/// Membership of an example in a multiple-choice item (Winogender: one item per sentence).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    /// The item: examples with the same group are its candidates (Winogender: the sentid).
    pub group: String,
    /// The candidate's index within the item (Winogender: 0 = occupation, 1 = participant).
    pub candidate: usize,
}

/// The sha256 of one input file, kept as provenance in every job's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    /// The file read (or `synthetic:<generator>` for generated data).
    pub path: String,
    /// Lower-case hex sha256 of its bytes.
    pub sha256: String,
}

/// One split of one task, loaded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitData {
    /// The task's name.
    pub task: String,
    /// The split's name (`train`, `dev`, `dev_matched`, …).
    pub split: String,
    /// The format the examples were read from.
    pub format: crate::spec::DataFormat,
    /// The files read, with digests, in reading order.
    pub files: Vec<FileDigest>,
    /// The examples, in file order.
    pub examples: Vec<Example>,
    /// Lines skipped because the source allows skipping malformed lines.
    pub skipped: usize,
    /// SQuAD splits: the questions with their contexts and gold answers (the examples are
    /// one per question, in the same order, with the question as `text_a` and the context as
    /// `text_b`). The QA features and the official scores are built from this.
    #[serde(skip)]
    pub squad: Option<std::sync::Arc<crate::squad::SquadDataset>>,
}

impl SplitData {
    /// Keeps the first `n` examples (and, for SQuAD, the first `n` questions).
    pub fn truncate(&mut self, n: usize) {
        self.examples.truncate(n);
        if let Some(squad) = &mut self.squad
            && squad.questions.len() > n
        {
            std::sync::Arc::make_mut(squad).questions.truncate(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_spans_count_code_points_not_bytes() {
        let text = "Zoë said that she left.";
        let byte_start = text.find("she").unwrap();
        let span = CharSpan::from_bytes(text, byte_start, byte_start + 3);
        assert_eq!(span, CharSpan::new(14, 17));
        assert_eq!(span.text(text).as_deref(), Some("she"));
        assert_eq!(CharSpan::new(20, 30).text(text), None);
        assert_eq!(CharSpan::new(3, 3).text(text), None);
    }

    #[test]
    fn plain_examples_serialize_without_span_fields() {
        let e = Example::new("1".into(), "a b".into(), None, Label::Class(1));
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(json, r#"{"id":"1","text_a":"a b","text_b":null,"label":1}"#);
        let back: Example = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
    }
}
