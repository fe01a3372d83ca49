//! `encode` on the bert-tiny fixture: the written `last_hidden_state` and `pooler_output` match
//! the PyTorch reference, from ids and from texts, and bad inputs give errors that say what is
//! wrong.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use multiberts_model::encode::encode_file;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/bert-tiny")
        .join(rel)
}

fn max_abs(t: &Tensor) -> f64 {
    t.to_dtype(DType::F64)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f64>()
        .unwrap()
}

fn assert_matches_reference(out: &Path) {
    let got = candle_core::safetensors::load(out, &Device::Cpu).unwrap();
    let exp =
        candle_core::safetensors::load(fixture("expected.safetensors"), &Device::Cpu).unwrap();
    assert_eq!(got.len(), 2);
    for name in ["last_hidden_state", "pooler_output"] {
        let (g, e) = (&got[name], &exp[name]);
        assert_eq!(g.dtype(), DType::F32);
        assert_eq!(g.dims(), e.dims(), "{name}");
        let diff = max_abs(&(g - e).unwrap());
        assert!(diff <= 1e-5 * max_abs(e), "{name}: {diff:e}");
    }
}

#[test]
fn encodes_the_fixture_batch_from_every_checkpoint_layout() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.safetensors");
    for ckpt in [
        "",
        "pytorch_model.bin",
        "pytorch_model_legacy.bin",
        "headless",
    ] {
        let summary = encode_file(
            &fixture(ckpt),
            &fixture("batch.json"),
            Some("pairs"),
            &out,
            &Device::Cpu,
        )
        .unwrap();
        assert_eq!(summary.shape, (8, 48, 32), "{ckpt}");
        assert!(summary.initialised.is_empty(), "{ckpt}");
        assert!(
            summary.files.iter().all(|(_, sha)| sha.len() == 64),
            "{ckpt}"
        );
        assert_matches_reference(&out);
    }
}

#[test]
fn encodes_texts_with_the_checkpoint_tokenizer() {
    // The same MRPC pairs as text: tokenised with the fixture's vocab, truncated to 48.
    let batch: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("batch.json")).unwrap()).unwrap();
    let pairs = &batch["pairs"];
    let texts: Vec<serde_json::Value> = (0..8)
        .map(|i| serde_json::json!([pairs["text_a"][i], pairs["text_b"][i]]))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("texts.json");
    std::fs::write(
        &input,
        serde_json::json!({"texts": texts, "max_length": 48}).to_string(),
    )
    .unwrap();
    let out = dir.path().join("out.safetensors");
    encode_file(&fixture(""), &input, None, &out, &Device::Cpu).unwrap();
    // Every row of `pairs` has length 48 after truncation or is padded to it; rows shorter
    // than the longest are padded, so the outputs compare position by position.
    assert_matches_reference(&out);
}

#[test]
fn input_errors_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.safetensors");
    let err = encode_file(
        &fixture(""),
        &fixture("batch.json"),
        Some("nope"),
        &out,
        &Device::Cpu,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("nope") && err.contains("pairs") && err.contains("stsb"),
        "{err}"
    );
    let err = encode_file(
        &fixture(""),
        &fixture("batch.json"),
        None,
        &out,
        &Device::Cpu,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("--batch"), "{err}");

    let input = dir.path().join("bad.json");
    std::fs::write(&input, r#"{"input_ids": [[101, 40000, 102]]}"#).unwrap();
    let err = encode_file(&fixture(""), &input, None, &out, &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bad.json") && err.contains("`input_ids`[0][1] = 40000"),
        "{err}"
    );
    std::fs::write(&input, r#"{"input_ids": [[101, 102], [101]]}"#).unwrap();
    let err = encode_file(&fixture(""), &input, None, &out, &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(err.contains("row 1 has length 1"), "{err}");
    std::fs::write(&input, "{\n  \"input_ids\": [[1,]]\n}").unwrap();
    let err = encode_file(&fixture(""), &input, None, &out, &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2"), "{err}");
    assert!(!out.exists(), "no output is written on error");

    let err = encode_file(
        &dir.path().join("missing"),
        &fixture("batch.json"),
        Some("pairs"),
        &out,
        &Device::Cpu,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("missing"), "{err}");
}

/// `--out` into a folder that does not exist names that folder, not a temporary file, and
/// leaves nothing behind.
#[test]
fn an_output_in_a_missing_folder_names_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("missing/out.safetensors");
    let err = encode_file(
        &fixture(""),
        &fixture("batch.json"),
        Some("pairs"),
        &out,
        &Device::Cpu,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("missing/out.safetensors")
            && err.contains("does not exist; create it first")
            && !err.contains("missing/."),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
