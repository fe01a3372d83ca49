//! `--device cpu|cuda[:N]` parsing, with a clear error when CUDA support was not compiled in,
//! and how many GPUs this process can see ([`visible_gpu_count`]).

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

/// A `--device` request as typed: unlike [`DeviceSpec`], it keeps whether a GPU index was
/// given, since `multiberts sweep --device cuda` means "every visible GPU" while a single job
/// (`run-job`) takes `cuda` as `cuda:0` ([`DeviceRequest::spec`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceRequest {
    /// The CPU (`cpu`).
    Cpu,
    /// A GPU without an index (`cuda`, `gpu`).
    AnyGpu,
    /// CUDA GPU number N (`cuda:N`).
    Gpu(usize),
}

impl std::str::FromStr for DeviceRequest {
    type Err = DeviceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        if t == "cuda" || t == "gpu" {
            return Ok(Self::AnyGpu);
        }
        Ok(match s.parse::<DeviceSpec>()? {
            DeviceSpec::Cpu => Self::Cpu,
            DeviceSpec::Cuda(n) => Self::Gpu(n),
        })
    }
}

/// The canonical text (`cpu`, `cuda`, `cuda:N`), which [`FromStr`](std::str::FromStr) reads
/// back.
impl std::fmt::Display for DeviceRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cpu => f.write_str("cpu"),
            Self::AnyGpu => f.write_str("cuda"),
            Self::Gpu(n) => write!(f, "cuda:{n}"),
        }
    }
}

impl DeviceRequest {
    /// The one device a single job uses: `cuda` without an index is `cuda:0`, the first
    /// visible GPU.
    pub fn spec(self) -> DeviceSpec {
        match self {
            Self::Cpu => DeviceSpec::Cpu,
            Self::AnyGpu => DeviceSpec::Cuda(0),
            Self::Gpu(n) => DeviceSpec::Cuda(n),
        }
    }

    /// Whether this names a GPU.
    pub fn is_gpu(self) -> bool {
        self != Self::Cpu
    }
}

/// How many GPUs `CUDA_VISIBLE_DEVICES` lets a CUDA process see, from the variable's value.
///
/// The value is a comma-separated list of GPU indices or UUIDs (`GPU-…`, `MIG-…`); the CUDA
/// driver uses its entries up to the first invalid one and ignores the rest. This counts the
/// same way: entries (trimmed) up to the first that is empty, a negative or non-numeric index
/// (`-1`, `NoDevFiles`, which Slurm sets when a job has no GPU), or a repeat of an earlier
/// entry. So `""`, `"-1"` and `"NoDevFiles"` give 0, `"0,2"` gives 2 and `"0,-1,1"` gives 1.
/// An index beyond the GPUs the machine has cannot be judged from the text and counts; the
/// driver's own count ([`visible_gpu_count`] on a CUDA build) does not.
pub fn count_visible_devices(value: &str) -> usize {
    let mut seen: Vec<&str> = Vec::new();
    for entry in value.split(',').map(str::trim) {
        let lower = entry.to_ascii_lowercase();
        let valid = if lower.starts_with("gpu-") || lower.starts_with("mig-") {
            entry.len() > 4
        } else {
            !entry.is_empty() && entry.bytes().all(|b| b.is_ascii_digit())
        };
        if !valid || seen.contains(&entry) {
            break;
        }
        seen.push(entry);
    }
    seen.len()
}

/// The environment variable that chooses which GPUs CUDA processes see.
pub const CUDA_VISIBLE_DEVICES: &str = "CUDA_VISIBLE_DEVICES";

/// How many CUDA GPUs this process can see, numbered `cuda:0` to `cuda:N-1`.
///
/// On a build with CUDA (the `cuda` feature) this is the driver's count, which already honours
/// `CUDA_VISIBLE_DEVICES`; when the driver cannot be asked (no driver installed), or on a
/// build without CUDA, it is [`count_visible_devices`] of `CUDA_VISIBLE_DEVICES` when that is
/// set, else 0.
pub fn visible_gpu_count() -> usize {
    #[cfg(feature = "cuda")]
    {
        use candle_core::cuda_backend::cudarc::driver::CudaContext;
        match CudaContext::device_count() {
            Ok(n) => return usize::try_from(n).unwrap_or(0),
            Err(e) => tracing::debug!(error = %e, "the CUDA driver cannot count the GPUs"),
        }
    }
    std::env::var(CUDA_VISIBLE_DEVICES).map_or(0, |v| count_visible_devices(&v))
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
    fn requests_keep_whether_an_index_was_given() {
        for (text, want, spec) in [
            ("cpu", DeviceRequest::Cpu, DeviceSpec::Cpu),
            ("cuda", DeviceRequest::AnyGpu, DeviceSpec::Cuda(0)),
            (" GPU ", DeviceRequest::AnyGpu, DeviceSpec::Cuda(0)),
            ("cuda:0", DeviceRequest::Gpu(0), DeviceSpec::Cuda(0)),
            ("CUDA:2", DeviceRequest::Gpu(2), DeviceSpec::Cuda(2)),
        ] {
            let got: DeviceRequest = text.parse().unwrap();
            assert_eq!(got, want, "{text}");
            assert_eq!(got.spec(), spec, "{text}");
            assert_eq!(got.to_string().parse::<DeviceRequest>().unwrap(), got);
            assert_eq!(got.is_gpu(), spec.is_gpu());
        }
        for bad in ["", "tpu", "cuda:", "cuda:-1"] {
            let err = bad.parse::<DeviceRequest>().unwrap_err().to_string();
            assert!(err.contains("expected `cpu`"), "{bad}: {err}");
        }
    }

    #[test]
    fn counts_cuda_visible_devices_as_the_driver_does() {
        for (value, n) in [
            ("", 0),
            ("-1", 0),
            ("NoDevFiles", 0),
            ("0", 1),
            ("0,1,2", 3),
            (" 3 , 1 ", 2),
            ("0,2,", 2),
            ("0,,1", 1),
            ("0,-1,1", 1),
            ("1,x,2", 1),
            ("0,1,0", 2),
            ("GPU-8f3a2c1e-0000-1111-2222-333344445555,MIG-abc", 2),
            ("GPU-", 0),
        ] {
            assert_eq!(count_visible_devices(value), n, "{value:?}");
        }
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
