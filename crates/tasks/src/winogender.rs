//! Winogender schemas (Rudinger et al. 2018): `templates.tsv`, `all_sentences.tsv` and
//! `occupations-stats.tsv` → one [`Sentence`] per row of `all_sentences.tsv`, with the
//! code-point spans of the occupation, the other participant and the pronoun.
//!
//! The spans are found from the sentence's template, not by searching the sentence for the
//! words: the template is rendered with the sentence's fillers (occupation, participant or
//! "someone", the pronoun of the sentence's gender and the placeholder's case) and its
//! whitespace tokens are aligned with the sentence's by a longest common subsequence. Each
//! placeholder's token must be aligned, so the few places where the published sentences differ
//! from a literal rendering ("they were" for "$NOM_PRONOUN was", "with someone" for "with a
//! $PARTICIPANT") are tolerated while a filler that is missing or moved is an error naming the
//! file and line.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::TaskError;
use crate::example::{CharSpan, Choice, Example, Label, SpanPair};
use crate::readers::text::{Token, lines, whitespace_tokens};

/// The data root's default folder for the three files.
pub const DEFAULT_DIR: &str = "winogender";

/// The pronoun's grammatical gender, as the upstream coref layout writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Gender {
    /// he / his / him (`male` in the sentence id).
    Masculine,
    /// she / her / her (`female`).
    Feminine,
    /// they / their / them (`neutral`).
    Unknown,
}

impl Gender {
    /// `MASCULINE`, `FEMININE` or `UNKNOWN`.
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Masculine => "MASCULINE",
            Gender::Feminine => "FEMININE",
            Gender::Unknown => "UNKNOWN",
        }
    }

    fn from_sentid(word: &str) -> Option<Gender> {
        match word {
            "male" => Some(Gender::Masculine),
            "female" => Some(Gender::Feminine),
            "neutral" => Some(Gender::Unknown),
            _ => None,
        }
    }
}

/// The case of the pronoun placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PronounType {
    /// `$NOM_PRONOUN`: he / she / they.
    Nom,
    /// `$POSS_PRONOUN`: his / her / their.
    Poss,
    /// `$ACC_PRONOUN`: him / her / them.
    Acc,
}

impl PronounType {
    /// `NOM`, `POSS` or `ACC`.
    pub fn as_str(self) -> &'static str {
        match self {
            PronounType::Nom => "NOM",
            PronounType::Poss => "POSS",
            PronounType::Acc => "ACC",
        }
    }

    /// The pronoun of this case and gender, lower-case.
    pub fn pronoun(self, gender: Gender) -> &'static str {
        match (self, gender) {
            (PronounType::Nom, Gender::Masculine) => "he",
            (PronounType::Nom, Gender::Feminine) => "she",
            (PronounType::Nom, Gender::Unknown) => "they",
            (PronounType::Poss, Gender::Masculine) => "his",
            (PronounType::Poss, Gender::Feminine) => "her",
            (PronounType::Poss, Gender::Unknown) => "their",
            (PronounType::Acc, Gender::Masculine) => "him",
            (PronounType::Acc, Gender::Feminine) => "her",
            (PronounType::Acc, Gender::Unknown) => "them",
        }
    }
}

/// One row of `templates.tsv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The occupation word (column `occupation(0)`).
    pub occupation: String,
    /// The other participant word (column `other-participant(1)`).
    pub participant: String,
    /// The correct referent of the pronoun: 0 = occupation, 1 = participant.
    pub answer: usize,
    /// The sentence with `$OCCUPATION`, `$PARTICIPANT` and one pronoun placeholder.
    pub sentence: String,
    /// The case of the template's pronoun placeholder.
    pub pronoun_type: PronounType,
}

/// One Winogender sentence with its metadata and the spans of its three mentions.
#[derive(Debug, Clone, PartialEq)]
pub struct Sentence {
    /// The id from `all_sentences.tsv` (`technician.customer.1.male.txt`).
    pub sentid: String,
    /// The sentence.
    pub text: String,
    /// The occupation word.
    pub occupation: String,
    /// The template's other participant word (also when the sentence says "someone").
    pub participant: String,
    /// Whether the sentence says "someone" instead of the participant.
    pub someone: bool,
    /// The correct referent: 0 = occupation, 1 = participant.
    pub answer: usize,
    /// The pronoun's gender.
    pub gender: Gender,
    /// The pronoun's case.
    pub pronoun_type: PronounType,
    /// The 0-based row of the sentence's template in `templates.tsv` (0..119).
    pub template_idx: usize,
    /// Span of the occupation word.
    pub occupation_span: CharSpan,
    /// Span of the participant word (or of "someone").
    pub participant_span: CharSpan,
    /// Span of the pronoun.
    pub pronoun_span: CharSpan,
}

/// One row of `occupations-stats.tsv`.
#[derive(Debug, Clone, PartialEq)]
pub struct OccupationStat {
    /// The occupation word, as in the templates.
    pub occupation: String,
    /// Share of women (%) in Bergsma & Lin's text statistics.
    pub bergsma_pct_female: f64,
    /// Share of women (%) in the US Bureau of Labor Statistics figures.
    pub bls_pct_female: f64,
    /// The BLS year.
    pub bls_year: String,
}

/// Reads `templates.tsv` (header + 120 rows).
pub fn read_templates(path: &Path) -> Result<Vec<Template>, TaskError> {
    let bytes = read(path)?;
    let rows = rows(
        path,
        &bytes,
        &[
            "occupation(0)",
            "other-participant(1)",
            "answer",
            "sentence",
        ],
    )?;
    let mut out = Vec::new();
    for (line, fields) in rows {
        let answer = match fields[2] {
            "0" => 0,
            "1" => 1,
            other => {
                return Err(TaskError::data(
                    path,
                    line,
                    column(&fields, 2),
                    format!("answer {other:?}; expected 0 (occupation) or 1 (participant)"),
                ));
            }
        };
        let sentence = fields[3];
        let mut types = Vec::new();
        for (placeholder, kind) in [
            ("$NOM_PRONOUN", PronounType::Nom),
            ("$POSS_PRONOUN", PronounType::Poss),
            ("$ACC_PRONOUN", PronounType::Acc),
        ] {
            types.extend(std::iter::repeat_n(
                kind,
                sentence.matches(placeholder).count(),
            ));
        }
        let [pronoun_type] = types[..] else {
            return Err(TaskError::data(
                path,
                line,
                column(&fields, 3),
                format!(
                    "found {} pronoun placeholders; expected exactly one of $NOM_PRONOUN, $POSS_PRONOUN, $ACC_PRONOUN",
                    types.len()
                ),
            ));
        };
        for placeholder in ["$OCCUPATION", "$PARTICIPANT"] {
            if sentence.matches(placeholder).count() != 1 {
                return Err(TaskError::data(
                    path,
                    line,
                    column(&fields, 3),
                    format!("expected {placeholder} exactly once in the template"),
                ));
            }
        }
        out.push(Template {
            occupation: fields[0].to_string(),
            participant: fields[1].to_string(),
            answer,
            sentence: sentence.to_string(),
            pronoun_type,
        });
    }
    Ok(out)
}

/// Reads `occupations-stats.tsv` (header + one row per occupation), in file order.
pub fn read_occupation_stats(path: &Path) -> Result<Vec<OccupationStat>, TaskError> {
    let bytes = read(path)?;
    let rows = rows(
        path,
        &bytes,
        &[
            "occupation",
            "bergsma_pct_female",
            "bls_pct_female",
            "bls_year",
        ],
    )?;
    let mut out = Vec::new();
    for (line, fields) in rows {
        let pct = |i: usize| -> Result<f64, TaskError> {
            match fields[i].trim().parse::<f64>() {
                Ok(v) if (0.0..=100.0).contains(&v) => Ok(v),
                _ => Err(TaskError::data(
                    path,
                    line,
                    column(&fields, i),
                    format!("{:?}; expected a percentage between 0 and 100", fields[i]),
                )),
            }
        };
        out.push(OccupationStat {
            occupation: fields[0].to_string(),
            bergsma_pct_female: pct(1)?,
            bls_pct_female: pct(2)?,
            bls_year: fields[3].to_string(),
        });
    }
    Ok(out)
}

/// The BLS share of women (%) per occupation, in file order, from
/// `<root>/winogender/occupations-stats.tsv` (`root` is the data root): the x of bias r.
pub fn occupation_stats(root: &Path) -> Result<Vec<(String, f64)>, TaskError> {
    let path = root.join(DEFAULT_DIR).join("occupations-stats.tsv");
    Ok(read_occupation_stats(&path)?
        .into_iter()
        .map(|s| (s.occupation, s.bls_pct_female))
        .collect())
}

/// Reads `all_sentences.tsv` against its templates: one [`Sentence`] per row, in file order.
pub fn read_sentences(path: &Path, templates: &[Template]) -> Result<Vec<Sentence>, TaskError> {
    let bytes = read(path)?;
    let rows = rows(path, &bytes, &["sentid", "sentence"])?;
    let mut by_key: BTreeMap<(&str, usize), Vec<usize>> = BTreeMap::new();
    for (i, t) in templates.iter().enumerate() {
        by_key.entry((&t.occupation, t.answer)).or_default().push(i);
    }
    let mut out = Vec::new();
    for (line, fields) in rows {
        let (sentid, text) = (fields[0].trim(), fields[1]);
        let bad_id = |what: &str| {
            TaskError::data(
                path,
                line,
                1,
                format!(
                    "sentence id {sentid:?}: {what}; expected occupation.participant.answer.gender.txt"
                ),
            )
        };
        let parts: Vec<&str> = sentid.split('.').collect();
        let [occupation, participant, answer, gender, "txt"] = parts[..] else {
            return Err(bad_id("not five dot-separated parts ending in `txt`"));
        };
        let answer: usize = match answer {
            "0" => 0,
            "1" => 1,
            _ => return Err(bad_id("the answer is not 0 or 1")),
        };
        let gender =
            Gender::from_sentid(gender).ok_or_else(|| bad_id("gender not male/female/neutral"))?;
        let template_idx = match by_key.get(&(occupation, answer)).map(Vec::as_slice) {
            Some([i]) => *i,
            Some(many) => {
                return Err(bad_id(&format!(
                    "{} templates have occupation {occupation:?} and answer {answer}",
                    many.len()
                )));
            }
            None => return Err(bad_id("no template has this occupation and answer")),
        };
        let template = &templates[template_idx];
        let someone = participant == "someone" && template.participant != "someone";
        if !someone && participant != template.participant {
            return Err(bad_id(&format!(
                "participant {participant:?} is neither the template's {:?} nor \"someone\"",
                template.participant
            )));
        }
        let pronoun = template.pronoun_type.pronoun(gender);
        let spans = locate(template, someone, pronoun, text).map_err(|role| {
            TaskError::data(
                path,
                line,
                column(&fields, 1),
                format!(
                    "cannot find the {role} of template {} (templates.tsv row {}) in this sentence; expected the template rendered with occupation {:?}, participant {:?}, pronoun {pronoun:?}",
                    template_idx,
                    template_idx + 2,
                    template.occupation,
                    if someone { "someone" } else { &template.participant },
                ),
            )
        })?;
        out.push(Sentence {
            sentid: sentid.to_string(),
            text: text.to_string(),
            occupation: template.occupation.clone(),
            participant: template.participant.clone(),
            someone,
            answer,
            gender,
            pronoun_type: template.pronoun_type,
            template_idx,
            occupation_span: spans[0],
            participant_span: spans[1],
            pronoun_span: spans[2],
        });
    }
    Ok(out)
}

/// Two span-pair examples per sentence, adjacent, in sentence order: (occupation, pronoun) as
/// candidate 0 and (participant, pronoun) as candidate 1, grouped by sentid; the correct
/// candidate is labelled "1". `stats` adds `bls_pct_female` to the metadata when it lists the
/// occupation.
pub fn examples(sentences: &[Sentence], stats: &[(String, f64)]) -> Vec<Example> {
    let mut out = Vec::with_capacity(sentences.len() * 2);
    for s in sentences {
        let mut meta = BTreeMap::new();
        meta.insert("sentid".to_string(), s.sentid.clone());
        meta.insert("gender".to_string(), s.gender.as_str().to_string());
        meta.insert(
            "pronoun_type".to_string(),
            s.pronoun_type.as_str().to_string(),
        );
        meta.insert("answer".to_string(), s.answer.to_string());
        meta.insert("occupation".to_string(), s.occupation.clone());
        meta.insert("participant".to_string(), s.participant.clone());
        meta.insert(
            "someone".to_string(),
            if s.someone { "True" } else { "False" }.to_string(),
        );
        meta.insert("template_idx".to_string(), s.template_idx.to_string());
        if let Some((_, pct)) = stats.iter().find(|(o, _)| *o == s.occupation) {
            meta.insert("bls_pct_female".to_string(), pct.to_string());
        }
        for (candidate, span) in [s.occupation_span, s.participant_span]
            .into_iter()
            .enumerate()
        {
            out.push(Example {
                id: format!("{}#{candidate}", s.sentid),
                text_a: s.text.clone(),
                text_b: None,
                label: Label::Class(usize::from(candidate == s.answer)),
                spans: Some(SpanPair {
                    span1: span,
                    span2: s.pronoun_span,
                }),
                choice: Some(Choice {
                    group: s.sentid.clone(),
                    candidate,
                }),
                meta: meta.clone(),
            });
        }
    }
    out
}

/// The spans of (occupation, participant, pronoun) in `text`, or the role that could not be
/// aligned.
fn locate(
    template: &Template,
    someone: bool,
    pronoun: &str,
    text: &str,
) -> Result<[CharSpan; 3], &'static str> {
    let (rendered, spans) = render(template, someone, pronoun);
    let ours = whitespace_tokens(&rendered);
    let theirs = whitespace_tokens(text);
    let pairs = align(&ours, &theirs);
    let roles = ["occupation", "participant", "pronoun"];
    let mut out = [CharSpan::new(0, 0); 3];
    for (k, span) in spans.iter().enumerate() {
        let token = ours
            .iter()
            .position(|t| t.span.start <= span.start && span.end <= t.span.end)
            .ok_or(roles[k])?;
        let matched = pairs[token].ok_or(roles[k])?;
        let shift = theirs[matched].span.start;
        let start = span.start - ours[token].span.start;
        out[k] = CharSpan::new(shift + start, shift + start + span.len());
    }
    Ok(out)
}

/// Renders a template: placeholders replaced, "someone" replacing the participant together
/// with its article, the first letter capitalised. Returns the text and the code-point spans
/// of (occupation, participant, pronoun).
fn render(template: &Template, someone: bool, pronoun: &str) -> (String, [CharSpan; 3]) {
    let mut out = String::new();
    let mut spans = [CharSpan::new(0, 0); 3];
    let mut rest = template.sentence.as_str();
    let placeholders = [
        ("$OCCUPATION", 0),
        ("$PARTICIPANT", 1),
        ("$NOM_PRONOUN", 2),
        ("$POSS_PRONOUN", 2),
        ("$ACC_PRONOUN", 2),
    ];
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let Some(&(name, role)) = placeholders.iter().find(|(p, _)| tail.starts_with(p)) else {
            out.push('$');
            rest = &tail[1..];
            continue;
        };
        let mut word = match role {
            0 => template.occupation.clone(),
            1 if someone => {
                let mut capital = out.is_empty();
                for article in ["the ", "The ", "a ", "A ", "an ", "An "] {
                    if out.ends_with(article)
                        && out[..out.len() - article.len()]
                            .chars()
                            .last()
                            .is_none_or(char::is_whitespace)
                    {
                        out.truncate(out.len() - article.len());
                        capital = article.starts_with(char::is_uppercase);
                        break;
                    }
                }
                if capital { "Someone" } else { "someone" }.to_string()
            }
            1 => template.participant.clone(),
            _ => pronoun.to_string(),
        };
        if out.is_empty() {
            word = capitalize(&word);
        }
        let start = out.chars().count();
        out.push_str(&word);
        spans[role] = CharSpan::new(start, start + word.chars().count());
        rest = &tail[name.len()..];
    }
    out.push_str(rest);
    (capitalize(&out), spans)
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Longest-common-subsequence alignment of two token lists (tokens equal as strings): for each
/// token of `a`, the index of its partner in `b`, if any.
fn align(a: &[Token<'_>], b: &[Token<'_>]) -> Vec<Option<usize>> {
    let (n, m) = (a.len(), b.len());
    let mut table = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            table[i][j] = if a[i].text == b[j].text {
                table[i + 1][j + 1] + 1
            } else {
                table[i + 1][j].max(table[i][j + 1])
            };
        }
    }
    let mut out = vec![None; n];
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if a[i].text == b[j].text {
            out[i] = Some(j);
            i += 1;
            j += 1;
        } else if table[i + 1][j] >= table[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

fn read(path: &Path) -> Result<Vec<u8>, TaskError> {
    std::fs::read(path).map_err(|source| TaskError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The data rows of a headed TSV whose header must be exactly `header`.
fn rows<'a>(
    path: &Path,
    bytes: &'a [u8],
    header: &[&str],
) -> Result<Vec<(usize, Vec<&'a str>)>, TaskError> {
    let mut all = lines(path, bytes)?.into_iter();
    let Some((line, first)) = all.next() else {
        return Err(TaskError::data_file(
            path,
            format!("empty file; expected the header {}", header.join("\\t")),
        ));
    };
    let names: Vec<&str> = first.split('\t').map(str::trim).collect();
    if names != header {
        return Err(TaskError::data(
            path,
            line,
            1,
            format!(
                "header {:?}; expected the columns {}",
                names,
                crate::diag::one_of(header)
            ),
        ));
    }
    let mut out = Vec::new();
    for (line, text) in all {
        if text.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = text.split('\t').collect();
        if fields.len() != header.len() {
            return Err(TaskError::data(
                path,
                line,
                1,
                format!(
                    "expected {} tab-separated fields, found {}",
                    header.len(),
                    fields.len()
                ),
            ));
        }
        out.push((line, fields));
    }
    if out.is_empty() {
        return Err(TaskError::data_file(
            path,
            "no rows after the header; expected at least one",
        ));
    }
    Ok(out)
}

/// 1-based character column where field `i` starts.
fn column(fields: &[&str], i: usize) -> usize {
    fields[..i]
        .iter()
        .map(|f| f.chars().count() + 1)
        .sum::<usize>()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(sentence: &str) -> Template {
        Template {
            occupation: "technician".into(),
            participant: "customer".into(),
            answer: 1,
            sentence: sentence.into(),
            pronoun_type: PronounType::Nom,
        }
    }

    #[test]
    fn someone_replaces_the_participant_with_its_article() {
        let t = template("The $PARTICIPANT told the $OCCUPATION that $NOM_PRONOUN was late.");
        let (text, spans) = render(&t, true, "they");
        assert_eq!(text, "Someone told the technician that they was late.");
        assert_eq!(spans[1].text(&text).as_deref(), Some("Someone"));
        assert_eq!(spans[0].text(&text).as_deref(), Some("technician"));
        assert_eq!(spans[2].text(&text).as_deref(), Some("they"));
    }

    #[test]
    fn alignment_tolerates_agreement_edits_but_not_a_missing_filler() {
        let t = template("The $OCCUPATION told the $PARTICIPANT that $NOM_PRONOUN was late.");
        let text = "The technician told the customer that they were late.";
        let spans = locate(&t, false, "they", text).unwrap();
        let words: Vec<String> = spans.iter().map(|s| s.text(text).unwrap()).collect();
        assert_eq!(words, ["technician", "customer", "they"]);
        let err = locate(
            &t,
            false,
            "she",
            "The technician told the customer that he was late.",
        );
        assert_eq!(err, Err("pronoun"));
    }
}
