//! Errors for malformed metric inputs.

/// Why a metric could not be computed from the given inputs.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MetricError {
    /// Labels, predictions and weights must have one entry per example.
    #[error("length mismatch: {labels} labels, {predictions} predictions, {weights} weights")]
    LengthMismatch {
        /// Number of labels given.
        labels: usize,
        /// Number of predictions given.
        predictions: usize,
        /// Number of weights given (equal to `labels` when none were given).
        weights: usize,
    },
    /// A classification metric got a value that is not a class id in 0..65536.
    #[error("{what} at example {index} is {value}, expected a class id (integer in 0..65536)")]
    NotAClass {
        /// "label" or "prediction".
        what: &'static str,
        /// Example index.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A correlation or mean metric got NaN or an infinity.
    #[error("{what} at example {index} is {value}, expected a finite number")]
    NonFinite {
        /// "label" or "prediction".
        what: &'static str,
        /// Example index.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// The metric name is not one we know.
    #[error(
        "unknown metric {0:?}; expected one of accuracy, f1, macro_f1, mcc, pearson, spearman, mean, bias_r, bias_slope"
    )]
    UnknownMetric(String),
    /// Winogender bias scores need, for every occupation, feminine and masculine sentences.
    #[error("occupation {occupation} has no {gender} sentence; bias score undefined")]
    MissingGender {
        /// Occupation index.
        occupation: usize,
        /// "FEMININE" or "MASCULINE".
        gender: &'static str,
    },
    /// An occupation index is out of range or a gender string is unknown.
    #[error("{0}")]
    Invalid(String),
}
