//! Windows on the real SQuAD samples (../shared/data/squad) with the real uncased BERT vocab
//! (../shared/fixtures/bert-tiny/vocab.txt, the vocab of bert-base-uncased and
//! all-MiniLM-L6-v2).
//!
//! - The windows equal what the tokenizers library itself builds for a (question, context)
//!   pair with `only_second` truncation, overflow and a stride (Hugging Face's fast tokenizer in
//!   `run_qa.py`): same ids, token types and context offsets, window for window. The reference
//!   tokenizes both texts in full and then calls the library's `truncate_encodings` and
//!   `post_process`, which is what `encode` did up to tokenizers 0.22.2: since 0.23.1 `encode`
//!   stops tokenizing a truncated text after `max_length` tokens (huggingface/tokenizers#2091,
//!   open), so windows past the first `max_length` context tokens are silently lost.
//! - Every answerable training question's answer is labelled in exactly the windows that hold
//!   it whole, on tokens whose context text is the answer; windows that cut it, and
//!   unanswerable questions, are labelled [CLS]. With short windows many answers straddle a
//!   boundary, and the test makes sure such cases occur.

use std::path::{Path, PathBuf};

use multiberts_metrics::squad::normalize_answer;
use multiberts_model::tokenizer::{BertTokenizerOptions, WordPieceTokenizer};
use multiberts_qa::{Features, QaConfig, build_features};
use multiberts_tasks::squad::{SquadDataset, read_squad};
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::utils::truncation::{
    TruncationDirection, TruncationParams, TruncationStrategy, truncate_encodings,
};
use tokenizers::{AddedToken, Encoding, Tokenizer};

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(rel)
}

fn vocab() -> PathBuf {
    shared("fixtures/bert-tiny/vocab.txt")
}

fn tokenizer() -> WordPieceTokenizer {
    WordPieceTokenizer::from_vocab_file(&vocab(), BertTokenizerOptions::default()).unwrap()
}

fn dataset(name: &str) -> SquadDataset {
    read_squad(&shared(&format!("data/squad/{name}"))).unwrap()
}

/// Short windows: many contexts need several, and many answers cross a window edge.
const SHORT: QaConfig = QaConfig {
    max_seq_len: 128,
    doc_stride: 32,
    max_query_len: 64,
};

/// `BertTokenizerFast("vocab.txt")` as the tokenizers library builds it.
fn reference_tokenizer() -> Tokenizer {
    let wordpiece = WordPiece::from_file(&vocab().to_string_lossy())
        .unk_token("[UNK]".into())
        .continuing_subword_prefix("##".into())
        .max_input_chars_per_word(100)
        .build()
        .unwrap();
    let mut tk = Tokenizer::new(wordpiece);
    tk.with_normalizer(Some(BertNormalizer::new(true, true, None, true)))
        .unwrap();
    tk.with_pre_tokenizer(Some(BertPreTokenizer));
    tk.with_post_processor(Some(BertProcessing::new(
        ("[SEP]".into(), 102),
        ("[CLS]".into(), 101),
    )));
    let special: Vec<AddedToken> = ["[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"]
        .iter()
        .map(|t| AddedToken::from(*t, true))
        .collect();
    tk.add_special_tokens(special).unwrap();
    tk
}

/// The windows of `run_qa.py`'s tokenizer call (`truncation="only_second"`, `max_length`,
/// `stride`, `return_overflowing_tokens=True`): the first encoding and its overflow.
fn reference_windows(
    tk: &Tokenizer,
    question: &str,
    context: &str,
    config: &QaConfig,
) -> Vec<Encoding> {
    let q = tk.encode(question, false).unwrap();
    let mut c = tk.encode(context, false).unwrap();
    // `encode((q, c))` tokenizes the second text with type id 1; the post-processor keeps the
    // types of overflow windows from here.
    c.set_type_ids(vec![1; c.len()]);
    let params = TruncationParams {
        max_length: config.max_seq_len - 3,
        stride: config.doc_stride,
        strategy: TruncationStrategy::OnlySecond,
        direction: TruncationDirection::Right,
    };
    let (q, c) = truncate_encodings(q, Some(c), &params).unwrap();
    let enc = tk.post_process(q, c, true).unwrap();
    let mut windows = vec![enc.clone()];
    windows.extend(enc.get_overflowing().iter().cloned());
    windows
}

/// Compares our windows with the reference's for every question whose question fits in
/// `max_query_len` tokens (longer ones we cut, `run_qa.py` does not); returns how many
/// questions were compared and how many had more than one window.
fn compare_with_reference(
    data: &SquadDataset,
    features: &Features,
    config: &QaConfig,
) -> (usize, usize) {
    let reference = reference_tokenizer();
    let (mut compared, mut multi) = (0, 0);
    for (qi, q) in data.questions.iter().enumerate() {
        let question_tokens = reference
            .encode(q.question.trim_start(), false)
            .unwrap()
            .len();
        if question_tokens > config.max_query_len {
            continue;
        }
        let expected = reference_windows(&reference, q.question.trim_start(), &q.context, config);
        let ours = features.windows_of(qi);
        assert_eq!(
            ours.len(),
            expected.len(),
            "question {}: window count",
            q.id
        );
        let context = &features.contexts[q.paragraph];
        for (w, e) in ours.iter().zip(&expected) {
            assert_eq!(w.input_ids, e.get_ids(), "question {}: ids", q.id);
            let inputs = w.inputs(None, 0);
            assert_eq!(inputs.token_type_ids, e.get_type_ids(), "question {}", q.id);
            for (pos, seq) in e.get_sequence_ids().iter().enumerate() {
                let is_context = *seq == Some(1) && e.get_special_tokens_mask()[pos] == 0;
                let ours_offset = w.context_token(pos).map(|t| context.byte_offsets[t]);
                let expected_offset = is_context.then(|| e.get_offsets()[pos]);
                assert_eq!(ours_offset, expected_offset, "question {} pos {pos}", q.id);
            }
        }
        compared += 1;
        multi += usize::from(ours.len() > 1);
    }
    (compared, multi)
}

#[test]
fn windows_equal_the_tokenizers_overflow_on_the_dev_sample() {
    let data = dataset("dev-v2.0.sample.json");
    let config = QaConfig::default();
    let features = build_features(&data, &tokenizer(), &config).unwrap();
    let (compared, multi) = compare_with_reference(&data, &features, &config);
    assert_eq!(compared, 706, "every dev question fits in 64 tokens");
    assert!(
        multi > 0,
        "some dev contexts need two windows at 384 tokens"
    );
    assert!(features.windows.iter().all(|w| w.len() <= 384));
}

#[test]
fn short_windows_equal_the_tokenizers_overflow_on_the_train_sample() {
    let data = dataset("train-v2.0.sample.json");
    let features = build_features(&data, &tokenizer(), &SHORT).unwrap();
    let (compared, multi) = compare_with_reference(&data, &features, &SHORT);
    assert_eq!(compared, data.questions.len());
    assert!(multi > 1000, "{multi} questions with several windows");
    assert!(
        features
            .windows
            .iter()
            .all(|w| w.len() <= SHORT.max_seq_len)
    );
}

/// What the labels of one dataset look like, for the assertions and the report.
#[derive(Debug, Default)]
struct LabelStats {
    labelled_windows: usize,
    answers_checked: usize,
    /// Labelled spans whose text normalises differently from the gold answer.
    mismatches: Vec<String>,
    /// Labelled spans whose text is exactly the gold answer.
    exact_text: usize,
    /// Answers cut by at least one window edge (the window holds part of it, not all).
    straddling: usize,
    /// Labelled answers starting in the last context token of a window that ends before the
    /// context does (where run_qa.py's start loop would overrun onto [SEP]).
    start_on_last_token: usize,
}

/// Checks every window's label against an independent reading of the offsets and collects
/// the statistics.
fn check_labels(data: &SquadDataset, features: &Features) -> LabelStats {
    let mut stats = LabelStats::default();
    for (qi, q) in data.questions.iter().enumerate() {
        let windows = features.windows_of(qi);
        assert!(!windows.is_empty());
        let Some(answer) = q.answers.first() else {
            assert!(
                windows
                    .iter()
                    .all(|w| (w.start_position, w.end_position) == (0, 0))
            );
            continue;
        };
        let span = answer.char_span();
        let context = &features.contexts[q.paragraph];
        let (mut labelled, mut cut) = (0, false);
        for w in windows {
            let offsets = &context.offsets[w.context_tokens.clone()];
            let (lo, hi) = (offsets[0].start, offsets[offsets.len() - 1].end);
            let whole = lo <= span.start && hi >= span.end;
            let overlaps = lo < span.end && hi > span.start;
            cut |= overlaps && !whole;
            if !whole {
                assert_eq!(
                    (w.start_position, w.end_position),
                    (0, 0),
                    "question {}",
                    q.id
                );
                continue;
            }
            labelled += 1;
            let (s, e) = (w.start_position, w.end_position);
            let (so, eo) = (
                features.offset(w, s).unwrap(),
                features.offset(w, e).unwrap(),
            );
            assert!(s <= e, "question {}", q.id);
            assert!(
                so.start <= span.start && eo.end >= span.end,
                "question {}",
                q.id
            );
            let text = features.span_text(w, s, e).unwrap();
            // The label is the smallest run of whole tokens covering the answer.
            assert!(text.contains(&answer.text), "question {}: {text:?}", q.id);
            if text == answer.text {
                stats.exact_text += 1;
            }
            if normalize_answer(text) != normalize_answer(&answer.text) {
                stats.mismatches.push(format!(
                    "{}: gold {:?}, tokens {:?}",
                    q.id, answer.text, text
                ));
            }
            let last = w.context_positions().end - 1;
            if s == last && w.context_tokens.end < context.ids.len() {
                stats.start_on_last_token += 1;
            }
        }
        assert!(
            labelled >= 1,
            "question {}: no window holds the answer",
            q.id
        );
        stats.labelled_windows += labelled;
        stats.answers_checked += 1;
        stats.straddling += usize::from(cut);
    }
    stats
}

#[test]
fn every_training_answer_lands_on_its_tokens() {
    let data = dataset("train-v2.0.sample.json");
    let features = build_features(&data, &tokenizer(), &QaConfig::default()).unwrap();
    let stats = check_labels(&data, &features);
    eprintln!(
        "default windows: {} windows for {} questions; {stats:?}",
        features.windows.len(),
        data.questions.len()
    );
    assert_eq!(stats.answers_checked, 2282);
    // 2,442 questions need 2,507 windows; 12 answers sit in the overlap of two windows.
    assert_eq!(features.windows.len(), 2507);
    assert_eq!(stats.labelled_windows, 2294);
    assert_eq!(stats.exact_text, 2281);
    // The 13 exceptions (13 questions) are gold answers that begin or end inside a word, which
    // whole WordPiece tokens cannot cut out: "six" in "sixth", "7" in "1817" (three times),
    // "opera" in "operatic", "Tibet" in "Tibetan" (twice), "3" in "23", "one" in "iPhone", "5"
    // in "2015", "manual" in "manually", "Japan" in "Japanese", and an annotator's "split with
    // Luckett and Rober" cut from "Roberson". The labelled text contains the gold answer
    // (checked above) and is one token wider.
    assert_eq!(
        stats.mismatches.len(),
        13,
        "{}",
        stats.mismatches.join("\n")
    );
    assert_eq!(
        stats.straddling, 0,
        "no train-sample answer crosses a 384-token window edge"
    );
}

#[test]
fn answers_straddling_a_window_edge_are_labelled_only_where_whole() {
    let data = dataset("train-v2.0.sample.json");
    let features = build_features(&data, &tokenizer(), &SHORT).unwrap();
    let stats = check_labels(&data, &features);
    eprintln!(
        "short windows: {} windows; {stats:?}",
        features.windows.len()
    );
    assert_eq!(stats.answers_checked, 2282);
    // 49 answers are cut by some window edge; each is labelled in a window that holds it whole
    // and [CLS] in the one that cuts it (check_labels asserts both).
    assert_eq!(stats.straddling, 49);
    assert_eq!(features.windows.len(), 5314);
    assert_eq!(
        stats.labelled_windows, 2592,
        "answers in an overlap are labelled twice"
    );
    // Where run_qa.py's start search would run past the window onto [SEP] (see
    // features::label), our label is the answer's own token.
    assert_eq!(stats.start_on_last_token, 7);
}

#[test]
fn inputs_pad_with_type_zero_and_mask_zero() {
    let data = dataset("dev-v2.0.sample.json");
    let features = build_features(&data, &tokenizer(), &QaConfig::default()).unwrap();
    let w = &features.windows[0];
    let n = w.len();
    let inputs = w.inputs(Some(384), 0);
    assert_eq!(inputs.input_ids.len(), 384);
    assert_eq!(inputs.input_ids[0], 101, "[CLS]");
    assert_eq!(
        inputs.input_ids[w.context_start - 1],
        102,
        "[SEP] after the question"
    );
    assert_eq!(inputs.input_ids[n - 1], 102, "[SEP] after the context");
    assert!(inputs.input_ids[n..].iter().all(|&t| t == 0));
    assert_eq!(inputs.attention_mask.iter().sum::<u32>() as usize, n);
    assert!(
        inputs.token_type_ids[..w.context_start]
            .iter()
            .all(|&t| t == 0)
    );
    assert!(
        inputs.token_type_ids[w.context_start..n]
            .iter()
            .all(|&t| t == 1)
    );
    assert!(inputs.token_type_ids[n..].iter().all(|&t| t == 0));
    let mapping = features.offset_mapping(w);
    assert!(mapping[..w.context_start].iter().all(Option::is_none));
    assert!(mapping[w.context_start..n - 1].iter().all(Option::is_some));
    assert!(mapping[n - 1].is_none());
}
