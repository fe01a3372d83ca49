//! The WordPiece tokenizer against transformers' reference encodings
//! (`fixtures/tokenizer/cases.jsonl` and the padded batches of `fixtures/bert-tiny/batch.json`).

use std::path::{Path, PathBuf};

use multiberts_model::tokenizer::{BertTokenizerOptions, TokenizerError, WordPieceTokenizer};
use serde::Deserialize;

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures")
        .join(rel)
}

fn tokenizer() -> WordPieceTokenizer {
    WordPieceTokenizer::from_dir(&shared("bert-tiny"))
        .unwrap_or_else(|e| panic!("building the tokenizer: {e}"))
}

#[derive(Deserialize)]
struct Case {
    id: usize,
    category: String,
    text_a: String,
    text_b: Option<String>,
    max_length: Option<usize>,
    input_ids: Vec<u32>,
    token_type_ids: Vec<u32>,
    tokens: Vec<String>,
    offsets: Vec<(usize, usize)>,
    byte_offsets: Vec<(usize, usize)>,
}

#[test]
fn every_reference_case_matches_exactly() {
    let tok = tokenizer();
    let text = std::fs::read_to_string(shared("tokenizer/cases.jsonl"))
        .unwrap_or_else(|e| panic!("reading cases.jsonl: {e}"));
    let mut failures = Vec::new();
    let mut n = 0;
    for (line_no, line) in text.lines().enumerate() {
        let case: Case = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("cases.jsonl line {}: {e}", line_no + 1));
        let enc = tok
            .encode(&case.text_a, case.text_b.as_deref(), case.max_length)
            .unwrap_or_else(|e| panic!("case {}: {e}", case.id));
        let mut wrong = Vec::new();
        if enc.ids != case.input_ids {
            wrong.push(format!("ids {:?} != {:?}", enc.ids, case.input_ids));
        }
        if enc.type_ids != case.token_type_ids {
            wrong.push(format!(
                "type ids {:?} != {:?}",
                enc.type_ids, case.token_type_ids
            ));
        }
        if enc.tokens != case.tokens {
            wrong.push(format!("tokens {:?} != {:?}", enc.tokens, case.tokens));
        }
        if enc.offsets != case.offsets {
            wrong.push(format!("offsets {:?} != {:?}", enc.offsets, case.offsets));
        }
        if enc.byte_offsets != case.byte_offsets {
            wrong.push(format!(
                "byte offsets {:?} != {:?}",
                enc.byte_offsets, case.byte_offsets
            ));
        }
        if let Some(max) = case.max_length {
            assert!(
                enc.len() <= max,
                "case {}: {} tokens > {max}",
                case.id,
                enc.len()
            );
        }
        assert!(enc.attention_mask.iter().all(|&m| m == 1));
        if !wrong.is_empty() {
            failures.push(format!(
                "case {} ({}): {}",
                case.id,
                case.category,
                wrong.join("; ")
            ));
        }
        n += 1;
    }
    assert_eq!(n, 315, "cases.jsonl should hold 315 cases");
    assert!(
        failures.is_empty(),
        "{} of {n} cases differ:\n{}",
        failures.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn offsets_slice_the_original_text() {
    let tok = tokenizer();
    let a = "Café naïve — 北京 résumé";
    let b = "Ünïcödé text";
    let enc = tok
        .encode(a, Some(b), None)
        .unwrap_or_else(|e| panic!("{e}"));
    for (i, seq) in enc.sequence_ids.iter().enumerate() {
        let Some(seq) = seq else { continue };
        let text = if *seq == 0 { a } else { b };
        let (bs, be) = enc.byte_offsets[i];
        let (cs, ce) = enc.offsets[i];
        let by_bytes = &text[bs..be];
        let by_chars: String = text.chars().skip(cs).take(ce - cs).collect();
        assert_eq!(by_bytes, by_chars, "token {i} ({})", enc.tokens[i]);
    }
    assert_eq!(enc.sequence_ids.first(), Some(&None));
    assert_eq!(enc.sequence_ids.last(), Some(&None));
}

#[derive(Deserialize)]
struct Batch {
    text_a: Vec<String>,
    /// `null` for batches of single sentences.
    text_b: Option<Vec<Option<String>>>,
    input_ids: Vec<Vec<u32>>,
    token_type_ids: Vec<Vec<u32>>,
    attention_mask: Vec<Vec<u32>>,
}

#[test]
fn padded_batches_match_the_model_fixture() {
    let tok = tokenizer();
    let text = std::fs::read_to_string(shared("bert-tiny/batch.json"))
        .unwrap_or_else(|e| panic!("reading batch.json: {e}"));
    let batches: std::collections::HashMap<String, serde_json::Value> =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("batch.json: {e}"));
    for name in ["pairs", "singles", "stsb"] {
        let batch: Batch = serde_json::from_value(batches[name].clone())
            .unwrap_or_else(|e| panic!("batch {name}: {e}"));
        let inputs: Vec<(&str, Option<&str>)> = batch
            .text_a
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let b = batch.text_b.as_ref().and_then(|b| b[i].as_deref());
                (a.as_str(), b)
            })
            .collect();
        let encs = tok
            .encode_batch_padded(&inputs, Some(48), Some(48))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        for (i, e) in encs.iter().enumerate() {
            assert_eq!(e.ids, batch.input_ids[i], "{name} row {i} ids");
            assert_eq!(
                e.type_ids, batch.token_type_ids[i],
                "{name} row {i} type ids"
            );
            assert_eq!(
                e.attention_mask, batch.attention_mask[i],
                "{name} row {i} mask"
            );
        }
        // The parallel batch equals one-by-one encoding.
        for (i, (a, b)) in inputs.iter().enumerate() {
            let mut one = tok
                .encode(a, *b, Some(48))
                .unwrap_or_else(|e| panic!("{e}"));
            one.pad_to(48, tok.pad_id(), "[PAD]");
            assert_eq!(one, encs[i]);
        }
    }
}

#[test]
fn options_come_from_tokenizer_config() {
    let tok = tokenizer();
    let o = tok.options();
    assert!(o.do_lower_case && o.tokenize_chinese_chars);
    assert_eq!(o.strip_accents, None);
    assert_eq!(tok.vocab_size(), 30522);
    assert_eq!((tok.pad_id(), tok.token_to_id("[UNK]")), (0, Some(100)));

    // A cased tokenizer keeps case and accents.
    let cased = WordPieceTokenizer::from_vocab_file(
        &shared("bert-tiny/vocab.txt"),
        BertTokenizerOptions {
            do_lower_case: false,
            ..BertTokenizerOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let enc = cased
        .encode("Hello", None, None)
        .unwrap_or_else(|e| panic!("{e}"));
    // The uncased vocab has no "Hello": it must not be lower-cased into "hello" (7592).
    assert!(!enc.ids.contains(&7592), "{:?}", enc.tokens);
}

#[test]
fn errors_name_the_file_and_problem() {
    let tok = tokenizer();
    match tok.encode("a b c", Some("d"), Some(2)) {
        Err(TokenizerError::MaxLenTooSmall { needed: 3, .. }) => {}
        other => panic!("expected MaxLenTooSmall, got {other:?}"),
    }

    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        tmp.path().join("vocab.txt"),
        "[PAD]\n[CLS]\n[SEP]\n[MASK]\nhello\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        tmp.path().join("tokenizer_config.json"),
        "{\n  \"do_lower_case\": yes\n}",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let e = WordPieceTokenizer::from_dir(tmp.path())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("tokenizer_config.json:2:"), "{e}");

    std::fs::write(
        tmp.path().join("tokenizer_config.json"),
        "{\"do_lower_case\": true}",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let e = WordPieceTokenizer::from_dir(tmp.path())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("vocab.txt") && e.contains("[UNK]"), "{e}");

    std::fs::remove_file(tmp.path().join("vocab.txt")).unwrap_or_else(|e| panic!("{e}"));
    let e = WordPieceTokenizer::from_dir(tmp.path())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("vocab.txt"), "{e}");
}
