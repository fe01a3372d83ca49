//! Tokenized examples, computed once per (task, split, data, vocabulary, max length) and
//! cached as JSON under the sweep's `.cache/features/`, so the 8 jobs of a checkpoint family do
//! not all tokenize the same file. Span-pair examples also get their two token spans (see
//! [`crate::spans`] for the mapping and the truncation around the spans).
//!
//! A cache file is the sha256 of its JSON body on the first line, then the body. It is written
//! atomically (jobs that tokenize the same split at once, locally or on Slurm, each rename a
//! complete file into place), and a file whose body does not hash to its first line (a flipped
//! bit that still parses), that does not parse, or whose key differs is recomputed.

use std::path::{Path, PathBuf};

use multiberts_model::tokenizer::WordPieceTokenizer;
use multiberts_tasks::SplitData;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Result, RunnerError};
use crate::spans;

/// Bumped when the cached layout or the tokenization rule changes.
const FEATURES_VERSION: u32 = 4;

/// What to do with a span-pair example whose two spans lie too far apart for one window of
/// `max_seq_len` tokens (e.g. 170 tokens between a name and its pronoun in a GAP paragraph).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TooFar {
    /// Fail naming the example: evaluation must score every example.
    Error,
    /// Leave the example out (its feature is `None`): a training split may lose a few long
    /// examples, as truncation loses text, and the job logs how many.
    Skip,
}

/// One tokenized example, unpadded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feature {
    /// Token ids with `[CLS]`/`[SEP]`.
    pub ids: Vec<u32>,
    /// Segment ids.
    pub type_ids: Vec<u32>,
    /// Span-pair examples: the two spans as inclusive token positions (`[CLS]` at 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spans: Option<[(u32, u32); 2]>,
}

#[derive(Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    key: String,
    /// `None` for an example skipped under [`TooFar::Skip`].
    features: Vec<Option<Feature>>,
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

/// Tokenizes the examples of `data` (in order, in parallel, independent of the thread count).
/// Span-pair examples (with `spans`) are single texts truncated around their spans; the others
/// are truncated `longest_first` as usual. Spans too far apart for one window are an error.
pub fn tokenize(
    tokenizer: &WordPieceTokenizer,
    data: &SplitData,
    max_len: usize,
) -> Result<Vec<Feature>> {
    Ok(tokenize_with(tokenizer, data, max_len, TooFar::Error)?
        .into_iter()
        .flatten()
        .collect())
}

/// [`tokenize`] with a choice for spans too far apart: one entry per example, `None` where
/// [`TooFar::Skip`] left the example out.
pub fn tokenize_with(
    tokenizer: &WordPieceTokenizer,
    data: &SplitData,
    max_len: usize,
    too_far: TooFar,
) -> Result<Vec<Option<Feature>>> {
    let examples = &data.examples;
    let plain: Vec<usize> = (0..examples.len())
        .filter(|&i| examples[i].spans.is_none())
        .collect();
    let paired: Vec<usize> = (0..examples.len())
        .filter(|&i| examples[i].spans.is_some())
        .collect();
    let mut out: Vec<Option<Feature>> = vec![None; examples.len()];
    let inputs: Vec<(&str, Option<&str>)> = plain
        .iter()
        .map(|&i| (examples[i].text_a.as_str(), examples[i].text_b.as_deref()))
        .collect();
    for (&i, e) in plain
        .iter()
        .zip(tokenizer.encode_batch(&inputs, Some(max_len))?)
    {
        out[i] = Some(Feature {
            ids: e.ids,
            type_ids: e.type_ids,
            spans: None,
        });
    }
    let inputs: Vec<(&str, Option<&str>)> = paired
        .iter()
        .map(|&i| (examples[i].text_a.as_str(), None))
        .collect();
    for (&i, e) in paired.iter().zip(tokenizer.encode_batch(&inputs, None)?) {
        let ex = &examples[i];
        let bad = |message: String| RunnerError::Data {
            task: data.task.clone(),
            split: data.split.clone(),
            index: i,
            id: ex.id.clone(),
            message,
        };
        if ex.text_b.is_some() {
            return Err(bad(
                "a span-pair example has a second text; spans index text_a only".into(),
            ));
        }
        let pair = ex.spans.as_ref().ok_or_else(|| bad("no spans".into()))?;
        let w = match spans::window_checked(&e, [pair.span1, pair.span2], max_len) {
            Ok(w) => w,
            Err(spans::WindowError::TooFar { .. }) if too_far == TooFar::Skip => continue,
            Err(err) => return Err(bad(err.to_string())),
        };
        out[i] = Some(Feature {
            type_ids: vec![0; w.ids.len()],
            ids: w.ids,
            spans: Some(w.spans),
        });
    }
    Ok(out)
}

/// The features of `data` ([`tokenize_with`]), from `cache_dir` when they were computed before,
/// else tokenized and stored there (atomically). A damaged cache file is recomputed, with a
/// warning.
pub fn load_or_tokenize(
    tokenizer: &WordPieceTokenizer,
    vocab_sha256: &str,
    data: &SplitData,
    max_len: usize,
    too_far: TooFar,
    cache_dir: &Path,
) -> Result<Vec<Option<Feature>>> {
    let key = cache_key(data, vocab_sha256, max_len);
    let path: PathBuf = cache_dir.join(format!("{}-{}-{}.json", data.task, data.split, &key[..16]));
    if path.is_file() {
        match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| read_cache_file(&bytes))
        {
            // A cache with skipped examples does not serve a caller that must not skip: recomputing
            // gives that caller its error.
            Ok(c)
                if c.key == key
                    && c.features.len() == data.examples.len()
                    && (too_far == TooFar::Skip || c.features.iter().all(Option::is_some)) =>
            {
                tracing::debug!(path = %path.display(), "features from cache");
                return Ok(c.features);
            }
            Ok(_) => tracing::warn!(path = %path.display(), "stale feature cache; recomputing"),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "unreadable feature cache; recomputing");
            }
        }
    }
    let features = tokenize_with(tokenizer, data, max_len, too_far)?;
    std::fs::create_dir_all(cache_dir)
        .map_err(|e| RunnerError::file(cache_dir, format!("cannot create directory: {e}")))?;
    let file = CacheFile {
        version: FEATURES_VERSION,
        key,
        features,
    };
    let body = serde_json::to_vec(&file)
        .map_err(|e| RunnerError::file(&path, format!("cannot serialise features: {e}")))?;
    let mut text = hex::encode(Sha256::digest(&body)).into_bytes();
    text.push(b'\n');
    text.extend_from_slice(&body);
    multiberts_collector::atomic::write_bytes(&path, &text)?;
    Ok(file.features)
}

/// A cache file's contents, checked against the digest on its first line.
fn read_cache_file(bytes: &[u8]) -> std::result::Result<CacheFile, String> {
    let newline = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("no digest line")?;
    let (digest, body) = (&bytes[..newline], &bytes[newline + 1..]);
    if digest != hex::encode(Sha256::digest(body)).as_bytes() {
        return Err("its contents do not match their sha256 (a damaged file)".into());
    }
    serde_json::from_slice(body).map_err(|e| e.to_string())
}
