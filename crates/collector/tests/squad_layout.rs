//! The upstream SQuAD layout: a real leaderboard submission (BERT single, Google AI Language;
//! the 706 dev-sample questions in ../shared/data/squad) read through an `index.tsv`, scored
//! exactly as the official script does; our span rows exported and read back unchanged; and
//! malformed run files named with the question at fault.

use std::path::{Path, PathBuf};

use multiberts_collector::upstream::{
    GoldQuestion, SpanScore, UpstreamPredictions, export_squad, import_squad,
};
use multiberts_collector::{AnswerColumns, PredictionRow};

fn squad(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/squad")
        .join(rel)
}

fn golds() -> Vec<GoldQuestion> {
    let dev = multiberts_tasks::squad::read_squad(&squad("dev-v2.0.sample.json")).unwrap();
    dev.questions
        .iter()
        .map(|q| GoldQuestion {
            id: q.id.clone(),
            answers: q.answers.iter().map(|a| a.text.clone()).collect(),
        })
        .collect()
}

/// A layout with the given run files (as `v2.0`, release `public`, seeds 0..).
fn layout(root: &Path, runs: &[&Path]) {
    std::fs::create_dir_all(root.join("v2.0")).unwrap();
    let mut index = String::from("file\ttask\tpretrain_id\tn_steps\tlr\tft_seed\trelease\n");
    for (k, src) in runs.iter().enumerate() {
        let file = format!("v2.0/run{k}.json");
        std::fs::copy(src, root.join(&file)).unwrap();
        index.push_str(&format!("{file}\tv2.0\t{k}\t2M\t5e-05\t{k}\tmultiberts\n"));
    }
    std::fs::write(root.join("index.tsv"), index).unwrap();
}

#[test]
fn a_real_submission_scores_as_the_official_script() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = [
        squad("preds/bert-single-google.json"),
        squad("preds/empty.json"),
    ];
    layout(tmp.path(), &[&runs[0], &runs[1]]);
    let data = import_squad(tmp.path(), "v2.0", &golds()).unwrap();
    assert_eq!(data.runs.len(), 2);
    let answers = data.answers.as_ref().unwrap();
    let mean = |row: &[f64]| 100.0 * row.iter().sum::<f64>() / row.len() as f64;
    // evaluate-v2.0.py's printed totals (../shared/data/squad/SOURCES.md).
    assert_eq!(mean(answers.exact.row(0)), 78.04532577903683);
    assert_eq!(mean(answers.f1.row(0)), 81.21604552199453);
    assert_eq!(mean(answers.exact.row(1)), 45.32577903682719);
    // Per question, as its get_raw_scores (the scores file's F1 is Python's repr).
    let tsv = std::fs::read_to_string(squad("preds/bert-single-google.scores.tsv")).unwrap();
    for (i, line) in tsv.lines().skip(1).enumerate() {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(answers.ids[i], f[0]);
        assert_eq!(answers.exact.row(0)[i], f[1].parse::<f64>().unwrap());
        assert_eq!(
            answers.f1.row(0)[i],
            f[2].parse::<f64>().unwrap(),
            "{}",
            f[0]
        );
    }
    let f1 = data.clone().with_span_score(SpanScore::F1).unwrap();
    assert_eq!(f1.predictions.row(0), answers.f1.row(0));
    assert_eq!(data.runs[0].pretrain_seed, Some(0));
}

#[test]
fn span_rows_export_and_read_back_with_the_same_scores() {
    let golds = golds();
    let mut rows = Vec::new();
    for (job, seed) in [("a", 0), ("b", 1)] {
        for (i, q) in golds.iter().enumerate() {
            let text = if (i + seed as usize).is_multiple_of(3) {
                q.answers.first().cloned().unwrap_or_default()
            } else {
                "the Normans".to_string()
            };
            let s = multiberts_metrics::squad::score_question(&q.answers, &text);
            rows.push(PredictionRow {
                job_id: job.into(),
                task: "squad2".into(),
                variant: String::new(),
                split: "dev".into(),
                checkpoint: format!("seed_{seed}"),
                pretrain_seed: Some(seed),
                step: Some(2000),
                learning_rate: 5e-5,
                finetune_seed: 0,
                example_index: i as i64,
                example_id: q.id.clone(),
                label: f64::from(u8::from(!q.answers.is_empty())),
                prediction: f64::from(u8::from(!text.is_empty())),
                scores: vec![0.5],
                answer: Some(AnswerColumns {
                    text,
                    exact: s.exact,
                    f1: s.f1,
                }),
            });
        }
    }
    let ours = UpstreamPredictions::from_prediction_rows(&rows).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    export_squad(tmp.path(), "v2.0", &ours).unwrap();
    let index = std::fs::read_to_string(tmp.path().join("index.tsv")).unwrap();
    assert!(
        index.contains(
            "v2.0/release=multiberts,pretrain_id=0,n_steps=2M,lr=5e-05,ft_seed=0.json\tv2.0"
        ),
        "{index}"
    );
    let back = import_squad(tmp.path(), "v2.0", &golds).unwrap();
    assert_eq!(back.answers, ours.answers);
    assert_eq!(back.labels, ours.labels);
    assert_eq!(back.predictions, ours.predictions);
}

#[test]
fn run_files_that_miss_or_invent_questions_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let golds = golds();
    let write = |text: &str| {
        let path = dir.join("run.json");
        std::fs::write(&path, text).unwrap();
        layout(&dir.join("layout"), &[&path]);
        import_squad(&dir.join("layout"), "v2.0", &golds)
            .unwrap_err()
            .to_string()
    };
    let err = write(r#"{"56ddde6b9a695914005b9628": "France"}"#);
    assert!(
        err.contains("run0.json") && err.contains("705 of the dev file's 706"),
        "{err}"
    );
    let err = write(r#"{"nope": ""}"#);
    assert!(
        err.contains("question `nope` is not in the dev file"),
        "{err}"
    );
    let err = write(r#"{"56ddde6b9a695914005b9628": 3}"#);
    assert!(err.contains("expected a string"), "{err}");
    let err = write("[1, 2");
    assert!(err.contains("run0.json"), "{err}");
}
