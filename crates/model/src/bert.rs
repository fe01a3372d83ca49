//! The BERT encoder with Hugging Face parameter names (`embeddings.*`, `encoder.layer.N.*`,
//! `pooler.dense.*`, as in `BertModel` without the `bert.` prefix), trainable end to end.
//!
//! One file in reading order, as candle-transformers' models are: the building blocks
//! ([`Linear`], [`LayerNorm`]), the embeddings, one encoder layer (self-attention, then the
//! feed-forward block, each with a residual and a LayerNorm), then the model ([`Bert`]: the
//! layers and the pooler). The config is [`BertConfig`]; the ops come from [`crate::kernels`],
//! the parameters from a [`ParamBuilder`] (a checkpoint or a seeded initialisation).

use candle_core::{D, Tensor};

use crate::batch::Batch;
use crate::config::BertConfig;
use crate::error::{ModelError, Result};
use crate::kernels::bmm::bmm;
use crate::kernels::dropout::{Mode, dropout, dropout_add, dropout_add_kept, dropout_kept};
use crate::kernels::fused;
use crate::kernels::ops;
use crate::kernels::packing::TokenIndex;
use crate::params::{Init, ParamBuilder};
use crate::precision::Precision;

// ---------------------------------------------------------------------------------------------
// Building blocks.

/// `y = x Wᵀ + b` with a torch-layout weight `[out, in]`.
#[derive(Debug, Clone)]
pub struct Linear {
    /// `[out, in]`.
    pub weight: Tensor,
    /// `[out]`.
    pub bias: Tensor,
}

impl Linear {
    /// Creates `prefix.weight` (N(0, std)) and `prefix.bias` (zeros) through the builder.
    pub fn build(
        b: &mut ParamBuilder<'_>,
        prefix: &str,
        in_dim: usize,
        out_dim: usize,
        std: f64,
        optional: bool,
    ) -> Result<Self> {
        let (w, bias) = (format!("{prefix}.weight"), format!("{prefix}.bias"));
        let (weight, bias) = if optional {
            (
                b.optional(&w, &[out_dim, in_dim], Init::Normal(std))?,
                b.optional(&bias, &[out_dim], Init::Zeros)?,
            )
        } else {
            (
                b.required(&w, &[out_dim, in_dim], Init::Normal(std))?,
                b.required(&bias, &[out_dim], Init::Zeros)?,
            )
        };
        Ok(Self { weight, bias })
    }

    /// The same layer with its tensors detached from autograd (sharing storage).
    pub fn detached(&self) -> Self {
        Self {
            weight: self.weight.detach(),
            bias: self.bias.detach(),
        }
    }

    /// Applies the layer to `[.., in]`, giving `[.., out]`, in float32.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_in(x, Precision::Fp32)
    }

    /// Applies the layer with its matmul in `precision` (the bias is added in float32).
    pub fn forward_in(&self, x: &Tensor, precision: Precision) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let in_dim = dims[dims.len() - 1];
        let rows: usize = dims[..dims.len() - 1].iter().product();
        let x = x.reshape((rows, in_dim))?;
        let y = if precision.is_reduced() {
            precision
                .matmul(&x, &self.weight.t()?)?
                .broadcast_add(&self.bias)?
        } else {
            fused::linear(&x, &self.weight, &self.bias)?
        };
        let mut out_dims = dims;
        let last = out_dims.len() - 1;
        out_dims[last] = self.weight.dim(0)?;
        Ok(y.reshape(out_dims)?)
    }
}

/// LayerNorm with `weight`/`bias` (HF names `LayerNorm.weight`, `LayerNorm.bias`).
#[derive(Debug, Clone)]
pub struct LayerNorm {
    /// Scale, `[H]`.
    pub weight: Tensor,
    /// Shift, `[H]`.
    pub bias: Tensor,
    /// Variance epsilon.
    pub eps: f64,
}

impl LayerNorm {
    fn build(b: &mut ParamBuilder<'_>, prefix: &str, h: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: b.required(&format!("{prefix}.weight"), &[h], Init::Ones)?,
            bias: b.required(&format!("{prefix}.bias"), &[h], Init::Zeros)?,
            eps,
        })
    }

    /// The same layer with its tensors detached from autograd (sharing storage).
    pub fn detached(&self) -> Self {
        Self {
            weight: self.weight.detach(),
            bias: self.bias.detach(),
            eps: self.eps,
        }
    }

    /// Normalises the last dimension.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(ops::layer_norm(x, &self.weight, &self.bias, self.eps)?)
    }
}

// ---------------------------------------------------------------------------------------------
// Embeddings.

/// Word + token-type + position embeddings, then LayerNorm and dropout.
#[derive(Debug, Clone)]
struct Embeddings {
    word: Tensor,
    position: Tensor,
    token_type: Tensor,
    norm: LayerNorm,
}

impl Embeddings {
    fn build(config: &BertConfig, b: &mut ParamBuilder<'_>) -> Result<Self> {
        let h = config.hidden_size;
        let std = config.initializer_range;
        let eps = config.layer_norm_eps;
        Ok(Self {
            word: b.required(
                "embeddings.word_embeddings.weight",
                &[config.vocab_size, h],
                Init::Embedding {
                    std,
                    pad_row: Some(config.pad_token_id),
                },
            )?,
            position: b.required(
                "embeddings.position_embeddings.weight",
                &[config.max_position_embeddings, h],
                Init::Embedding { std, pad_row: None },
            )?,
            token_type: b.required(
                "embeddings.token_type_embeddings.weight",
                &[config.type_vocab_size, h],
                Init::Embedding { std, pad_row: None },
            )?,
            norm: LayerNorm::build(b, "embeddings.LayerNorm", h, eps)?,
        })
    }

    fn detached(&self) -> Self {
        Self {
            word: self.word.detach(),
            position: self.position.detach(),
            token_type: self.token_type.detach(),
            norm: self.norm.detached(),
        }
    }

    /// The embeddings of the positions `index` keeps, packed `[N, H]`, with dropout masks drawn
    /// for `kept` rows when the layout is padded but the stream is the packed one.
    fn forward(
        &self,
        batch: &Batch,
        (index, kept): (&TokenIndex, Option<&TokenIndex>),
        c: &BertConfig,
        mode: &mut Mode<'_>,
    ) -> Result<Tensor> {
        let (bsz, t) = batch.dims()?;
        let h = c.hidden_size;
        let device = batch.input_ids.device();
        let (ids, types) = (
            batch.input_ids.flatten_all()?,
            batch.token_type_ids.flatten_all()?,
        );
        let (ids, types) = if index.is_all() {
            (ids, types)
        } else {
            let rows = index.rows_tensor(device)?;
            (ids.index_select(&rows, 0)?, types.index_select(&rows, 0)?)
        };
        let words = self.word.index_select(&ids, 0)?;
        let type_emb = self.token_type.index_select(&types, 0)?;
        // Same summation order as HF: (word + type) + position.
        let emb = if index.is_all() {
            // Every row uses positions 0..T: broadcast instead of gathering B copies.
            (words + type_emb)?
                .reshape((bsz, t, h))?
                .broadcast_add(&self.position.narrow(0, 0, t)?)?
                .reshape((bsz * t, h))?
        } else {
            let positions = self
                .position
                .index_select(&index.positions_tensor(device)?, 0)?;
            ((words + type_emb)? + positions)?
        };
        hidden_dropout(
            &self.norm.forward(&emb)?,
            None,
            c.hidden_dropout_prob,
            mode,
            kept,
        )
    }
}

// ---------------------------------------------------------------------------------------------
// One encoder layer.

/// Self-attention (query, key, value, output projection) and the feed-forward block
/// (intermediate, output), each followed by dropout, the residual and a LayerNorm.
#[derive(Debug, Clone)]
struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    out_norm: LayerNorm,
}

impl Layer {
    fn build(config: &BertConfig, b: &mut ParamBuilder<'_>, i: usize) -> Result<Self> {
        let h = config.hidden_size;
        let std = config.initializer_range;
        let eps = config.layer_norm_eps;
        let p = format!("encoder.layer.{i}");
        let i_dim = config.intermediate_size;
        Ok(Self {
            query: Linear::build(b, &format!("{p}.attention.self.query"), h, h, std, false)?,
            key: Linear::build(b, &format!("{p}.attention.self.key"), h, h, std, false)?,
            value: Linear::build(b, &format!("{p}.attention.self.value"), h, h, std, false)?,
            attn_out: Linear::build(b, &format!("{p}.attention.output.dense"), h, h, std, false)?,
            attn_norm: LayerNorm::build(b, &format!("{p}.attention.output.LayerNorm"), h, eps)?,
            intermediate: Linear::build(
                b,
                &format!("{p}.intermediate.dense"),
                h,
                i_dim,
                std,
                false,
            )?,
            output: Linear::build(b, &format!("{p}.output.dense"), i_dim, h, std, false)?,
            out_norm: LayerNorm::build(b, &format!("{p}.output.LayerNorm"), h, eps)?,
        })
    }

    fn detached(&self) -> Self {
        Self {
            query: self.query.detached(),
            key: self.key.detached(),
            value: self.value.detached(),
            attn_out: self.attn_out.detached(),
            attn_norm: self.attn_norm.detached(),
            intermediate: self.intermediate.detached(),
            output: self.output.detached(),
            out_norm: self.out_norm.detached(),
        }
    }

    /// One encoder layer on the packed tokens `x` `[N, H]` (`index`), with dropout masks drawn
    /// for `kept` rows when the layout is padded but the stream is the packed one.
    fn forward(
        &self,
        x: &Tensor,
        (index, kept): (&TokenIndex, Option<&TokenIndex>),
        mask: &Tensor,
        (c, p): (&BertConfig, Precision),
        mode: &mut Mode<'_>,
    ) -> Result<Tensor> {
        let nh = c.num_attention_heads;
        let d = c.head_dim();
        let q = index.to_heads(&self.query.forward_in(x, p)?, nh)?;
        let k = index.to_heads(&self.key.forward_in(x, p)?, nh)?;
        let v = index.to_heads(&self.value.forward_in(x, p)?, nh)?;
        let product = |a: &Tensor, b: &Tensor| -> Result<Tensor> {
            Ok(if p.is_reduced() {
                p.matmul(a, b)?
            } else {
                bmm(a, b)?
            })
        };
        let scores = product(&q, &k.t()?)?;
        let probs = ops::masked_softmax(&scores, mask, 1.0 / (d as f64).sqrt())?;
        let probs = dropout(&probs, c.attention_probs_dropout_prob, mode)?;
        let ctx = index.from_heads(&product(&probs, &v)?)?;
        let attn = self.attn_out.forward_in(&ctx, p)?;
        let a = self.attn_norm.forward(&hidden_dropout(
            &attn,
            Some(x),
            c.hidden_dropout_prob,
            mode,
            kept,
        )?)?;
        let inter = ops::gelu(&self.intermediate.forward_in(&a, p)?)?;
        let out = self.output.forward_in(&inter, p)?;
        self.out_norm.forward(&hidden_dropout(
            &out,
            Some(&a),
            c.hidden_dropout_prob,
            mode,
            kept,
        )?)
    }
}

/// Dropout of a hidden state `[rows, H]` (plus `residual` when given), with the mask drawn for
/// the `kept` rows only when the layout is padded but the stream is the packed one.
fn hidden_dropout(
    x: &Tensor,
    residual: Option<&Tensor>,
    p: f64,
    mode: &mut Mode<'_>,
    kept: Option<&TokenIndex>,
) -> Result<Tensor> {
    Ok(match (residual, kept) {
        (None, None) => dropout(x, p, mode)?,
        (None, Some(k)) => dropout_kept(x, p, mode, k)?,
        (Some(r), None) => dropout_add(x, r, p, mode)?,
        (Some(r), Some(k)) => dropout_add_kept(x, r, p, mode, k)?,
    })
}

// ---------------------------------------------------------------------------------------------
// The model.

/// What the encoder returns.
#[derive(Debug, Clone)]
pub struct BertOutput {
    /// The embedding output followed by each layer's output (`num_hidden_layers + 1` tensors
    /// of `[B, T, H]`), as HF's `output_hidden_states=True`.
    pub hidden_states: Vec<Tensor>,
    /// `tanh(pooler.dense(h[:, 0]))`, `[B, H]`.
    pub pooler_output: Tensor,
}

impl BertOutput {
    /// The last layer's output, `[B, T, H]`.
    pub fn last_hidden_state(&self) -> &Tensor {
        // build() guarantees at least the embedding output.
        &self.hidden_states[self.hidden_states.len() - 1]
    }
}

/// What the encoder does with padded positions (attention mask 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PaddedPositions {
    /// Run them through every layer, as Hugging Face does, so every position of
    /// `hidden_states` matches HF's, padding included.
    #[default]
    Compute,
    /// Run only real tokens through the token-wise ops (embeddings, projections, feed-forward,
    /// LayerNorms); attention still uses the padded layout. Padded positions of every hidden
    /// state are zero. Real-token outputs, the pooler output (when position 0 is a real token,
    /// as `[CLS]` is) and all gradients are those of `Compute` up to rounding, for the padding
    /// fraction less work and activation memory. In train mode dropout masks are drawn for real
    /// tokens only, so the random stream differs from `Compute`.
    Skip,
}

/// The BERT encoder plus pooler.
#[derive(Debug, Clone)]
pub struct Bert {
    config: BertConfig,
    embeddings: Embeddings,
    layers: Vec<Layer>,
    pooler: Linear,
    padded: PaddedPositions,
    precision: Precision,
}

impl Bert {
    /// Creates the encoder's parameters through `b`, with HF names and HF initialisation for
    /// anything the builder has to initialise. The pooler is optional (sentence-transformers
    /// checkpoints may lack it); everything else is required when loading.
    pub fn build(config: &BertConfig, b: &mut ParamBuilder<'_>) -> Result<Self> {
        config.validate("model config")?;
        let h = config.hidden_size;
        let std = config.initializer_range;
        let embeddings = Embeddings::build(config, b)?;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            layers.push(Layer::build(config, b, i)?);
        }
        let pooler = Linear::build(b, "pooler.dense", h, h, std, true)?;
        Ok(Self {
            config: config.clone(),
            embeddings,
            layers,
            pooler,
            padded: PaddedPositions::default(),
            precision: Precision::default(),
        })
    }

    /// A view of the encoder for inference: the same weights (shared storage, so optimizer
    /// updates show through) detached from autograd, so a forward pass records no graph and
    /// frees each intermediate as soon as it is used. Use it for evaluation and `encode`;
    /// gradients cannot flow through it.
    pub fn inference_view(&self) -> Self {
        Self {
            config: self.config.clone(),
            embeddings: self.embeddings.detached(),
            layers: self.layers.iter().map(Layer::detached).collect(),
            pooler: self.pooler.detached(),
            padded: self.padded,
            precision: self.precision,
        }
    }

    /// The same encoder (shared weights) treating padded positions as `padded` says.
    pub fn with_padded_positions(mut self, padded: PaddedPositions) -> Self {
        self.padded = padded;
        self
    }

    /// What the encoder does with padded positions.
    pub fn padded_positions(&self) -> PaddedPositions {
        self.padded
    }

    /// The same encoder (shared weights) computing its matmuls in `precision`.
    pub fn with_precision(mut self, precision: Precision) -> Self {
        self.precision = precision;
        self
    }

    /// The precision of the encoder's matmuls.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// The config the encoder was built from.
    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// The word-embedding matrix (its `[PAD]` row must get no gradient, see
    /// [`Bert::zero_pad_gradient`]).
    pub fn word_embeddings(&self) -> &Tensor {
        &self.embeddings.word
    }

    /// Runs the encoder. In train mode, dropout is applied to the embeddings, the attention
    /// probabilities and both residual branches, with masks from the mode's stream.
    pub fn forward(&self, batch: &Batch, mode: &mut Mode<'_>) -> Result<BertOutput> {
        let (bsz, t) = batch.dims()?;
        let c = &self.config;
        if t > c.max_position_embeddings {
            return Err(ModelError::Batch(format!(
                "sequence length {t} exceeds max_position_embeddings ({})",
                c.max_position_embeddings
            )));
        }
        let e = &self.embeddings;
        let (index, kept) = match self.padded {
            PaddedPositions::Skip => {
                let real = TokenIndex::real_tokens(&batch.attention_mask)?;
                if real.is_all() || real.is_empty() {
                    // Nothing to skip, or nothing left: the plain layout.
                    (TokenIndex::all(bsz, t), None)
                } else if crate::kernels::cpu_kernel(&e.word) {
                    (real, None)
                } else {
                    // Off the CPU kernels (a GPU), packing costs index scatters that are slower
                    // than the padding they save: run every position, and draw dropout masks
                    // for the real tokens only, so the random stream and every real token's
                    // result are those of the packed layout.
                    (TokenIndex::all(bsz, t), Some(real))
                }
            }
            PaddedPositions::Compute => (TokenIndex::all(bsz, t), None),
        };
        let kept = kept.as_ref();
        let mut x = e.forward(batch, (&index, kept), c, mode)?;
        let mut hidden_states = Vec::with_capacity(self.layers.len() + 1);
        hidden_states.push(index.unpack(&x)?);
        for layer in &self.layers {
            x = layer.forward(
                &x,
                (&index, kept),
                &batch.attention_mask,
                (c, self.precision),
                mode,
            )?;
            hidden_states.push(index.unpack(&x)?);
        }
        let last = &hidden_states[hidden_states.len() - 1];
        let cls = last.narrow(1, 0, 1)?.squeeze(1)?;
        let pooler_output = ops::tanh(&self.pooler.forward_in(&cls, self.precision)?)?;
        Ok(BertOutput {
            hidden_states,
            pooler_output,
        })
    }

    /// Zeroes the gradient of the `[PAD]` word-embedding row, as `nn.Embedding(padding_idx=…)`
    /// does, so that row stays zero under training.
    pub fn zero_pad_gradient(&self, grads: &mut candle_core::backprop::GradStore) -> Result<()> {
        let Some(g) = grads.get(&self.embeddings.word) else {
            return Ok(());
        };
        let pad = self.config.pad_token_id;
        // The store holds the only handle to the gradient it built: zero the row in place.
        if crate::kernels::inplace::zero_row(g, pad)? {
            return Ok(());
        }
        let rows = g.dim(0)?;
        let keep: Vec<f32> = (0..rows)
            .map(|r| if r == pad { 0.0 } else { 1.0 })
            .collect();
        let keep = Tensor::from_vec(keep, (rows, 1), g.device())?.to_dtype(g.dtype())?;
        let zeroed = g.broadcast_mul(&keep)?;
        grads.insert(&self.embeddings.word, zeroed);
        Ok(())
    }

    /// Mean of the last hidden state over real (unmasked) tokens, `[B, H]`: a sentence
    /// embedding (as sentence-transformers' mean pooling).
    pub fn mean_pool(last_hidden_state: &Tensor, attention_mask: &Tensor) -> Result<Tensor> {
        let m = attention_mask
            .to_dtype(last_hidden_state.dtype())?
            .unsqueeze(D::Minus1)?;
        let sum = last_hidden_state.broadcast_mul(&m)?.sum(1)?;
        let count = m.sum(1)?.clamp(1e-9, f64::MAX)?;
        Ok(sum.broadcast_div(&count)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn inference_view_computes_the_same_without_a_graph() {
        let config = BertConfig::with_shape(2, 16, 2, 32, 12);
        let mut b = ParamBuilder::fresh(&Device::Cpu, 9);
        let bert = Bert::build(&config, &mut b).unwrap();
        let (params, _) = b.finish(&[]).unwrap();
        let ids = vec![vec![101, 2000, 3000, 102, 0], vec![101, 7, 8, 9, 102]];
        let mask = vec![vec![1, 1, 1, 1, 0], vec![1; 5]];
        let types = vec![vec![0; 5]; 2];
        let batch = Batch::from_rows(&ids, &types, &mask, &config, &Device::Cpu).unwrap();
        let train = bert.forward(&batch, &mut Mode::Eval).unwrap();
        let view = bert.inference_view();
        let infer = view.forward(&batch, &mut Mode::Eval).unwrap();
        let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(
            flat(train.last_hidden_state()),
            flat(infer.last_hidden_state())
        );
        assert_eq!(flat(&train.pooler_output), flat(&infer.pooler_output));
        let grads = infer.pooler_output.sum_all().unwrap().backward().unwrap();
        assert!(
            params
                .iter()
                .all(|(_, v)| grads.get(v.as_tensor()).is_none())
        );
        let grads = train.pooler_output.sum_all().unwrap().backward().unwrap();
        assert!(
            grads
                .get(params.get("pooler.dense.weight").unwrap().as_tensor())
                .is_some()
        );
    }

    /// Skipping padded positions changes nothing a user reads: real-token hidden states, the
    /// pooler output and every parameter gradient match the full computation, and padded
    /// positions read as zero.
    #[test]
    fn skipping_padding_matches_computing_it_on_real_tokens_and_gradients() {
        let config = BertConfig::with_shape(2, 16, 2, 32, 12);
        let mut b = ParamBuilder::fresh(&Device::Cpu, 5);
        let bert = Bert::build(&config, &mut b).unwrap();
        let (params, _) = b.finish(&[]).unwrap();
        let ids = vec![
            vec![101, 2000, 3000, 102, 0, 0],
            vec![101, 7, 8, 9, 10, 102],
        ];
        let mask = vec![vec![1, 1, 1, 1, 0, 0], vec![1; 6]];
        let types = vec![vec![0, 0, 1, 1, 0, 0], vec![0; 6]];
        let batch = Batch::from_rows(&ids, &types, &mask, &config, &Device::Cpu).unwrap();
        let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let run = |padded: PaddedPositions| {
            let bert = bert.clone().with_padded_positions(padded);
            assert_eq!(bert.padded_positions(), padded);
            let out = bert.forward(&batch, &mut Mode::Eval).unwrap();
            // A loss that reads real tokens only (as every head does).
            let m = batch.attention_mask.unsqueeze(2).unwrap();
            let loss = (out
                .last_hidden_state()
                .broadcast_mul(&m)
                .unwrap()
                .sqr()
                .unwrap())
            .sum_all()
            .unwrap()
            .add(&out.pooler_output.sum_all().unwrap())
            .unwrap();
            let grads = loss.backward().unwrap();
            let g: Vec<Vec<f32>> = params
                .iter()
                .map(|(_, v)| flat(grads.get(v.as_tensor()).unwrap()))
                .collect();
            (out, g)
        };
        let (full, g_full) = run(PaddedPositions::Compute);
        let (skip, g_skip) = run(PaddedPositions::Skip);
        let close = |a: &[f32], b: &[f32], what: &str| {
            let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
            let diff = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
            assert!(diff <= 1e-5 * scale, "{what}: {diff} vs scale {scale}");
        };
        for (l, (hs, hf)) in skip
            .hidden_states
            .iter()
            .zip(&full.hidden_states)
            .enumerate()
        {
            let (s0, f0) = (flat(&hs.get(0).unwrap()), flat(&hf.get(0).unwrap()));
            close(&s0[..4 * 16], &f0[..4 * 16], &format!("layer {l} row 0"));
            assert!(s0[4 * 16..].iter().all(|&v| v == 0.0), "layer {l}: padding");
            close(
                &flat(&hs.get(1).unwrap()),
                &flat(&hf.get(1).unwrap()),
                &format!("layer {l} row 1"),
            );
        }
        close(
            &flat(&skip.pooler_output),
            &flat(&full.pooler_output),
            "pooler",
        );
        assert_eq!(g_full.len(), g_skip.len());
        for (i, (a, b)) in g_skip.iter().zip(&g_full).enumerate() {
            close(a, b, &format!("gradient {i}"));
        }
    }
}
