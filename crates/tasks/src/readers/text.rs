//! Small text helpers shared by the span-pair readers: UTF-8 lines with 1-based numbers,
//! whitespace tokens with code-point offsets, and whole-word search.

use std::path::Path;

use serde_json::Value;

use crate::error::TaskError;
use crate::example::CharSpan;

/// The lines of a UTF-8 file with 1-based line numbers: BOM stripped, `\r\n` accepted, a
/// trailing newline does not make an empty last line. Invalid UTF-8 is an error at its line.
pub(crate) fn lines<'a>(path: &Path, bytes: &'a [u8]) -> Result<Vec<(usize, &'a str)>, TaskError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut out = Vec::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let line = std::str::from_utf8(raw).map_err(|e| {
            let column = String::from_utf8_lossy(&raw[..e.valid_up_to()])
                .chars()
                .count()
                + 1;
            TaskError::data(path, i + 1, column, "invalid UTF-8; expected UTF-8 text")
        })?;
        out.push((i + 1, line));
    }
    if bytes.ends_with(b"\n") {
        out.pop();
    }
    Ok(out)
}

/// The non-blank lines of a JSON-lines file parsed as JSON, with their line numbers; a line
/// that is not JSON is an error at its line and column.
pub(crate) fn json_lines(path: &Path, bytes: &[u8]) -> Result<Vec<(usize, Value)>, TaskError> {
    let mut out = Vec::new();
    for (line, raw) in lines(path, bytes)? {
        if raw.trim().is_empty() {
            continue;
        }
        let value = serde_json::from_str(raw).map_err(|e| {
            TaskError::data(
                path,
                line,
                e.column().max(1),
                format!("{e}; expected one JSON object per line"),
            )
        })?;
        out.push((line, value));
    }
    Ok(out)
}

/// The string field `key` of a JSON record, or an error at its line.
pub(crate) fn str_field<'a>(
    path: &Path,
    line: usize,
    value: &'a Value,
    key: &str,
) -> Result<&'a str, TaskError> {
    value
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| TaskError::data(path, line, 1, format!("missing string \"{key}\"")))
}

/// The Winogender spelling of a pronoun's gender: `MASCULINE`, `FEMININE`, or `None` for an
/// ungendered or unknown word.
pub(crate) fn pronoun_gender(pronoun: &str) -> Option<&'static str> {
    match pronoun.to_lowercase().as_str() {
        "he" | "him" | "his" | "himself" => Some("MASCULINE"),
        "she" | "her" | "hers" | "herself" => Some("FEMININE"),
        _ => None,
    }
}

/// A whitespace-separated token with its code-point span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub(crate) text: &'a str,
    pub(crate) span: CharSpan,
}

/// Splits `text` on Unicode whitespace, keeping each token's code-point offsets.
pub(crate) fn whitespace_tokens(text: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut start: Option<(usize, usize)> = None; // (byte, char) of the current token
    let mut chars = 0;
    for (byte, c) in text.char_indices() {
        if c.is_whitespace() {
            if let Some((b, ch)) = start.take() {
                tokens.push(Token {
                    text: &text[b..byte],
                    span: CharSpan::new(ch, chars),
                });
            }
        } else if start.is_none() {
            start = Some((byte, chars));
        }
        chars += 1;
    }
    if let Some((b, ch)) = start {
        tokens.push(Token {
            text: &text[b..],
            span: CharSpan::new(ch, chars),
        });
    }
    tokens
}

/// Every case-insensitive, whole-word occurrence of `needle` in `text`, as code-point spans,
/// in text order. "Whole word": not preceded or followed by a letter or digit.
pub(crate) fn find_words(text: &str, needle: &str) -> Vec<CharSpan> {
    let hay: Vec<char> = text.chars().collect();
    let pat: Vec<char> = needle.chars().collect();
    if pat.is_empty() || pat.len() > hay.len() {
        return Vec::new();
    }
    let same = |a: char, b: char| a == b || a.to_lowercase().eq(b.to_lowercase());
    let mut out = Vec::new();
    for start in 0..=hay.len() - pat.len() {
        let end = start + pat.len();
        let bounded = (start == 0 || !hay[start - 1].is_alphanumeric())
            && (end == hay.len() || !hay[end].is_alphanumeric());
        if bounded && hay[start..end].iter().zip(&pat).all(|(&a, &b)| same(a, b)) {
            out.push(CharSpan::new(start, end));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_code_point_spans() {
        let t = whitespace_tokens("  Zoë  met\tHe ");
        let got: Vec<(&str, usize, usize)> = t
            .iter()
            .map(|t| (t.text, t.span.start, t.span.end))
            .collect();
        assert_eq!(got, [("Zoë", 2, 5), ("met", 7, 10), ("He", 11, 13)]);
    }

    #[test]
    fn words_match_whole_and_case_insensitively() {
        let text = "The CEO met the ceo's aide; CEOs left.";
        assert_eq!(
            find_words(text, "ceo"),
            [CharSpan::new(4, 7), CharSpan::new(16, 19)]
        );
        assert!(find_words(text, "").is_empty());
    }
}
