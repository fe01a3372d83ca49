//! BERT's pre-training heads and loss, as Hugging Face's `BertForPreTraining` has them: the
//! masked-LM head (`cls.predictions`: dense → GELU → LayerNorm → a decoder tied to the word
//! embeddings, plus its own bias) and the optional next-sentence head (`cls.seq_relationship`
//! on the pooler output). The loss is the masked-LM cross-entropy over the masked positions,
//! plus the next-sentence cross-entropy when that head is on.
//!
//! Which positions are masked, and what they are replaced with, is the caller's choice (BERT's
//! 15 % / 80-10-10 recipe lives with the corpus, in the `multiberts-pretrain` crate); this
//! module only needs the masked positions and their original token ids.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};

use crate::bert::{Bert, BertOutput, LayerNorm, Linear};
use crate::checkpoint::{load_checkpoint_named, normalize_name};
use crate::config::BertConfig;
use crate::error::{ModelError, Result};
use crate::fused;
use crate::heads::cross_entropy;
use crate::kernels::ops;
use crate::params::{Init, ParamBuilder};

/// The name prefix of the pre-training heads' parameters (Hugging Face's).
pub const HEADS_PREFIX: &str = "cls.";

/// The masked-LM head and, when asked for, the next-sentence head.
#[derive(Debug, Clone)]
pub struct PretrainingHeads {
    transform: Linear,
    norm: LayerNorm,
    bias: Tensor,
    next_sentence: Option<Linear>,
}

impl PretrainingHeads {
    /// Creates (or loads, when the builder's source has them) `cls.predictions.transform.*`,
    /// `cls.predictions.bias` and, with `next_sentence`, `cls.seq_relationship.*`.
    pub fn build(
        config: &BertConfig,
        next_sentence: bool,
        b: &mut ParamBuilder<'_>,
    ) -> Result<Self> {
        let (h, std) = (config.hidden_size, config.initializer_range);
        let prefix = "cls.predictions";
        let transform = Linear::build(b, &format!("{prefix}.transform.dense"), h, h, std, true)?;
        let norm = LayerNorm {
            weight: b.optional(
                &format!("{prefix}.transform.LayerNorm.weight"),
                &[h],
                Init::Ones,
            )?,
            bias: b.optional(
                &format!("{prefix}.transform.LayerNorm.bias"),
                &[h],
                Init::Zeros,
            )?,
            eps: config.layer_norm_eps,
        };
        let bias = b.optional(&format!("{prefix}.bias"), &[config.vocab_size], Init::Zeros)?;
        let next_sentence = next_sentence
            .then(|| Linear::build(b, "cls.seq_relationship", h, 2, std, true))
            .transpose()?;
        Ok(Self {
            transform,
            norm,
            bias,
            next_sentence,
        })
    }

    /// Whether the next-sentence head is on.
    pub fn has_next_sentence(&self) -> bool {
        self.next_sentence.is_some()
    }

    /// Masked-LM logits `[N, V]` for `rows` `[N, H]` of the encoder's last hidden state, with
    /// the decoder tied to `word_embeddings` `[V, H]` (its gradient reaches the embeddings).
    pub fn mlm_logits(&self, rows: &Tensor, word_embeddings: &Tensor) -> Result<Tensor> {
        let x = ops::gelu(&self.transform.forward(rows)?)?;
        let x = self.norm.forward(&x)?;
        Ok(fused::linear(&x, word_embeddings, &self.bias)?)
    }

    /// Next-sentence logits `[B, 2]` (class 0: B follows A) from the pooler output `[B, H]`.
    pub fn next_sentence_logits(&self, pooled: &Tensor) -> Result<Option<Tensor>> {
        self.next_sentence
            .as_ref()
            .map(|head| head.forward(pooled))
            .transpose()
    }
}

/// The masked positions of a batch: flat indices `b · T + t` into the `[B, T]` batch, in
/// increasing order, and the original token id at each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskedPositions {
    /// `b · T + t` of every masked position.
    pub positions: Vec<u32>,
    /// The token id each masked position had before masking (the label).
    pub labels: Vec<u32>,
}

/// The pre-training loss of one batch and its parts.
#[derive(Debug, Clone)]
pub struct PretrainingLoss {
    /// Masked-LM loss plus next-sentence loss (what is minimised).
    pub total: Tensor,
    /// Mean cross-entropy over the masked positions.
    pub mlm: Tensor,
    /// Mean next-sentence cross-entropy, when that head is on.
    pub next_sentence: Option<Tensor>,
}

/// The loss of `BertForPreTraining`: cross-entropy of the masked-LM logits at `masked`, plus,
/// with the next-sentence head, its cross-entropy against `next_sentence_labels` `[B]` (u32).
pub fn pretraining_loss(
    bert: &Bert,
    heads: &PretrainingHeads,
    output: &BertOutput,
    masked: &MaskedPositions,
    next_sentence_labels: Option<&Tensor>,
) -> Result<PretrainingLoss> {
    if masked.positions.is_empty() || masked.positions.len() != masked.labels.len() {
        return Err(ModelError::Batch(format!(
            "a pre-training batch needs at least one masked position and one label per \
             position ({} positions, {} labels)",
            masked.positions.len(),
            masked.labels.len()
        )));
    }
    let last = output.last_hidden_state();
    let (b, t, h) = last.dims3()?;
    if let Some(&p) = masked.positions.iter().find(|&&p| p as usize >= b * t) {
        return Err(ModelError::Batch(format!(
            "masked position {p} is outside the batch of {b} × {t} tokens"
        )));
    }
    let device = last.device();
    let index = Tensor::new(masked.positions.as_slice(), device)?;
    let rows = last.reshape((b * t, h))?.index_select(&index, 0)?;
    let logits = heads.mlm_logits(&rows, bert.word_embeddings())?;
    let labels = Tensor::new(masked.labels.as_slice(), device)?;
    let mlm = cross_entropy(&logits, &labels)?;
    let next_sentence = match (
        heads.next_sentence_logits(&output.pooler_output)?,
        next_sentence_labels,
    ) {
        (Some(logits), Some(labels)) => Some(cross_entropy(&logits, labels)?),
        (None, None) => None,
        (Some(_), None) => {
            return Err(ModelError::Batch(
                "the next-sentence head is on but the batch has no next-sentence labels".into(),
            ));
        }
        (None, Some(_)) => {
            return Err(ModelError::Batch(
                "the batch has next-sentence labels but the next-sentence head is off".into(),
            ));
        }
    };
    let total = match &next_sentence {
        Some(nsp) => (&mlm + nsp)?,
        None => mlm.clone(),
    };
    Ok(PretrainingLoss {
        total,
        mlm,
        next_sentence,
    })
}

/// The tensors of a `BertForPreTraining` checkpoint for a [`ParamBuilder`]: the encoder's under
/// their `BertModel` names (as [`crate::checkpoint::load_checkpoint`] gives them) and the heads'
/// `cls.*` names kept, except the decoder's: its weight is tied to the word embeddings and its
/// bias to `cls.predictions.bias`.
pub fn load_pretraining_tensors(path: &Path, device: &Device) -> Result<HashMap<String, Tensor>> {
    let keep = |name: &str| {
        if name.starts_with("cls.predictions.decoder.") {
            None
        } else if name.starts_with(HEADS_PREFIX) {
            Some(name.to_string())
        } else {
            normalize_name(name)
        }
    };
    let loaded = load_checkpoint_named(path, device, keep)
        .map_err(|e| ModelError::file(path, e.to_string()))?;
    Ok(loaded.tensors)
}

/// The parameters of a model with pre-training heads under the names Hugging Face's
/// `BertForPreTraining` saves: `bert.` before every encoder name, `cls.*` as they are, and the
/// tied decoder written out (`cls.predictions.decoder.weight` = the word embeddings,
/// `cls.predictions.decoder.bias` = `cls.predictions.bias`), so `transformers` loads the file
/// with no missing or unexpected keys.
pub fn hf_pretraining_names(params: &HashMap<String, Tensor>) -> HashMap<String, Tensor> {
    let mut out = HashMap::with_capacity(params.len() + 2);
    for (name, tensor) in params {
        if name.starts_with(HEADS_PREFIX) {
            out.insert(name.clone(), tensor.clone());
        } else {
            out.insert(format!("bert.{name}"), tensor.clone());
        }
    }
    if let Some(we) = params.get("embeddings.word_embeddings.weight") {
        out.insert("cls.predictions.decoder.weight".into(), we.clone());
    }
    if let Some(bias) = params.get("cls.predictions.bias") {
        out.insert("cls.predictions.decoder.bias".into(), bias.clone());
    }
    out
}
