//! `--device cpu|cuda[:N]` parsing, with a clear error when CUDA support was not compiled in.

use candle_core::Device;

/// Errors from choosing a device.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The text is not `cpu`, `cuda` or `cuda:N`.
    #[error("invalid device `{0}`; expected `cpu`, `cuda` or `cuda:N` (N = GPU index)")]
    Invalid(String),
    /// CUDA was asked for, but this binary was built without the `cuda` feature.
    #[error(
        "device `{0}` needs CUDA, but this binary was built without it; rebuild with \
         `cargo build --release --features cuda` (needs nvcc), or use `--device cpu`"
    )]
    NotCompiled(String),
    /// CUDA is compiled in but the device could not be opened.
    #[error("cannot open device `{spec}`: {source}")]
    Open {
        /// What was asked for.
        spec: String,
        /// candle's error.
        source: candle_core::Error,
    },
}

/// A parsed device request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceSpec {
    /// The CPU.
    Cpu,
    /// CUDA GPU number N.
    Cuda(usize),
}

impl std::str::FromStr for DeviceSpec {
    type Err = DeviceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda(0)),
            _ => t
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Self::Cuda)
                .ok_or_else(|| DeviceError::Invalid(s.to_owned())),
        }
    }
}

/// The canonical text (`cpu`, `cuda:N`), which [`FromStr`](std::str::FromStr) reads back.
impl std::fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cpu => f.write_str("cpu"),
            Self::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

impl DeviceSpec {
    /// Whether this names a GPU.
    pub fn is_gpu(self) -> bool {
        matches!(self, Self::Cuda(_))
    }

    /// Checks that this build can run on the device without opening it: the check a
    /// submitting machine (a Slurm login node, which may have no GPU) can make for its
    /// compute nodes.
    pub fn check_supported(self) -> Result<(), DeviceError> {
        if self.is_gpu() && !candle_core::utils::cuda_is_available() {
            return Err(DeviceError::NotCompiled(self.to_string()));
        }
        Ok(())
    }

    /// Opens the device.
    pub fn open(self) -> Result<Device, DeviceError> {
        self.check_supported()?;
        match self {
            Self::Cpu => Ok(Device::Cpu),
            Self::Cuda(n) => Device::new_cuda(n).map_err(|source| DeviceError::Open {
                spec: self.to_string(),
                source,
            }),
        }
    }
}

/// Parses and opens a `--device` value, logging what the build supports.
pub fn parse_device(s: &str) -> Result<Device, DeviceError> {
    let spec: DeviceSpec = s.parse()?;
    tracing::debug!(
        cuda = candle_core::utils::cuda_is_available(),
        avx = candle_core::utils::with_avx(),
        mkl = candle_core::utils::has_mkl(),
        "opening device {s}"
    );
    spec.open()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        assert_eq!("cpu".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cpu);
        assert_eq!("CUDA".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cuda(0));
        assert_eq!("cuda:3".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cuda(3));
        for bad in ["", "tpu", "cuda:", "cuda:x", "cuda:-1"] {
            let err = bad.parse::<DeviceSpec>().unwrap_err().to_string();
            assert!(err.contains("expected `cpu`"), "{bad}: {err}");
        }
        assert!(parse_device("cpu").unwrap().is_cpu());
    }

    #[test]
    fn cuda_without_the_feature_says_how_to_fix_it() {
        if candle_core::utils::cuda_is_available() {
            return;
        }
        let err = parse_device("cuda:1").unwrap_err().to_string();
        assert!(
            err.contains("--features cuda") && err.contains("cuda:1"),
            "{err}"
        );
    }
}
