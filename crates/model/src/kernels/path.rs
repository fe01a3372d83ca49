//! Which implementation the model's ops take on the CPU: our torch-order f32 kernels, or the
//! portable composite candle ops that every other device (a CUDA GPU) runs.
//!
//! Every op of the encoder, heads and optimizer has two implementations. On the CPU with f32,
//! custom kernels reproduce torch's rounding (`torch_cpu.rs`, `small_mm.rs`, `xent.rs`) and
//! save memory; on a GPU the same maths runs as a composite of differentiable candle ops.
//! Forcing the portable path on the CPU runs exactly what a GPU runs, op for op, so the GPU
//! path is tested (gradients, optimizer, a whole sweep) on a machine without one:
//! `MULTIBERTS_KERNELS=portable` in the environment (inherited by a sweep's jobs), or
//! [`force_portable`] in code.

use std::sync::atomic::{AtomicU8, Ordering};

use candle_core::{DType, Tensor};

/// The environment variable that selects the path: `portable`, or `cpu` (the default).
pub const ENV_VAR: &str = "MULTIBERTS_KERNELS";

/// The implementation family the CPU uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelPath {
    /// Our f32 kernels that round as torch's CPU kernels do (the default on the CPU).
    TorchOrder,
    /// The composite candle ops a GPU runs, on whatever device the tensors are on.
    Portable,
}

impl KernelPath {
    /// The name as [`ENV_VAR`] spells it and `job.json` records it.
    pub fn name(self) -> &'static str {
        match self {
            Self::TorchOrder => "cpu",
            Self::Portable => "portable",
        }
    }
}

const UNSET: u8 = 0;
const TORCH_ORDER: u8 = 1;
const PORTABLE: u8 = 2;

static PATH: AtomicU8 = AtomicU8::new(UNSET);

/// The path in force: set by [`force_portable`], else read once from [`ENV_VAR`].
///
/// An unknown value of the variable is an error the first time it is read, so that a typo
/// (`portabel`) does not silently test the wrong path.
pub fn kernel_path() -> KernelPath {
    match PATH.load(Ordering::Relaxed) {
        TORCH_ORDER => KernelPath::TorchOrder,
        PORTABLE => KernelPath::Portable,
        _ => {
            // An unknown value falls back to the default; `check_env` reports it.
            let path = check_env().unwrap_or(KernelPath::TorchOrder);
            store(path);
            path
        }
    }
}

/// Reads [`ENV_VAR`]: `Ok(TorchOrder)` when unset, an error naming the value when unknown.
pub fn check_env() -> Result<KernelPath, String> {
    match std::env::var(ENV_VAR) {
        Err(_) => Ok(KernelPath::TorchOrder),
        Ok(v) => match v.trim().to_ascii_lowercase().as_str() {
            "" | "cpu" | "default" => Ok(KernelPath::TorchOrder),
            "portable" | "gpu" => Ok(KernelPath::Portable),
            _ => Err(format!(
                "{ENV_VAR}={v:?} is not a kernel path; expected `portable` (the ops a GPU runs) \
                 or `cpu` (the default)"
            )),
        },
    }
}

fn store(path: KernelPath) {
    let v = match path {
        KernelPath::TorchOrder => TORCH_ORDER,
        KernelPath::Portable => PORTABLE,
    };
    PATH.store(v, Ordering::Relaxed);
}

/// Forces the portable path (`true`) or the torch-order CPU kernels (`false`) for the whole
/// process, whatever the environment says. Meant for tests and tools that compare the two.
pub fn force_portable(on: bool) {
    store(if on {
        KernelPath::Portable
    } else {
        KernelPath::TorchOrder
    });
}

/// Whether our torch-order CPU kernel applies to `t`: an f32 tensor on the CPU, and the
/// portable path not forced.
pub(crate) fn cpu_kernel(t: &Tensor) -> bool {
    t.device().is_cpu() && t.dtype() == DType::F32 && kernel_path() == KernelPath::TorchOrder
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_the_environment_spelling() {
        assert_eq!(KernelPath::Portable.name(), "portable");
        assert_eq!(KernelPath::TorchOrder.name(), "cpu");
    }
}
