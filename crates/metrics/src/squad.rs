//! SQuAD exact match and F1, exactly as the official SQuAD 2.0 evaluation script
//! (`evaluate-v2.0.py`) computes them: [`normalize_answer`], [`get_tokens`],
//! [`compute_exact`], [`compute_f1`], the per-question maximum over gold answers
//! ([`score_question`], the script's `get_raw_scores`) and the printed summary
//! ([`summarize`], its `make_eval_dict` with the HasAns/NoAns split).
//!
//! Python semantics are reproduced, not approximated: `str.lower()` (Unicode, with final
//! sigma), removal of the 32 ASCII characters of `string.punctuation`, the regex
//! `\b(a|an|the)\b` with Python 3 `re`'s Unicode word characters, and `str.split()` on Python's
//! whitespace. Per-question scores are bit-identical to the script's on the real sample
//! (`tests/squad_official.rs`).
//!
//! No no-answer probability threshold is applied (the script's default without
//! `--na-prob-file`, and the MultiBERTs paper's setting).

mod pyunicode;

use std::collections::HashMap;

use crate::MetricError;

/// The official `normalize_answer`: lower-case, remove punctuation, remove the articles
/// `a`/`an`/`the`, collapse whitespace.
///
/// The steps run in the script's order (`white_space_fix(remove_articles(remove_punc(lower(s))))`),
/// which matters: `"The-A"` loses its punctuation first and then both articles.
pub fn normalize_answer(s: &str) -> String {
    // Rust's `to_lowercase` and Python's `str.lower()` both apply Unicode's full lower-case
    // mapping with the final-sigma rule.
    let lower = s.to_lowercase();
    // `string.punctuation` is exactly the ASCII punctuation set.
    let no_punc: String = lower
        .chars()
        .filter(|c| !c.is_ascii_punctuation())
        .collect();
    let no_articles = remove_articles(&no_punc);
    let mut out = String::with_capacity(no_articles.len());
    for word in py_split(&no_articles) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// `re.sub(r"\b(a|an|the)\b", " ", text)`: every maximal run of word characters that is
/// exactly `a`, `an` or `the` becomes one space.
///
/// Why runs: the pattern's letters are all word characters, so a match starts where a word
/// character follows a non-word one (or the start) and ends where one is followed by a non-word
/// one (or the end), i.e. the match is a whole run; alternation backtracking (`a` fails at
/// `\b` in `an`, then `an` is tried) changes nothing about which runs match.
fn remove_articles(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run_start: Option<usize> = None;
    let flush = |out: &mut String, run: &str| {
        if matches!(run, "a" | "an" | "the") {
            out.push(' ');
        } else {
            out.push_str(run);
        }
    };
    for (i, c) in text.char_indices() {
        if pyunicode::is_py_word(c) {
            run_start.get_or_insert(i);
        } else {
            if let Some(start) = run_start.take() {
                flush(&mut out, &text[start..i]);
            }
            out.push(c);
        }
    }
    if let Some(start) = run_start {
        flush(&mut out, &text[start..]);
    }
    out
}

/// Python's `str.split()` without arguments: runs of Python whitespace separate words, and
/// leading or trailing whitespace gives no empty words.
fn py_split(text: &str) -> impl Iterator<Item = &str> {
    text.split(pyunicode::is_py_space).filter(|w| !w.is_empty())
}

/// The official `get_tokens`: the whitespace-separated words of the normalised answer (none
/// for an empty answer).
pub fn get_tokens(s: &str) -> Vec<String> {
    if s.is_empty() {
        return Vec::new();
    }
    py_split(&normalize_answer(s)).map(str::to_string).collect()
}

/// The official `compute_exact`: 1.0 when both answers normalise to the same string, else 0.0.
pub fn compute_exact(a_gold: &str, a_pred: &str) -> f64 {
    exact_normalized(&normalize_answer(a_gold), &normalize_answer(a_pred))
}

/// The official `compute_f1`: the F1 of the two answers' token multisets; when either has no
/// tokens, 1.0 if both have none and 0.0 otherwise.
pub fn compute_f1(a_gold: &str, a_pred: &str) -> f64 {
    f1_tokens(&get_tokens(a_gold), &get_tokens(a_pred))
}

fn exact_normalized(gold: &str, pred: &str) -> f64 {
    if gold == pred { 1.0 } else { 0.0 }
}

/// F1 of two token lists with the script's arithmetic, so results are bit-identical:
/// `precision = 1.0 * num_same / len(pred)`, `recall` likewise, `(2 * p * r) / (p + r)`.
fn f1_tokens<S: AsRef<str>>(gold: &[S], pred: &[S]) -> f64 {
    if gold.is_empty() || pred.is_empty() {
        let same = gold.len() == pred.len();
        return if same { 1.0 } else { 0.0 };
    }
    // `Counter(gold) & Counter(pred)`: the multiset intersection's size.
    let mut counts: HashMap<&str, usize> = HashMap::with_capacity(gold.len());
    for t in gold {
        *counts.entry(t.as_ref()).or_insert(0) += 1;
    }
    let mut num_same = 0usize;
    for t in pred {
        if let Some(n) = counts.get_mut(t.as_ref())
            && *n > 0
        {
            *n -= 1;
            num_same += 1;
        }
    }
    if num_same == 0 {
        return 0.0;
    }
    let precision = num_same as f64 / pred.len() as f64;
    let recall = num_same as f64 / gold.len() as f64;
    (2.0 * precision * recall) / (precision + recall)
}

/// A question's exact match (0 or 1) and F1 (0 to 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SquadScore {
    /// 1.0 when the prediction normalises equal to some gold answer.
    pub exact: f64,
    /// The best token F1 against any gold answer.
    pub f1: f64,
}

/// One question's scores as the official `get_raw_scores` computes them: gold answers that
/// normalise to the empty string are dropped; no gold answers left (an unanswerable question)
/// means the gold is `[""]`, which only the empty prediction matches; then the maximum of
/// exact and of F1 over the gold answers, each taken separately.
pub fn score_question<S: AsRef<str>>(gold_answers: &[S], prediction: &str) -> SquadScore {
    let pred_norm = normalize_answer(prediction);
    let pred_tokens: Vec<&str> = py_split(&pred_norm).collect();
    let mut best = SquadScore {
        exact: 0.0,
        f1: 0.0,
    };
    let mut any_gold = false;
    for gold in gold_answers {
        let gold_norm = normalize_answer(gold.as_ref());
        if gold_norm.is_empty() {
            continue;
        }
        any_gold = true;
        let gold_tokens: Vec<&str> = py_split(&gold_norm).collect();
        best.exact = best.exact.max(exact_normalized(&gold_norm, &pred_norm));
        best.f1 = best.f1.max(f1_tokens(&gold_tokens, &pred_tokens));
    }
    if !any_gold {
        // compute_exact("", pred) and compute_f1("", pred).
        let score = exact_normalized("", &pred_norm);
        let f1 = f1_tokens::<&str>(&[], &pred_tokens);
        best = SquadScore { exact: score, f1 };
    }
    best
}

/// Exact, F1 and count over a subset of questions, in percent as the script prints them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SquadTotals {
    /// Mean exact match × 100.
    pub exact: f64,
    /// Mean F1 × 100.
    pub f1: f64,
    /// Number of questions.
    pub total: usize,
}

/// The official script's printed summary: all questions, and the split into questions with
/// gold answers (`HasAns_*`) and without (`NoAns_*`), each present only when non-empty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SquadSummary {
    /// All questions.
    pub all: SquadTotals,
    /// Questions with at least one gold answer.
    pub has_ans: Option<SquadTotals>,
    /// Questions without gold answers.
    pub no_ans: Option<SquadTotals>,
}

impl SquadSummary {
    /// The summary's keys and values in the order the script prints them (`exact`, `f1`,
    /// `total`, `HasAns_exact`, …, `NoAns_total`); totals as floats.
    pub fn entries(&self) -> Vec<(&'static str, f64)> {
        let mut out = vec![
            ("exact", self.all.exact),
            ("f1", self.all.f1),
            ("total", self.all.total as f64),
        ];
        if let Some(t) = self.has_ans {
            out.extend([
                ("HasAns_exact", t.exact),
                ("HasAns_f1", t.f1),
                ("HasAns_total", t.total as f64),
            ]);
        }
        if let Some(t) = self.no_ans {
            out.extend([
                ("NoAns_exact", t.exact),
                ("NoAns_f1", t.f1),
                ("NoAns_total", t.total as f64),
            ]);
        }
        out
    }
}

/// The script's `make_eval_dict`: per subset `100.0 * sum(scores) / total`, summed in question
/// order as Python 3.11's `sum` does (plain left-to-right addition; Python 3.12 made float
/// `sum` compensated, which can change the last bits).
///
/// `has_answer[i]` says whether question `i` has gold answers (the script's `has_ans`, from
/// `answers`, not `is_impossible`). Errors when the lengths differ or there are no questions
/// (the script divides by zero there).
pub fn summarize(scores: &[SquadScore], has_answer: &[bool]) -> Result<SquadSummary, MetricError> {
    if scores.len() != has_answer.len() {
        return Err(MetricError::Invalid(format!(
            "{} question scores but {} has-answer flags; expected one per question",
            scores.len(),
            has_answer.len()
        )));
    }
    if scores.is_empty() {
        return Err(MetricError::Invalid(
            "no questions to summarise; expected at least one".into(),
        ));
    }
    let totals = |keep: &dyn Fn(bool) -> bool| -> Option<SquadTotals> {
        let (mut exact, mut f1, mut total) = (0.0f64, 0.0f64, 0usize);
        for (s, &h) in scores.iter().zip(has_answer) {
            if keep(h) {
                exact += s.exact;
                f1 += s.f1;
                total += 1;
            }
        }
        (total > 0).then(|| SquadTotals {
            exact: 100.0 * exact / total as f64,
            f1: 100.0 * f1 / total as f64,
            total,
        })
    };
    let all = totals(&|_| true).ok_or_else(|| MetricError::Invalid("no questions".into()))?;
    Ok(SquadSummary {
        all,
        has_ans: totals(&|h| h),
        no_ans: totals(&|h| !h),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_follows_the_script_step_by_step() {
        assert_eq!(normalize_answer("The  Normans!"), "normans");
        // Punctuation goes first, so "The-A" becomes one word "thea", which is no article.
        assert_eq!(normalize_answer("The-A"), "thea");
        assert_eq!(normalize_answer("an apple, a pear"), "apple pear");
        assert_eq!(normalize_answer("theater"), "theater");
        assert_eq!(normalize_answer(""), "");
    }

    /// Inputs whose result depends on Python's Unicode rules (`re`'s `\b` next to combining
    /// marks, Other_Alphabetic marks and circled letters, numerals; `str.split()` on U+001C..F,
    /// NBSP and ideographic space but not on ZWSP; final sigma; `İ`), with the outputs of the
    /// script's `normalize_answer` under Python 3.11.7.
    #[test]
    fn unicode_edge_cases_match_python() {
        let cases = [
            ("The Normans", "normans"),
            ("theater the", "theater"),
            ("A\u{301} b", "\u{301} b"),
            ("the\u{301}x", "\u{301}x"),
            ("the\u{93E}", "\u{93E}"),
            ("the\u{24D0} a", "\u{24D0}"),
            ("a\u{2160}", "a\u{2170}"),
            (
                "\u{39F}\u{394}\u{39F}\u{3A3} \u{3A3}\u{391}\u{3A3}",
                "\u{3BF}\u{3B4}\u{3BF}\u{3C2} \u{3C3}\u{3B1}\u{3C2}",
            ),
            ("\u{130}stanbul the", "i\u{307}stanbul"),
            ("x\u{1C}the\u{1D}y", "x y"),
            ("the\u{A0}end", "end"),
            ("the\u{200B}end", "\u{200B}end"),
            ("an_the", "anthe"),
            ("l'an", "lan"),
            ("a\u{2014}the\u{2014}an", "\u{2014} \u{2014}"),
            ("1st the 2nd", "1st 2nd"),
            ("\u{216B} an", "\u{217B}"),
            ("the\u{345}", "\u{345}"),
            ("the\u{5B0}", "\u{5B0}"),
            ("\u{1C5}a", "\u{1C6}a"),
            ("\u{FB01} the", "\u{FB01}"),
            ("\u{1FBC} the", "\u{1FB3}"),
            ("the\u{3000}a", ""),
            ("\u{2028}the\u{2029}", ""),
        ];
        for (input, python) in cases {
            assert_eq!(normalize_answer(input), python, "input {input:?}");
        }
    }

    #[test]
    fn f1_is_token_multiset_overlap() {
        assert_eq!(compute_f1("the cat sat", "cat cat"), 2.0 * 0.5 * 0.5 / 1.0);
        assert_eq!(compute_f1("", ""), 1.0);
        assert_eq!(compute_f1("", "x"), 0.0);
        assert_eq!(compute_f1("a", ""), 1.0, "\"a\" normalises to no tokens");
    }

    #[test]
    fn unanswerable_gold_matches_only_the_empty_prediction() {
        let none: [&str; 0] = [];
        assert_eq!(
            score_question(&none, ""),
            SquadScore {
                exact: 1.0,
                f1: 1.0
            }
        );
        assert_eq!(
            score_question(&none, "x"),
            SquadScore {
                exact: 0.0,
                f1: 0.0
            }
        );
        // A gold answer that normalises to nothing counts as no gold answer.
        assert_eq!(
            score_question(&["The"], "the"),
            SquadScore {
                exact: 1.0,
                f1: 1.0
            }
        );
    }

    #[test]
    fn summary_errors_on_mismatched_lengths() {
        let s = [SquadScore {
            exact: 1.0,
            f1: 1.0,
        }];
        assert!(summarize(&s, &[]).is_err());
        assert!(summarize(&[], &[]).is_err());
        let sum = summarize(&s, &[false]).unwrap();
        assert_eq!(sum.has_ans, None);
        assert_eq!(sum.entries().len(), 6);
    }
}
