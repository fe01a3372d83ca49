//! Tokenized examples, computed once per (task, split, data, vocabulary, max length) and
//! cached as JSON under the sweep's `.cache/features/`, so the 8 jobs of a checkpoint family do
//! not all tokenize the same file.

use std::path::{Path, PathBuf};

use multiberts_model::tokenizer::WordPieceTokenizer;
use multiberts_tasks::{Example, SplitData};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Result, RunnerError};

/// Bumped when the cached layout or the tokenization rule changes.
const FEATURES_VERSION: u32 = 1;

/// One tokenized example, unpadded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feature {
    /// Token ids with `[CLS]`/`[SEP]`.
    pub ids: Vec<u32>,
    /// Segment ids.
    pub type_ids: Vec<u32>,
}

#[derive(Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    key: String,
    features: Vec<Feature>,
}

/// The cache key: everything that determines the token ids.
fn cache_key(data: &SplitData, vocab_sha256: &str, max_len: usize) -> String {
    let mut h = Sha256::new();
    h.update(format!(
        "v{FEATURES_VERSION}\n{}\n{}\n{max_len}\n",
        data.task, data.split
    ));
    h.update(vocab_sha256.as_bytes());
    for f in &data.files {
        h.update(format!("\n{}={}", f.path, f.sha256));
    }
    h.update(format!("\n{}", data.examples.len()));
    hex::encode(h.finalize())
}

/// sha256 of a file's bytes (hex).
pub fn file_sha256(path: &Path) -> Result<String> {
    let bytes =
        std::fs::read(path).map_err(|e| RunnerError::file(path, format!("cannot read: {e}")))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// Tokenizes `examples` (in order, in parallel, independent of the thread count).
pub fn tokenize(
    tokenizer: &WordPieceTokenizer,
    examples: &[Example],
    max_len: usize,
) -> Result<Vec<Feature>> {
    let inputs: Vec<(&str, Option<&str>)> = examples
        .iter()
        .map(|e| (e.text_a.as_str(), e.text_b.as_deref()))
        .collect();
    let encodings = tokenizer.encode_batch(&inputs, Some(max_len))?;
    Ok(encodings
        .into_iter()
        .map(|e| Feature {
            ids: e.ids,
            type_ids: e.type_ids,
        })
        .collect())
}

/// The features of `data`, from `cache_dir` when they were computed before, else tokenized
/// and stored there (atomically). A damaged cache file is recomputed, with a warning.
pub fn load_or_tokenize(
    tokenizer: &WordPieceTokenizer,
    vocab_sha256: &str,
    data: &SplitData,
    max_len: usize,
    cache_dir: &Path,
) -> Result<Vec<Feature>> {
    let key = cache_key(data, vocab_sha256, max_len);
    let path: PathBuf = cache_dir.join(format!("{}-{}-{}.json", data.task, data.split, &key[..16]));
    if path.is_file() {
        match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<CacheFile>(&b).map_err(|e| e.to_string()))
        {
            Ok(c) if c.key == key && c.features.len() == data.examples.len() => {
                tracing::debug!(path = %path.display(), "features from cache");
                return Ok(c.features);
            }
            Ok(_) => tracing::warn!(path = %path.display(), "stale feature cache; recomputing"),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "unreadable feature cache; recomputing");
            }
        }
    }
    let features = tokenize(tokenizer, &data.examples, max_len)?;
    std::fs::create_dir_all(cache_dir)
        .map_err(|e| RunnerError::file(cache_dir, format!("cannot create directory: {e}")))?;
    let file = CacheFile {
        version: FEATURES_VERSION,
        key,
        features,
    };
    let text = serde_json::to_vec(&file)
        .map_err(|e| RunnerError::file(&path, format!("cannot serialise features: {e}")))?;
    multiberts_collector::atomic::write_bytes(&path, &text)?;
    Ok(file.features)
}
