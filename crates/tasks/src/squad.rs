//! SQuAD v1.1 and v2.0 files (`{"version", "data": [{"title", "paragraphs": [{"context",
//! "qas": [...]}]}]}`) read into typed questions.
//!
//! Each question keeps its paragraph's context shared (`Arc<str>`, plus the paragraph's index,
//! so a tokenizer can encode every context once), its gold answers with their character offsets
//! and whether it is unanswerable (`is_impossible`, absent in v1.1 and then `false`).
//! `plausible_answers` (v2.0's distractor spans) and other unknown keys are ignored.
//!
//! `answer_start` counts Unicode code points (Python `str` indices), not UTF-8 bytes. Every gold
//! answer is checked against its context, so a file whose offsets were computed in bytes (or for
//! another context) is an error naming the question instead of a silently wrong label.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use crate::error::TaskError;
use crate::example::CharSpan;

/// One SQuAD file: its paragraphs and its questions in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct SquadDataset {
    /// The file's `version` string (`"v2.0"`, `"1.1"`), when it has one.
    pub version: Option<String>,
    /// Every paragraph, in file order; [`SquadQuestion::paragraph`] indexes this.
    pub paragraphs: Vec<SquadParagraph>,
    /// Every question, in file order (the order of the official evaluation script's output).
    pub questions: Vec<SquadQuestion>,
}

/// One paragraph: the article title and the context its questions are about.
#[derive(Debug, Clone, PartialEq)]
pub struct SquadParagraph {
    /// The article's `title`.
    pub title: Arc<str>,
    /// The paragraph's `context`.
    pub context: Arc<str>,
}

/// One question with its gold answers.
#[derive(Debug, Clone, PartialEq)]
pub struct SquadQuestion {
    /// The question id (unique within the file; predictions files are keyed by it).
    pub id: String,
    /// Index of the paragraph in [`SquadDataset::paragraphs`].
    pub paragraph: usize,
    /// The article's title (shared with the paragraph).
    pub title: Arc<str>,
    /// The paragraph's context (shared with the paragraph and its other questions).
    pub context: Arc<str>,
    /// The question text, as in the file (not stripped).
    pub question: String,
    /// The gold answers, in file order (several on dev files, duplicates kept; none when the
    /// question is unanswerable).
    pub answers: Vec<SquadAnswer>,
    /// SQuAD 2.0's `is_impossible`; `false` when the key is absent (v1.1).
    pub is_impossible: bool,
}

/// One gold answer: its text and where it starts in the context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SquadAnswer {
    /// The answer text, exactly as in the file.
    pub text: String,
    /// `answer_start`: offset of the answer's first character in the context, in code points.
    pub answer_start: usize,
    /// The same offset in UTF-8 bytes (for slicing the Rust `&str`).
    pub byte_start: usize,
}

impl SquadAnswer {
    /// The answer's code-point span in the context (`answer_start .. answer_start + len`).
    pub fn char_span(&self) -> CharSpan {
        CharSpan::new(
            self.answer_start,
            self.answer_start + self.text.chars().count(),
        )
    }
}

impl SquadQuestion {
    /// Whether the question has at least one gold answer (what the official evaluation script
    /// calls `has_ans`: it looks at `answers`, not at `is_impossible`).
    pub fn has_answer(&self) -> bool {
        !self.answers.is_empty()
    }
}

impl SquadDataset {
    /// Number of questions with at least one gold answer.
    pub fn answerable(&self) -> usize {
        self.questions.iter().filter(|q| q.has_answer()).count()
    }

    /// Number of questions marked `is_impossible`.
    pub fn unanswerable(&self) -> usize {
        self.questions.iter().filter(|q| q.is_impossible).count()
    }
}

#[derive(Deserialize)]
struct RawFile {
    #[serde(default)]
    version: Option<String>,
    data: Vec<RawArticle>,
}

#[derive(Deserialize)]
struct RawArticle {
    // Hand-made files sometimes leave the title out; nothing downstream needs it.
    #[serde(default)]
    title: String,
    paragraphs: Vec<RawParagraph>,
}

#[derive(Deserialize)]
struct RawParagraph {
    context: String,
    qas: Vec<RawQuestion>,
}

#[derive(Deserialize)]
struct RawQuestion {
    id: String,
    question: String,
    answers: Vec<RawAnswer>,
    #[serde(default)]
    is_impossible: bool,
}

#[derive(Deserialize)]
struct RawAnswer {
    text: String,
    answer_start: usize,
}

/// One example per question, in order: the question as `text_a`, the context as `text_b`,
/// label 1 when the question has an answer and 0 when it is unanswerable, and the article's
/// title as metadata. The QA features and scores use the dataset itself; these examples are
/// what every task shares (counts, ids, `data check`).
pub fn examples(dataset: &SquadDataset) -> Vec<crate::Example> {
    dataset
        .questions
        .iter()
        .map(|q| {
            let mut e = crate::Example::new(
                q.id.clone(),
                q.question.clone(),
                Some(q.context.to_string()),
                crate::Label::Class(usize::from(q.has_answer())),
            );
            e.meta.insert("title".into(), q.title.to_string());
            e
        })
        .collect()
}

/// Reads a SQuAD v1.1 or v2.0 JSON file.
///
/// Errors: the file cannot be read; it is not JSON of the SQuAD shape (the error has the line
/// and column and what was expected); a gold answer's `answer_start` does not point at its
/// text in the context, an id occurs twice, or `is_impossible` disagrees with the answers
/// (each names the question id).
pub fn read_squad(path: &Path) -> Result<SquadDataset, TaskError> {
    let bytes = std::fs::read(path).map_err(|source| TaskError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_squad(path, &bytes)
}

/// Parses the bytes of a SQuAD file; `path` is only used in error messages.
pub fn parse_squad(path: &Path, bytes: &[u8]) -> Result<SquadDataset, TaskError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let raw: RawFile = serde_json::from_slice(bytes).map_err(|e| json_error(path, bytes, &e))?;
    let mut dataset = SquadDataset {
        version: raw.version,
        paragraphs: Vec::new(),
        questions: Vec::new(),
    };
    let mut seen: HashSet<String> = HashSet::new();
    for article in raw.data {
        let title: Arc<str> = Arc::from(article.title);
        for paragraph in article.paragraphs {
            let context: Arc<str> = Arc::from(paragraph.context);
            let index = dataset.paragraphs.len();
            dataset.paragraphs.push(SquadParagraph {
                title: Arc::clone(&title),
                context: Arc::clone(&context),
            });
            for qa in paragraph.qas {
                if !seen.insert(qa.id.clone()) {
                    return Err(question_error(
                        path,
                        &qa.id,
                        "the id occurs twice in the file",
                    ));
                }
                let question = checked_question(path, qa, index, &title, &context)?;
                dataset.questions.push(question);
            }
        }
    }
    Ok(dataset)
}

/// Turns a raw question into a typed one, checking every answer against the context.
fn checked_question(
    path: &Path,
    qa: RawQuestion,
    paragraph: usize,
    title: &Arc<str>,
    context: &Arc<str>,
) -> Result<SquadQuestion, TaskError> {
    if qa.is_impossible && !qa.answers.is_empty() {
        return Err(question_error(
            path,
            &qa.id,
            format!(
                "is_impossible is true but it has {} answer(s); expected `\"answers\": []`",
                qa.answers.len()
            ),
        ));
    }
    if !qa.is_impossible && qa.answers.is_empty() {
        return Err(question_error(
            path,
            &qa.id,
            "no answers, but is_impossible is not true; expected at least one answer",
        ));
    }
    let mut answers = Vec::with_capacity(qa.answers.len());
    for answer in qa.answers {
        let byte_start = locate_answer(context, &answer)
            .map_err(|message| question_error(path, &qa.id, message))?;
        answers.push(SquadAnswer {
            text: answer.text,
            answer_start: answer.answer_start,
            byte_start,
        });
    }
    Ok(SquadQuestion {
        id: qa.id,
        paragraph,
        title: Arc::clone(title),
        context: Arc::clone(context),
        question: qa.question,
        answers,
        is_impossible: qa.is_impossible,
    })
}

/// The byte offset of a gold answer, or why its `answer_start` (code points) does not point at
/// its text.
fn locate_answer(context: &str, answer: &RawAnswer) -> Result<usize, String> {
    let start = answer.answer_start;
    // ASCII contexts (most of SQuAD) need no scan: code points and bytes coincide.
    let byte_start = if context.is_ascii() {
        (start <= context.len()).then_some(start)
    } else {
        context
            .char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(context.len()))
            .nth(start)
    };
    let Some(byte_start) = byte_start else {
        return Err(format!(
            "answer {:?} has answer_start {start}, past the end of its context ({} characters)",
            answer.text,
            context.chars().count()
        ));
    };
    let rest = &context[byte_start..];
    if rest.starts_with(answer.text.as_str()) {
        return Ok(byte_start);
    }
    let found: String = rest.chars().take(answer.text.chars().count()).collect();
    let hint = match context.find(answer.text.as_str()) {
        Some(b) => format!(
            "; the text occurs at character {} (byte {b})",
            context[..b].chars().count()
        ),
        None => "; the text does not occur in the context".to_string(),
    };
    Err(format!(
        "answer_start {start} does not point at the answer {:?}: the context has {found:?} there \
         (answer_start counts characters, not bytes){hint}",
        answer.text
    ))
}

fn question_error(path: &Path, id: &str, message: impl Into<String>) -> TaskError {
    TaskError::SquadQuestion {
        path: path.to_path_buf(),
        question_id: id.to_string(),
        message: message.into(),
    }
}

/// A serde_json error as `file:line:column: what was expected, near "…"`.
///
/// serde_json counts the column in bytes; the crate's diagnostics count characters, so the
/// column is converted. The excerpt matters because SQuAD files are often one 40 MB line.
fn json_error(path: &Path, bytes: &[u8], e: &serde_json::Error) -> TaskError {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let what = full.strip_suffix(&suffix).unwrap_or(&full);
    if e.line() == 0 {
        return TaskError::data_file(path, format!("{what}; expected a SQuAD JSON file"));
    }
    let line_start = nth_line_start(bytes, e.line());
    let at = (line_start + e.column()).min(bytes.len());
    let line_bytes = &bytes[line_start..at];
    let column = String::from_utf8_lossy(line_bytes).chars().count().max(1);
    let from = at.saturating_sub(40).max(line_start);
    let excerpt = String::from_utf8_lossy(&bytes[from..at]);
    TaskError::data(
        path,
        e.line(),
        column,
        format!(
            "{what} (expected the SQuAD shape {{\"data\": [{{\"title\", \"paragraphs\": \
             [{{\"context\", \"qas\": [{{\"id\", \"question\", \"answers\": [{{\"text\", \
             \"answer_start\"}}]}}]}}]}}]}}), near {:?}",
            excerpt.trim_start_matches('\u{FFFD}')
        ),
    )
}

/// Byte offset where 1-based line `line` starts.
fn nth_line_start(bytes: &[u8], line: usize) -> usize {
    if line <= 1 {
        return 0;
    }
    bytes
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'\n')
        .nth(line - 2)
        .map_or(bytes.len(), |(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SquadDataset, TaskError> {
        parse_squad(Path::new("t.json"), text.as_bytes())
    }

    #[test]
    fn answer_start_counts_characters_not_bytes() {
        let d = parse(
            r#"{"data":[{"title":"T","paragraphs":[{"context":"Café au lait in Zürich",
            "qas":[{"id":"q1","question":"Where?","answers":[{"text":"Zürich","answer_start":16}]}]}]}]}"#,
        )
        .unwrap();
        let q = &d.questions[0];
        assert!(!q.is_impossible, "v1.1 without is_impossible is answerable");
        assert_eq!(q.answers[0].byte_start, 17);
        assert_eq!(
            q.answers[0].char_span().text(&q.context).as_deref(),
            Some("Zürich")
        );
    }

    #[test]
    fn byte_offset_is_an_error_naming_the_question() {
        let err = parse(
            r#"{"data":[{"title":"T","paragraphs":[{"context":"Café au lait in Zürich",
            "qas":[{"id":"q1","question":"Where?","answers":[{"text":"Zürich","answer_start":17}]}]}]}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("t.json: question q1: answer_start 17"),
            "{err}"
        );
        assert!(err.contains("occurs at character 16"), "{err}");
    }

    #[test]
    fn malformed_json_has_line_column_and_expectation() {
        let err = parse("{\"data\": [{\"title\": \"T\",\n \"paragraphs\": [{\"qas\": []}]}]}")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("t.json:2:"), "{err}");
        assert!(err.contains("missing field `context`"), "{err}");
    }
}
