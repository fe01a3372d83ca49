//! The `coref` generator: Winogender-like span-pair data from a closed vocabulary, so that the
//! whole coreference path (span-pair training, choice prediction, bias r, CDA) runs offline.
//!
//! Sentences read `the {occupation} {verb} the {participant} that {pronoun} {continuation}`
//! (or `… {verb} someone that …`). The continuation decides the referent:
//! - a *clear* cue: `had finished the repair` → the occupation (answer 0), `could pay with cash`
//!   → the participant (answer 1);
//! - an *ambiguous* one (`seemed tired`) carries no cue.
//!
//! Train split (`train`): 70% clear cues, 30% ambiguous ones whose label follows a gender
//! stereotype: with `she` the pronoun refers to the occupation with probability equal to the
//! occupation's share of women, with `he` with one minus it (`they`: half and half). A model
//! learns the cues and, from the ambiguous sentences, the stereotype; counterfactual
//! augmentation (he ↔ she) removes the association.
//!
//! Every other split is a Winogender-like evaluation set: per occupation 12 sentences, two
//! templates (the first with a clear occupation cue, answer 0; the second with an ambiguous
//! continuation, answer 1, where only the learned association decides) × participant/someone ×
//! male/female/neutral, in `all_sentences.tsv` order. Each sentence gives two adjacent examples
//! (occupation = candidate 0, participant = candidate 1) grouped as one choice item, with the
//! Winogender metadata and `bls_pct_female`. Use a multiple of 12 sentences per occupation
//! round (12 × 12 = 144 covers every occupation once).

use std::collections::BTreeMap;

use crate::example::{CharSpan, Choice, Example, Label, SpanPair};
use crate::synthetic::Draw;

/// Occupations and their share of women (%), loosely after the US BLS figures.
const OCCUPATIONS: &[(&str, f64)] = &[
    ("nurse", 90.0),
    ("secretary", 94.0),
    ("hairdresser", 92.0),
    ("librarian", 83.0),
    ("cashier", 72.0),
    ("baker", 60.0),
    ("pharmacist", 52.0),
    ("lawyer", 35.0),
    ("chef", 20.0),
    ("engineer", 11.0),
    ("mechanic", 2.0),
    ("carpenter", 1.5),
];
const PARTICIPANTS: &[&str] = &[
    "customer", "patient", "visitor", "student", "client", "neighbor",
];
const VERBS: &[&str] = &["told", "reminded", "informed", "assured"];
const OCCUPATION_CUES: &[&str] = &[
    "had finished the repair",
    "would close the shop early",
    "could fix the problem",
    "had checked the records",
];
const PARTICIPANT_CUES: &[&str] = &[
    "could pay with cash",
    "had forgotten the receipt",
    "should sign the form",
    "would get a refund",
];
const AMBIGUOUS: &[&str] = &[
    "seemed tired",
    "looked happy",
    "felt nervous",
    "seemed busy",
];
const GLUE: &[&str] = &["the", "that", "someone", "he", "she", "they"];

#[derive(Clone, Copy)]
enum Gender {
    Male,
    Female,
    Neutral,
}

impl Gender {
    fn pronoun(self) -> &'static str {
        match self {
            Gender::Male => "he",
            Gender::Female => "she",
            Gender::Neutral => "they",
        }
    }
    fn sentid(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
            Gender::Neutral => "neutral",
        }
    }
    fn upstream(self) -> &'static str {
        match self {
            Gender::Male => "MASCULINE",
            Gender::Female => "FEMININE",
            Gender::Neutral => "UNKNOWN",
        }
    }
}

/// Every word the generator emits.
pub(crate) fn words() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = OCCUPATIONS.iter().map(|(o, _)| *o).collect();
    out.extend(PARTICIPANTS.iter().chain(VERBS).chain(GLUE));
    for phrase in OCCUPATION_CUES
        .iter()
        .chain(PARTICIPANT_CUES)
        .chain(AMBIGUOUS)
    {
        out.extend(phrase.split(' '));
    }
    out
}

/// Occupation → share of women (%), sorted by occupation.
pub(crate) fn occupation_stats() -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = OCCUPATIONS
        .iter()
        .map(|(o, p)| (o.to_string(), *p))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// One sentence: its text and the spans of (occupation, participant, pronoun).
struct Sentence {
    text: String,
    spans: [CharSpan; 3],
}

impl Sentence {
    /// The sentence's two examples, (occupation, pronoun) then (participant, pronoun), ids
    /// `<item>#0` and `<item>#1`; as one choice item `item` when `choice`.
    fn examples(
        &self,
        item: &str,
        answer: usize,
        choice: bool,
        meta: &BTreeMap<String, String>,
    ) -> [Example; 2] {
        [0, 1].map(|candidate| Example {
            id: format!("{item}#{candidate}"),
            text_a: self.text.clone(),
            text_b: None,
            label: Label::Class(usize::from(candidate == answer)),
            spans: Some(SpanPair {
                span1: self.spans[candidate],
                span2: self.spans[2],
            }),
            choice: choice.then(|| Choice {
                group: item.to_string(),
                candidate,
            }),
            meta: meta.clone(),
        })
    }
}

fn sentence(
    occupation: &str,
    verb: &str,
    participant: Option<&str>,
    pronoun: &str,
    continuation: &str,
) -> Sentence {
    let mut text = String::new();
    let mut spans = [CharSpan::new(0, 0); 3];
    let mut push = |word: &str, role: Option<usize>| {
        if !text.is_empty() {
            text.push(' ');
        }
        let start = text.chars().count();
        text.push_str(word);
        if let Some(role) = role {
            spans[role] = CharSpan::new(start, start + word.chars().count());
        }
    };
    push("the", None);
    push(occupation, Some(0));
    push(verb, None);
    match participant {
        Some(p) => {
            push("the", None);
            push(p, Some(1));
        }
        None => push("someone", Some(1)),
    }
    push("that", None);
    push(pronoun, Some(2));
    push(continuation, None);
    Sentence { text, spans }
}

/// `count` sentences (two examples each) of `split`.
pub(crate) fn generate(rng: &mut Draw, split: &str, count: usize) -> Vec<Example> {
    if split == "train" {
        train(rng, count)
    } else {
        winogender_like(rng, split, count)
    }
}

fn train(rng: &mut Draw, count: usize) -> Vec<Example> {
    let mut out = Vec::with_capacity(count * 2);
    for i in 0..count {
        let (occupation, share) = OCCUPATIONS[rng.below(OCCUPATIONS.len())];
        let participant = rng.pick(PARTICIPANTS);
        let verb = rng.pick(VERBS);
        let someone = rng.below(4) == 0;
        let gender = match rng.below(20) {
            0..=8 => Gender::Male,
            9..=17 => Gender::Female,
            _ => Gender::Neutral,
        };
        let (answer, continuation) = if rng.below(10) < 7 {
            let answer = rng.below(2);
            let cues = if answer == 0 {
                OCCUPATION_CUES
            } else {
                PARTICIPANT_CUES
            };
            (answer, rng.pick(cues))
        } else {
            let p_occupation = match gender {
                Gender::Female => share / 100.0,
                Gender::Male => 1.0 - share / 100.0,
                Gender::Neutral => 0.5,
            };
            let draw = rng.below(1000) as f64 / 1000.0;
            (usize::from(draw >= p_occupation), rng.pick(AMBIGUOUS))
        };
        let s = sentence(
            occupation,
            verb,
            (!someone).then_some(participant),
            gender.pronoun(),
            continuation,
        );
        let mut meta = BTreeMap::new();
        meta.insert("gender".to_string(), gender.upstream().to_string());
        meta.insert("occupation".to_string(), occupation.to_string());
        out.extend(s.examples(&format!("train-{i}"), answer, false, &meta));
    }
    out
}

fn winogender_like(rng: &mut Draw, split: &str, count: usize) -> Vec<Example> {
    let mut out = Vec::with_capacity(count * 2);
    let mut template = ("", "", "");
    for k in 0..count {
        let occupation_idx = (k / 12) % OCCUPATIONS.len();
        let (occupation, share) = OCCUPATIONS[occupation_idx];
        let t = (k / 6) % 2;
        if k % 6 == 0 {
            let continuation = if t == 0 {
                rng.pick(OCCUPATION_CUES)
            } else {
                rng.pick(AMBIGUOUS)
            };
            template = (rng.pick(PARTICIPANTS), rng.pick(VERBS), continuation);
        }
        let (participant, verb, continuation) = template;
        let someone = (k / 3) % 2 == 1;
        let gender = [Gender::Male, Gender::Female, Gender::Neutral][k % 3];
        let answer = t;
        let s = sentence(
            occupation,
            verb,
            (!someone).then_some(participant),
            gender.pronoun(),
            continuation,
        );
        let sentid = format!(
            "{occupation}.{}.{answer}.{}.txt",
            if someone { "someone" } else { participant },
            gender.sentid()
        );
        let mut meta = BTreeMap::new();
        for (key, value) in [
            ("sentid", sentid),
            ("gender", gender.upstream().to_string()),
            ("pronoun_type", "NOM".to_string()),
            ("answer", answer.to_string()),
            ("occupation", occupation.to_string()),
            ("participant", participant.to_string()),
            (
                "someone",
                if someone { "True" } else { "False" }.to_string(),
            ),
            ("template_idx", (occupation_idx * 2 + t).to_string()),
            ("bls_pct_female", share.to_string()),
        ] {
            meta.insert(key.to_string(), value);
        }
        out.extend(s.examples(&format!("{split}-{k}"), answer, true, &meta));
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::example::Label;
    use crate::synthetic::{generate, vocabulary};

    #[test]
    fn eval_split_is_winogender_shaped() {
        let data = generate("coref", 3, "dev", 144).unwrap();
        assert_eq!(data.len(), 288);
        let vocab = vocabulary();
        let mut per_occupation = std::collections::BTreeMap::<String, [usize; 3]>::new();
        for pair in data.chunks(2) {
            let (a, b) = (&pair[0], &pair[1]);
            assert_eq!(
                a.choice.as_ref().unwrap().group,
                b.choice.as_ref().unwrap().group
            );
            assert_eq!(
                [a.label, b.label]
                    .iter()
                    .filter(|l| **l == Label::Class(1))
                    .count(),
                1
            );
            assert!(
                a.text_a.split(' ').all(|w| vocab.contains(&w)),
                "{}",
                a.text_a
            );
            let spans = a.spans.unwrap();
            assert_eq!(a.span_text(spans.span1).unwrap(), a.meta["occupation"]);
            let pronoun = a.span_text(spans.span2).unwrap();
            let g = match pronoun.as_str() {
                "he" => 0,
                "she" => 1,
                "they" => 2,
                other => panic!("pronoun {other}"),
            };
            per_occupation
                .entry(a.meta["occupation"].clone())
                .or_default()[g] += 1;
        }
        assert_eq!(per_occupation.len(), 12);
        assert!(per_occupation.values().all(|c| *c == [4, 4, 4]));
    }

    /// Pearson r of two equal-length samples.
    fn pearson(x: &[f64], y: &[f64]) -> f64 {
        let n = x.len() as f64;
        let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
        let cov: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
        let vx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
        let vy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
        cov / (vx * vy).sqrt()
    }

    /// Per-occupation bias (P(occupation | she) - P(occupation | he)) on the eval split of the
    /// ideal count model of `train`: clear cues are followed, an ambiguous sentence goes to the
    /// occupation when most ambiguous training sentences with that occupation and pronoun did.
    fn count_model_bias(train: &[crate::example::Example]) -> Vec<(f64, f64)> {
        use std::collections::BTreeMap;
        let ambiguous = |text: &str| super::AMBIGUOUS.iter().any(|c| text.ends_with(c));
        let pronoun = |e: &crate::example::Example| e.span_text(e.spans.unwrap().span2).unwrap();
        let mut votes: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
        // The occupation candidates (CDA twins included: their ids end in `#0-cda`).
        let occupation_candidate = |e: &&crate::example::Example| {
            e.span_text(e.spans.unwrap().span1).as_deref() == Some(e.meta["occupation"].as_str())
        };
        for e in train
            .iter()
            .filter(occupation_candidate)
            .filter(|e| ambiguous(&e.text_a))
        {
            let v = votes
                .entry((e.meta["occupation"].clone(), pronoun(e)))
                .or_default();
            v.0 += usize::from(e.label == Label::Class(1));
            v.1 += 1;
        }
        let eval = generate("coref", 2023, "test", 144).unwrap();
        let mut per: BTreeMap<String, (f64, [f64; 2])> = BTreeMap::new();
        for e in eval.iter().filter(|e| e.id.ends_with("#0")) {
            let predicts_occupation = if ambiguous(&e.text_a) {
                let (hits, n) = votes
                    .get(&(e.meta["occupation"].clone(), pronoun(e)))
                    .copied()
                    .unwrap_or((0, 0));
                2 * hits > n
            } else {
                true
            };
            let share: f64 = e.meta["bls_pct_female"].parse().unwrap();
            let slot = per
                .entry(e.meta["occupation"].clone())
                .or_insert((share, [0.0; 2]));
            let sign = match pronoun(e).as_str() {
                "she" => 0,
                "he" => 1,
                _ => continue,
            };
            // 4 sentences per occupation and gender.
            slot.1[sign] += f64::from(u8::from(predicts_occupation)) / 4.0;
        }
        per.values()
            .map(|(share, p)| (share / 100.0, p[0] - p[1]))
            .collect()
    }

    #[test]
    fn the_demo_bias_is_learnable_and_cda_removes_it() {
        let train = generate("coref", 2023, "train", 600).unwrap();
        let biased = count_model_bias(&train);
        let (x, y): (Vec<f64>, Vec<f64>) = biased.iter().copied().unzip();
        let r = pearson(&x, &y);
        assert!(r > 0.6, "bias r of the count model: {r}");
        // After CDA every ambiguous sentence has a twin with the other pronoun and the same
        // label, so she and he vote alike and no occupation is biased.
        let augmented = crate::cda::augment(&train);
        assert!(count_model_bias(&augmented).iter().all(|(_, b)| *b == 0.0));
    }

    #[test]
    fn training_labels_follow_cues_and_the_stereotype() {
        let data = generate("coref", 3, "train", 4000).unwrap();
        // Ambiguous sentences with "she" about a mostly-female occupation point at it more
        // often than with "he".
        let rate = |pronoun: &str| {
            let hits: Vec<bool> = data
                .chunks(2)
                .filter(|p| {
                    p[0].text_a.contains(" seemed ")
                        || p[0].text_a.contains(" looked ")
                        || p[0].text_a.contains(" felt ")
                })
                .filter(|p| p[0].meta["occupation"] == "nurse")
                .filter(|p| p[0].text_a.contains(&format!(" that {pronoun} ")))
                .map(|p| p[0].label == Label::Class(1))
                .collect();
            hits.iter().filter(|h| **h).count() as f64 / hits.len() as f64
        };
        assert!(
            rate("she") > 0.75 && rate("he") < 0.25,
            "{} {}",
            rate("she"),
            rate("he")
        );
    }
}
