//! The span (extractive QA) task kind end to end: a tiny random-init BERT fine-tuned on the
//! real SQuAD 2.0 training sample and evaluated on the real dev sample writes one row per dev
//! question with its decoded answer and the official per-question scores.

mod common;

use multiberts_collector::read_predictions;
use multiberts_metrics::squad::score_question;
use multiberts_tasks::squad::read_squad;

use common::{job_dir, options, shared};

#[test]
fn a_squad_job_answers_every_dev_question_with_official_scores() {
    let tmp = tempfile::tempdir().unwrap();
    let m = common::squad_manifest(tmp.path());
    let jobs = m.jobs();
    assert_eq!(jobs.len(), 1);
    let summary = common::run(&m, &jobs[0], tmp.path(), &options(tmp.path())).unwrap();

    let dev = read_squad(&shared("data/squad/dev-v2.0.sample.json")).unwrap();
    let rows =
        read_predictions(&job_dir(tmp.path(), &jobs[0]).join("predictions.parquet")).unwrap();
    assert_eq!(rows.len(), 706, "one row per dev question");
    let (mut exact, mut f1) = (0.0, 0.0);
    for (row, q) in rows.iter().zip(&dev.questions) {
        assert_eq!(row.example_id, q.id);
        assert_eq!(row.label, f64::from(u8::from(q.has_answer())));
        let a = row.answer.as_ref().expect("span rows carry their answer");
        assert_eq!(row.prediction, f64::from(u8::from(!a.text.is_empty())));
        // The answer is a piece of the question's context (or "" for no answer).
        assert!(
            a.text.is_empty() || q.context.contains(a.text.as_str()),
            "{a:?}"
        );
        let golds: Vec<&str> = q.answers.iter().map(|g| g.text.as_str()).collect();
        let want = score_question(&golds, &a.text);
        assert_eq!((a.exact, a.f1), (want.exact, want.f1), "{}", q.id);
        assert_eq!(row.scores.len(), 1, "[null score − best span score]");
        exact += a.exact;
        f1 += a.f1;
    }
    assert_eq!(summary.primary_metric, "exact");
    assert_eq!(summary.dev["exact"], exact / 706.0);
    assert_eq!(summary.dev["f1"], f1 / 706.0);
    assert!(
        summary.steps > 400 / 32,
        "trained on windows, not questions: {summary:?}"
    );
}
