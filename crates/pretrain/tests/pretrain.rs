//! Pre-training from scratch on real text (MRPC's news sentences from `../shared/data`, two
//! per document): BERT's masking statistics, the instances, a run whose masked-LM loss falls,
//! checkpoints in the Hugging Face layout that load back with every tensor, and a run killed
//! mid-way that resumes to the same bytes as an uninterrupted one.

use std::path::{Path, PathBuf};

use candle_core::Device;
use multiberts_model::config::BertConfig;
use multiberts_model::rng::SeededRng;
use multiberts_model::tokenizer::{BertTokenizerOptions, WordPieceTokenizer};
use multiberts_pretrain::corpus::Corpus;
use multiberts_pretrain::instances::{Instance, SpecialIds, build_instances};
use multiberts_pretrain::masking::{MaskingRule, masked_batch};
use multiberts_pretrain::{PretrainError, PretrainOptions, PretrainSpec, StepLog, pretrain};

const CLS: u32 = 101;
const SEP: u32 = 102;
const MASK: u32 = 103;

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

/// The first `n` MRPC training pairs, one sentence per line, five pairs per document.
fn corpus_file(dir: &Path, n: usize) -> PathBuf {
    let tsv = std::fs::read_to_string(shared("data/glue/MRPC/train.tsv")).unwrap();
    let mut text = String::new();
    for (i, line) in tsv.lines().skip(1).take(n).enumerate() {
        let cols: Vec<&str> = line.split('\t').collect();
        text += &format!("{}\n{}\n", cols[3], cols[4]);
        if i % 5 == 4 {
            text.push('\n');
        }
    }
    let path = dir.join("corpus.txt");
    std::fs::write(&path, text).unwrap();
    path
}

fn rule() -> MaskingRule {
    MaskingRule::bert(MASK, vec![0, 100, CLS, SEP, MASK], 30522)
}

#[test]
fn masking_chooses_15_percent_never_special_and_replaces_80_10_10() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = Corpus::read(&[corpus_file(tmp.path(), 400)], &tokenizer()).unwrap();
    let special = SpecialIds { cls: CLS, sep: SEP };
    let instances = build_instances(&corpus, 64, false, special, &mut SeededRng::new(1, 1));
    let rule = rule();
    let mut rng = SeededRng::new(7, 7);
    let (mut tokens, mut chosen, mut masked, mut kept, mut random) = (0, 0, 0, 0, 0);
    for instance in &instances {
        let (ids, labels) = rule.mask(instance, &mut rng);
        let expected = ((instance.ids.len() as f64 * 0.15).round() as usize).max(1);
        assert_eq!(
            labels.len(),
            expected,
            "BERT's count: max(1, round(0.15 n))"
        );
        tokens += instance.ids.len();
        chosen += labels.len();
        for &(t, original) in &labels {
            assert_eq!(original, instance.ids[t]);
            assert!(
                ![CLS, SEP].contains(&original),
                "a special token was chosen"
            );
            match ids[t] {
                MASK => masked += 1,
                id if id == original => kept += 1,
                id => {
                    assert!(
                        ![0, 100, CLS, SEP, MASK].contains(&id),
                        "special replacement"
                    );
                    random += 1;
                }
            }
        }
        for (t, (&now, &before)) in ids.iter().zip(&instance.ids).enumerate() {
            if !labels.iter().any(|&(p, _)| p == t) {
                assert_eq!(now, before, "an unchosen token changed");
            }
        }
    }
    let share = |k: usize| k as f64 / chosen as f64;
    assert!(
        (chosen as f64 / tokens as f64 - 0.15).abs() < 0.01,
        "{chosen} of {tokens}"
    );
    assert!(chosen > 2000, "enough draws for the shares below: {chosen}");
    assert!(
        (share(masked) - 0.8).abs() < 0.03,
        "[MASK] share {}",
        share(masked)
    );
    // A random replacement can draw the original token (1 in 30k): counted as kept.
    assert!(
        (share(kept) - 0.1).abs() < 0.02,
        "kept share {}",
        share(kept)
    );
    assert!(
        (share(random) - 0.1).abs() < 0.02,
        "random share {}",
        share(random)
    );
}

#[test]
fn instances_fill_the_length_and_pair_segments_half_at_random() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = Corpus::read(&[corpus_file(tmp.path(), 300)], &tokenizer()).unwrap();
    let special = SpecialIds { cls: CLS, sep: SEP };
    let instances = build_instances(&corpus, 128, true, special, &mut SeededRng::new(3, 3));
    let mut random = 0;
    for i in &instances {
        assert!(i.ids.len() <= 128);
        assert_eq!(i.ids[0], CLS);
        assert_eq!(*i.ids.last().unwrap(), SEP);
        assert_eq!(
            i.ids.iter().filter(|&&t| t == SEP).count(),
            2,
            "[CLS] A [SEP] B [SEP]"
        );
        let a_end = i.ids.iter().position(|&t| t == SEP).unwrap();
        assert!(
            a_end > 1 && a_end < i.ids.len() - 2,
            "both segments are non-empty"
        );
        assert!(i.type_ids[..=a_end].iter().all(|&t| t == 0));
        assert!(i.type_ids[a_end + 1..].iter().all(|&t| t == 1));
        random += i.next_sentence_label.unwrap() as usize;
    }
    let share = random as f64 / instances.len() as f64;
    // Half of the runs of two or more sentences, and every run of one (a document's last):
    // a little over half.
    assert!((0.45..0.65).contains(&share), "random-next share {share}");
    // Every token of the corpus is in some instance without next-sentence pairs.
    let single = build_instances(&corpus, 48, false, special, &mut SeededRng::new(3, 3));
    let inner: usize = single.iter().map(|i| i.ids.len() - 2).sum();
    assert_eq!(inner, corpus.tokens());
}

#[test]
fn a_batch_is_padded_and_its_positions_index_the_flat_batch() {
    let rule = rule();
    let a = Instance {
        ids: vec![CLS, 2000, 2001, 2002, SEP],
        type_ids: vec![0; 5],
        next_sentence_label: None,
    };
    let b = Instance {
        ids: vec![CLS, 3000, SEP],
        type_ids: vec![0; 3],
        next_sentence_label: None,
    };
    let batch = masked_batch(&[&a, &b], &rule, 0, &mut SeededRng::new(1, 2));
    assert_eq!(batch.input_ids[1].len(), 5);
    assert_eq!(batch.attention_mask[1], vec![1, 1, 1, 0, 0]);
    assert_eq!(batch.input_ids[1][3..], [0, 0]);
    assert_eq!(batch.masked.positions, vec![batch.masked.positions[0], 6]);
    assert_eq!(batch.masked.labels[1], 3000);
    assert!(batch.next_sentence_labels.is_none());
}

#[test]
fn corpus_errors_name_the_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty.txt");
    std::fs::write(&empty, "\n\n   \n").unwrap();
    let err = Corpus::read(std::slice::from_ref(&empty), &tokenizer()).unwrap_err();
    assert!(
        err.to_string().contains("empty.txt: holds no text"),
        "{err}"
    );
    let bad = tmp.path().join("bad.txt");
    std::fs::write(&bad, b"fine\nnot \xff utf-8\n").unwrap();
    let err = Corpus::read(&[bad], &tokenizer()).unwrap_err();
    assert!(
        err.to_string().contains("bad.txt:2: is not valid UTF-8"),
        "{err}"
    );
    let missing = tmp.path().join("missing.txt");
    let err = Corpus::read(&[missing], &tokenizer()).unwrap_err();
    assert!(
        err.to_string().contains("missing.txt: cannot read"),
        "{err}"
    );
}

fn spec(corpus: PathBuf, steps: u64) -> PretrainSpec {
    let mut config = BertConfig::preset("tiny").unwrap();
    config.max_position_embeddings = 64;
    PretrainSpec {
        name: "tiny-seed_3".into(),
        config,
        corpus: vec![corpus],
        vocab: vocab(),
        lowercase: true,
        seed: 3,
        steps,
        save_steps: vec![0, 10, steps],
        batch_size: 8,
        max_seq_len: 64,
        learning_rate: 5e-3,
        warmup_steps: 4,
        weight_decay: 0.01,
        max_grad_norm: 1.0,
        next_sentence: true,
    }
}

fn options(abort_after_step: Option<u64>) -> PretrainOptions {
    PretrainOptions {
        device: Device::Cpu,
        save: multiberts_runner::SaveSchedule::every_steps(7),
        abort_after_step,
    }
}

fn read_log(dir: &Path) -> Vec<StepLog> {
    std::fs::read_to_string(dir.join("log.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_run_lowers_the_loss_saves_loadable_checkpoints_and_resumes_bit_identically() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = corpus_file(tmp.path(), 200);
    let spec = spec(corpus, 30);
    let whole = tmp.path().join("whole");
    let done = pretrain(&spec, &whole, &options(None)).unwrap();
    assert!(!done.already_done);
    let log = read_log(&whole);
    assert_eq!(log.len(), 30);
    let mean = |s: &[StepLog]| s.iter().map(|l| f64::from(l.mlm)).sum::<f64>() / s.len() as f64;
    assert!(
        mean(&log[25..]) < mean(&log[..5]) - 0.5,
        "the masked-LM loss falls: {} → {}",
        mean(&log[..5]),
        mean(&log[25..])
    );
    assert!(whole.join("DONE").is_file() && !whole.join("state").exists());
    for step in [0, 10, 30] {
        let dir = whole.join(format!("step_{step}"));
        for file in [
            "config.json",
            "model.safetensors",
            "vocab.txt",
            "tokenizer_config.json",
        ] {
            assert!(dir.join(file).is_file(), "{}", dir.join(file).display());
        }
        // The encoder loads as any checkpoint, the heads with it, nothing left over.
        let tensors =
            multiberts_model::pretraining::load_pretraining_tensors(&dir, &Device::Cpu).unwrap();
        let mut b = multiberts_model::params::ParamBuilder::from_tensors(&tensors, &Device::Cpu, 0);
        multiberts_model::bert::Bert::build(&spec.config, &mut b).unwrap();
        multiberts_model::pretraining::PretrainingHeads::build(&spec.config, true, &mut b).unwrap();
        let (_, report) = b.finish(&[]).unwrap();
        assert!(report.initialised.is_empty(), "step {step}: {report:?}");
    }
    assert_ne!(
        std::fs::read(whole.join("step_0/model.safetensors")).unwrap(),
        std::fs::read(whole.join("step_30/model.safetensors")).unwrap()
    );

    // Killed after step 12 (the resume state is from step 7), then run again.
    let resumed = tmp.path().join("resumed");
    let err = pretrain(&spec, &resumed, &options(Some(12))).unwrap_err();
    assert!(
        matches!(err, PretrainError::Aborted { step: 12, .. }),
        "{err}"
    );
    assert!(resumed.join("step_10").is_dir() && !resumed.join("step_30").exists());
    let again = pretrain(&spec, &resumed, &options(None)).unwrap();
    assert_eq!(again.resumed_from, Some(7));
    for file in [
        "step_10/model.safetensors",
        "step_30/model.safetensors",
        "log.jsonl",
    ] {
        assert_eq!(
            std::fs::read(whole.join(file)).unwrap(),
            std::fs::read(resumed.join(file)).unwrap(),
            "{file} differs after resuming"
        );
    }
    let third = pretrain(&spec, &resumed, &options(None)).unwrap();
    assert!(third.already_done);
}

#[test]
fn seeds_differ_in_initialisation_and_data_order() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = corpus_file(tmp.path(), 60);
    let mut a = spec(corpus, 2);
    a.save_steps = vec![0, 2];
    let mut b = a.clone();
    b.seed = 4;
    pretrain(&a, &tmp.path().join("a"), &options(None)).unwrap();
    pretrain(&b, &tmp.path().join("b"), &options(None)).unwrap();
    let read = |run: &str, file: &str| std::fs::read(tmp.path().join(run).join(file)).unwrap();
    assert_ne!(
        read("a", "step_0/model.safetensors"),
        read("b", "step_0/model.safetensors")
    );
    assert_ne!(read("a", "log.jsonl"), read("b", "log.jsonl"));
    let err = pretrain(
        &PretrainSpec {
            save_steps: vec![5],
            ..a.clone()
        },
        &tmp.path().join("c"),
        &options(None),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("save step 5 is after the last step (2)"),
        "{err}"
    );
}

/// The vocabulary is not compared between two trainings: the `tokenizers` trainer breaks ties
/// in hash-map order (huggingface/tokenizers#1794), so a vocabulary is trained once and kept.
#[test]
fn a_trained_vocabulary_starts_with_the_specials_and_reads_back() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = corpus_file(tmp.path(), 400);
    let path = tmp.path().join("vocab.txt");
    let n =
        multiberts_model::vocab::train_wordpiece(std::slice::from_ref(&corpus), 2000, true, &path)
            .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), n);
    assert!(n <= 2000 && n > 1500, "{n} tokens");
    assert_eq!(lines[..5], ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]);
    let mut rest = lines[5..].to_vec();
    rest.sort_unstable();
    assert_eq!(
        rest,
        lines[5..],
        "tokens after the specials are in a canonical order"
    );
    let tokenizer =
        WordPieceTokenizer::from_vocab_file(&path, BertTokenizerOptions::default()).unwrap();
    let enc = tokenizer
        .encode("The company said it would sell shares.", None, None)
        .unwrap();
    assert_eq!(enc.ids[0], 2, "[CLS]");
    assert!(
        !enc.ids.contains(&1),
        "common words are in the vocabulary: {:?}",
        enc.tokens
    );
}

#[test]
fn a_finished_run_is_not_reused_for_other_settings_or_changed_files() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = corpus_file(tmp.path(), 60);
    let mut spec = spec(corpus.clone(), 2);
    spec.save_steps = vec![2];
    let dir = tmp.path().join("run");
    pretrain(&spec, &dir, &options(None)).unwrap();
    assert!(pretrain(&spec, &dir, &options(None)).unwrap().already_done);
    let other = PretrainSpec {
        learning_rate: 1e-4,
        ..spec.clone()
    };
    let err = pretrain(&other, &dir, &options(None))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("holds a finished run with other settings (learning_rate: 0.005 → 0.0001)"),
        "{err}"
    );
    let mut text = std::fs::read_to_string(&corpus).unwrap();
    text.push_str("One more sentence.\n");
    std::fs::write(&corpus, text).unwrap();
    let err = pretrain(&spec, &dir, &options(None))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("files that have changed since") && err.contains("corpus.txt"),
        "{err}"
    );
}

#[test]
fn sizes_take_the_vocabulary_size_and_the_last_step_is_always_saved() {
    let config = multiberts_pretrain::resolve_config("L2-H128", &vocab(), true).unwrap();
    assert_eq!(
        (
            config.num_hidden_layers,
            config.hidden_size,
            config.vocab_size
        ),
        (2, 128, 30522)
    );
    let err = multiberts_pretrain::resolve_config("huge", &vocab(), true).unwrap_err();
    assert!(
        err.to_string().contains("`huge` is not a model size"),
        "{err}"
    );
    assert_eq!(
        multiberts_pretrain::save_steps_with_last(&[200, 0, 200], 500),
        [0, 200, 500]
    );
    assert_eq!(multiberts_pretrain::save_steps_with_last(&[], 7), [7]);
}
