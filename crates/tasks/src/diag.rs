//! Source positions for error messages: byte offsets → `file:line:column` plus a caret snippet.
//!
//! Task specs and manifests are TOML files written by hand; an error that says only "invalid
//! type" is useless in a 200-line manifest. Everything that reports a position goes through here
//! so that every message has the same `path:line:col: message` shape that editors can jump to.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A 1-based line and column (in characters) inside a text file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineCol {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, counted in characters (not bytes).
    pub column: usize,
}

impl LineCol {
    /// Converts a byte offset in `text` into a line and column. Offsets past the end clamp to it.
    pub fn from_offset(text: &str, offset: usize) -> LineCol {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = text[line_start..offset].chars().count() + 1;
        LineCol { line, column }
    }
}

/// A located diagnostic: the file, the position, what went wrong, and the offending line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file the problem is in.
    pub path: PathBuf,
    /// Where in the file, when known.
    pub position: Option<LineCol>,
    /// What was found and what was expected.
    pub message: String,
    /// The source line and a caret underline, when the text is available.
    pub snippet: Option<String>,
}

impl Diagnostic {
    /// A diagnostic for a byte span of `text` (the whole contents of `path`).
    pub fn at_span(
        path: &Path,
        text: &str,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Diagnostic {
        let (position, snippet) = match span {
            Some(span) => {
                let pos = LineCol::from_offset(text, span.start);
                (Some(pos), Some(snippet(text, pos, span)))
            }
            None => (None, None),
        };
        Diagnostic {
            path: path.to_path_buf(),
            position,
            message: message.into(),
            snippet,
        }
    }

    /// A diagnostic at a known line and column, without a snippet.
    pub fn at(path: &Path, position: Option<LineCol>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            path: path.to_path_buf(),
            position,
            message: message.into(),
            snippet: None,
        }
    }

    /// Converts a `toml` parse/deserialize error into a diagnostic pointing at its span.
    pub fn from_toml(path: &Path, text: &str, err: &toml::de::Error) -> Diagnostic {
        let message = err.message().trim_end().replace('\n', " ");
        Diagnostic::at_span(path, text, err.span(), message)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(pos) = self.position {
            write!(f, ":{}:{}", pos.line, pos.column)?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(snippet) = &self.snippet {
            write!(f, "\n{snippet}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// Renders the line holding `pos` with a caret line under `span` (clipped to that line).
fn snippet(text: &str, pos: LineCol, span: Range<usize>) -> String {
    let line_text = text.lines().nth(pos.line - 1).unwrap_or("");
    let gutter = pos.line.to_string();
    let pad = " ".repeat(gutter.len());
    let span_chars = text
        .get(span.clone())
        .map(|s| s.lines().next().unwrap_or("").chars().count())
        .unwrap_or(1)
        .max(1);
    let available = line_text
        .chars()
        .count()
        .saturating_sub(pos.column - 1)
        .max(1);
    let carets = "^".repeat(span_chars.min(available));
    format!(
        "{pad} |\n{gutter} | {line_text}\n{pad} | {}{carets}",
        " ".repeat(pos.column - 1)
    )
}

/// Quotes a list of names for "expected one of …" messages: `` `a`, `b`, `c` ``.
pub fn one_of<I, S>(names: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    names
        .into_iter()
        .map(|n| format!("`{}`", n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_one_based_character_positions() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(
            LineCol::from_offset(text, 0),
            LineCol { line: 1, column: 1 }
        );
        let off = text.find('=').unwrap();
        assert_eq!(
            LineCol::from_offset(text, off),
            LineCol { line: 1, column: 3 }
        );
        let off = text.rfind('=').unwrap();
        assert_eq!(
            LineCol::from_offset(text, off),
            LineCol { line: 2, column: 4 }
        );
        assert_eq!(LineCol::from_offset(text, 10_000).line, 3);
    }

    #[test]
    fn display_has_path_position_message_and_caret() {
        let text = "name = \"x\"\nbatch_size = \"big\"\n";
        let start = text.find("\"big\"").unwrap();
        let d = Diagnostic::at_span(
            Path::new("m.toml"),
            text,
            Some(start..start + 5),
            "expected an integer",
        );
        let s = d.to_string();
        assert!(s.starts_with("m.toml:2:14: expected an integer"), "{s}");
        assert!(s.contains("2 | batch_size = \"big\""), "{s}");
        assert!(s.contains("^^^^^"), "{s}");
    }
}
