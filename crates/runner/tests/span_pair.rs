//! The span-pair task kind: char spans → token spans on every real Winogender sentence, the
//! truncation around the spans, and small end-to-end jobs on the generated `demo-coref` task
//! (choice rows per sentence, accuracy and bias r per epoch, the CDA variant).

mod common;

use std::path::Path;

use multiberts_collector::read_predictions;
use multiberts_manifest::Manifest;
use multiberts_model::tokenizer::WordPieceTokenizer;
use multiberts_runner::features::tokenize;
use multiberts_runner::spans::window;
use multiberts_tasks::{CharSpan, TaskRegistry};

use common::{job_dir, options, shared};

fn tokenizer() -> WordPieceTokenizer {
    WordPieceTokenizer::from_dir(&shared("fixtures/bert-tiny")).unwrap()
}

/// The text the tokens `lo..=hi` of `ids` spell, WordPiece continuations joined.
fn decode(tk: &WordPieceTokenizer, ids: &[u32], (lo, hi): (u32, u32)) -> String {
    let mut out = String::new();
    for &id in &ids[lo as usize..=hi as usize] {
        let t = tk.id_to_token(id).unwrap();
        match t.strip_prefix("##") {
            Some(rest) => out.push_str(rest),
            None => {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(&t);
            }
        }
    }
    out
}

#[test]
fn spans_land_on_the_mention_tokens_for_every_winogender_sentence() {
    let registry = TaskRegistry::builtin().unwrap();
    let spec = registry.get("winogender").unwrap();
    let data = spec.load_split(&shared("data"), &spec.eval_split).unwrap();
    assert_eq!(data.examples.len(), 1440);
    let tk = tokenizer();
    let features = tokenize(&tk, &data, 128).unwrap();
    for (e, f) in data.examples.iter().zip(&features) {
        let [a, b] = f.spans.unwrap();
        let pair = e.spans.unwrap();
        for (span, toks) in [(pair.span1, a), (pair.span2, b)] {
            let mention = e.span_text(span).unwrap().to_lowercase();
            // Every token of the mention, and nothing else: "the customer" may be tokenized
            // with the article or not, the mention text decides.
            assert_eq!(decode(&tk, &f.ids, toks), mention, "{}", e.id);
        }
    }
}

#[test]
fn long_inputs_are_truncated_around_the_spans() {
    let tk = tokenizer();
    let filler = "the cat sat on the mat . ".repeat(30);
    let text = format!("{filler}the nurse said that she was tired . {filler}");
    let enc = tk.encode(&text, None, None).unwrap();
    assert!(enc.ids.len() > 300);
    let at = |w: &str| {
        let s = text.find(w).unwrap();
        CharSpan::new(s, s + w.len())
    };
    let w = window(&enc, [at("nurse"), at("she")], 32).unwrap();
    assert_eq!(w.ids.len(), 32);
    assert_eq!(w.ids[0], tk.token_to_id("[CLS]").unwrap());
    assert_eq!(w.ids[31], tk.token_to_id("[SEP]").unwrap());
    assert_eq!(decode(&tk, &w.ids, w.spans[0]), "nurse");
    assert_eq!(decode(&tk, &w.ids, w.spans[1]), "she");
    // Centred: the spans sit in the middle of the window.
    assert!((10..=22).contains(&w.spans[0].0), "{:?}", w.spans);

    // Spans too far apart for one window are an error, not a silent cut.
    let far = format!("the nurse {filler} she left");
    let enc = tk.encode(&far, None, None).unwrap();
    let s2 = far.rfind("she").unwrap();
    let err = window(&enc, [CharSpan::new(4, 9), CharSpan::new(s2, s2 + 3)], 32).unwrap_err();
    assert!(err.contains("tokens apart"), "{err}");
    // A span of only whitespace covers no token.
    let err = window(&enc, [CharSpan::new(3, 4), CharSpan::new(4, 9)], 512).unwrap_err();
    assert!(err.contains("covers no token"), "{err}");
}

fn coref_manifest(dir: &Path) -> Manifest {
    let text = r#"
name = "t"
[defaults]
max_seq_len = 32
batch_size = 16
eval_batch_size = 64
epochs = 1
learning_rates = [1e-3]
finetune_seeds = [0]
max_train_examples = 96

[[checkpoints]]
init = { config = "tiny" }
seeds = [1]

[[tasks]]
name = "demo-coref"

[[tasks]]
name = "demo-coref"
augment = "cda"
"#;
    common::write_manifest(dir, text)
}

#[test]
fn demo_coref_jobs_write_one_row_per_sentence_and_the_cda_variant() {
    let tmp = tempfile::tempdir().unwrap();
    let m = coref_manifest(tmp.path());
    let jobs = m.jobs();
    assert_eq!(jobs.len(), 2);
    let spec = m.registry.get("demo-coref").unwrap();
    let eval = spec.load_split(Path::new("."), &spec.eval_split).unwrap();
    let items: Vec<&str> = eval
        .examples
        .iter()
        .filter(|e| e.choice.as_ref().is_some_and(|c| c.candidate == 0))
        .map(|e| e.choice.as_ref().unwrap().group.as_str())
        .collect();
    for job in &jobs {
        let summary = common::run(&m, job, tmp.path(), &options(tmp.path())).unwrap();
        for metric in ["accuracy", "bias_r", "bias_slope"] {
            assert!(summary.dev.contains_key(metric), "{:?}", summary.dev);
        }
        let acc = summary.dev["accuracy"];
        assert!((0.0..=1.0).contains(&acc));
        let dir = job_dir(tmp.path(), job);
        let rows = read_predictions(&dir.join("predictions.parquet")).unwrap();
        assert_eq!(rows.len(), items.len());
        let mut correct = 0;
        for (r, (row, group)) in rows.iter().zip(&items).enumerate() {
            assert_eq!(row.example_index, r as i64);
            assert_eq!(row.example_id, *group);
            assert_eq!(row.variant, job.variant);
            assert_eq!(row.scores.len(), 2);
            // The prediction is the candidate with the larger probability of coreference.
            let argmax = if row.scores[1] > row.scores[0] {
                1.0
            } else {
                0.0
            };
            assert_eq!(row.prediction, argmax);
            // The label is the candidate labelled 1 in the data.
            let gold = eval
                .examples
                .iter()
                .find(|e| {
                    e.choice.as_ref().is_some_and(|c| c.group == *group)
                        && e.label == multiberts_tasks::Label::Class(1)
                })
                .unwrap();
            assert_eq!(row.label, gold.choice.as_ref().unwrap().candidate as f64);
            correct += usize::from(row.prediction == row.label);
        }
        assert_eq!(acc, correct as f64 / rows.len() as f64);
        let record = std::fs::read_to_string(dir.join("job.json")).unwrap();
        let record: serde_json::Value = serde_json::from_str(&record).unwrap();
        let n_train = record["provenance"]["train_examples"].as_u64().unwrap();
        if job.augment.is_some() {
            // Originals plus their counterfactual twins.
            assert!(n_train > 96, "{n_train}");
            assert_eq!(record["job"]["augment"], "cda");
        } else {
            assert_eq!(n_train, 96);
        }
    }
}
