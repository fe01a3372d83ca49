//! The Multi-Bootstrap (Sellam et al. 2022, §3): confidence intervals and p-values for a
//! training procedure, resampling pre-training seeds and test examples jointly.
//!
//! [`multibootstrap`] draws `nboot` resamples of a [`Problem`] (runs × examples predictions,
//! labels, and each run's seed and group) and returns [`Samples`]; [`report_ci`] turns them
//! into means, percentile intervals, the delta, a one-sided p-value and threshold
//! probabilities, like the reference `report_ci`. [`holm`] adjusts a family of p-values.
//!
//! Two random-number modes ([`RngSpec`]): the default gives every draw its own ChaCha8 stream
//! (stream = draw index), so results do not depend on the thread count; `numpy:SEED`
//! reproduces numpy's legacy `RandomState(SEED)` and the reference's draw order.

mod engine;
mod error;
mod holm;
pub mod numpy;
mod problem;
pub mod pyfmt;
mod report;
pub mod rng;
mod scorer;

pub use engine::{Design, Options, Samples, Signature, multibootstrap};
pub use error::BootstrapError;
pub use holm::holm;
pub use multiberts_metrics::{Metric, MetricFamily};
pub use problem::{Group, Problem, Run};
pub use report::{DeltaStats, Interval, Report, ReportOptions, ThresholdProb, report_ci};
pub use rng::RngSpec;

/// This crate's version, printed in every signature.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
