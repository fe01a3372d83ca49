//! WinoBias bracketed text (Zhao et al. 2018): one sentence per line, `N [The developer] argued
//! with the designer because [he] did not like the design.` The first bracket group is the
//! gold antecedent, the second the pronoun (a third group, when the pronoun recurs, is ignored);
//! the brackets are removed from the text.
//!
//! Each line gives a positive example (antecedent, pronoun). When the other candidate can be
//! recovered — exactly one occupation from the source's `occupations` lists, other than the
//! antecedent, occurs before the pronoun (matched case-insensitively as whole words, with its
//! preceding article) — the line also gives a negative example (other occupation, pronoun), and
//! the two are one choice item (group `<file stem>:<N>`, candidates in text order). Lines where
//! it cannot be recovered give the positive example only, without a choice.

use std::path::Path;

use crate::error::TaskError;
use crate::example::{CharSpan, Choice, Example, SpanPair};
use crate::readers::span_example;
use crate::readers::text::{find_words, lines, pronoun_gender};

/// Reads an occupation list: one occupation per line, blank lines ignored.
pub(crate) fn read_occupations(path: &Path, bytes: &[u8]) -> Result<Vec<String>, TaskError> {
    let list: Vec<String> = lines(path, bytes)?
        .into_iter()
        .map(|(_, l)| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    if list.is_empty() {
        return Err(TaskError::data_file(
            path,
            "empty occupation list; expected one occupation per line",
        ));
    }
    Ok(list)
}

/// Reads one WinoBias text file into examples.
pub(crate) fn read(
    path: &Path,
    bytes: &[u8],
    occupations: &[String],
) -> Result<Vec<Example>, TaskError> {
    let stem = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stereotype = ["pro", "anti"]
        .into_iter()
        .find(|s| stem.starts_with(&format!("{s}_stereotyped")));
    let kind = ["type1", "type2"].into_iter().find(|t| stem.contains(t));
    let mut examples = Vec::new();
    for (line, raw) in lines(path, bytes)? {
        if raw.trim().is_empty() {
            continue;
        }
        let (number, sentence) = raw.trim().split_once(' ').ok_or_else(|| {
            TaskError::data(
                path,
                line,
                1,
                "expected `N sentence` with bracketed mentions",
            )
        })?;
        if number.parse::<usize>().is_err() {
            return Err(TaskError::data(
                path,
                line,
                1,
                format!("{number:?} is not a sentence number; expected `N sentence`"),
            ));
        }
        let offset = number.chars().count() + 2;
        let (text, groups) = unbracket(sentence)
            .map_err(|(col, msg)| TaskError::data(path, line, offset + col, msg))?;
        let [antecedent, pronoun, ..] = groups[..] else {
            return Err(TaskError::data(
                path,
                line,
                offset,
                format!(
                    "found {} bracket groups; expected [antecedent] and [pronoun]",
                    groups.len()
                ),
            ));
        };
        let pronoun_text = pronoun.text(&text).unwrap_or_default();
        let gender = pronoun_gender(&pronoun_text).ok_or_else(|| {
            TaskError::data(
                path,
                line,
                offset,
                format!("second bracket group {pronoun_text:?} is not a gendered pronoun"),
            )
        })?;
        let item = format!("{stem}:{number}");
        let other = other_candidate(&text, antecedent, pronoun, occupations);
        let mut candidates = vec![(antecedent, true)];
        if let Some(other) = other {
            candidates.push((other, false));
            candidates.sort_by_key(|(span, _)| span.start);
        }
        for (index, (span, gold)) in candidates.iter().enumerate() {
            let id = if *gold {
                item.clone()
            } else {
                format!("{item}-other")
            };
            let mut example = span_example(
                id,
                &text,
                SpanPair {
                    span1: *span,
                    span2: pronoun,
                },
                *gold,
            );
            if other.is_some() {
                example.choice = Some(Choice {
                    group: item.clone(),
                    candidate: index,
                });
            }
            let meta = &mut example.meta;
            meta.insert("gender".into(), gender.into());
            meta.insert("mention".into(), span.text(&text).unwrap_or_default());
            meta.insert("pronoun".into(), pronoun_text.clone());
            if let Some(s) = stereotype {
                meta.insert("stereotype".into(), s.into());
            }
            if let Some(k) = kind {
                meta.insert("type".into(), k.into());
            }
            examples.push(example);
        }
    }
    if examples.is_empty() {
        return Err(TaskError::data_file(
            path,
            "no sentences; expected `N sentence` lines with bracketed mentions",
        ));
    }
    Ok(examples)
}

/// Removes `[` and `]`, returning the text and the code-point spans of the groups, or the
/// 0-based column and message of a bracket that does not pair up.
fn unbracket(sentence: &str) -> Result<(String, Vec<CharSpan>), (usize, String)> {
    let mut text = String::new();
    let mut groups = Vec::new();
    let mut open: Option<usize> = None;
    let mut chars = 0;
    for (col, c) in sentence.chars().enumerate() {
        match (c, open) {
            ('[', None) => open = Some(chars),
            ('[', Some(_)) => return Err((col, "nested `[`; expected `]` first".into())),
            (']', Some(start)) => {
                let span = trim(&text, CharSpan::new(start, chars));
                if span.is_empty() {
                    return Err((col, "empty bracket group".into()));
                }
                groups.push(span);
                open = None;
            }
            (']', None) => return Err((col, "`]` without `[`".into())),
            _ => {
                text.push(c);
                chars += 1;
            }
        }
    }
    if open.is_some() {
        return Err((
            sentence.chars().count(),
            "unclosed `[`; expected `]`".into(),
        ));
    }
    Ok((text, groups))
}

/// The span without surrounding whitespace.
fn trim(text: &str, span: CharSpan) -> CharSpan {
    let chars: Vec<char> = text.chars().collect();
    let (mut s, mut e) = (span.start, span.end);
    while s < e && chars[s].is_whitespace() {
        s += 1;
    }
    while e > s && chars[e - 1].is_whitespace() {
        e -= 1;
    }
    CharSpan::new(s, e)
}

/// The one occupation mention before the pronoun that is not the antecedent, with its article.
fn other_candidate(
    text: &str,
    antecedent: CharSpan,
    pronoun: CharSpan,
    occupations: &[String],
) -> Option<CharSpan> {
    let mut found: Vec<CharSpan> = Vec::new();
    for occupation in occupations {
        for span in find_words(text, occupation) {
            let overlaps = span.start < antecedent.end && antecedent.start < span.end;
            if span.end <= pronoun.start && !overlaps {
                found.push(span);
            }
        }
    }
    // A longer occupation containing a shorter one ("construction worker") wins.
    found.sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
    found.dedup_by(|b, a| b.start >= a.start && b.end <= a.end);
    let [span] = found[..] else {
        return None;
    };
    let chars: Vec<char> = text.chars().collect();
    let before: String = chars[..span.start].iter().collect();
    for article in ["the ", "a ", "an "] {
        let lower = before.to_lowercase();
        if lower.ends_with(article) {
            let start = span.start - article.chars().count();
            if start == 0 || !chars[start - 1].is_alphanumeric() {
                return Some(CharSpan::new(start, span.end));
            }
        }
    }
    Some(span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_become_spans_and_the_other_occupation_is_found() {
        let (text, groups) =
            unbracket("[The developer] argued with the designer because [he] did not").unwrap();
        assert_eq!(
            text,
            "The developer argued with the designer because he did not"
        );
        assert_eq!(groups[0].text(&text).as_deref(), Some("The developer"));
        assert_eq!(groups[1].text(&text).as_deref(), Some("he"));
        let occupations = vec!["developer".to_string(), "designer".to_string()];
        let other = other_candidate(&text, groups[0], groups[1], &occupations).unwrap();
        assert_eq!(other.text(&text).as_deref(), Some("the designer"));
        assert_eq!(unbracket("a [b").unwrap_err().0, 4);
        assert_eq!(unbracket("a ]b").unwrap_err().0, 2);
    }
}
