//! The device a job runs on: its name in `job.json`, and the checks a sweep makes before
//! starting any job. Device-generic on purpose: nothing here needs the `cuda` feature to
//! compile, so the CPU build type-checks every line the CUDA build runs.

use candle_core::{Device, DeviceLocation};
use multiberts_model::device::{DeviceError, DeviceSpec};

/// The name of `device` as `job.json` records it and `--device` accepts it: `cpu`, `cuda:N`.
pub fn device_name(device: &Device) -> String {
    match device.location() {
        DeviceLocation::Cpu => "cpu".into(),
        DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}

/// The canonical `--device` text of `spec` (`cuda` becomes `cuda:0`), for a child's command
/// line.
pub fn spec_name(spec: DeviceSpec) -> String {
    match spec {
        DeviceSpec::Cpu => "cpu".into(),
        DeviceSpec::Cuda(n) => format!("cuda:{n}"),
    }
}

/// Whether `spec` names a GPU.
pub fn is_gpu(spec: DeviceSpec) -> bool {
    matches!(spec, DeviceSpec::Cuda(_))
}

/// Checks that this build can run on `spec` without opening it: the check a submitting
/// machine (a Slurm login node, which may have no GPU) can make for its compute nodes.
pub fn check_supported(spec: DeviceSpec) -> Result<(), DeviceError> {
    if is_gpu(spec) && !candle_core::utils::cuda_is_available() {
        return Err(DeviceError::NotCompiled(spec_name(spec)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_the_parser() {
        for text in ["cpu", "cuda", "CUDA:2", "gpu"] {
            let spec: DeviceSpec = text.parse().unwrap();
            assert_eq!(
                spec_name(spec).parse::<DeviceSpec>().unwrap(),
                spec,
                "{text}"
            );
        }
        assert_eq!(spec_name("cuda".parse().unwrap()), "cuda:0");
        assert_eq!(device_name(&Device::Cpu), "cpu");
        assert!(check_supported(DeviceSpec::Cpu).is_ok());
    }

    #[test]
    fn a_gpu_on_a_cpu_build_is_refused_with_the_fix() {
        if candle_core::utils::cuda_is_available() {
            return;
        }
        let err = check_supported(DeviceSpec::Cuda(1))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cuda:1")
                && err.contains("--features cuda")
                && err.contains("--device cpu"),
            "{err}"
        );
    }
}
