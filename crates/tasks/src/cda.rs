//! Counterfactual data augmentation (CDA; Zhao et al. 2018, Webster et al. 2020): every
//! training example gets a twin in which gendered words are swapped in both directions, so a
//! model cannot learn an association between gender and, say, an occupation.
//!
//! What is swapped ([`swap_text`]):
//! - the word pairs of [`WORD_PAIRS`] (he↔she, him/his↔her, himself↔herself, man↔woman,
//!   Mr↔Mrs, …), both directions, matched case-insensitively as whole words (maximal runs of
//!   letters, so `he's` swaps its `he`), keeping the case pattern (`he`/`He`/`HE`);
//! - first names: the pairs of [`NAME_PAIRS`] (common US first names, one male and one female
//!   per pair), swapped both directions and only when capitalised. Names not on the list are
//!   kept as they are (they are not anonymised), which is documented as a limitation: GAP's
//!   many uncommon names keep their gender;
//! - `her` is ambiguous (him or his) and `his` is too (her or hers). The rule looks at the next
//!   word: when the text ends, punctuation follows, or the next word is a function word or an
//!   adverb in `-ly` ([`OBJECT_FOLLOWERS`]), `her` is an object (→ `him`) and `his` stands alone
//!   (→ `hers`); otherwise a noun phrase follows and `her` → `his`, `his` → `her`.
//!
//! Spans stay correct: every character offset is mapped through the swaps (lengths change, e.g.
//! `he` → `she`), so a span covering a swapped word covers its replacement. Labels, choice
//! items and metadata carry over; `meta.gender` flips MASCULINE ↔ FEMININE and the twin's id
//! and choice group get the suffix `-cda`.

use std::collections::BTreeMap;

use crate::example::{CharSpan, Example, SpanPair};

/// Gendered word pairs (male, female), lower-case. `him`, `her`, `his` and `hers` are handled
/// by the context rule described in the module documentation and are not listed.
pub const WORD_PAIRS: &[(&str, &str)] = &[
    ("he", "she"),
    ("himself", "herself"),
    ("man", "woman"),
    ("men", "women"),
    ("boy", "girl"),
    ("boys", "girls"),
    ("father", "mother"),
    ("fathers", "mothers"),
    ("dad", "mom"),
    ("daddy", "mommy"),
    ("son", "daughter"),
    ("sons", "daughters"),
    ("brother", "sister"),
    ("brothers", "sisters"),
    ("husband", "wife"),
    ("husbands", "wives"),
    ("boyfriend", "girlfriend"),
    ("boyfriends", "girlfriends"),
    ("uncle", "aunt"),
    ("uncles", "aunts"),
    ("nephew", "niece"),
    ("nephews", "nieces"),
    ("grandfather", "grandmother"),
    ("grandson", "granddaughter"),
    ("king", "queen"),
    ("kings", "queens"),
    ("prince", "princess"),
    ("gentleman", "lady"),
    ("gentlemen", "ladies"),
    ("male", "female"),
    ("males", "females"),
    ("mr", "mrs"),
    ("sir", "madam"),
    ("actor", "actress"),
    ("actors", "actresses"),
    ("waiter", "waitress"),
    ("waiters", "waitresses"),
    ("widower", "widow"),
    ("fiance", "fiancee"),
];

/// One-directional extras: female forms without a unique male partner map to one.
const FEMALE_ONLY: &[(&str, &str)] = &[("ms", "mr"), ("miss", "mr")];

/// First-name pairs (male, female), swapped both directions when capitalised.
pub const NAME_PAIRS: &[(&str, &str)] = &[
    ("James", "Mary"),
    ("John", "Patricia"),
    ("Robert", "Jennifer"),
    ("Michael", "Linda"),
    ("William", "Elizabeth"),
    ("David", "Barbara"),
    ("Richard", "Susan"),
    ("Joseph", "Jessica"),
    ("Thomas", "Sarah"),
    ("Charles", "Karen"),
    ("Christopher", "Nancy"),
    ("Daniel", "Lisa"),
    ("Matthew", "Margaret"),
    ("Anthony", "Betty"),
    ("Donald", "Sandra"),
    ("Mark", "Ashley"),
    ("Paul", "Dorothy"),
    ("Steven", "Kimberly"),
    ("Andrew", "Emily"),
    ("Kenneth", "Donna"),
    ("George", "Michelle"),
    ("Joshua", "Carol"),
    ("Kevin", "Amanda"),
    ("Brian", "Melissa"),
    ("Edward", "Deborah"),
    ("Peter", "Anna"),
    ("Henry", "Alice"),
    ("Jack", "Emma"),
    ("Frank", "Helen"),
    ("Harry", "Rose"),
];

/// Words after which `her` is an object (→ `him`) and `his` stands alone (→ `hers`).
pub const OBJECT_FOLLOWERS: &[&str] = &[
    "a",
    "about",
    "across",
    "after",
    "again",
    "against",
    "ahead",
    "all",
    "alone",
    "along",
    "also",
    "although",
    "an",
    "and",
    "any",
    "anyway",
    "are",
    "around",
    "as",
    "at",
    "away",
    "back",
    "be",
    "because",
    "been",
    "before",
    "behind",
    "below",
    "beside",
    "between",
    "beyond",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "down",
    "during",
    "every",
    "for",
    "from",
    "had",
    "has",
    "have",
    "her",
    "here",
    "him",
    "his",
    "how",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "just",
    "last",
    "many",
    "more",
    "much",
    "my",
    "near",
    "never",
    "next",
    "no",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "onto",
    "one",
    "or",
    "our",
    "out",
    "over",
    "should",
    "since",
    "so",
    "some",
    "soon",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "though",
    "through",
    "to",
    "today",
    "tomorrow",
    "too",
    "toward",
    "towards",
    "twice",
    "under",
    "until",
    "up",
    "upon",
    "very",
    "was",
    "we",
    "well",
    "were",
    "what",
    "when",
    "where",
    "whether",
    "which",
    "while",
    "who",
    "why",
    "will",
    "with",
    "within",
    "without",
    "would",
    "yesterday",
    "yet",
    "you",
    "your",
];

/// The counterfactual of `text`: swapped text and, for every code-point boundary `0..=n` of
/// the original, its position in the swapped text.
fn swap_with_map(text: &str) -> (String, Vec<usize>) {
    let words = word_map();
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    let mut out_len = 0;
    let mut map = Vec::with_capacity(chars.len() + 1);
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_alphabetic() {
            map.push(out_len);
            out.push(chars[i]);
            out_len += 1;
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_alphabetic() {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        let replacement = replacement(&word, &chars[i..], &words).unwrap_or_else(|| word.clone());
        let new_len = replacement.chars().count();
        for k in 0..(i - start) {
            map.push(out_len + k.min(new_len));
        }
        out.push_str(&replacement);
        out_len += new_len;
    }
    map.push(out_len);
    (out, map)
}

/// The counterfactual of a text (see the module documentation for the rules).
pub fn swap_text(text: &str) -> String {
    swap_with_map(text).0
}

/// The counterfactual twin of one example, or `None` when swapping changes nothing.
pub fn counterfactual(example: &Example) -> Option<Example> {
    let (text_a, map) = swap_with_map(&example.text_a);
    let text_b = example.text_b.as_deref().map(swap_text);
    if text_a == example.text_a && text_b == example.text_b {
        return None;
    }
    let remap = |s: CharSpan| {
        let at = |p: usize| map.get(p).copied().unwrap_or(p);
        CharSpan::new(at(s.start), at(s.end))
    };
    let mut meta = example.meta.clone();
    if let Some(gender) = meta.get_mut("gender") {
        match gender.as_str() {
            "MASCULINE" => *gender = "FEMININE".to_string(),
            "FEMININE" => *gender = "MASCULINE".to_string(),
            _ => {}
        }
    }
    meta.insert("cda".to_string(), "counterfactual".to_string());
    Some(Example {
        id: format!("{}-cda", example.id),
        text_a,
        text_b,
        label: example.label,
        spans: example.spans.map(|p| SpanPair {
            span1: remap(p.span1),
            span2: remap(p.span2),
        }),
        choice: example.choice.clone().map(|mut c| {
            c.group.push_str("-cda");
            c
        }),
        meta,
    })
}

/// The examples followed by the counterfactual twins of those that have one, both in input
/// order (a deterministic order; the trainer shuffles anyway).
pub fn augment(examples: &[Example]) -> Vec<Example> {
    let mut out = examples.to_vec();
    out.extend(examples.iter().filter_map(counterfactual));
    out
}

/// Lower-case word → lower-case replacement, both directions (names keep their case key).
fn word_map() -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for (m, f) in WORD_PAIRS {
        map.insert(m.to_string(), f.to_string());
        map.insert(f.to_string(), m.to_string());
    }
    for (f, m) in FEMALE_ONLY {
        map.insert(f.to_string(), m.to_string());
    }
    for (m, f) in NAME_PAIRS {
        map.insert(m.to_string(), f.to_string());
        map.insert(f.to_string(), m.to_string());
    }
    map
}

/// The replacement of `word` given the text after it, or `None` to keep it.
fn replacement(word: &str, rest: &[char], words: &BTreeMap<String, String>) -> Option<String> {
    // Only names have capitalised keys.
    if word.starts_with(char::is_uppercase)
        && let Some(name) = words.get(word)
    {
        return Some(name.clone());
    }
    let lower = word.to_lowercase();
    let swapped = match lower.as_str() {
        "her" => if object_follows(rest) { "him" } else { "his" }.to_string(),
        "his" => if object_follows(rest) { "hers" } else { "her" }.to_string(),
        "hers" => "his".to_string(),
        "him" => "her".to_string(),
        _ => words.get(&lower)?.clone(),
    };
    Some(match_case(word, &swapped))
}

/// Whether the next word is absent, behind punctuation, a function word or an `-ly` adverb.
fn object_follows(rest: &[char]) -> bool {
    let mut i = 0;
    while i < rest.len() && rest[i].is_whitespace() {
        i += 1;
    }
    if i == rest.len() || !rest[i].is_alphabetic() {
        return true;
    }
    let next: String = rest[i..]
        .iter()
        .take_while(|c| c.is_alphabetic())
        .collect::<String>()
        .to_lowercase();
    OBJECT_FOLLOWERS.contains(&next.as_str()) || (next.len() > 4 && next.ends_with("ly"))
}

/// `replacement` in the case pattern of `original`: all upper, capitalised, or as given.
fn match_case(original: &str, replacement: &str) -> String {
    let letters: Vec<char> = original.chars().collect();
    if letters.len() > 1 && letters.iter().all(|c| c.is_uppercase()) {
        return replacement.to_uppercase();
    }
    if letters.first().is_some_and(|c| c.is_uppercase()) {
        let mut chars = replacement.chars();
        return match chars.next() {
            Some(c) => c.to_uppercase().chain(chars).collect(),
            None => String::new(),
        };
    }
    replacement.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::example::Label;

    #[test]
    fn pronouns_and_words_swap_both_ways_keeping_case() {
        assert_eq!(
            swap_text("He told her that his wife's MAN left; she thanked him."),
            "She told him that her husband's WOMAN left; he thanked her."
        );
        assert_eq!(
            swap_text("Mary gave her book to John. The book is his. Herself!"),
            "James gave his book to Patricia. The book is hers. Himself!"
        );
        assert_eq!(
            swap_text("Mrs. Smith met Mr. Jones"),
            "Mr. Smith met Mrs. Jones"
        );
        assert_eq!(swap_text("the mark on the rose"), "the mark on the rose");
    }

    #[test]
    fn spans_follow_the_swapped_words() {
        let text = "The nurse told the man that she would help him.";
        let find = |w: &str| {
            let b = text.find(w).unwrap();
            CharSpan::from_bytes(text, b, b + w.len())
        };
        let mut e = Example::new("1".into(), text.into(), None, Label::Class(1));
        e.spans = Some(SpanPair {
            span1: find("the man"),
            span2: find("she"),
        });
        e.meta.insert("gender".into(), "FEMININE".into());
        let twin = counterfactual(&e).unwrap();
        assert_eq!(
            twin.text_a,
            "The nurse told the woman that he would help her."
        );
        let spans = twin.spans.unwrap();
        assert_eq!(twin.span_text(spans.span1).as_deref(), Some("the woman"));
        assert_eq!(twin.span_text(spans.span2).as_deref(), Some("he"));
        assert_eq!(twin.meta["gender"], "MASCULINE");
        assert_eq!(twin.label, e.label);
        let all = augment(&[
            e.clone(),
            Example::new("2".into(), "a cat".into(), None, e.label),
        ]);
        assert_eq!(all.len(), 3);
        assert_eq!(all[2].id, "1-cda");
    }
}
