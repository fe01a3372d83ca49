//! The GPU's op path, run on the CPU: with the portable kernels forced, every op is the
//! composite candle op a CUDA device runs (no torch-order CPU kernel, the optimizer on tensor
//! moments). The bert-tiny fixture must still match PyTorch: forward outputs, every gradient
//! and the parameters after two AdamW steps within 1e-4 of each tensor's max (issue 13).
//!
//! This file is its own test binary (one process), so forcing the path here cannot change
//! what the other tests run.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use candle_core::{Device, Tensor};
use multiberts_model::batch::Batch;
use multiberts_model::bert::{Bert, PaddedPositions};
use multiberts_model::config::BertConfig;
use multiberts_model::dropout::Mode;
use multiberts_model::fixture_parity::check_fixture;
use multiberts_model::kernel_path::{KernelPath, force_portable, kernel_path};
use multiberts_model::params::ParamBuilder;
use multiberts_model::rng::SeededRng;

/// The kernel path is process-wide: the tests here take turns.
static PATH_LOCK: Mutex<()> = Mutex::new(());

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/bert-tiny")
}

#[test]
fn the_portable_path_matches_torch_on_the_fixture() {
    let _turn = PATH_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    force_portable(true);
    assert_eq!(kernel_path(), KernelPath::Portable);
    let report = check_fixture(&fixture(), &Device::Cpu).unwrap();
    // 3 hidden states + pooler + logits + loss; 41 gradients (+3 for the word embeddings'
    // rows, sum and sum of squares) and the norm; 41 (+3) parameters after each step; the
    // second forward's logits, loss and norm.
    assert_eq!(report.comparisons.len(), 6 + 43 + 1 + 43 + 3 + 43);
    let failures = report.failures(1e-4);
    assert!(failures.is_empty(), "beyond 1e-4: {failures:#?}");
    let worst = report.worst().unwrap();
    eprintln!(
        "worst: {} at {:.2e} of its scale",
        worst.name,
        worst.relative()
    );
    // The composite path really ran: it does not round as torch's CPU kernels do, so some
    // tensor differs in its last bits (the torch-order path is within 1e-5 of every one).
    assert!(worst.relative() > 0.0);
}

/// In train mode with padded positions skipped, the portable path runs every position (a GPU
/// would spend more on packing than it saves) but draws its dropout masks for the real tokens
/// only: the random stream, the real tokens' outputs and every gradient are those of the
/// packed CPU path.
#[test]
fn training_dropout_draws_the_packed_stream_on_the_padded_layout() {
    let _turn = PATH_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let config = BertConfig::with_shape(2, 32, 2, 64, 16);
    let ids = vec![
        vec![101, 2000, 3000, 4000, 102, 0, 0, 0],
        vec![101, 7, 8, 9, 10, 11, 12, 102],
        vec![101, 5, 102, 0, 0, 0, 0, 0],
    ];
    let mask: Vec<Vec<i64>> = ids
        .iter()
        .map(|r| r.iter().map(|&t| i64::from(t != 0)).collect())
        .collect();
    let types = vec![vec![0i64; 8]; 3];
    let run = |portable: bool| {
        force_portable(portable);
        let mut b = ParamBuilder::fresh(&Device::Cpu, 11);
        let bert = Bert::build(&config, &mut b)
            .unwrap()
            .with_padded_positions(PaddedPositions::Skip);
        let (params, _) = b.finish(&[]).unwrap();
        let batch = Batch::from_rows(&ids, &types, &mask, &config, &Device::Cpu).unwrap();
        let mut rng = SeededRng::named(3, "dropout");
        let out = bert.forward(&batch, &mut Mode::Train(&mut rng)).unwrap();
        let m = batch
            .attention_mask
            .unsqueeze(2)
            .unwrap()
            .to_dtype(candle_core::DType::F32)
            .unwrap();
        let real = out.last_hidden_state().broadcast_mul(&m).unwrap();
        let loss = (real.sqr().unwrap().sum_all().unwrap() + out.pooler_output.sum_all().unwrap())
            .unwrap();
        let grads = loss.backward().unwrap();
        let g: Vec<Vec<f32>> = params
            .iter()
            .map(|(_, v)| flat(grads.get(v.as_tensor()).unwrap()))
            .collect();
        (flat(&real), flat(&out.pooler_output), g, rng.next_u32())
    };
    let (real_cpu, pool_cpu, g_cpu, next_cpu) = run(false);
    let (real_gpu, pool_gpu, g_gpu, next_gpu) = run(true);
    force_portable(false);
    assert_eq!(next_cpu, next_gpu, "the two paths drew different amounts");
    close(&real_gpu, &real_cpu, "real tokens");
    close(&pool_gpu, &pool_cpu, "pooler");
    for (i, (a, b)) in g_gpu.iter().zip(&g_cpu).enumerate() {
        close(a, b, &format!("gradient {i}"));
    }
}

fn flat(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

fn close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
    let diff = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    assert!(diff <= 1e-4 * scale, "{what}: {diff} vs scale {scale}");
}
