//! A state-dict entry built by a global this loader does not read (a numpy array, a quantized
//! tensor) is an error naming the entry, the global and its byte offset in the pickle. It used to
//! be skipped at debug level, and the model then reported the weight as missing although the
//! file holds it.

use std::io::Write;

use multiberts_checkpoint::WeightsFile;

fn pickle_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'X');
    out.extend(u32::try_from(s.len()).unwrap().to_le_bytes());
    out.extend(s.as_bytes());
}

fn pickle_int(out: &mut Vec<u8>, v: u32) {
    out.push(b'J');
    out.extend(v.to_le_bytes());
}

/// `{"a.bias": <a float tensor of 2>, <name>: numpy.core.multiarray._reconstruct()}` and the
/// offset of the numpy global's opcode.
fn pickle_with_numpy_entry(name: &str) -> (Vec<u8>, usize) {
    let mut p = vec![0x80, 2, b'}', b'('];
    pickle_str(&mut p, "a.bias");
    p.extend(b"ctorch._utils\n_rebuild_tensor_v2\n((");
    pickle_str(&mut p, "storage");
    p.extend(b"ctorch\nFloatStorage\n");
    pickle_str(&mut p, "0");
    pickle_str(&mut p, "cpu");
    pickle_int(&mut p, 2);
    p.extend(b"tQ");
    pickle_int(&mut p, 0);
    p.push(b'(');
    pickle_int(&mut p, 2);
    p.extend(b"t(");
    pickle_int(&mut p, 1);
    p.extend(b"t\x89ccollections\nOrderedDict\n)RtR");
    pickle_str(&mut p, name);
    let offset = p.len();
    p.extend(b"cnumpy.core.multiarray\n_reconstruct\n)R");
    p.extend(b"u.");
    (p, offset)
}

fn torch_zip(pkl: &[u8], storage: &[u8]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (name, bytes) in [
            ("archive/data.pkl", pkl),
            ("archive/byteorder", b"little\n".as_slice()),
            ("archive/data/0", storage),
        ] {
            w.start_file(name, opts).unwrap();
            w.write_all(bytes).unwrap();
        }
        w.finish().unwrap();
    }
    buf.into_inner()
}

#[test]
fn an_entry_of_an_unsupported_class_is_an_error_naming_the_global_and_offset() {
    let tmp = tempfile::tempdir().unwrap();
    let name = "embeddings.word_embeddings.weight";
    let (pkl, offset) = pickle_with_numpy_entry(name);
    let storage: Vec<u8> = [1.0f32, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let path = tmp.path().join("pytorch_model.bin");
    std::fs::write(&path, torch_zip(&pkl, &storage)).unwrap();
    let file = WeightsFile::read(&path).unwrap();
    let err = file.tensors().unwrap_err().to_string();
    assert!(err.contains("pytorch_model.bin"), "{err}");
    assert!(err.contains(&format!("`{name}`")), "{err}");
    assert!(err.contains("numpy.core.multiarray._reconstruct"), "{err}");
    assert!(err.contains(&format!("pickle byte {offset}")), "{err}");

    // The same file without the numpy entry reads.
    let (mut plain, at) = pickle_with_numpy_entry("x");
    plain.truncate(at - 6); // drop the str opcode of "x" and the numpy entry
    plain.extend(b"u.");
    std::fs::write(&path, torch_zip(&plain, &storage)).unwrap();
    let file = WeightsFile::read(&path).unwrap();
    let tensors = file.tensors().unwrap();
    assert_eq!(tensors.len(), 1);
    assert_eq!(tensors[0].name, "a.bias");
}
