//! JSON Lines (SuperGLUE): one object per line; labels may be strings, booleans or integers.

use std::path::Path;

use serde_json::Value;

use crate::error::TaskError;
use crate::example::{Example, Label};
use crate::readers::LabelParser;
use crate::spec::{Column, Source};

/// Reads one JSONL file into examples.
pub(crate) fn read(
    path: &Path,
    bytes: &[u8],
    source: &Source,
    labels: &LabelParser<'_>,
) -> Result<Vec<Example>, TaskError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut examples = Vec::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let text = std::str::from_utf8(raw).map_err(|e| {
            let column = String::from_utf8_lossy(&raw[..e.valid_up_to()])
                .chars()
                .count()
                + 1;
            TaskError::data(path, line_no, column, "invalid UTF-8; expected UTF-8 text")
        })?;
        let value: Value = serde_json::from_str(text).map_err(|e| {
            TaskError::data(
                path,
                line_no,
                e.column().max(1),
                format!("{e}; expected one JSON object per line"),
            )
        })?;
        let Value::Object(obj) = value else {
            return Err(TaskError::data(
                path,
                line_no,
                1,
                "expected a JSON object, found another JSON value",
            ));
        };
        let field = |col: &Column| -> Result<&Value, TaskError> {
            let Column::Name(key) = col else {
                return Err(TaskError::data_file(
                    path,
                    "JSONL columns are keys, not indices",
                ));
            };
            obj.get(key).ok_or_else(|| {
                TaskError::data(
                    path,
                    line_no,
                    1,
                    format!("missing key \"{key}\" in this object"),
                )
            })
        };
        let text_of = |col: &Column| -> Result<String, TaskError> {
            match field(col)? {
                Value::String(s) => Ok(s.clone()),
                other => Err(TaskError::data(
                    path,
                    line_no,
                    1,
                    format!("key {col} holds {other}; expected a string"),
                )),
            }
        };
        let (Some(text_a_col), Some(label_col)) = (&source.text_a, &source.label) else {
            return Err(TaskError::data_file(
                path,
                "the task spec names no text_a/label key",
            ));
        };
        let label = parse_label(field(label_col)?, labels)
            .map_err(|msg| TaskError::data(path, line_no, 1, format!("{msg} (key {label_col})")))?;
        let id = match &source.id {
            Some(col) => match field(col)? {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => {
                    return Err(TaskError::data(
                        path,
                        line_no,
                        1,
                        format!("id key {col} holds {other}; expected a string or a number"),
                    ));
                }
            },
            None => examples.len().to_string(),
        };
        examples.push(Example::new(
            id,
            text_of(text_a_col)?,
            source.text_b.as_ref().map(text_of).transpose()?,
            label,
        ));
    }
    if examples.is_empty() {
        return Err(TaskError::data_file(
            path,
            "empty file; expected one JSON object per line",
        ));
    }
    Ok(examples)
}

fn parse_label(value: &Value, labels: &LabelParser<'_>) -> Result<Label, String> {
    match value {
        Value::String(s) => labels.parse_str(s),
        Value::Bool(b) => labels.parse_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_i64() {
            Some(i) => labels.parse_int(i),
            None => labels.parse_float(n.as_f64().unwrap_or(f64::NAN)),
        },
        other => Err(format!(
            "expected a label (string, number or boolean), found {other}"
        )),
    }
}
