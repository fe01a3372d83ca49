//! GAP coreference TSV (Webster et al. 2018): `ID Text Pronoun Pronoun-offset A A-offset A-coref
//! B B-offset B-coref URL`, offsets in characters into `Text`, `A-coref`/`B-coref` TRUE/FALSE.
//! Each row gives two examples, `<ID>-A` (A, pronoun) and `<ID>-B` (B, pronoun), adjacent.
//!
//! Offsets are checked against the text: they must point at the mention counted in code
//! points. Offsets that only fit when counted in UTF-8 bytes (a file re-saved by a tool that
//! counts bytes) are converted to code points; offsets that fit neither are an error.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::TaskError;
use crate::example::{CharSpan, Example, SpanPair};
use crate::readers::span_example;
use crate::readers::text::{lines, pronoun_gender};

const COLUMNS: &[&str] = &[
    "ID",
    "Text",
    "Pronoun",
    "Pronoun-offset",
    "A",
    "A-offset",
    "A-coref",
    "B",
    "B-offset",
    "B-coref",
];

/// Reads one GAP TSV file into examples.
pub(crate) fn read(path: &Path, bytes: &[u8]) -> Result<Vec<Example>, TaskError> {
    let mut rows = lines(path, bytes)?.into_iter();
    let Some((header_line, header)) = rows.next() else {
        return Err(TaskError::data_file(
            path,
            "empty file; expected a GAP header line and rows",
        ));
    };
    let names: Vec<&str> = header.split('\t').map(str::trim).collect();
    let mut col = BTreeMap::new();
    for want in COLUMNS {
        let i = names.iter().position(|n| n == want).ok_or_else(|| {
            TaskError::data(
                path,
                header_line,
                1,
                format!(
                    "no column `{want}` in the header; a GAP file has {}",
                    crate::diag::one_of(COLUMNS)
                ),
            )
        })?;
        col.insert(*want, i);
    }
    let mut examples = Vec::new();
    for (line, text) in rows {
        if text.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = text.split('\t').collect();
        if fields.len() != names.len() {
            return Err(TaskError::data(
                path,
                line,
                1,
                format!(
                    "expected {} tab-separated fields (as in the header), found {}",
                    names.len(),
                    fields.len()
                ),
            ));
        }
        let field = |name: &str| fields[col[name]];
        let at = |name: &str, msg: String| {
            let i = col[name];
            let column = fields[..i]
                .iter()
                .map(|f| f.chars().count() + 1)
                .sum::<usize>()
                + 1;
            TaskError::data(path, line, column, format!("{msg} (column {name})"))
        };
        let body = field("Text");
        let mention = |word: &str, offset: &str| -> Result<CharSpan, TaskError> {
            let mention = field(word);
            let offset: usize = field(offset).trim().parse().map_err(|_| {
                at(
                    offset,
                    format!("{:?} is not a character offset", field(offset)),
                )
            })?;
            locate(body, mention, offset).ok_or_else(|| {
                at(
                    word,
                    format!(
                        "{mention:?} is not at offset {offset} of the text (in characters or bytes)"
                    ),
                )
            })
        };
        let pronoun = mention("Pronoun", "Pronoun-offset")?;
        let id = field("ID").trim();
        for which in ["A", "B"] {
            let span = mention(which, &format!("{which}-offset"))?;
            let coref_col = format!("{which}-coref");
            let coreferent = match field(&coref_col).trim().to_ascii_uppercase().as_str() {
                "TRUE" => true,
                "FALSE" => false,
                other => {
                    return Err(at(&coref_col, format!("{other:?}; expected TRUE or FALSE")));
                }
            };
            let mut example = span_example(
                format!("{id}-{which}"),
                body,
                SpanPair {
                    span1: span,
                    span2: pronoun,
                },
                coreferent,
            );
            example.meta.insert("gap_id".into(), id.to_string());
            example
                .meta
                .insert("mention".into(), field(which).to_string());
            example
                .meta
                .insert("pronoun".into(), field("Pronoun").to_string());
            if let Some(gender) = pronoun_gender(field("Pronoun")) {
                example.meta.insert("gender".into(), gender.into());
            }
            examples.push(example);
        }
    }
    if examples.is_empty() {
        return Err(TaskError::data_file(
            path,
            "no rows after the header; expected at least one",
        ));
    }
    Ok(examples)
}

/// The code-point span of `mention` at `offset` of `text`: offset in code points, or failing
/// that in UTF-8 bytes.
fn locate(text: &str, mention: &str, offset: usize) -> Option<CharSpan> {
    let len = mention.chars().count();
    if len == 0 {
        return None;
    }
    let by_chars = CharSpan::new(offset, offset + len);
    if by_chars.text(text).as_deref() == Some(mention) {
        return Some(by_chars);
    }
    let end = offset.checked_add(mention.len())?;
    (text.get(offset..end) == Some(mention)).then(|| CharSpan::from_bytes(text, offset, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_offsets_are_converted_to_code_points() {
        let text = "Zoë met Ann; she left.";
        // "she" is at code point 13 and byte 14.
        assert_eq!(locate(text, "she", 13), Some(CharSpan::new(13, 16)));
        assert_eq!(locate(text, "she", 14), Some(CharSpan::new(13, 16)));
        assert_eq!(locate(text, "she", 2), None);
    }
}
