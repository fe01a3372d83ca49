//! jiant's edge-probing JSON lines, the form OntoNotes coreference is usually distributed in:
//! `{"text": "...", "targets": [{"span1": [s, e], "span2": [s, e], "label": "1"}, ...]}`.
//! Spans are TOKEN spans over `text` split on single spaces, end exclusive; they become
//! code-point spans. Each target is one example, id `<record>-<target>` (both 0-based).
//!
//! Labels may be `"0"`/`"1"`, booleans, 0/1, or a one-element list of those (some exports
//! write `["1"]`).

use std::path::Path;

use serde_json::Value;

use crate::error::TaskError;
use crate::example::{CharSpan, Example, SpanPair};
use crate::readers::span_example;
use crate::readers::text::{json_lines, str_field};

/// Reads one edge-probing JSONL file into examples.
pub(crate) fn read(path: &Path, bytes: &[u8]) -> Result<Vec<Example>, TaskError> {
    let mut examples = Vec::new();
    for (record, (line, value)) in json_lines(path, bytes)?.into_iter().enumerate() {
        let err = |msg: String| TaskError::data(path, line, 1, msg);
        let text = str_field(path, line, &value, "text")?;
        let targets = value
            .get("targets")
            .and_then(Value::as_array)
            .ok_or_else(|| err("missing list \"targets\"".into()))?;
        // Token spans of text.split(' ') in code points (jiant splits on single spaces).
        let mut tokens = Vec::new();
        let mut start = 0;
        for word in text.split(' ') {
            let len = word.chars().count();
            tokens.push(CharSpan::new(start, start + len));
            start += len + 1;
        }
        for (k, target) in targets.iter().enumerate() {
            let span = |key: &str| -> Result<CharSpan, TaskError> {
                let pair = target
                    .get(key)
                    .and_then(Value::as_array)
                    .and_then(|a| match a[..] {
                        [ref s, ref e] => Some((s.as_u64()?, e.as_u64()?)),
                        _ => None,
                    })
                    .ok_or_else(|| {
                        err(format!(
                            "targets[{k}].{key} is not a [start, end] pair of token indices"
                        ))
                    })?;
                let (s, e) = (pair.0 as usize, pair.1 as usize);
                if s >= e || e > tokens.len() {
                    return Err(err(format!(
                        "targets[{k}].{key} = [{s}, {e}] is not a token span of this text ({} tokens, end exclusive)",
                        tokens.len()
                    )));
                }
                Ok(CharSpan::new(tokens[s].start, tokens[e - 1].end))
            };
            let spans = SpanPair {
                span1: span("span1")?,
                span2: span("span2")?,
            };
            let label = target
                .get("label")
                .and_then(parse_label)
                .ok_or_else(|| {
                    err(format!(
                        "targets[{k}].label is missing or not 0/1 (\"0\", \"1\", a boolean, or a one-element list)"
                    ))
                })?;
            examples.push(span_example(format!("{record}-{k}"), text, spans, label));
        }
    }
    if examples.is_empty() {
        return Err(TaskError::data_file(
            path,
            "no targets; expected JSON lines with \"text\" and \"targets\"",
        ));
    }
    Ok(examples)
}

fn parse_label(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.as_str() {
            "1" | "true" => Some(true),
            "0" | "false" => Some(false),
            _ => None,
        },
        Value::Number(n) => match n.as_u64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::Array(items) if items.len() == 1 => parse_label(&items[0]),
        _ => None,
    }
}
