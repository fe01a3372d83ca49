//! n-best decoding (`postprocess_qa_predictions` with `version_2_with_negative=True`) on
//! hand-built logits where the right answer is known, and end to end on the real dev sample:
//! oracle logits from the windows' own labels decode to answers that the official metric
//! scores as expected.

use std::path::{Path, PathBuf};

use multiberts_metrics::squad::{score_question, summarize};
use multiberts_model::tokenizer::{BertTokenizerOptions, WordPieceTokenizer};
use multiberts_qa::{
    CandidateKind, DecodeConfig, Features, QaConfig, QaError, Window, WindowLogits, build_features,
    decode,
};
use multiberts_tasks::squad::{SquadDataset, parse_squad, read_squad};

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(rel)
}

fn tokenizer() -> WordPieceTokenizer {
    let vocab = shared("fixtures/bert-tiny/vocab.txt");
    WordPieceTokenizer::from_vocab_file(&vocab, BertTokenizerOptions::default()).unwrap()
}

const CONTEXT: &str = "The capital of France is Paris. The capital of Italy is Rome. \
    The capital of Spain is Madrid. The capital of Peru is Lima. The capital of Chile is \
    Santiago. The capital of Kenya is Nairobi.";

/// Windows of 24 tokens, 4 shared: the context needs several.
const TINY: QaConfig = QaConfig {
    max_seq_len: 24,
    doc_stride: 4,
    max_query_len: 8,
};

/// One question on [`CONTEXT`] in [`TINY`] windows.
fn one_question() -> (SquadDataset, Features) {
    let json = format!(
        r#"{{"version": "v2.0", "data": [{{"title": "Capitals", "paragraphs": [{{"context": "{CONTEXT}",
        "qas": [{{"id": "q", "question": "What is a capital?", "answers": [], "is_impossible": true}}]}}]}}]}}"#
    );
    let data = parse_squad(Path::new("capitals.json"), json.as_bytes()).unwrap();
    let features = build_features(&data, &tokenizer(), &TINY).unwrap();
    (data, features)
}

/// Logits for every window, distinct and low (-10 - position / 100), so that only the values
/// a test sets matter and no accidental ties occur.
fn base_logits(features: &Features) -> Vec<(Vec<f32>, Vec<f32>)> {
    features
        .windows
        .iter()
        .map(|w| {
            let row: Vec<f32> = (0..w.len()).map(|p| -10.0 - p as f32 / 100.0).collect();
            (row.clone(), row)
        })
        .collect()
}

fn as_logits(rows: &[(Vec<f32>, Vec<f32>)]) -> Vec<WindowLogits<'_>> {
    rows.iter()
        .map(|(s, e)| WindowLogits { start: s, end: e })
        .collect()
}

/// The window position of the context word `word` in window `w` (a one-token word).
fn position(features: &Features, w: &Window, word: &str) -> Option<usize> {
    w.context_positions()
        .find(|&p| features.span_text(w, p, p) == Some(word))
}

/// The first window holding `word`, and its position there.
fn find(features: &Features, word: &str) -> (usize, usize) {
    features
        .windows
        .iter()
        .enumerate()
        .find_map(|(i, w)| position(features, w, word).map(|p| (i, p)))
        .unwrap()
}

fn run(
    features: &Features,
    rows: &[(Vec<f32>, Vec<f32>)],
    config: &DecodeConfig,
) -> multiberts_qa::QaPrediction {
    decode(features, &as_logits(rows), config)
        .unwrap()
        .remove(0)
}

#[test]
fn the_context_needs_several_windows() {
    let (_, features) = one_question();
    assert_eq!(features.windows.len(), 4);
}

#[test]
fn a_known_span_is_decoded_with_its_score_difference() {
    let (_, features) = one_question();
    let mut rows = base_logits(&features);
    let (w, p) = find(&features, "Paris");
    rows[w].0[p] = 5.0;
    rows[w].1[p] = 4.0;
    for r in &mut rows {
        (r.0[0], r.1[0]) = (0.5, 0.25);
    }
    let pred = run(&features, &rows, &DecodeConfig::default());
    assert_eq!(pred.text, "Paris");
    assert_eq!(pred.null_score, 0.75);
    assert_eq!(pred.score_diff, 0.75 - 5.0 - 4.0);
    assert_eq!(pred.nbest[0].text, "Paris");
    assert_eq!(pred.nbest[0].score, 9.0);
    assert!(pred.nbest.len() <= 20);
    assert!(pred.nbest.iter().any(|c| c.kind == CandidateKind::Null));
    let total: f64 = pred.nbest.iter().map(|c| c.probability).sum();
    assert!((total - 1.0).abs() < 1e-9);
}

#[test]
fn the_null_answer_wins_when_cls_scores_higher_unless_the_threshold_says_otherwise() {
    let (_, features) = one_question();
    let mut rows = base_logits(&features);
    let (w, p) = find(&features, "Paris");
    (rows[w].0[p], rows[w].1[p]) = (5.0, 5.0);
    for r in &mut rows {
        (r.0[0], r.1[0]) = (8.0, 8.0);
    }
    let pred = run(&features, &rows, &DecodeConfig::default());
    assert_eq!(pred.text, "");
    assert_eq!(pred.score_diff, 6.0);
    assert_eq!(pred.nbest[0].kind, CandidateKind::Null);
    let lenient = DecodeConfig {
        null_score_diff_threshold: 6.5,
        ..DecodeConfig::default()
    };
    assert_eq!(run(&features, &rows, &lenient).text, "Paris");
}

#[test]
fn the_null_score_is_the_minimum_over_windows_and_spans_come_from_any_window() {
    let (_, features) = one_question();
    let mut rows = base_logits(&features);
    let last = features.windows.len() - 1;
    let (w, p) = find(&features, "Nairobi");
    assert_eq!(w, last, "the answer is only in the last window");
    for (i, r) in rows.iter_mut().enumerate() {
        (r.0[0], r.1[0]) = (1.0, 1.0 - i as f32);
    }
    (rows[w].0[p], rows[w].1[p]) = (3.0, 3.0);
    let pred = run(&features, &rows, &DecodeConfig::default());
    let min_null = 1.0 + (1.0 - last as f32);
    assert_eq!(pred.null_score, min_null);
    assert_eq!(pred.score_diff, min_null - 3.0 - 3.0);
    assert_eq!(pred.text, "Nairobi");
    let best = pred.nbest.iter().find(|c| c.text == "Nairobi").unwrap();
    assert!(matches!(best.kind, CandidateKind::Span { window, .. } if window == last));
}

/// A word in the overlap of two windows: the window that scores it higher supplies it, and
/// a multi-token span across the second window's start is decoded from the first.
#[test]
fn answers_at_a_window_edge_come_from_the_window_that_holds_them() {
    let (_, features) = one_question();
    let (w0, w1) = (&features.windows[0], &features.windows[1]);
    let overlap = w1.context_tokens.start..w0.context_tokens.end;
    assert_eq!(overlap.len(), TINY.doc_stride);
    // The last context token of window 0, which is also in window 1.
    let shared_pos0 = w0.context_positions().end - 1;
    let shared_pos1 = w1.context_start + (w0.context_tokens.end - 1 - w1.context_tokens.start);
    let mut rows = base_logits(&features);
    (rows[0].0[shared_pos0], rows[0].1[shared_pos0]) = (2.0, 2.0);
    (rows[1].0[shared_pos1], rows[1].1[shared_pos1]) = (3.0, 3.0);
    // A span from before window 1's first token to inside it: only window 0 has it whole.
    let from = shared_pos0 - overlap.len();
    (rows[0].0[from], rows[0].1[shared_pos0]) = (4.0, 2.5);
    let pred = run(&features, &rows, &DecodeConfig::default());
    let expected = features.span_text(w0, from, shared_pos0).unwrap();
    assert_eq!(pred.text, expected);
    assert!(matches!(
        pred.nbest[0].kind,
        CandidateKind::Span { window: 0, .. }
    ));
    let second = &pred.nbest[1];
    assert!(matches!(second.kind, CandidateKind::Span { window: 1, .. }));
    assert_eq!(
        second.text,
        features.span_text(w1, shared_pos1, shared_pos1).unwrap()
    );
}

#[test]
fn reversed_and_too_long_spans_are_skipped() {
    let (_, features) = one_question();
    let (w, start) = find(&features, "Madrid");
    let end = features.windows[w].context_positions().end - 1;
    assert!(end > start + 1);
    // The best start is after the best end: that pair is never a candidate.
    let mut rows = base_logits(&features);
    (rows[w].0[end], rows[w].1[start]) = (9.0, 9.0);
    let pred = run(&features, &rows, &DecodeConfig::default());
    for c in &pred.nbest {
        if let CandidateKind::Span {
            start: s, end: e, ..
        } = c.kind
        {
            assert!(s <= e, "{c:?}");
        }
    }
    // A span one token longer than max_answer_length is skipped, one of exactly that length
    // is kept.
    let mut rows = base_logits(&features);
    (rows[w].0[start], rows[w].1[end]) = (8.0, 8.0);
    let len = end - start + 1;
    let too_short = DecodeConfig {
        max_answer_length: len - 1,
        ..DecodeConfig::default()
    };
    let pred = run(&features, &rows, &too_short);
    assert!(pred.nbest.iter().all(|c| c.score < 16.0));
    let enough = DecodeConfig {
        max_answer_length: len,
        ..DecodeConfig::default()
    };
    let pred = run(&features, &rows, &enough);
    assert_eq!(pred.nbest[0].score, 16.0);
    assert_eq!(
        Some(pred.text.as_str()),
        features.span_text(&features.windows[w], start, end)
    );
}

/// Ties. Equal scores keep generation order (Python's stable sort): an earlier window wins.
/// Equal start logits in one window: the later position is tried first (a stable ascending
/// argsort reversed), so its span comes first.
#[test]
fn ties_are_resolved_as_the_reference_orders_candidates() {
    let (_, features) = one_question();
    let mut rows = base_logits(&features);
    let (wa, pa) = find(&features, "Paris");
    let (wb, pb) = find(&features, "Nairobi");
    assert!(wa < wb);
    (rows[wa].0[pa], rows[wa].1[pa]) = (4.0, 4.0);
    (rows[wb].0[pb], rows[wb].1[pb]) = (4.0, 4.0);
    let pred = run(&features, &rows, &DecodeConfig::default());
    assert_eq!(pred.text, "Paris", "the earlier window's span comes first");

    let mut rows = base_logits(&features);
    let (w, p) = find(&features, "Rome");
    let q = w_start(&features.windows[w], &features, "Italy");
    assert!(q < p);
    // Starts at "Italy" and at "Rome" tie; the end is "Rome": spans "Italy is Rome" and
    // "Rome" score the same, and "Rome" (the later start) is generated first.
    (rows[w].0[q], rows[w].0[p], rows[w].1[p]) = (4.0, 4.0, 4.0);
    let pred = run(&features, &rows, &DecodeConfig::default());
    assert_eq!(pred.nbest[0].score, pred.nbest[1].score);
    assert_eq!(pred.text, "Rome");
    assert_eq!(pred.nbest[1].text, "Italy is Rome");
}

fn w_start(w: &Window, features: &Features, word: &str) -> usize {
    position(features, w, word).unwrap()
}

/// When no pair of the top starts and ends is a valid span, run_qa.py inserts a candidate
/// "empty" with logits 0, which becomes the answer unless the null score is above 0.
#[test]
fn no_valid_span_gives_the_references_empty_placeholder() {
    let (_, features) = one_question();
    let one = DecodeConfig {
        n_best_size: 1,
        ..DecodeConfig::default()
    };
    let mut rows = base_logits(&features);
    for r in &mut rows {
        // The best start and end are a question token: no span survives.
        (r.0[1], r.1[1]) = (9.0, 9.0);
        (r.0[0], r.1[0]) = (-1.0, -1.0);
    }
    let pred = run(&features, &rows, &one);
    assert_eq!(pred.nbest[0].kind, CandidateKind::Placeholder);
    assert_eq!(pred.text, "empty");
    assert_eq!(pred.score_diff, -2.0);
    for r in &mut rows {
        (r.0[0], r.1[0]) = (1.0, 1.0);
    }
    assert_eq!(run(&features, &rows, &one).text, "");
}

/// Padding positions (logit rows longer than the window) compete for the top n but never
/// form a span, as with `pad_to_max_length`.
#[test]
fn padded_logit_rows_are_accepted_and_padding_is_never_an_answer() {
    let (_, features) = one_question();
    let one = DecodeConfig {
        n_best_size: 1,
        ..DecodeConfig::default()
    };
    let mut rows = base_logits(&features);
    for r in &mut rows {
        r.0.resize(TINY.max_seq_len + 8, 50.0);
        r.1.resize(TINY.max_seq_len + 8, 50.0);
    }
    let pred = run(&features, &rows, &one);
    assert_eq!(pred.nbest[0].kind, CandidateKind::Placeholder);
}

#[test]
fn malformed_logits_are_errors() {
    let (_, features) = one_question();
    let rows = base_logits(&features);
    let logits = as_logits(&rows);
    let err = decode(&features, &logits[1..], &DecodeConfig::default()).unwrap_err();
    assert!(matches!(err, QaError::LogitCount { .. }), "{err}");
    let mut short = rows.clone();
    short[1].0.pop();
    let err = decode(&features, &as_logits(&short), &DecodeConfig::default()).unwrap_err();
    assert!(
        matches!(err, QaError::LogitLength { window: 1, .. }),
        "{err}"
    );
    let mut nan = rows.clone();
    nan[2].1[3] = f32::NAN;
    let err = decode(&features, &as_logits(&nan), &DecodeConfig::default()).unwrap_err();
    assert!(
        matches!(
            err,
            QaError::NonFiniteLogit {
                window: 2,
                which: "end",
                position: 3,
                ..
            }
        ),
        "{err}"
    );
}

/// Reader → windows → decoding → official metric on the real dev sample: logits that put the
/// answer where each window's label is (and [CLS] where there is none) decode to answers that
/// the official metric scores 100 exact. (A first gold answer inside a word, which whole
/// tokens cannot cut out, would miss; on the dev sample another gold answer always matches.)
#[test]
fn oracle_logits_on_the_dev_sample_score_as_expected() {
    let data = read_squad(&shared("data/squad/dev-v2.0.sample.json")).unwrap();
    let features = build_features(&data, &tokenizer(), &QaConfig::default()).unwrap();
    let rows: Vec<(Vec<f32>, Vec<f32>)> = features
        .windows
        .iter()
        .map(|w| {
            let mut start = vec![-10.0f32; w.len()];
            let mut end = start.clone();
            let answerable = data.questions[w.question].has_answer();
            let (s, e) = if answerable {
                (w.start_position, w.end_position)
            } else {
                (0, 0)
            };
            if answerable && s == 0 {
                // A window without the answer: its [CLS] must not beat the answer elsewhere.
                (start[0], end[0]) = (0.0, 0.0);
            } else {
                (start[s], end[e]) = (10.0, 10.0);
            }
            (start, end)
        })
        .collect();
    let preds = decode(&features, &as_logits(&rows), &DecodeConfig::default()).unwrap();
    let scores: Vec<_> = data
        .questions
        .iter()
        .zip(&preds)
        .map(|(q, p)| {
            let gold: Vec<&str> = q.answers.iter().map(|a| a.text.as_str()).collect();
            score_question(&gold, &p.text)
        })
        .collect();
    let has_ans: Vec<bool> = data.questions.iter().map(|q| q.has_answer()).collect();
    let summary = summarize(&scores, &has_ans).unwrap();
    let misses: Vec<_> = data
        .questions
        .iter()
        .zip(&preds)
        .zip(&scores)
        .filter(|(_, s)| s.exact < 1.0)
        .map(|((q, p), _)| format!("{}: predicted {:?}", q.id, p.text))
        .collect();
    assert!(misses.is_empty(), "{}", misses.join("\n"));
    assert_eq!(summary.all.exact, 100.0);
    assert_eq!(summary.no_ans.map(|t| t.total), Some(320));
}
