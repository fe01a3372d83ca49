//! Turns a job's checkpoint source into a directory with weights, `config.json` and a
//! tokenizer: generated random inits are materialised in the sweep's cache, local paths are
//! resolved against the manifest's folder, hub repositories are downloaded.

use std::path::{Path, PathBuf};

use multiberts_manifest::CheckpointSource;
use multiberts_model::config::BertConfig;
use multiberts_model::hub::HubClient;
use multiberts_model::tokenizer::{BertTokenizerOptions, WordPieceTokenizer};

use crate::error::{Result, RunnerError};

/// Special tokens at the head of a generated `vocab.txt`, in BERT's order.
const SPECIAL_TOKENS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/// A checkpoint ready to load.
#[derive(Debug, Clone)]
pub struct ResolvedCheckpoint {
    /// Directory with `config.json`, the weights and `vocab.txt`.
    pub dir: PathBuf,
    /// Whether this is a generated random initialisation (uncased tokenizer with BERT's
    /// defaults; its weights are bit-identical for the same config and seed).
    pub generated: bool,
    /// The hub commit a revision resolved to, for provenance.
    pub hub_commit: Option<String>,
}

/// The `vocab.txt` of a generated checkpoint: BERT's special tokens, then every word the
/// project's task generators emit (so the demo tasks tokenize without `[UNK]`).
pub fn generated_vocab() -> String {
    let mut text = String::new();
    for token in SPECIAL_TOKENS
        .iter()
        .copied()
        .chain(multiberts_tasks::synthetic::vocabulary())
    {
        text.push_str(token);
        text.push('\n');
    }
    text
}

/// Materialises (once) the random-init checkpoint `config`/`seed` under `cache`: the preset's
/// shape with the vocabulary cut to the generated `vocab.txt`, since rows no token maps to
/// would only cost time. Same inputs give bit-identical files; concurrent jobs may race to
/// write them, which is harmless because every write is atomic and identical.
pub fn materialise_init(config: &str, seed: u64, cache: &Path) -> Result<PathBuf> {
    let dir = cache.join(format!("init-{config}-seed_{seed}"));
    let weights = dir.join("model.safetensors");
    if weights.is_file() && dir.join("config.json").is_file() && dir.join("vocab.txt").is_file() {
        return Ok(dir);
    }
    std::fs::create_dir_all(&dir)
        .map_err(|e| RunnerError::file(&dir, format!("cannot create directory: {e}")))?;
    let vocab = generated_vocab();
    let mut cfg = BertConfig::preset(config).map_err(multiberts_model::error::ModelError::from)?;
    cfg.vocab_size = vocab.lines().count();
    let tensors = multiberts_model::init::random_encoder(&cfg, seed)?;
    multiberts_collector::atomic::write_bytes(&dir.join("vocab.txt"), vocab.as_bytes())?;
    multiberts_collector::atomic::write_bytes(
        &dir.join("config.json"),
        cfg.to_json_pretty().as_bytes(),
    )?;
    multiberts_model::io::atomic_write(&weights, |tmp| {
        candle_core::safetensors::save(&tensors, tmp).map_err(|e| e.to_string())
    })?;
    Ok(dir)
}

/// Resolves a checkpoint source to a local directory. A relative path is relative to the
/// working directory (job files carry absolute ones: the sweep resolves them against the
/// manifest's folder).
pub fn resolve(source: &CheckpointSource, cache: &Path) -> Result<ResolvedCheckpoint> {
    match source {
        CheckpointSource::Init { config, seed } => Ok(ResolvedCheckpoint {
            dir: materialise_init(config, *seed, &cache.join("checkpoints"))?,
            generated: true,
            hub_commit: None,
        }),
        CheckpointSource::Path { path } => {
            let p = Path::new(path);
            let dir = if p.is_file() {
                p.parent()
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
            } else {
                p.to_path_buf()
            };
            Ok(ResolvedCheckpoint {
                dir,
                generated: false,
                hub_commit: None,
            })
        }
        // The sweep's job files carry a pre-trained step as the `Path` of its folder.
        CheckpointSource::Pretrain { seed, step, .. } => Err(RunnerError::Invalid {
            job: format!("pretrain seed {seed} step {step}"),
            message: "a job file names a `pretrain` checkpoint by its source instead of the \
                      path of its saved step; job files are written by `multiberts sweep` \
                      (or `plan --write-jobs`), which give that path"
                .into(),
        }),
        CheckpointSource::Hub { repo, revision } => {
            let snapshot = HubClient::from_env().download_checkpoint(repo, revision)?;
            Ok(ResolvedCheckpoint {
                dir: snapshot.dir,
                generated: false,
                hub_commit: Some(snapshot.commit),
            })
        }
    }
}

/// The checkpoint's tokenizer: its `vocab.txt` (+ `tokenizer_config.json`). A generated
/// checkpoint is uncased with BERT's defaults.
pub fn tokenizer(ckpt: &ResolvedCheckpoint) -> Result<WordPieceTokenizer> {
    if ckpt.generated {
        Ok(WordPieceTokenizer::from_vocab_file(
            &ckpt.dir.join("vocab.txt"),
            BertTokenizerOptions::default(),
        )?)
    } else {
        Ok(WordPieceTokenizer::from_dir(&ckpt.dir)?)
    }
}
