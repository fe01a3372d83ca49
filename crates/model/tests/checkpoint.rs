//! Checkpoint loading against the bert-tiny fixture files (safetensors, torch zip, torch legacy,
//! headless transformers-5 directory) and against deliberately broken files.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use multiberts_model::checkpoint::{
    CheckpointError, CheckpointFormat, LoadedCheckpoint, load_checkpoint, normalize_name,
};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/bert-tiny")
        .join(rel)
}

fn load(path: &Path) -> LoadedCheckpoint {
    match load_checkpoint(path, &Device::Cpu) {
        Ok(c) => c,
        Err(e) => panic!("loading {}: {e}", path.display()),
    }
}

/// The 39 `BertModel` parameters of the fixture (README, state-dict table rows 1-39).
fn expected_names() -> BTreeSet<String> {
    let mut names: Vec<String> = [
        "embeddings.word_embeddings.weight",
        "embeddings.position_embeddings.weight",
        "embeddings.token_type_embeddings.weight",
        "embeddings.LayerNorm.weight",
        "embeddings.LayerNorm.bias",
        "pooler.dense.weight",
        "pooler.dense.bias",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for layer in 0..2 {
        for p in [
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
            "attention.output.LayerNorm",
            "intermediate.dense",
            "output.dense",
            "output.LayerNorm",
        ] {
            for wb in ["weight", "bias"] {
                names.push(format!("encoder.layer.{layer}.{p}.{wb}"));
            }
        }
    }
    names.into_iter().collect()
}

fn bits(t: &Tensor) -> Vec<u32> {
    t.flatten_all()
        .and_then(|t| t.to_vec1::<f32>())
        .map(|v| v.into_iter().map(f32::to_bits).collect())
        .unwrap_or_else(|e| panic!("reading tensor: {e}"))
}

#[test]
fn all_fixture_formats_give_identical_tensors() {
    let sources = [
        ("model.safetensors", CheckpointFormat::Safetensors),
        ("pytorch_model.bin", CheckpointFormat::TorchZip),
        ("pytorch_model_legacy.bin", CheckpointFormat::TorchLegacy),
        ("headless", CheckpointFormat::Safetensors),
    ];
    let loaded: Vec<(&str, LoadedCheckpoint)> = sources
        .iter()
        .map(|(rel, format)| {
            let c = load(&fixture(rel));
            assert_eq!(c.format, *format, "{rel}");
            (*rel, c)
        })
        .collect();

    let expected = expected_names();
    for (rel, c) in &loaded {
        let names: BTreeSet<String> = c.tensors.keys().cloned().collect();
        assert_eq!(names, expected, "{rel}: key set");
        for t in c.tensors.values() {
            assert_eq!(t.dtype(), DType::F32, "{rel}");
        }
    }
    let reference = &loaded[0].1.tensors;
    assert_eq!(
        reference["embeddings.word_embeddings.weight"].dims(),
        &[30522, 32]
    );
    assert_eq!(
        reference["encoder.layer.1.intermediate.dense.weight"].dims(),
        &[64, 32]
    );
    assert_eq!(
        reference["encoder.layer.0.output.dense.weight"].dims(),
        &[32, 64]
    );
    // The perturbed LayerNorm weights are not all 1 (the README's guard against loaders
    // that silently drop them).
    let ln = reference["embeddings.LayerNorm.weight"]
        .to_vec1::<f32>()
        .unwrap_or_default();
    assert!(ln.iter().any(|&x| (x - 1.0).abs() > 1e-3));
    // [PAD] row of the word embeddings stays zero.
    let pad_row = reference["embeddings.word_embeddings.weight"]
        .get(0)
        .and_then(|r| r.to_vec1::<f32>())
        .unwrap_or_default();
    assert!(pad_row.iter().all(|&x| x == 0.0));

    for (rel, c) in &loaded[1..] {
        for (name, t) in reference {
            let other = &c.tensors[name];
            assert_eq!(t.dims(), other.dims(), "{rel}: {name} shape");
            assert!(
                bits(t) == bits(other),
                "{rel}: {name} differs from model.safetensors"
            );
        }
    }
}

#[test]
fn ignored_names_and_digests_are_recorded() {
    let dir = load(&fixture(""));
    // A directory prefers model.safetensors and records config.json beside it.
    assert_eq!(
        dir.weights_path.file_name().unwrap_or_default(),
        "model.safetensors"
    );
    assert_eq!(
        dir.config_path.as_deref(),
        Some(fixture("config.json").as_path())
    );
    let digests: HashMap<String, String> = dir
        .files
        .iter()
        .map(|f| {
            (
                f.path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                f.sha256.clone(),
            )
        })
        .collect();
    // sha256 values from the fixture README's file table.
    assert_eq!(
        digests["model.safetensors"],
        "fe6237abf6fa8a3fdf6b218ceacd0f59125ddedc5cd2977701402ecf8e9ca29b"
    );
    assert_eq!(
        digests["config.json"],
        "091d225b4275fa55a2532445234adf674ac2b040645cd64fa9a5cc341964f20f"
    );

    let legacy = load(&fixture("pytorch_model_legacy.bin"));
    assert_eq!(
        legacy.files[0].sha256,
        "53ad91e1d9f23e99a36b1cbcf058c44757ffb3abf26336b4370df7296c6a12ab"
    );
    let mut ignored = legacy.ignored.clone();
    ignored.sort();
    assert_eq!(
        ignored,
        [
            "bert.embeddings.position_ids",
            "cls.predictions.bias",
            "cls.predictions.decoder.bias",
            "cls.predictions.decoder.weight",
            "cls.predictions.transform.LayerNorm.bias",
            "cls.predictions.transform.LayerNorm.weight",
            "cls.predictions.transform.dense.bias",
            "cls.predictions.transform.dense.weight",
            "cls.seq_relationship.bias",
            "cls.seq_relationship.weight",
        ]
    );
    assert!(load(&fixture("headless")).ignored.is_empty());
}

#[test]
fn names_are_normalised() {
    assert_eq!(
        normalize_name("bert.encoder.layer.0.output.LayerNorm.gamma").as_deref(),
        Some("encoder.layer.0.output.LayerNorm.weight")
    );
    assert_eq!(
        normalize_name("embeddings.LayerNorm.beta").as_deref(),
        Some("embeddings.LayerNorm.bias")
    );
    assert_eq!(
        normalize_name("classifier.weight").as_deref(),
        Some("classifier.weight")
    );
    assert_eq!(normalize_name("cls.predictions.bias"), None);
    assert_eq!(normalize_name("bert.embeddings.position_ids"), None);
    assert_eq!(normalize_name("embeddings.position_ids"), None);
}

// ---------- hand-made files ----------

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", p.display()));
    p
}

fn err(path: &Path) -> CheckpointError {
    match load_checkpoint(path, &Device::Cpu) {
        Ok(_) => panic!("{} loaded but should not", path.display()),
        Err(e) => e,
    }
}

fn safetensors_bytes(tensors: &[(&str, safetensors::Dtype, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|(n, d, s, b)| {
            let view = safetensors::tensor::TensorView::new(*d, s.clone(), b)
                .unwrap_or_else(|e| panic!("view {n}: {e}"));
            (n.to_string(), view)
        })
        .collect();
    safetensors::tensor::serialize(views, None).unwrap_or_else(|e| panic!("serialize: {e}"))
}

#[test]
fn half_precision_and_f64_are_widened_and_names_fixed() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // Bit patterns written by hand: f16 1.0, -2.5, 65504 (max), 2^-24 (smallest subnormal);
    // bf16 1.0, -2.5, 0.15625, 2^-133 (subnormal in f32 too).
    let f16_bits: [u16; 4] = [0x3C00, 0xC100, 0x7BFF, 0x0001];
    let f16_values = [1.0f32, -2.5, 65504.0, 2f32.powi(-24)];
    let bf16_bits: [u16; 4] = [0x3F80, 0xC020, 0x3E20, 0x0001];
    let bf16_values = [1.0f32, -2.5, 0.15625, f32::from_bits(0x0001_0000)];
    let f16: Vec<u8> = f16_bits.iter().flat_map(|b| b.to_le_bytes()).collect();
    let bf16: Vec<u8> = bf16_bits.iter().flat_map(|b| b.to_le_bytes()).collect();
    let f64s = [0.1f64, 1e-40, -3.0, 7.25];
    let f64b: Vec<u8> = f64s.iter().flat_map(|v| v.to_le_bytes()).collect();
    let bytes = safetensors_bytes(&[
        (
            "bert.embeddings.LayerNorm.gamma",
            safetensors::Dtype::F16,
            vec![4],
            f16,
        ),
        (
            "bert.embeddings.LayerNorm.beta",
            safetensors::Dtype::BF16,
            vec![2, 2],
            bf16,
        ),
        ("pooler.dense.bias", safetensors::Dtype::F64, vec![4], f64b),
    ]);
    let path = write(tmp.path(), "w.safetensors", &bytes);
    let c = load(&path);
    let w = c.tensors["embeddings.LayerNorm.weight"]
        .to_vec1::<f32>()
        .unwrap_or_default();
    assert_eq!(w, f16_values);
    let b = c.tensors["embeddings.LayerNorm.bias"]
        .to_vec2::<f32>()
        .unwrap_or_default();
    assert_eq!(b.concat(), bf16_values);
    let p = c.tensors["pooler.dense.bias"]
        .to_vec1::<f32>()
        .unwrap_or_default();
    assert_eq!(p, f64s.iter().map(|&v| v as f32).collect::<Vec<_>>());
}

#[test]
fn bad_safetensors_files_give_clear_errors() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let u16 = safetensors_bytes(&[(
        "pooler.dense.bias",
        safetensors::Dtype::U16,
        vec![2],
        vec![0; 4],
    )]);
    let p = write(tmp.path(), "u16.safetensors", &u16);
    let e = err(&p);
    assert!(
        matches!(&e, CheckpointError::UnknownDtype { tensor, .. } if tensor == "pooler.dense.bias"),
        "{e}"
    );
    assert!(e.to_string().contains("u16.safetensors"), "{e}");

    let dup = safetensors_bytes(&[
        (
            "bert.pooler.dense.bias",
            safetensors::Dtype::F32,
            vec![1],
            vec![0; 4],
        ),
        (
            "pooler.dense.bias",
            safetensors::Dtype::F32,
            vec![1],
            vec![0; 4],
        ),
    ]);
    let p = write(tmp.path(), "dup.safetensors", &dup);
    assert!(
        matches!(err(&p), CheckpointError::DuplicateTensor { name, .. } if name == "pooler.dense.bias")
    );

    let good = std::fs::read(fixture("headless/model.safetensors")).unwrap_or_default();
    let p = write(tmp.path(), "cut.safetensors", &good[..good.len() / 2]);
    let e = err(&p);
    assert!(matches!(e, CheckpointError::Safetensors { .. }), "{e}");
    assert!(e.to_string().contains("cut.safetensors"), "{e}");

    let p = write(tmp.path(), "notes.txt", b"hello, I am not a checkpoint");
    let e = err(&p);
    assert!(matches!(e, CheckpointError::UnknownFormat { .. }), "{e}");
    assert!(
        e.to_string().contains("notes.txt") && e.to_string().contains("hello"),
        "{e}"
    );

    let p = write(tmp.path(), "empty.bin", b"");
    assert!(matches!(err(&p), CheckpointError::UnknownFormat { .. }));
}

#[test]
fn missing_weights_in_a_directory_lists_what_is_there() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(tmp.path(), "config.json", b"{}");
    write(tmp.path(), "tf_model.h5", b"");
    let e = err(tmp.path());
    assert!(
        matches!(&e, CheckpointError::NoWeightsFile { found, .. } if found == &["config.json", "tf_model.h5"]),
        "{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("model.safetensors") && msg.contains("tf_model.h5"),
        "{msg}"
    );

    let e = err(&tmp.path().join("nope"));
    assert!(matches!(e, CheckpointError::Io { .. }), "{e}");
}

#[test]
fn corrupt_torch_files_give_clear_errors() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let zip = std::fs::read(fixture("pytorch_model.bin")).unwrap_or_default();
    // Cut before the central directory: the archive cannot be opened.
    let p = write(tmp.path(), "cut.bin", &zip[..zip.len() / 2]);
    let e = err(&p);
    assert!(matches!(e, CheckpointError::Zip { .. }), "{e}");
    assert!(e.to_string().contains("cut.bin"), "{e}");

    // Flip bytes inside a storage: the zip's CRC check catches it.
    let mut flipped = zip.clone();
    let at = flipped.len() / 3;
    for b in &mut flipped[at..at + 64] {
        *b ^= 0xff;
    }
    let p = write(tmp.path(), "flipped.bin", &flipped);
    let e = err(&p);
    assert!(e.to_string().contains("flipped.bin"), "{e}");

    let legacy = std::fs::read(fixture("pytorch_model_legacy.bin")).unwrap_or_default();
    let p = write(tmp.path(), "legacy_cut.bin", &legacy[..legacy.len() - 100]);
    let e = err(&p);
    match &e {
        CheckpointError::TruncatedStorage {
            key,
            needed,
            available,
            ..
        } => {
            assert_eq!(key, "9", "the last storage in key order is \"9\"");
            assert!(available < needed);
        }
        other => panic!("expected TruncatedStorage, got {other}"),
    }
    assert!(e.to_string().contains("legacy_cut.bin"), "{e}");

    // Cut inside the pickled state dict.
    let p = write(tmp.path(), "legacy_head.bin", &legacy[..4000]);
    let e = err(&p);
    assert!(matches!(e, CheckpointError::Pickle { .. }), "{e}");
    assert!(e.to_string().contains("state dict"), "{e}");
}

// A hand-written torch zip file: a dict of `_rebuild_tensor_v2` calls, built opcode by opcode.
struct TorchTensor<'a> {
    name: &'a str,
    storage_class: &'a str,
    key: &'a str,
    numel: u32,
    offset: u32,
    size: &'a [u32],
    stride: &'a [u32],
}

fn pickle_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'X');
    out.extend((s.len() as u32).to_le_bytes());
    out.extend(s.as_bytes());
}

fn pickle_int(out: &mut Vec<u8>, v: u32) {
    out.push(b'J');
    out.extend(v.to_le_bytes());
}

fn state_dict_pickle(tensors: &[TorchTensor<'_>]) -> Vec<u8> {
    let mut p = vec![0x80, 2, b'}', b'('];
    for t in tensors {
        pickle_str(&mut p, t.name);
        p.extend(b"ctorch._utils\n_rebuild_tensor_v2\n(");
        p.push(b'(');
        pickle_str(&mut p, "storage");
        p.extend(format!("ctorch\n{}\n", t.storage_class).as_bytes());
        pickle_str(&mut p, t.key);
        pickle_str(&mut p, "cpu");
        pickle_int(&mut p, t.numel);
        p.extend(b"tQ");
        pickle_int(&mut p, t.offset);
        p.push(b'(');
        for &d in t.size {
            pickle_int(&mut p, d);
        }
        p.push(b't');
        p.push(b'(');
        for &s in t.stride {
            pickle_int(&mut p, s);
        }
        p.push(b't');
        p.push(0x89);
        p.extend(b"ccollections\nOrderedDict\n)R");
        p.extend(b"tR");
    }
    p.extend(b"u.");
    p
}

fn torch_zip(pkl: &[u8], storages: &[(&str, Vec<u8>)]) -> Vec<u8> {
    torch_zip_with(pkl, storages, b"little\n")
}

fn torch_zip_with(pkl: &[u8], storages: &[(&str, Vec<u8>)], byteorder: &[u8]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        let mut add = |name: &str, bytes: &[u8]| {
            w.start_file(name, opts).unwrap_or_else(|e| panic!("{e}"));
            w.write_all(bytes).unwrap_or_else(|e| panic!("{e}"));
        };
        add("archive/data.pkl", pkl);
        add("archive/byteorder", byteorder);
        for (key, bytes) in storages {
            add(&format!("archive/data/{key}"), bytes);
        }
        w.finish().unwrap_or_else(|e| panic!("{e}"));
    }
    buf.into_inner()
}

#[test]
fn strided_views_and_shared_storages_are_materialised() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let storage: Vec<u8> = (0..8).flat_map(|i| (i as f32).to_le_bytes()).collect();
    let half: Vec<u8> = [0x3800u16, 0xBC00]
        .iter()
        .flat_map(|b| b.to_le_bytes())
        .collect();
    let pkl = state_dict_pickle(&[
        // A [2, 3] transpose-style view: element (i, j) = storage[1 + i + 2 j].
        TorchTensor {
            name: "a.weight",
            storage_class: "FloatStorage",
            key: "0",
            numel: 8,
            offset: 1,
            size: &[2, 3],
            stride: &[1, 2],
        },
        // A contiguous slice of the same storage.
        TorchTensor {
            name: "a.bias",
            storage_class: "FloatStorage",
            key: "0",
            numel: 8,
            offset: 6,
            size: &[2],
            stride: &[1],
        },
        TorchTensor {
            name: "h.bias",
            storage_class: "HalfStorage",
            key: "1",
            numel: 2,
            offset: 0,
            size: &[2],
            stride: &[1],
        },
    ]);
    let p = write(
        tmp.path(),
        "strided.bin",
        &torch_zip(&pkl, &[("0", storage.clone()), ("1", half)]),
    );
    let c = load(&p);
    assert_eq!(c.format, CheckpointFormat::TorchZip);
    let a = c.tensors["a.weight"].to_vec2::<f32>().unwrap_or_default();
    assert_eq!(a, vec![vec![1.0, 3.0, 5.0], vec![2.0, 4.0, 6.0]]);
    assert_eq!(
        c.tensors["a.bias"].to_vec1::<f32>().unwrap_or_default(),
        vec![6.0, 7.0]
    );
    assert_eq!(
        c.tensors["h.bias"].to_vec1::<f32>().unwrap_or_default(),
        vec![0.5, -1.0]
    );

    // Big-endian storages are refused rather than read as garbage.
    let p = write(
        tmp.path(),
        "big.bin",
        &torch_zip_with(&pkl, &[("0", storage.clone()), ("1", vec![0; 4])], b"big"),
    );
    let e = err(&p).to_string();
    assert!(e.contains("big.bin") && e.contains("endian"), "{e}");

    // A view reaching past its storage is a truncated storage, not a panic.
    let pkl = state_dict_pickle(&[TorchTensor {
        name: "x",
        storage_class: "FloatStorage",
        key: "0",
        numel: 8,
        offset: 4,
        size: &[2, 3],
        stride: &[3, 1],
    }]);
    let p = write(
        tmp.path(),
        "short.bin",
        &torch_zip(&pkl, &[("0", storage.clone())]),
    );
    match err(&p) {
        CheckpointError::TruncatedStorage {
            tensor,
            needed,
            available,
            ..
        } => {
            assert_eq!(tensor, "x");
            assert_eq!((needed, available), (40, 32));
        }
        other => panic!("expected TruncatedStorage, got {other}"),
    }

    // Missing storage entry and unknown storage class.
    let pkl = state_dict_pickle(&[TorchTensor {
        name: "y",
        storage_class: "ComplexFloatStorage",
        key: "0",
        numel: 8,
        offset: 0,
        size: &[8],
        stride: &[1],
    }]);
    let p = write(
        tmp.path(),
        "complex.bin",
        &torch_zip(&pkl, &[("0", storage.clone())]),
    );
    let e = err(&p);
    assert!(
        matches!(&e, CheckpointError::UnknownDtype { tensor, dtype, .. } if tensor == "y" && dtype == "ComplexFloatStorage"),
        "{e}"
    );
    let pkl = state_dict_pickle(&[TorchTensor {
        name: "z",
        storage_class: "FloatStorage",
        key: "7",
        numel: 8,
        offset: 0,
        size: &[8],
        stride: &[1],
    }]);
    let p = write(
        tmp.path(),
        "nostorage.bin",
        &torch_zip(&pkl, &[("0", storage)]),
    );
    let e = err(&p).to_string();
    assert!(
        e.contains("archive/data/7") && e.contains("nostorage.bin"),
        "{e}"
    );
}

#[test]
fn damaged_pickles_give_errors_not_panics() {
    use multiberts_model::pickle;
    let legacy = std::fs::read(fixture("pytorch_model_legacy.bin")).unwrap_or_default();
    // The five pickles of the legacy header end at byte 9273 (README, section A).
    let header = &legacy[..9273];
    // Every truncation of the state-dict pickle (bytes 137..8852) is an error.
    let dict = &header[137..8852];
    for n in 0..dict.len() {
        assert!(pickle::load(&dict[..n]).is_err(), "truncated at {n}");
    }
    let (whole, used) = pickle::load(dict).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(used, dict.len());
    assert!(matches!(whole, pickle::Value::Dict(ref d) if d.len() == 49));

    // Deterministic random byte damage: decoding and loading must fail cleanly or succeed.
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..300 {
        let mut damaged = legacy[..9273 + 64].to_vec();
        for _ in 0..1 + next() % 4 {
            let at = (next() % 9273) as usize;
            damaged[at] = next() as u8;
        }
        let _ = pickle::load(&damaged[137..]);
        if round % 30 == 0 {
            let p = write(tmp.path(), "damaged.bin", &damaged);
            assert!(load_checkpoint(&p, &Device::Cpu).is_err());
        }
    }
}

#[test]
fn deeply_nested_pickles_are_refused() {
    use multiberts_model::pickle::{self, MAX_DEPTH, PickleErrorKind};
    // 1 million nested 1-tuples would overflow the stack when dropped; the reader stops early.
    let mut p = vec![0x80, 2, b'N'];
    p.extend(std::iter::repeat_n(0x85u8, 1_000_000));
    p.push(b'.');
    match pickle::load(&p) {
        Err(e) => {
            assert_eq!(e.kind, PickleErrorKind::TooDeep);
            assert_eq!(e.offset, 3 + MAX_DEPTH as usize);
        }
        Ok(_) => panic!("a million nested tuples were accepted"),
    }
    // Nesting within the limit is fine.
    let mut p = vec![0x80, 2, b'N'];
    p.extend(std::iter::repeat_n(0x85u8, 50));
    p.push(b'.');
    assert!(pickle::load(&p).is_ok());
}
