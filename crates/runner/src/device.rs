//! The device a job runs on, as `job.json` names it. Parsing, checking and opening a
//! `--device` value is `multiberts_model::device::DeviceSpec`'s job. Device-generic on purpose:
//! nothing here needs the `cuda` feature to compile.

use candle_core::{Device, DeviceLocation};

/// The name of `device` as `job.json` records it and `--device` accepts it: `cpu`, `cuda:N`.
pub fn device_name(device: &Device) -> String {
    match device.location() {
        DeviceLocation::Cpu => "cpu".into(),
        DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use multiberts_model::device::DeviceSpec;

    #[test]
    fn names_round_trip_through_the_parser() {
        for text in ["cpu", "cuda", "CUDA:2", "gpu"] {
            let spec: DeviceSpec = text.parse().unwrap();
            assert_eq!(
                spec.to_string().parse::<DeviceSpec>().unwrap(),
                spec,
                "{text}"
            );
        }
        assert_eq!("cuda".parse::<DeviceSpec>().unwrap().to_string(), "cuda:0");
        assert_eq!(device_name(&Device::Cpu), "cpu");
        assert!(DeviceSpec::Cpu.check_supported().is_ok());
    }

    #[test]
    fn a_gpu_on_a_cpu_build_is_refused_with_the_fix() {
        if candle_core::utils::cuda_is_available() {
            return;
        }
        let err = DeviceSpec::Cuda(1)
            .check_supported()
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
