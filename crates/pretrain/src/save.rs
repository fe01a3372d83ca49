//! Saved checkpoints in the Hugging Face layout, so `transformers` loads them as
//! `BertForPreTraining` (and our runner fine-tunes them as any local checkpoint).

use std::path::{Path, PathBuf};

use multiberts_model::config::BertConfig;
use multiberts_model::params::Params;
use multiberts_model::pretraining::hf_pretraining_names;
use multiberts_model::tokenizer::WordPieceTokenizer;

use crate::error::{PretrainError, Result};

/// The folder of the checkpoint saved after `step`: `<run>/step_<step>`.
pub fn step_dir(run: &Path, step: u64) -> PathBuf {
    run.join(format!("step_{step}"))
}

/// Writes `config.json` (architectures `BertForPreTraining`), `model.safetensors` (`bert.*`,
/// `cls.*`, the tied decoder written out), `vocab.txt` (a copy of `vocab`) and
/// `tokenizer_config.json` into a temporary folder, then renames it to [`step_dir`]: a kill
/// leaves no half-written checkpoint.
pub fn save_checkpoint(
    run: &Path,
    step: u64,
    config: &BertConfig,
    params: &Params,
    tokenizer: &WordPieceTokenizer,
    vocab: &Path,
) -> Result<()> {
    let dir = step_dir(run, step);
    let tmp = run.join(format!(".step_{step}.tmp"));
    let io = |p: &Path, what: &str, e: std::io::Error| {
        PretrainError::file(p, format!("cannot {what}: {e}"))
    };
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| io(&tmp, "remove", e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| io(&tmp, "create", e))?;
    let mut json: serde_json::Value =
        serde_json::from_str(&config.to_json_pretty()).map_err(|e| PretrainError::file(&tmp, e))?;
    json["architectures"] = serde_json::json!(["BertForPreTraining"]);
    let text = serde_json::to_string_pretty(&json).map_err(|e| PretrainError::file(&tmp, e))?;
    std::fs::write(tmp.join("config.json"), text).map_err(|e| io(&tmp, "write config.json", e))?;
    let tensors = hf_pretraining_names(&params.to_map());
    candle_core::safetensors::save(&tensors, tmp.join("model.safetensors"))?;
    std::fs::copy(vocab, tmp.join("vocab.txt")).map_err(|e| io(vocab, "copy", e))?;
    let options = serde_json::json!({
        "do_lower_case": tokenizer.options().do_lower_case,
        "tokenizer_class": "BertTokenizer",
        "model_max_length": config.max_position_embeddings,
    });
    std::fs::write(tmp.join("tokenizer_config.json"), options.to_string())
        .map_err(|e| io(&tmp, "write tokenizer_config.json", e))?;
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| io(&dir, "replace", e))?;
    }
    std::fs::rename(&tmp, &dir).map_err(|e| io(&dir, "rename", e))?;
    Ok(())
}
