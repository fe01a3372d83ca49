//! Runs the encoder of a checkpoint on one batch from JSON and writes `last_hidden_state` and
//! `pooler_output` as f32 safetensors: the engine behind `multiberts encode`, used to check any
//! checkpoint against any reference implementation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use serde::Deserialize;

use crate::batch::Batch;
use crate::bert::Bert;
use crate::checkpoint::{CheckpointError, load_checkpoint};
use crate::config::BertConfig;
use crate::error::ModelError;
use crate::kernels::dropout::Mode;
use crate::params::ParamBuilder;
use crate::tokenizer::{TokenizerError, WordPieceTokenizer};

/// Errors of [`encode_file`].
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The checkpoint could not be read.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The model could not be built or run.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The checkpoint's tokenizer could not be built or failed on a text.
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
    /// The input JSON is not what `encode` expects.
    #[error("{path}: {message}")]
    Input {
        /// The input file.
        path: PathBuf,
        /// What was wrong and what was expected.
        message: String,
    },
}

/// One batch of token ids as JSON: three equally shaped `[B][T]` integer arrays.
#[derive(Debug, Clone, Deserialize)]
pub struct IdsBatch {
    /// Token ids.
    pub input_ids: Vec<Vec<i64>>,
    /// Segment ids; all zeros when absent.
    #[serde(default)]
    pub token_type_ids: Option<Vec<Vec<i64>>>,
    /// 1 for real tokens, 0 for padding; all ones when absent.
    #[serde(default)]
    pub attention_mask: Option<Vec<Vec<i64>>>,
}

/// Raw texts to tokenize with the checkpoint's own `vocab.txt`: each item a string or a
/// `[text_a, text_b]` pair, truncated (`longest_first`) to `max_length` tokens (default: the
/// model's `max_position_embeddings`) and padded to the longest.
#[derive(Debug, Clone, Deserialize)]
pub struct TextsBatch {
    /// Single texts or pairs.
    pub texts: Vec<TextItem>,
    /// Longest encoding, special tokens included.
    #[serde(default)]
    pub max_length: Option<usize>,
}

/// One input text or text pair.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum TextItem {
    /// One sequence.
    Single(String),
    /// A pair (`[CLS] a [SEP] b [SEP]`); `b` may be null.
    Pair(String, Option<String>),
}

/// What `encode` reads: ids, or texts to tokenize.
#[derive(Debug, Clone)]
pub enum EncodeInput {
    /// Pre-tokenised ids.
    Ids(IdsBatch),
    /// Texts for the checkpoint's tokenizer.
    Texts(TextsBatch),
}

/// Reads a batch from a JSON file: an object holding `input_ids` (and optionally
/// `token_type_ids`, `attention_mask`) or `texts`, or, with `batch_name`, such an object under
/// that key (like `pairs` in the fixture's `batch.json`). `input_ids` win over `texts`.
pub fn read_input(path: &Path, batch_name: Option<&str>) -> Result<EncodeInput, EncodeError> {
    let input_err = |message: String| EncodeError::Input {
        path: path.to_owned(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| input_err(format!("cannot read: {e}")))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        input_err(format!(
            "line {} column {}: invalid JSON: {e}",
            e.line(),
            e.column()
        ))
    })?;
    let serde_json::Value::Object(top) = value else {
        return Err(input_err("expected a JSON object".into()));
    };
    let object = match batch_name {
        Some(name) => match top.get(name) {
            Some(v) => v.clone(),
            None => {
                let names: Vec<&String> = top
                    .iter()
                    .filter(|(_, v)| v.get("input_ids").is_some())
                    .map(|(k, _)| k)
                    .collect();
                return Err(input_err(format!(
                    "no batch named `{name}`; batches in the file: {names:?}"
                )));
            }
        },
        None if top.contains_key("input_ids") || top.contains_key("texts") => {
            serde_json::Value::Object(top)
        }
        None => {
            let names: Vec<&String> = top
                .iter()
                .filter(|(_, v)| v.get("input_ids").is_some())
                .map(|(k, _)| k)
                .collect();
            return Err(input_err(format!(
                "expected `input_ids` at the top level, or `--batch NAME` to pick one of {names:?}"
            )));
        }
    };
    if object.get("input_ids").is_some() {
        serde_json::from_value(object)
            .map(EncodeInput::Ids)
            .map_err(|e| input_err(format!("invalid batch: {e}")))
    } else if object.get("texts").is_some() {
        serde_json::from_value(object)
            .map(EncodeInput::Texts)
            .map_err(|e| {
                input_err(format!(
                    "invalid `texts` (expected strings or [text_a, text_b] pairs): {e}"
                ))
            })
    } else {
        Err(input_err(
            "the batch has neither `input_ids` nor `texts`".into(),
        ))
    }
}

/// Tokenizes texts with the tokenizer of `dir` into padded rows of ids, type ids and mask.
pub fn tokenize_texts(
    dir: &Path,
    batch: &TextsBatch,
    default_max_length: usize,
) -> Result<IdsBatch, EncodeError> {
    let tokenizer = WordPieceTokenizer::from_dir(dir)?;
    let inputs: Vec<(&str, Option<&str>)> = batch
        .texts
        .iter()
        .map(|t| match t {
            TextItem::Single(a) => (a.as_str(), None),
            TextItem::Pair(a, b) => (a.as_str(), b.as_deref()),
        })
        .collect();
    let max_len = batch.max_length.unwrap_or(default_max_length);
    let encodings = tokenizer.encode_batch_padded(&inputs, Some(max_len), None)?;
    let rows = |f: &dyn Fn(&crate::tokenizer::Encoding) -> &Vec<u32>| -> Vec<Vec<i64>> {
        encodings
            .iter()
            .map(|e| f(e).iter().map(|&v| i64::from(v)).collect())
            .collect()
    };
    Ok(IdsBatch {
        input_ids: rows(&|e| &e.ids),
        token_type_ids: Some(rows(&|e| &e.type_ids)),
        attention_mask: Some(rows(&|e| &e.attention_mask)),
    })
}

/// What [`encode_file`] did.
#[derive(Debug, Clone)]
pub struct EncodeSummary {
    /// `(B, T, H)` of `last_hidden_state`.
    pub shape: (usize, usize, usize),
    /// Parameters initialised because the checkpoint lacked them (a missing pooler).
    pub initialised: Vec<String>,
    /// sha256 of every checkpoint file read, for provenance.
    pub files: Vec<(PathBuf, String)>,
}

impl EncodeSummary {
    /// Logs what was read (each file with its sha256) and what was written to `out`.
    pub fn log(&self, out: &Path) {
        let (b, t, h) = self.shape;
        for (path, sha) in &self.files {
            tracing::info!("read {} (sha256 {sha})", path.display());
        }
        tracing::info!(
            "wrote {} ([{b}, {t}, {h}] last_hidden_state, [{b}, {h}] pooler_output)",
            out.display()
        );
    }
}

/// Loads the encoder from `checkpoint` (a directory with `config.json` and weights, or a
/// weights file with `config.json` beside it), builds it on `device` and returns it.
pub fn load_encoder(
    checkpoint: &Path,
    device: &Device,
) -> Result<(Bert, EncodeSummary), EncodeError> {
    let ckpt = load_checkpoint(checkpoint, device)?;
    let config_path = ckpt.config_path.clone().ok_or_else(|| {
        EncodeError::Model(ModelError::file(
            checkpoint,
            "no config.json beside the weights",
        ))
    })?;
    let config = BertConfig::from_file(&config_path).map_err(ModelError::from)?;
    let mut builder = ParamBuilder::from_tensors(&ckpt.tensors, device, 0);
    let named = |e: ModelError| e.in_checkpoint(&ckpt.weights_path, &config_path);
    let bert = Bert::build(&config, &mut builder).map_err(named)?;
    // A fine-tuned checkpoint's task head is not part of the encoder.
    let (_, report) = builder
        .finish(&["classifier.", "span_head."])
        .map_err(named)?;
    if !report.initialised.is_empty() {
        tracing::warn!(
            "{} lacks {:?}: pooler_output comes from a randomly initialised pooler",
            checkpoint.display(),
            report.initialised
        );
    }
    // Inference only: no autograd graph, so intermediates are freed as soon as they are used.
    let bert = bert.inference_view();
    let summary = EncodeSummary {
        shape: (0, 0, config.hidden_size),
        initialised: report.initialised,
        files: ckpt
            .files
            .iter()
            .map(|f| (f.path.clone(), f.sha256.clone()))
            .collect(),
    };
    Ok((bert, summary))
}

/// Runs the encoder of `checkpoint` in eval mode on the batch in `input` and writes
/// `last_hidden_state` `[B, T, H]` and `pooler_output` `[B, H]` (f32) to `out`, atomically.
pub fn encode_file(
    checkpoint: &Path,
    input: &Path,
    batch_name: Option<&str>,
    out: &Path,
    device: &Device,
) -> Result<EncodeSummary, EncodeError> {
    let parsed = read_input(input, batch_name)?;
    let (bert, mut summary) = load_encoder(checkpoint, device)?;
    let ids = match parsed {
        EncodeInput::Ids(ids) => ids,
        EncodeInput::Texts(texts) => {
            let dir = if checkpoint.is_dir() {
                checkpoint
            } else {
                checkpoint.parent().unwrap_or(Path::new("."))
            };
            tokenize_texts(dir, &texts, bert.config().max_position_embeddings)?
        }
    };
    let (b, t) = (
        ids.input_ids.len(),
        ids.input_ids.first().map_or(0, Vec::len),
    );
    // Defaults shaped like input_ids, so ragged rows are reported by Batch::from_rows.
    let zeros: Vec<Vec<i64>> = ids.input_ids.iter().map(|r| vec![0; r.len()]).collect();
    let ones: Vec<Vec<i64>> = ids.input_ids.iter().map(|r| vec![1; r.len()]).collect();
    let batch = Batch::from_rows(
        &ids.input_ids,
        ids.token_type_ids.as_ref().unwrap_or(&zeros),
        ids.attention_mask.as_ref().unwrap_or(&ones),
        bert.config(),
        device,
    )
    .map_err(|e| EncodeError::Input {
        path: input.to_owned(),
        message: e.to_string(),
    })?;
    let output = bert.forward(&batch, &mut Mode::Eval)?;
    let to_cpu = |t: &Tensor| -> Result<Tensor, ModelError> {
        Ok(t.to_dtype(DType::F32)?
            .to_device(&Device::Cpu)?
            .contiguous()?)
    };
    let tensors: HashMap<String, Tensor> = [
        (
            "last_hidden_state".to_owned(),
            to_cpu(output.last_hidden_state())?,
        ),
        ("pooler_output".to_owned(), to_cpu(&output.pooler_output)?),
    ]
    .into_iter()
    .collect();
    crate::io::atomic_write(out, |tmp| {
        candle_core::safetensors::save(&tensors, tmp).map_err(|e| e.to_string())
    })?;
    summary.shape = (b, t, summary.shape.2);
    Ok(summary)
}
