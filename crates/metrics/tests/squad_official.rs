//! SQuAD exact/F1 against the official SQuAD 2.0 evaluation script's outputs on the real dev
//! sample in `../shared/data/squad` (see its SOURCES.md): a leaderboard submission's per-question
//! scores (`preds/bert-single-google.scores.tsv`, the script's `get_raw_scores`) must match
//! exactly, and the three prediction files' summaries must equal the printed ones.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use multiberts_metrics::squad::{SquadScore, SquadSummary, score_question, summarize};
use serde_json::Value;

fn squad(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/squad")
        .join(name)
}

/// (id, gold answer texts) per question of the dev sample, in file order. Read here with
/// serde_json rather than the tasks crate's reader, so this test checks the metric alone.
fn dev_questions() -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(squad("dev-v2.0.sample.json")).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    for article in json["data"].as_array().unwrap() {
        for paragraph in article["paragraphs"].as_array().unwrap() {
            for qa in paragraph["qas"].as_array().unwrap() {
                let answers = qa["answers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a["text"].as_str().unwrap().to_string())
                    .collect();
                out.push((qa["id"].as_str().unwrap().to_string(), answers));
            }
        }
    }
    out
}

fn predictions(name: &str) -> HashMap<String, String> {
    let text = std::fs::read_to_string(squad(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn evaluate(name: &str) -> (Vec<SquadScore>, SquadSummary) {
    let questions = dev_questions();
    let preds = predictions(name);
    let scores: Vec<SquadScore> = questions
        .iter()
        .map(|(id, gold)| score_question(gold, &preds[id]))
        .collect();
    let has_ans: Vec<bool> = questions.iter().map(|(_, g)| !g.is_empty()).collect();
    let summary = summarize(&scores, &has_ans).unwrap();
    (scores, summary)
}

/// The summary the script prints, as `(key, value)` pairs in its order.
fn printed(json: &str) -> Vec<(String, f64)> {
    let v: serde_json::Map<String, Value> = serde_json::from_str(json).unwrap();
    v.into_iter()
        .map(|(k, v)| (k, v.as_f64().unwrap()))
        .collect()
}

fn ours(summary: &SquadSummary) -> Vec<(String, f64)> {
    summary
        .entries()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

#[test]
fn per_question_scores_equal_the_official_script_on_all_706_questions() {
    let (scores, _) = evaluate("preds/bert-single-google.json");
    let questions = dev_questions();
    let tsv = std::fs::read_to_string(squad("preds/bert-single-google.scores.tsv")).unwrap();
    let mut lines = tsv.lines();
    assert_eq!(lines.next(), Some("qid\texact\tf1"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 706);
    assert_eq!(questions.len(), 706);
    let (mut partial_f1, mut differing) = (0, Vec::new());
    for ((row, (id, _)), ours) in rows.iter().zip(&questions).zip(&scores) {
        let fields: Vec<&str> = row.split('\t').collect();
        assert_eq!(fields[0], id, "the TSV is in dev-file order");
        // Python's repr of a float round-trips, so parsing it gives the script's exact bits.
        let exact: f64 = fields[1].parse().unwrap();
        let f1: f64 = fields[2].parse().unwrap();
        if f1 > 0.0 && f1 < 1.0 {
            partial_f1 += 1;
        }
        if ours.exact != exact || ours.f1.to_bits() != f1.to_bits() {
            differing.push(format!("{id}: ours {ours:?}, script exact {exact} f1 {f1}"));
        }
    }
    assert!(differing.is_empty(), "{}", differing.join("\n"));
    // The comparison exercises the fractional F1 arithmetic, not only 0s and 1s.
    assert!(partial_f1 >= 30, "only {partial_f1} fractional F1 values");
}

#[test]
fn summary_equals_the_printed_one_including_the_has_ans_no_ans_split() {
    let (_, summary) = evaluate("preds/bert-single-google.json");
    let expected = printed(
        r#"{"exact": 78.04532577903683, "f1": 81.21604552199453, "total": 706, "HasAns_exact": 71.50259067357513, "HasAns_f1": 77.30188636924387, "HasAns_total": 386, "NoAns_exact": 85.9375, "NoAns_f1": 85.9375, "NoAns_total": 320}"#,
    );
    assert_eq!(ours(&summary), expected);
}

#[test]
fn trivial_predictions_score_as_the_script_says() {
    let (_, empty) = evaluate("preds/empty.json");
    assert_eq!(
        ours(&empty),
        printed(
            r#"{"exact": 45.32577903682719, "f1": 45.32577903682719, "total": 706, "HasAns_exact": 0.0, "HasAns_f1": 0.0, "HasAns_total": 386, "NoAns_exact": 100.0, "NoAns_f1": 100.0, "NoAns_total": 320}"#
        )
    );
    let (_, gold) = evaluate("preds/gold-first.json");
    assert_eq!(
        ours(&gold),
        printed(
            r#"{"exact": 100.0, "f1": 100.0, "total": 706, "HasAns_exact": 100.0, "HasAns_f1": 100.0, "HasAns_total": 386, "NoAns_exact": 100.0, "NoAns_f1": 100.0, "NoAns_total": 320}"#
        )
    );
}
