//! The coreference readers on the real files in ../shared/data (Winogender, GAP, WSC,
//! WinoBias), the span-pair task specs, CDA on real sentences, and the spans as tokens.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use multiberts_tasks::{Example, Label, TaskRegistry, cda, winogender};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

fn load(task: &str, split: &str) -> Vec<Example> {
    let registry = TaskRegistry::builtin().unwrap();
    let spec = registry.get(task).unwrap();
    spec.load_split(&data(), split).unwrap().examples
}

/// Rows of a TSV with a header, split on tabs (independent of the readers).
fn tsv(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

fn span_texts(e: &Example) -> (String, String) {
    let spans = e.spans.expect("span-pair examples have spans");
    (
        e.span_text(spans.span1).unwrap(),
        e.span_text(spans.span2).unwrap(),
    )
}

#[test]
fn winogender_has_720_sentences_with_spans_on_the_mentions() {
    let examples = load("winogender", "test");
    assert_eq!(examples.len(), 1440);
    let sentences = tsv(&data().join("winogender/all_sentences.tsv"));
    let templates = tsv(&data().join("winogender/templates.tsv"));
    assert_eq!(sentences.len(), 720);
    let mut per_occupation: BTreeMap<String, [usize; 3]> = BTreeMap::new();
    for (i, (pair, row)) in examples.chunks(2).zip(&sentences).enumerate() {
        let (occ, part) = (&pair[0], &pair[1]);
        // Sentence order and adjacency: both candidates of row i, in file order.
        assert_eq!(occ.text_a, row[1]);
        assert_eq!(part.text_a, row[1]);
        let group = &occ.choice.as_ref().unwrap().group;
        assert_eq!(group, &row[0]);
        assert_eq!(part.choice.as_ref().unwrap().group, row[0]);
        assert_eq!(occ.choice.as_ref().unwrap().candidate, 0);
        assert_eq!(part.choice.as_ref().unwrap().candidate, 1);
        // Rows 6t..6t+5 expand template t (paper.md §5); the id spells the answer.
        let t = i / 6;
        assert_eq!(occ.meta["template_idx"], t.to_string());
        let id: Vec<&str> = row[0].split('.').collect();
        assert_eq!(occ.meta["answer"], id[2]);
        assert_eq!(occ.meta["answer"], templates[t][2]);
        let answer: usize = id[2].parse().unwrap();
        assert_eq!(occ.label, Label::Class(usize::from(answer == 0)));
        assert_eq!(part.label, Label::Class(usize::from(answer == 1)));
        // The spans cover exactly the occupation, the participant and the pronoun.
        let (occ_text, pronoun) = span_texts(occ);
        let (part_text, pronoun2) = span_texts(part);
        assert_eq!(pronoun, pronoun2);
        assert_eq!(occ_text.to_lowercase(), templates[t][0]);
        let someone = id[1] == "someone";
        assert_eq!(occ.meta["someone"], if someone { "True" } else { "False" });
        assert_eq!(
            part_text.to_lowercase(),
            if someone {
                "someone"
            } else {
                templates[t][1].as_str()
            }
        );
        let (expected, slot) = match id[3] {
            "male" => (["he", "his", "him"], 0),
            "female" => (["she", "her", "her"], 1),
            "neutral" => (["they", "their", "them"], 2),
            other => panic!("gender {other}"),
        };
        let case = ["NOM", "POSS", "ACC"]
            .iter()
            .position(|c| occ.meta["pronoun_type"] == *c)
            .unwrap();
        assert_eq!(pronoun.to_lowercase(), expected[case], "{}", row[1]);
        assert_eq!(
            occ.meta["gender"],
            ["MASCULINE", "FEMININE", "UNKNOWN"][slot]
        );
        assert!(occ.meta["bls_pct_female"].parse::<f64>().is_ok());
        per_occupation.entry(templates[t][0].clone()).or_default()[slot] += 1;
    }
    assert_eq!(per_occupation.len(), 60);
    assert!(
        per_occupation.values().all(|c| *c == [4, 4, 4]),
        "{per_occupation:?}"
    );
}

#[test]
fn winogender_occupation_stats_cover_every_occupation() {
    let stats = winogender::occupation_stats(&data()).unwrap();
    assert_eq!(stats.len(), 60);
    let technician = stats.iter().find(|(o, _)| o == "technician").unwrap();
    assert_eq!(technician.1, 40.34);
    let templates = winogender::read_templates(&data().join("winogender/templates.tsv")).unwrap();
    for t in &templates {
        assert!(
            stats.iter().any(|(o, _)| *o == t.occupation),
            "{}",
            t.occupation
        );
    }
}

#[test]
fn winogender_mentions_land_on_their_tokens() {
    use multiberts_model::tokenizer::WordPieceTokenizer;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/bert-tiny");
    let tokenizer = WordPieceTokenizer::from_dir(&dir).unwrap();
    for e in load("winogender", "test") {
        let enc = tokenizer.encode(&e.text_a, None, None).unwrap();
        let spans = e.spans.unwrap();
        for span in [spans.span1, spans.span2] {
            let tokens: Vec<usize> = (0..enc.len())
                .filter(|&i| enc.sequence_ids[i] == Some(0))
                .filter(|&i| enc.offsets[i].0 >= span.start && enc.offsets[i].1 <= span.end)
                .collect();
            assert!(!tokens.is_empty(), "{}: no token in {span:?}", e.text_a);
            assert_eq!(enc.offsets[tokens[0]].0, span.start, "{}", e.text_a);
            assert_eq!(
                enc.offsets[*tokens.last().unwrap()].1,
                span.end,
                "{}",
                e.text_a
            );
            let decoded: String = tokens
                .iter()
                .map(|&i| enc.tokens[i].trim_start_matches("##"))
                .collect();
            assert_eq!(decoded, e.span_text(span).unwrap().to_lowercase());
        }
    }
}

#[test]
fn gap_rows_give_two_examples_whose_spans_are_the_columns() {
    for (split, file, rows) in [
        ("train", "gap-development.tsv", 2000),
        ("dev", "gap-validation.tsv", 454),
        ("test", "gap-test.tsv", 2000),
    ] {
        let examples = load("gap", split);
        let table = tsv(&data().join("gap").join(file));
        assert_eq!(table.len(), rows);
        assert_eq!(examples.len(), 2 * rows);
        for (pair, row) in examples.chunks(2).zip(&table) {
            for (e, (name, coref)) in pair.iter().zip([(4, 6), (7, 9)]) {
                let (mention, pronoun) = span_texts(e);
                assert_eq!(mention, row[name]);
                assert_eq!(pronoun, row[2]);
                assert_eq!(e.label == Label::Class(1), row[coref] == "TRUE");
            }
        }
    }
    // gap/SOURCES.md: development has 874 A and 925 B coreferent.
    let positives = load("gap", "train")
        .iter()
        .filter(|e| e.label == Label::Class(1))
        .count();
    assert_eq!(positives, 874 + 925);
}

#[test]
fn gap_winogender_trains_on_gap_and_evaluates_on_winogender() {
    let registry = TaskRegistry::builtin().unwrap();
    let spec = registry.get("gap-winogender").unwrap();
    let train = spec.load_split(&data(), &spec.train_split).unwrap();
    let eval = spec.load_split(&data(), &spec.eval_split).unwrap();
    assert_eq!(train.examples.len(), 8000);
    assert_eq!(train.format.to_string(), "gap");
    assert_eq!(eval.examples.len(), 1440);
    assert_eq!(eval.format.to_string(), "winogender");
    assert_eq!(
        eval.files.len(),
        3,
        "templates, stats and sentences are digested"
    );
}

#[test]
fn wsc_spans_are_the_marked_phrases() {
    for (split, file, rows) in [("train", "train.jsonl", 554), ("dev", "val.jsonl", 104)] {
        let examples = load("wsc", split);
        assert_eq!(examples.len(), rows);
        let text = std::fs::read_to_string(data().join("superglue/WSC").join(file)).unwrap();
        for (e, line) in examples.iter().zip(text.lines()) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let (s1, s2) = span_texts(e);
            let norm = |s: &str| {
                s.split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_lowercase()
            };
            assert_eq!(norm(&s1), norm(v["target"]["span1_text"].as_str().unwrap()));
            assert_eq!(norm(&s2), norm(v["target"]["span2_text"].as_str().unwrap()));
            assert_eq!(e.label == Label::Class(1), v["label"] == true);
        }
    }
}

#[test]
fn winobias_lines_give_the_gold_pair_and_a_negative() {
    for task in ["winobias-pro", "winobias-anti"] {
        for split in ["dev", "test"] {
            let examples = load(task, split);
            let positives: Vec<&Example> = examples
                .iter()
                .filter(|e| e.label == Label::Class(1))
                .collect();
            assert_eq!(positives.len(), 2 * 396, "{task} {split}");
            let negatives = examples.len() - positives.len();
            // The other occupation is recoverable for every sentence of the released files,
            // so every line is a two-candidate choice item.
            assert_eq!(negatives, 2 * 396, "{task} {split}");
            assert!(examples.iter().all(|e| e.choice.is_some()));
            for e in &examples {
                let (mention, pronoun) = span_texts(e);
                assert_eq!(mention, e.meta["mention"]);
                assert_eq!(pronoun, e.meta["pronoun"]);
                assert!(!e.text_a.contains('[') && !e.text_a.contains(']'));
            }
        }
    }
    // The first line of pro type 1 dev, by hand.
    let first = &load("winobias-pro", "dev")[..2];
    assert_eq!(
        first[0].text_a,
        "The developer argued with the designer because he did not like the design."
    );
    assert_eq!(span_texts(&first[0]), ("The developer".into(), "he".into()));
    assert_eq!(span_texts(&first[1]), ("the designer".into(), "he".into()));
    assert_eq!(first[1].label, Label::Class(0));
}

#[test]
fn cda_on_winogender_swaps_pronouns_and_keeps_spans_on_them() {
    let examples = load("winogender", "test");
    let augmented = cda::augment(&examples);
    let gendered = examples
        .iter()
        .filter(|e| e.meta["gender"] != "UNKNOWN")
        .count();
    assert_eq!(augmented.len(), examples.len() + gendered);
    assert_eq!(&augmented[..examples.len()], &examples[..]);
    let twins = &augmented[examples.len()..];
    let originals = examples.iter().filter(|e| e.meta["gender"] != "UNKNOWN");
    for (e, twin) in originals.zip(twins) {
        assert_eq!(twin.id, format!("{}-cda", e.id));
        assert_eq!(twin.label, e.label);
        let (m, p) = span_texts(e);
        let (tm, tp) = span_texts(twin);
        assert_eq!(tm, m, "occupations and participants are not gendered");
        let flipped = match p.to_lowercase().as_str() {
            "he" => vec!["she"],
            "she" => vec!["he"],
            "his" => vec!["her", "hers"],
            "him" => vec!["her"],
            "her" => vec!["him", "his"],
            other => panic!("pronoun {other}"),
        };
        assert!(
            flipped.contains(&tp.to_lowercase().as_str()),
            "{} → {}",
            e.text_a,
            twin.text_a
        );
        assert_ne!(twin.meta["gender"], e.meta["gender"]);
        // Swapping twice gives the sentence back.
        assert_eq!(cda::swap_text(&twin.text_a), e.text_a);
    }
}

#[test]
fn cda_her_rule_matches_winogender_pronoun_types() {
    // Winogender knows whether each "her" is possessive or accusative: the context rule must
    // pick his for POSS and him for ACC on every female sentence.
    let examples = load("winogender", "test");
    let mut wrong = Vec::new();
    for e in examples.iter().filter(|e| e.meta["gender"] == "FEMININE") {
        let twin = cda::counterfactual(e).unwrap();
        let (_, pronoun) = span_texts(&twin);
        let expected = match e.meta["pronoun_type"].as_str() {
            "NOM" => "he",
            "POSS" => "his",
            "ACC" => "him",
            other => panic!("{other}"),
        };
        if pronoun.to_lowercase() != expected {
            wrong.push(format!("{} → {}", e.text_a, twin.text_a));
        }
    }
    wrong.dedup();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn demo_coref_is_generated_and_eval_only_tasks_have_no_train_split() {
    let registry = TaskRegistry::builtin().unwrap();
    let demo = registry.get("demo-coref").unwrap();
    let train = demo.load_split(Path::new("."), "train").unwrap();
    assert_eq!(train.examples.len(), 1200);
    let test = demo.load_split(Path::new("."), &demo.eval_split).unwrap();
    assert_eq!(test.examples.len(), 288);
    assert!(test.examples.iter().all(|e| e.choice.is_some()));
    let winogender = registry.get("winogender").unwrap();
    assert!(winogender.eval_only);
    assert_eq!(winogender.split_names(), ["test"]);
    let err = winogender.load_split(&data(), "train").unwrap_err();
    assert!(err.to_string().contains("no split `train`"), "{err}");
}

#[test]
fn the_trainable_tasks_evaluating_on_an_eval_only_task_are_those_reading_its_files() {
    let mut registry = TaskRegistry::builtin().unwrap();
    let names = |registry: &TaskRegistry, task: &str| -> Vec<String> {
        let spec = registry.get(task).unwrap();
        registry
            .trainable_evaluating_on(spec)
            .iter()
            .map(|s| s.name.to_string())
            .collect()
    };
    assert_eq!(
        names(&registry, "winogender"),
        ["gap-winogender", "ontonotes-winogender"]
    );
    // Nothing built in trains elsewhere and evaluates on WinoBias' test files ...
    assert!(names(&registry, "winobias-pro").is_empty());
    // ... until a spec reads them as its evaluation split; the anti-stereotyped files differ.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gap-winobias.toml"),
        r#"name = "gap-winobias"
kind = "span-pair"
labels = ["0", "1"]
metrics = ["accuracy"]
eval_split = "test"

[[sources]]
format = "gap"
occupations = ["winobias/male_occupations.txt", "winobias/female_occupations.txt"]
splits = { train = "gap/gap-development.tsv", test = ["winobias/pro_stereotyped_type1.txt.test", "winobias/pro_stereotyped_type2.txt.test"] }
split_formats = { test = "winobias" }
"#,
    )
    .unwrap();
    registry.load_dir(dir.path()).unwrap();
    assert_eq!(names(&registry, "winobias-pro"), ["gap-winobias"]);
    assert!(names(&registry, "winobias-anti").is_empty());
}

#[test]
fn ontonotes_is_missing_until_the_user_supplies_it() {
    let registry = TaskRegistry::builtin().unwrap();
    let err = registry
        .get("ontonotes-coref")
        .unwrap()
        .load_split(&data(), "train")
        .unwrap_err();
    assert!(
        err.to_string().contains("ontonotes/coref/train.json"),
        "{err}"
    );
}

#[test]
fn cda_on_gap_keeps_every_span_on_its_swapped_words() {
    let examples = load("gap", "dev");
    let augmented = cda::augment(&examples);
    let twins: BTreeMap<&str, &Example> = augmented[examples.len()..]
        .iter()
        .map(|t| (t.id.strip_suffix("-cda").unwrap(), t))
        .collect();
    // Every GAP text has a gendered pronoun, so every example has a twin.
    assert_eq!(twins.len(), examples.len());
    for e in &examples {
        let twin = twins[e.id.as_str()];
        let (mention, pronoun) = span_texts(e);
        let (twin_mention, twin_pronoun) = span_texts(twin);
        // Names are whole spans without her/his, so the span alone swaps the same way.
        assert_eq!(twin_mention, cda::swap_text(&mention), "{}", e.id);
        let expected: &[&str] = match pronoun.to_lowercase().as_str() {
            "he" => &["she"],
            "she" => &["he"],
            "him" => &["her"],
            "his" => &["her", "hers"],
            "her" => &["him", "his"],
            "hers" => &["his"],
            other => panic!("{}: pronoun {other}", e.id),
        };
        assert!(
            expected.contains(&twin_pronoun.to_lowercase().as_str()),
            "{}: {pronoun} → {twin_pronoun}",
            e.id
        );
    }
}
