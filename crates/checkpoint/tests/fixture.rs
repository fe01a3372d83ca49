//! The bert-tiny fixture's three weight files, read without a tensor library: the same tensors
//! under the same normalised names, byte for byte. (Loading into candle tensors, and broken
//! files, are tested in `multiberts-model`'s `tests/checkpoint.rs`.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use multiberts_checkpoint::{CheckpointFormat, StorageDtype, WeightsFile, normalize_name};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/bert-tiny")
        .join(rel)
}

/// Normalised name → (shape, f32 bytes) of every tensor kept.
type Tensors = BTreeMap<String, (Vec<usize>, Vec<u8>)>;

fn read(file: &str) -> (CheckpointFormat, Tensors) {
    let weights = WeightsFile::read(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let tensors = weights.tensors().unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut out = BTreeMap::new();
    for t in tensors {
        let Some(name) = normalize_name(&t.name) else {
            continue;
        };
        assert_eq!(t.dtype, StorageDtype::F32, "{file}: {}", t.name);
        let n: usize = t.shape.iter().product();
        assert_eq!(t.data.len(), 4 * n, "{file}: {}", t.name);
        out.insert(name, (t.shape.clone(), t.data.into_owned()));
    }
    (weights.format, out)
}

#[test]
fn the_three_formats_hold_the_same_tensors() {
    let (f1, st) = read("model.safetensors");
    let (f2, zip) = read("pytorch_model.bin");
    let (f3, legacy) = read("pytorch_model_legacy.bin");
    assert_eq!(
        (f1, f2, f3),
        (
            CheckpointFormat::Safetensors,
            CheckpointFormat::TorchZip,
            CheckpointFormat::TorchLegacy
        )
    );
    assert_eq!(st.len(), 39);
    assert!(st == zip, "safetensors and torch zip differ");
    assert!(st == legacy, "safetensors and torch legacy differ");
}

#[test]
fn a_directory_is_read_through_its_preferred_weights_file() {
    let w = WeightsFile::read(&fixture("")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(w.weights_path, fixture("model.safetensors"));
    assert_eq!(w.config_path, Some(fixture("config.json")));
    assert_eq!(w.files.len(), 2);
    assert!(w.files.iter().all(|f| f.sha256.len() == 64));
}
