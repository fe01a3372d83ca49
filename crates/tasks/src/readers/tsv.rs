//! GLUE-style TSV: tab-separated fields, no quoting at all (MRPC and others have unbalanced `"`
//! inside fields, so a CSV reader with quoting would merge lines), optional header, optional
//! UTF-8 byte-order mark, `\n` or `\r\n` line ends.

use std::path::Path;

use crate::diag::one_of;
use crate::error::TaskError;
use crate::example::Example;
use crate::readers::LabelParser;
use crate::spec::{Column, Source};

/// Field positions resolved against the header (or taken as given without one).
struct Layout {
    text_a: usize,
    text_b: Option<usize>,
    label: usize,
    id: Option<usize>,
    /// The exact field count every line must have, when known.
    fields: Option<usize>,
    /// The smallest field count that holds every referenced column.
    min_fields: usize,
}

/// Reads one TSV file; returns its examples and the number of malformed lines skipped.
pub(crate) fn read(
    path: &Path,
    bytes: &[u8],
    source: &Source,
    labels: &LabelParser<'_>,
) -> Result<(Vec<Example>, usize), TaskError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut lines = split_lines(bytes);
    // Trailing blank lines are common and harmless.
    while lines
        .last()
        .is_some_and(|(_, l)| l.iter().all(u8::is_ascii_whitespace))
    {
        lines.pop();
    }
    if lines.is_empty() {
        let what = if source.header {
            "a header line and at least one example"
        } else {
            "at least one example"
        };
        return Err(TaskError::data_file(
            path,
            format!("empty file; expected {what}"),
        ));
    }

    let mut rows = lines.into_iter();
    let layout = if source.header {
        let (line_no, header) = rows.next().expect("checked non-empty above");
        let header = decode(path, line_no, header)?;
        let names: Vec<&str> = header.split('\t').collect();
        resolve_header(path, line_no, &names, source)?
    } else {
        let positions = [&source.text_a, &source.text_b, &source.label, &source.id];
        let index = |c: &Option<Column>| match c {
            Some(Column::Index(i)) => Some(*i),
            _ => None,
        };
        let min_fields = positions.iter().filter_map(|c| index(c)).max().unwrap_or(0) + 1;
        Layout {
            text_a: index(&source.text_a).unwrap_or(0),
            text_b: index(&source.text_b),
            label: index(&source.label).unwrap_or(0),
            id: index(&source.id),
            fields: source.fields,
            min_fields,
        }
    };

    let mut examples = Vec::new();
    let mut skipped = 0;
    for (line_no, raw) in rows {
        let line = decode(path, line_no, raw)?;
        if line.trim().is_empty() {
            return Err(TaskError::data(
                path,
                line_no,
                1,
                "empty line in the middle of the file; expected an example",
            ));
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let count_ok = match layout.fields {
            Some(n) => fields.len() == n,
            None => fields.len() >= layout.min_fields,
        };
        if !count_ok {
            if source.skip_malformed {
                skipped += 1;
                continue;
            }
            let expected = match layout.fields {
                Some(n) => format!("{n}"),
                None => format!("at least {}", layout.min_fields),
            };
            return Err(TaskError::data(
                path,
                line_no,
                1,
                format!(
                    "expected {expected} tab-separated fields, found {}",
                    fields.len()
                ),
            ));
        }
        let column_of = |field: usize| -> usize {
            // 1-based character column where field `field` starts.
            fields[..field]
                .iter()
                .map(|f| f.chars().count() + 1)
                .sum::<usize>()
                + 1
        };
        let label = labels.parse_str(fields[layout.label]).map_err(|msg| {
            TaskError::data(
                path,
                line_no,
                column_of(layout.label),
                format!("{msg} (field {})", layout.label + 1),
            )
        })?;
        let id = match layout.id {
            Some(i) => fields[i].trim().to_string(),
            None => examples.len().to_string(),
        };
        examples.push(Example::new(
            id,
            fields[layout.text_a].to_string(),
            layout.text_b.map(|i| fields[i].to_string()),
            label,
        ));
    }
    if examples.is_empty() {
        return Err(TaskError::data_file(
            path,
            "no examples after the header; expected at least one",
        ));
    }
    Ok((examples, skipped))
}

/// Splits on `\n`, dropping a trailing `\r`; yields 1-based line numbers.
fn split_lines(bytes: &[u8]) -> Vec<(usize, &[u8])> {
    let mut out: Vec<(usize, &[u8])> = bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix(b"\r").unwrap_or(l)))
        .collect();
    if bytes.ends_with(b"\n") {
        out.pop();
    }
    out
}

/// Decodes one line as UTF-8, pointing at the first bad byte when it is not.
fn decode<'a>(path: &Path, line_no: usize, raw: &'a [u8]) -> Result<&'a str, TaskError> {
    std::str::from_utf8(raw).map_err(|e| {
        let valid = &raw[..e.valid_up_to()];
        let column = String::from_utf8_lossy(valid).chars().count() + 1;
        TaskError::data(
            path,
            line_no,
            column,
            format!(
                "invalid UTF-8 (byte 0x{:02x}); expected UTF-8 text",
                raw[e.valid_up_to()]
            ),
        )
    })
}

fn resolve_header(
    path: &Path,
    line_no: usize,
    names: &[&str],
    source: &Source,
) -> Result<Layout, TaskError> {
    let find = |col: &Column| -> Result<usize, TaskError> {
        match col {
            Column::Index(i) if *i < names.len() => Ok(*i),
            Column::Index(i) => Err(TaskError::data(
                path,
                line_no,
                1,
                format!(
                    "the spec refers to column #{i}, but the header has only {} columns",
                    names.len()
                ),
            )),
            Column::Name(name) => names.iter().position(|n| n.trim() == name).ok_or_else(|| {
                TaskError::data(
                    path,
                    line_no,
                    1,
                    format!(
                        "no column `{name}` in the header; expected it among {}",
                        one_of(names)
                    ),
                )
            }),
        }
    };
    let required = |col: &Option<Column>, what: &str| -> Result<usize, TaskError> {
        match col {
            Some(c) => find(c),
            None => Err(TaskError::data_file(
                path,
                format!("the task spec names no `{what}` column"),
            )),
        }
    };
    Ok(Layout {
        text_a: required(&source.text_a, "text_a")?,
        text_b: source.text_b.as_ref().map(find).transpose()?,
        label: required(&source.label, "label")?,
        id: source.id.as_ref().map(find).transpose()?,
        fields: Some(names.len()),
        min_fields: names.len(),
    })
}
