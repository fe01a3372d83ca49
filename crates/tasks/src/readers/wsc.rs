//! SuperGLUE WSC JSON lines: `{"text", "target": {"span1_index", "span1_text", "span2_index",
//! "span2_text"}, "idx", "label"}`; span indices count whitespace-separated tokens of `text`.
//!
//! The published spans are not always literal: the case can differ ("The lawyer" for "the
//! lawyer"), the token can carry punctuation (`him,"` for "him", `Emma's` for "Emma"), and
//! one validation item points at the wrong token. A span is therefore matched case-insensitively
//! as a prefix of the tokens at its index; when that fails, the whole-word occurrence of the
//! span text nearest to the index is used (with a warning), and no occurrence is an error.

use std::path::Path;

use serde_json::Value;

use crate::error::TaskError;
use crate::example::{CharSpan, Example, SpanPair};
use crate::readers::span_example;
use crate::readers::text::{Token, find_words, json_lines, str_field, whitespace_tokens};

/// Reads one WSC JSONL file into examples (one per line, id = `idx`).
pub(crate) fn read(path: &Path, bytes: &[u8]) -> Result<Vec<Example>, TaskError> {
    let mut examples = Vec::new();
    for (line, value) in json_lines(path, bytes)? {
        let err = |msg: String| TaskError::data(path, line, 1, msg);
        let text = str_field(path, line, &value, "text")?;
        let target = value
            .get("target")
            .filter(|t| t.is_object())
            .ok_or_else(|| err("missing object \"target\"".into()))?;
        let label = match value.get("label") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) if s == "true" || s == "false" => s == "true",
            Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n <= 1) => n.as_u64() == Some(1),
            Some(other) => {
                return Err(err(format!("\"label\" is {other}; expected true or false")));
            }
            None => {
                return Err(err(
                    "no \"label\" (SuperGLUE's test split is unlabelled); expected true or false"
                        .into(),
                ));
            }
        };
        let id = match value.get("idx") {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => s.clone(),
            _ => examples.len().to_string(),
        };
        let tokens = whitespace_tokens(text);
        let mut spans = [CharSpan::new(0, 0); 2];
        for (k, span) in spans.iter_mut().enumerate() {
            let key = |what: &str| format!("span{}_{what}", k + 1);
            let index = target
                .get(key("index"))
                .and_then(Value::as_u64)
                .ok_or_else(|| err(format!("target.{} is not a token index", key("index"))))?;
            let words = target
                .get(key("text"))
                .and_then(Value::as_str)
                .ok_or_else(|| err(format!("target.{} is not a string", key("text"))))?;
            *span = locate(text, &tokens, index as usize, words).ok_or_else(|| {
                err(format!(
                    "target.{} {words:?} is neither at token {index} nor anywhere in the text",
                    key("text")
                ))
            })?;
            if !tokens_match(&tokens, index as usize, words) {
                tracing::warn!(
                    "{}:{line}: target.{} {words:?} is not at token {index}; using the nearest occurrence",
                    path.display(),
                    key("text")
                );
            }
        }
        let mut example = span_example(
            id,
            text,
            SpanPair {
                span1: spans[0],
                span2: spans[1],
            },
            label,
        );
        example.meta.insert(
            "span1_text".into(),
            target["span1_text"].as_str().unwrap_or_default().into(),
        );
        example.meta.insert(
            "span2_text".into(),
            target["span2_text"].as_str().unwrap_or_default().into(),
        );
        examples.push(example);
    }
    if examples.is_empty() {
        return Err(TaskError::data_file(
            path,
            "empty file; expected one JSON object per line",
        ));
    }
    Ok(examples)
}

/// Whether the words of `span` are, case-insensitively, prefixes of the tokens at `index`.
fn tokens_match(tokens: &[Token<'_>], index: usize, span: &str) -> bool {
    let words: Vec<&str> = span.split_whitespace().collect();
    !words.is_empty()
        && index + words.len() <= tokens.len()
        && words.iter().enumerate().all(|(j, w)| {
            let token = tokens[index + j].text.to_lowercase();
            let w = w.to_lowercase();
            if j + 1 == words.len() {
                token.starts_with(&w)
            } else {
                token == w
            }
        })
}

/// The code-point span of `span` at token `index`, or of its nearest whole-word occurrence.
fn locate(text: &str, tokens: &[Token<'_>], index: usize, span: &str) -> Option<CharSpan> {
    let words: Vec<&str> = span.split_whitespace().collect();
    let last = words.last()?;
    if tokens_match(tokens, index, span) {
        let start = tokens[index].span.start;
        let end = tokens[index + words.len() - 1].span.start + last.chars().count();
        return Some(CharSpan::new(start, end));
    }
    let target = tokens.get(index).map_or(usize::MAX, |t| t.span.start);
    let joined = words.join(" ");
    find_words(text, &joined)
        .into_iter()
        .min_by_key(|s| s.start.abs_diff(target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_tolerate_case_punctuation_and_a_wrong_index() {
        let text = "The lawyer asked Emma's friend about him, \"today\" and it.";
        let tokens = whitespace_tokens(text);
        let at = |i, s| locate(text, &tokens, i, s).and_then(|sp| sp.text(text));
        assert_eq!(at(0, "the lawyer").as_deref(), Some("The lawyer"));
        assert_eq!(at(3, "Emma").as_deref(), Some("Emma"));
        assert_eq!(at(6, "him").as_deref(), Some("him"));
        assert_eq!(at(2, "it").as_deref(), Some("it"));
        assert_eq!(at(2, "nobody"), None);
    }
}
