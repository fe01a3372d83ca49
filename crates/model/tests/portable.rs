//! The GPU's op path, run on the CPU: with the portable kernels forced, every op is the
//! composite candle op a CUDA device runs (no torch-order CPU kernel, the optimizer on tensor
//! moments). The bert-tiny fixture must still match PyTorch: forward outputs, every gradient
//! and the parameters after two AdamW steps within 1e-4 of each tensor's max (issue 13).
//!
//! This file is its own test binary (one process), so forcing the path here cannot change
//! what the other tests run.

use std::path::{Path, PathBuf};

use candle_core::Device;
use multiberts_model::fixture_parity::check_fixture;
use multiberts_model::kernel_path::{KernelPath, force_portable, kernel_path};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/bert-tiny")
}

#[test]
fn the_portable_path_matches_torch_on_the_fixture() {
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
