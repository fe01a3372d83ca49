//! A tokenised batch as the encoder consumes it, validated against the config.

use candle_core::{Device, Tensor};

use crate::config::BertConfig;
use crate::error::{ModelError, Result};

/// One padded batch: `[B, T]` token ids, token-type ids and attention mask.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Token ids, u32 `[B, T]`.
    pub input_ids: Tensor,
    /// Segment ids, u32 `[B, T]`.
    pub token_type_ids: Tensor,
    /// 1 for real tokens, 0 for padding, f32 `[B, T]`.
    pub attention_mask: Tensor,
}

impl Batch {
    /// Builds a batch from rows of integers, checking that the rows are rectangular, that ids
    /// fit the vocabulary and type vocabulary, that the mask is 0/1 and that T fits the
    /// position embeddings. Every error says which row and column is wrong.
    pub fn from_rows(
        input_ids: &[Vec<i64>],
        token_type_ids: &[Vec<i64>],
        attention_mask: &[Vec<i64>],
        config: &BertConfig,
        device: &Device,
    ) -> Result<Self> {
        let b = input_ids.len();
        if b == 0 {
            return Err(ModelError::Batch("the batch has no rows".into()));
        }
        let t = input_ids[0].len();
        if t == 0 {
            return Err(ModelError::Batch("rows are empty".into()));
        }
        if t > config.max_position_embeddings {
            return Err(ModelError::Batch(format!(
                "sequence length {t} exceeds max_position_embeddings ({})",
                config.max_position_embeddings
            )));
        }
        let flatten = |name: &str, rows: &[Vec<i64>], limit: i64| -> Result<Vec<u32>> {
            if rows.len() != b {
                return Err(ModelError::Batch(format!(
                    "`{name}` has {} rows, `input_ids` has {b}",
                    rows.len()
                )));
            }
            let mut out = Vec::with_capacity(b * t);
            for (i, row) in rows.iter().enumerate() {
                if row.len() != t {
                    return Err(ModelError::Batch(format!(
                        "`{name}` row {i} has length {}, expected {t}",
                        row.len()
                    )));
                }
                for (j, &v) in row.iter().enumerate() {
                    if !(0..limit).contains(&v) {
                        return Err(ModelError::Batch(format!(
                            "`{name}`[{i}][{j}] = {v} is outside [0, {limit})"
                        )));
                    }
                    out.push(v as u32);
                }
            }
            Ok(out)
        };
        let ids = flatten("input_ids", input_ids, config.vocab_size as i64)?;
        let types = flatten(
            "token_type_ids",
            token_type_ids,
            config.type_vocab_size as i64,
        )?;
        let mask = flatten("attention_mask", attention_mask, 2)?;
        let mask: Vec<f32> = mask.into_iter().map(|m| m as f32).collect();
        Ok(Self {
            input_ids: Tensor::from_vec(ids, (b, t), device)?,
            token_type_ids: Tensor::from_vec(types, (b, t), device)?,
            attention_mask: Tensor::from_vec(mask, (b, t), device)?,
        })
    }

    /// `(B, T)`.
    pub fn dims(&self) -> Result<(usize, usize)> {
        Ok(self.input_ids.dims2()?)
    }
}
