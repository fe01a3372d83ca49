//! Random-init checkpoints: the step-0 kind of checkpoint a manifest names with
//! `init = { config = "tiny", seed = N }`, built with the encoder's own parameter builder and
//! Hugging Face's initialisation (see [`crate::params::Init`]), so the same seed always gives
//! bit-identical weights.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};

use crate::bert::Bert;
use crate::config::BertConfig;
use crate::error::{ModelError, Result};
use crate::params::ParamBuilder;

/// The parameters of a randomly initialised BERT encoder (with pooler) for `config` and `seed`,
/// by HF `BertModel` name. Same inputs → bit-identical tensors.
pub fn random_encoder(config: &BertConfig, seed: u64) -> Result<HashMap<String, Tensor>> {
    let mut builder = ParamBuilder::fresh(&Device::Cpu, seed);
    Bert::build(config, &mut builder)?;
    let (params, _) = builder.finish(&[])?;
    Ok(params.to_map())
}

/// Materialises a random-init checkpoint (`init = { config = "tiny", seed = N }` in a
/// manifest) into `dir`: `config.json` and `model.safetensors`, both written atomically.
/// Returns the config. The tokenizer files are not written: a random init has no vocabulary of
/// its own, and the runner supplies `vocab.txt`.
pub fn write_random_checkpoint(size: &str, seed: u64, dir: &Path) -> Result<BertConfig> {
    let config = BertConfig::preset(size)?;
    let tensors = random_encoder(&config, seed)?;
    std::fs::create_dir_all(dir)
        .map_err(|e| ModelError::file(dir, format!("cannot create directory: {e}")))?;
    let json = config.to_json_pretty();
    crate::io::atomic_write(&dir.join("config.json"), |tmp| {
        std::fs::write(tmp, json.as_bytes()).map_err(|e| e.to_string())
    })?;
    crate::io::atomic_write(&dir.join("model.safetensors"), |tmp| {
        candle_core::safetensors::save(&tensors, tmp).map_err(|e| e.to_string())
    })?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_checkpoint_is_deterministic_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        write_random_checkpoint("tiny", 11, &a).unwrap();
        write_random_checkpoint("tiny", 11, &b).unwrap();
        let read = |p: &Path| std::fs::read(p).unwrap();
        assert_eq!(
            read(&a.join("model.safetensors")),
            read(&b.join("model.safetensors"))
        );
        write_random_checkpoint("tiny", 12, &b).unwrap();
        assert_ne!(
            read(&a.join("model.safetensors")),
            read(&b.join("model.safetensors"))
        );

        let config = BertConfig::from_file(a.join("config.json")).unwrap();
        let tensors =
            candle_core::safetensors::load(a.join("model.safetensors"), &Device::Cpu).unwrap();
        assert_eq!(tensors.len(), 39);
        let mut builder = ParamBuilder::from_tensors(&tensors, &Device::Cpu, 0);
        Bert::build(&config, &mut builder).unwrap();
        let (params, report) = builder.finish(&[]).unwrap();
        assert!(report.initialised.is_empty());
        // Biases 0, LayerNorm weights 1, as HF initialises them.
        let get = |n: &str| {
            params
                .get(n)
                .unwrap()
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        };
        assert!(
            get("encoder.layer.1.output.dense.bias")
                .iter()
                .all(|&x| x == 0.0)
        );
        assert!(get("embeddings.LayerNorm.weight").iter().all(|&x| x == 1.0));
    }

    #[test]
    fn unknown_size_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_random_checkpoint("giant", 1, dir.path()).unwrap_err();
        assert!(err.to_string().contains("giant"));
    }
}
