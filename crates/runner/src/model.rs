//! The model a job fine-tunes: the checkpoint's BERT with the task's head, its logits for a
//! batch of features, and its predictions on a split.

use std::path::Path;

use candle_core::{Device, Tensor};
use multiberts_manifest::EvalOrder;
use multiberts_model::batch::Batch;
use multiberts_model::bert::{Bert, PaddedPositions};
use multiberts_model::checkpoint::load_checkpoint;
use multiberts_model::config::BertConfig;
use multiberts_model::dropout::Mode;
use multiberts_model::params::{ParamBuilder, Params};
use multiberts_model::precision::Precision;

use crate::error::{Result, RunnerError};
use crate::features::Feature;
use crate::head::{Head, HeadKind};

/// The model being fine-tuned.
pub(crate) struct Model {
    pub(crate) bert: Bert,
    head: Head,
    kind: HeadKind,
    pub(crate) params: Params,
    config: BertConfig,
}

/// A loaded model and the digest of the weights file it came from.
pub(crate) struct Loaded {
    /// The model.
    pub(crate) model: Model,
    /// sha256 of the checkpoint's weights file. A generated init is recorded too: its file is
    /// a pure function of (config, seed), so the digest identifies exactly what was
    /// fine-tuned.
    pub(crate) checkpoint_sha256: Option<String>,
}

impl Model {
    /// Loads the checkpoint in `dir` onto `device` and adds the head of `kind`; weights the
    /// checkpoint lacks are initialised from `seed`. `vocab_size` is the tokenizer's, checked
    /// against the model's embeddings.
    pub(crate) fn load(
        dir: &Path,
        device: &Device,
        kind: HeadKind,
        seed: u64,
        precision: Precision,
        vocab_size: usize,
    ) -> Result<Loaded> {
        let loaded = load_checkpoint(dir, device)?;
        let config_path = loaded
            .config_path
            .clone()
            .ok_or_else(|| RunnerError::file(dir, "no config.json beside the weights"))?;
        let config = BertConfig::from_file(&config_path)
            .map_err(multiberts_model::error::ModelError::from)?;
        if vocab_size > config.vocab_size {
            return Err(RunnerError::file(
                dir.join("vocab.txt"),
                format!(
                    "the vocabulary has {vocab_size} tokens but the model only {} embeddings",
                    config.vocab_size
                ),
            ));
        }
        let mut builder = ParamBuilder::from_tensors(&loaded.tensors, device, seed);
        // Padded positions feed nothing the heads read ([CLS] and the spans are real tokens),
        // so they are skipped: 25-40 % less work on typical batches (docs/bench/model.md).
        let named = |e: multiberts_model::error::ModelError| {
            e.in_checkpoint(&loaded.weights_path, &config_path)
        };
        let bert = Bert::build(&config, &mut builder)
            .map_err(named)?
            .with_padded_positions(PaddedPositions::Skip)
            .with_precision(precision);
        let (head, other_heads) = kind.build(&config, &mut builder)?;
        let (params, report) = builder.finish(other_heads).map_err(named)?;
        tracing::debug!(initialised = ?report.initialised, "model built");
        Ok(Loaded {
            model: Model {
                bert,
                head,
                kind,
                params,
                config,
            },
            checkpoint_sha256: loaded.files.first().map(|f| f.sha256.clone()),
        })
    }

    /// The head this model has.
    pub(crate) fn kind(&self) -> HeadKind {
        self.kind
    }

    /// Logits of the examples `idx` of `features` (see [`Head::forward`]).
    pub(crate) fn logits(
        &self,
        features: &[Feature],
        idx: &[usize],
        device: &Device,
        mode: &mut Mode<'_>,
    ) -> Result<Tensor> {
        self.logits_of(&self.bert, features, idx, device, mode)
    }

    /// [`Model::logits`] through `bert`: the trained encoder or its inference view.
    fn logits_of(
        &self,
        bert: &Bert,
        features: &[Feature],
        idx: &[usize],
        device: &Device,
        mode: &mut Mode<'_>,
    ) -> Result<Tensor> {
        let batch = make_batch(features, idx, &self.config, device)?;
        let out = bert.forward(&batch, mode)?;
        self.head.forward(&out, features, idx, mode)
    }

    /// Class scores and predictions of the model on `features`, in order, in eval mode, in
    /// batches of `batch_size` (see [`HeadKind::outputs`]).
    pub(crate) fn predict(
        &self,
        features: &[Feature],
        batch_size: usize,
        order: EvalOrder,
        device: &Device,
    ) -> Result<Predictions> {
        let batched = eval_order(features, order);
        let mut scores = Vec::with_capacity(features.len());
        let mut preds = Vec::with_capacity(features.len());
        // The same weights without autograd: no graph is recorded, so each intermediate is
        // freed as soon as it is used (the same ops, so the same bits).
        let bert = self.bert.inference_view();
        for chunk in batched.chunks(batch_size.max(1)) {
            let mut mode = Mode::Eval;
            let logits = self.logits_of(&bert, features, chunk, device, &mut mode)?;
            self.kind.outputs(&logits, &mut scores, &mut preds)?;
        }
        Ok(in_file_order(&batched, Predictions { scores, preds }))
    }
}

/// The feature indices in the order they are batched for evaluation.
fn eval_order(features: &[Feature], order: EvalOrder) -> Vec<usize> {
    let mut all: Vec<usize> = (0..features.len()).collect();
    if order == EvalOrder::Length {
        // Stable: examples of equal length keep their file order.
        all.sort_by_key(|&i| features[i].ids.len());
    }
    all
}

/// Puts predictions made in `batched` order back into file order.
fn in_file_order(batched: &[usize], made: Predictions) -> Predictions {
    let n = batched.len();
    let mut scores = vec![Vec::new(); n];
    let mut preds = vec![0.0; n];
    for ((&i, s), p) in batched.iter().zip(made.scores).zip(made.preds) {
        scores[i] = s;
        preds[i] = p;
    }
    Predictions { scores, preds }
}

/// A model's outputs on a split, one entry per feature.
#[derive(Debug, Clone)]
pub(crate) struct Predictions {
    /// Class scores.
    pub(crate) scores: Vec<Vec<f32>>,
    /// Predicted class or value.
    pub(crate) preds: Vec<f64>,
}

/// A batch of the examples `idx`, padded to its longest member (dynamic padding).
fn make_batch(
    features: &[Feature],
    idx: &[usize],
    config: &BertConfig,
    device: &Device,
) -> Result<Batch> {
    let t = idx
        .iter()
        .map(|&i| features[i].ids.len())
        .max()
        .unwrap_or(1);
    let mut ids = Vec::with_capacity(idx.len());
    let mut types = Vec::with_capacity(idx.len());
    let mut mask = Vec::with_capacity(idx.len());
    for &i in idx {
        let f = &features[i];
        let pad = t - f.ids.len();
        let mut row: Vec<i64> = f.ids.iter().map(|&v| i64::from(v)).collect();
        row.resize(t, 0);
        ids.push(row);
        let mut row: Vec<i64> = f.type_ids.iter().map(|&v| i64::from(v)).collect();
        row.resize(t, 0);
        types.push(row);
        let mut row = vec![1i64; f.ids.len()];
        row.extend(std::iter::repeat_n(0, pad));
        mask.push(row);
    }
    Ok(Batch::from_rows(&ids, &types, &mask, config, device)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feature(len: usize) -> Feature {
        Feature {
            ids: vec![1; len],
            type_ids: vec![0; len],
            spans: None,
        }
    }

    #[test]
    fn length_order_is_stable_and_outputs_go_back_to_file_order() {
        let features: Vec<Feature> = [5, 3, 9, 3, 1].map(feature).into();
        assert_eq!(eval_order(&features, EvalOrder::File), vec![0, 1, 2, 3, 4]);
        let batched = eval_order(&features, EvalOrder::Length);
        assert_eq!(batched, vec![4, 1, 3, 0, 2], "ties keep file order");
        // Outputs made in batched order, each tagged with its example's index.
        let made = Predictions {
            scores: batched.iter().map(|&i| vec![i as f32]).collect(),
            preds: batched.iter().map(|&i| i as f64).collect(),
        };
        let back = in_file_order(&batched, made);
        assert_eq!(back.preds, vec![0.0, 1.0, 2.0, 3.0, 4.0]);
        assert_eq!(back.scores[3], vec![3.0]);
    }
}
