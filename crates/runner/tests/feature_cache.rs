//! The per-sweep feature cache: a second job reads what the first tokenized, and a damaged
//! cache file (truncated, or altered so that it still parses) is detected and recomputed.

use std::path::{Path, PathBuf};

use multiberts_model::tokenizer::WordPieceTokenizer;
use multiberts_runner::features::{TooFar, load_or_tokenize, tokenize_with};
use multiberts_tasks::{SplitData, TaskRegistry};

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn sst2_dev() -> SplitData {
    let registry = TaskRegistry::builtin().unwrap();
    let mut data = registry
        .get("sst2")
        .unwrap()
        .load_split(&shared().join("data/glue"), "dev")
        .unwrap();
    data.truncate(50);
    data
}

fn cache_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect()
}

#[test]
fn a_damaged_cache_is_recomputed_and_a_good_one_is_read() {
    let tokenizer = WordPieceTokenizer::from_dir(&shared().join("fixtures/bert-tiny")).unwrap();
    let data = sst2_dev();
    let tmp = tempfile::tempdir().unwrap();
    let load =
        || load_or_tokenize(&tokenizer, "vocab", &data, 32, TooFar::Error, tmp.path()).unwrap();
    let expected = tokenize_with(&tokenizer, &data, 32, TooFar::Error).unwrap();

    assert_eq!(load(), expected);
    let files = cache_files(tmp.path());
    assert_eq!(files.len(), 1, "{files:?}");
    let file = &files[0];
    let good = std::fs::read(file).unwrap();

    // A good file is read, not recomputed: a (digest-consistent) edit shows through.
    let text = String::from_utf8(good.clone()).unwrap();
    let (_, body) = text.split_once('\n').unwrap();
    let first_id = expected[0].as_ref().unwrap().ids[1];
    let edited = body.replacen(&format!("[101,{first_id},"), "[101,7,", 1);
    assert_ne!(
        edited, body,
        "the first feature starts with [CLS] then {first_id}"
    );
    let digest = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(edited.as_bytes()))
    };
    std::fs::write(file, format!("{digest}\n{edited}")).unwrap();
    assert_eq!(
        load()[0].as_ref().unwrap().ids[1],
        7,
        "the cache was not read"
    );

    // The same edit without a matching digest is damage: recomputed, and the file repaired.
    let (digest_line, _) = text.split_once('\n').unwrap();
    std::fs::write(file, format!("{digest_line}\n{edited}")).unwrap();
    assert_eq!(load(), expected);
    assert_eq!(std::fs::read(file).unwrap(), good);

    // A truncated file, and one without a digest line, are recomputed too.
    std::fs::write(file, &good[..good.len() / 2]).unwrap();
    assert_eq!(load(), expected);
    std::fs::write(file, body).unwrap();
    assert_eq!(load(), expected);
    assert_eq!(std::fs::read(file).unwrap(), good);
}
