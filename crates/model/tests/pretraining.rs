//! Pre-training parity with PyTorch: Hugging Face's `BertForPreTraining` on the bert-tiny
//! fixture (its `cls.*` heads included), one masked batch of MRPC pairs with next-sentence
//! labels, eval mode. The reference (`tests/fixtures/pretraining.safetensors`) comes from
//! `bench/pretrain/make_fixture.py` (`just pretrain-fixture`, torch 2.15.0, transformers
//! 5.24.0): the masked-LM and next-sentence losses, the first 512 logits of every masked
//! position, and every gradient of the step. Tolerance as in `parity.rs`: max |ours − torch| ≤
//! 1e-5 × max |torch| per tensor; vocabulary-sized gradients through stored rows and their
//! float64 sum and sum of squares. Both op paths are checked: the CPU's torch-order kernels and
//! the portable composites a GPU runs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use multiberts_model::batch::Batch;
use multiberts_model::bert::Bert;
use multiberts_model::config::BertConfig;
use multiberts_model::dropout::Mode;
use multiberts_model::params::{ParamBuilder, Params};
use multiberts_model::pretraining::{
    MaskedPositions, PretrainingHeads, load_pretraining_tensors, pretraining_loss,
};

const REL: f64 = 1e-5;

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/bert-tiny")
        .join(rel)
}

fn reference() -> HashMap<String, Tensor> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pretraining.safetensors");
    candle_core::safetensors::load(path, &Device::Cpu).expect("the pre-training fixture reads")
}

fn ints(t: &Tensor) -> Vec<i64> {
    t.flatten_all().unwrap().to_vec1::<i64>().unwrap()
}

fn rows_of(t: &Tensor) -> Vec<Vec<i64>> {
    t.to_vec2::<i64>().unwrap()
}

/// The masked batch of the fixture.
fn fixture_batch(exp: &HashMap<String, Tensor>, config: &BertConfig) -> Batch {
    Batch::from_rows(
        &rows_of(&exp["input_ids"]),
        &rows_of(&exp["token_type_ids"]),
        &rows_of(&exp["attention_mask"]),
        config,
        &Device::Cpu,
    )
    .unwrap()
}

struct Model {
    bert: Bert,
    heads: PretrainingHeads,
    params: Params,
}

fn model(config: &BertConfig) -> Model {
    let tensors = load_pretraining_tensors(&shared("model.safetensors"), &Device::Cpu).unwrap();
    let mut b = ParamBuilder::from_tensors(&tensors, &Device::Cpu, 0);
    let bert = Bert::build(config, &mut b).unwrap();
    let heads = PretrainingHeads::build(config, true, &mut b).unwrap();
    let (params, report) = b.finish(&[]).unwrap();
    assert!(
        report.initialised.is_empty(),
        "every head comes from the file: {report:?}"
    );
    Model {
        bert,
        heads,
        params,
    }
}

fn max_abs(t: &Tensor) -> f64 {
    let t = t.to_dtype(DType::F64).unwrap().abs().unwrap();
    t.flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar()
        .unwrap()
}

fn assert_close(what: &str, ours: &Tensor, reference: &Tensor) {
    assert_close_to(what, ours, reference, max_abs(reference));
}

/// max |ours − reference| ≤ 1e-5 · `scale`.
fn assert_close_to(what: &str, ours: &Tensor, reference: &Tensor, scale: f64) {
    assert_eq!(ours.dims(), reference.dims(), "{what}: shape");
    let diff =
        (ours.to_dtype(DType::F64).unwrap() - reference.to_dtype(DType::F64).unwrap()).unwrap();
    let diff = max_abs(&diff);
    assert!(
        diff <= REL * scale,
        "{what}: max abs diff {diff:e} > {REL:e} × {scale:e}"
    );
}

/// A vocabulary-sized gradient through the stored rows and whole-tensor statistics.
fn assert_vocab_sized(what: &str, ours: &Tensor, exp: &HashMap<String, Tensor>, key: &str) {
    let rows = exp["rows"].to_dtype(DType::U32).unwrap();
    assert_close(
        &format!("{what} rows"),
        &ours.index_select(&rows, 0).unwrap(),
        &exp[&format!("{key}[rows]")],
    );
    // The sum is analytically near zero (every logit row's softmax gradient sums to zero over
    // the vocabulary), so it is measured against the largest it could be, √(N · Σg²).
    let o64 = ours.to_dtype(DType::F64).unwrap();
    let stat = |name: &str| exp[&format!("{key}[{name}]")].to_scalar::<f64>().unwrap();
    let (sum, sumsq) = (stat("sum"), stat("sumsq"));
    let got_sumsq = o64
        .sqr()
        .unwrap()
        .sum_all()
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    assert!(
        (got_sumsq - sumsq).abs() <= REL * sumsq,
        "{what} sum of squares: {got_sumsq} vs {sumsq}"
    );
    let got_sum = o64.sum_all().unwrap().to_scalar::<f64>().unwrap();
    let bound = (ours.elem_count() as f64 * sumsq).sqrt();
    assert!(
        (got_sum - sum).abs() <= REL * bound,
        "{what} sum: {got_sum} vs {sum} (scale {bound:e})"
    );
}

/// On the torch-order CPU kernels and on the portable path (what a GPU runs), one after the
/// other: the path is a process-wide switch, and the other test here does not depend on it.
#[test]
fn masked_lm_and_next_sentence_losses_and_every_gradient_match_torch() {
    for portable in [false, true] {
        multiberts_model::kernel_path::force_portable(portable);
        losses_and_gradients();
    }
    multiberts_model::kernel_path::force_portable(false);
}

fn losses_and_gradients() {
    let exp = reference();
    let config = BertConfig::from_file(shared("config.json")).unwrap();
    let m = model(&config);
    let batch = fixture_batch(&exp, &config);
    let to_u32 = |v: Vec<i64>| v.into_iter().map(|x| x as u32).collect::<Vec<_>>();
    let masked = MaskedPositions {
        positions: to_u32(ints(&exp["mlm_positions"])),
        labels: to_u32(ints(&exp["mlm_labels"])),
    };
    let nsp = exp["nsp_labels"].to_dtype(DType::U32).unwrap();
    let out = m.bert.forward(&batch, &mut Mode::Eval).unwrap();
    let loss = pretraining_loss(&m.bert, &m.heads, &out, &masked, Some(&nsp)).unwrap();
    assert_close("loss", &loss.total, &exp["loss"]);
    assert_close("mlm_loss", &loss.mlm, &exp["mlm_loss"]);
    assert_close(
        "nsp_loss",
        loss.next_sentence.as_ref().unwrap(),
        &exp["nsp_loss"],
    );

    let last = out.last_hidden_state();
    let (b, t, h) = last.dims3().unwrap();
    let index = Tensor::new(masked.positions.as_slice(), &Device::Cpu).unwrap();
    let rows = last
        .reshape((b * t, h))
        .unwrap()
        .index_select(&index, 0)
        .unwrap();
    let logits = m.heads.mlm_logits(&rows, m.bert.word_embeddings()).unwrap();
    assert_close(
        "mlm_logits[masked]",
        &logits.narrow(1, 0, 512).unwrap(),
        &exp["mlm_logits[masked]"],
    );

    let grads = loss.total.backward().unwrap();
    let mut compared = 0;
    for (name, var) in m.params.iter() {
        let g = grads
            .get(var.as_tensor())
            .expect("every parameter has a gradient");
        let key = if name.starts_with("cls.") {
            format!("grad.{name}")
        } else {
            format!("grad.bert.{name}")
        };
        if g.dim(0).unwrap() == config.vocab_size {
            assert_vocab_sized(&key, g, &exp, &key);
        } else if let Some(layer) = key.strip_suffix(".key.bias") {
            // Analytically zero (softmax ignores a per-query constant): torch stores rounding
            // noise, measured against the same layer's key weight gradient (as parity.rs).
            let scale = max_abs(&exp[&format!("{layer}.key.weight")]);
            assert_close_to(&key, g, &exp[&key], scale);
        } else {
            assert_close(&key, g, &exp[&key]);
        }
        compared += 1;
    }
    let stored = exp
        .keys()
        .filter(|k| k.starts_with("grad.") && !k.ends_with("[sum]") && !k.ends_with("[sumsq]"))
        .count();
    assert_eq!(compared, stored, "every torch gradient is compared once");
}

#[test]
fn the_loss_needs_masked_positions_and_matching_next_sentence_labels() {
    let exp = reference();
    let config = BertConfig::from_file(shared("config.json")).unwrap();
    let m = model(&config);
    let batch = fixture_batch(&exp, &config);
    let out = m.bert.forward(&batch, &mut Mode::Eval).unwrap();
    let none = MaskedPositions {
        positions: vec![],
        labels: vec![],
    };
    let err = pretraining_loss(&m.bert, &m.heads, &out, &none, None).unwrap_err();
    assert!(
        err.to_string().contains("at least one masked position"),
        "{err}"
    );
    let outside = MaskedPositions {
        positions: vec![10_000],
        labels: vec![5],
    };
    let nsp = exp["nsp_labels"].to_dtype(DType::U32).unwrap();
    let err = pretraining_loss(&m.bert, &m.heads, &out, &outside, Some(&nsp)).unwrap_err();
    assert!(err.to_string().contains("outside the batch"), "{err}");
    let one = MaskedPositions {
        positions: vec![1],
        labels: vec![5],
    };
    let err = pretraining_loss(&m.bert, &m.heads, &out, &one, None).unwrap_err();
    assert!(err.to_string().contains("no next-sentence labels"), "{err}");
}
