//! Metric definitions as sufficient statistics weighted by example multiplicities.
//!
//! A bootstrap resample is a vector of counts over examples; every metric here is computed
//! from per-example statistics and those counts, never from a copied array. No candle.
//!
//! [`squad`] has SQuAD's per-question exact match and F1, bit-identical to the official
//! evaluation script.
//!
//! Degenerate inputs (an empty resample, a zero variance, a class that never occurs where the
//! metric needs it) give `f64::NAN`: the metric is undefined there, and callers such as the
//! bootstrap report exclude NaN draws and count them. Malformed inputs (length mismatch, a label
//! that is not a class id, a non-finite value) are errors.

mod confusion;
mod error;
mod metric;
mod moments;
mod ranks;
pub mod squad;
pub mod winogender;

pub use confusion::Confusion;
pub use error::MetricError;
pub use metric::{Metric, MetricFamily};
pub use moments::Moments;
pub use ranks::{weighted_ranks, weighted_ranks_in_order};
