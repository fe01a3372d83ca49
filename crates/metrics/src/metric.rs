//! The `Metric` enum: names used in task specs, and evaluation under multiplicities.

use std::fmt;
use std::str::FromStr;

use crate::{Confusion, MetricError, Moments, weighted_ranks};

/// A metric, named as in task specs (`accuracy`, `f1`, `macro_f1`, `mcc`, `pearson`,
/// `spearman`, `mean`, `bias_r`, `bias_slope`).
///
/// Conventions: labels come first; for classification metrics both labels and predictions are
/// class ids; `mean` ignores labels and averages the predictions (per-example scores such as
/// SQuAD exact match); `bias_r`/`bias_slope` take x = labels (BLS share of women, 0..1) and
/// y = predictions (per-occupation bias scores), as `linregress(x, y)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Fraction of predictions equal to the label.
    Accuracy,
    /// Binary F1 with class 1 positive.
    F1,
    /// Mean per-class F1 over classes that occur.
    MacroF1,
    /// Matthews correlation coefficient (multi-class form).
    Mcc,
    /// Pearson r between labels and predictions.
    Pearson,
    /// Spearman rho (Pearson on average ranks).
    Spearman,
    /// Mean of per-example scores held in the predictions.
    Mean,
    /// Winogender bias correlation: Pearson r of bias scores on BLS share of women.
    BiasR,
    /// Least-squares slope of bias scores on BLS share of women.
    BiasSlope,
}

/// What kind of sufficient statistic a metric needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricFamily {
    /// Labels and predictions are class ids; the statistic is a confusion matrix.
    Classification,
    /// Labels and predictions are numbers; the statistic is centred moments (of ranks for
    /// Spearman).
    Correlation,
    /// Predictions are per-example scores; the statistic is their weighted sum.
    Mean,
}

impl Metric {
    /// Every metric, in documentation order.
    pub const ALL: [Metric; 9] = [
        Metric::Accuracy,
        Metric::F1,
        Metric::MacroF1,
        Metric::Mcc,
        Metric::Pearson,
        Metric::Spearman,
        Metric::Mean,
        Metric::BiasR,
        Metric::BiasSlope,
    ];

    /// The name used in task specs and on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::F1 => "f1",
            Metric::MacroF1 => "macro_f1",
            Metric::Mcc => "mcc",
            Metric::Pearson => "pearson",
            Metric::Spearman => "spearman",
            Metric::Mean => "mean",
            Metric::BiasR => "bias_r",
            Metric::BiasSlope => "bias_slope",
        }
    }

    /// Which sufficient statistic this metric is computed from.
    pub fn family(&self) -> MetricFamily {
        match self {
            Metric::Accuracy | Metric::F1 | Metric::MacroF1 | Metric::Mcc => {
                MetricFamily::Classification
            }
            Metric::Pearson | Metric::Spearman | Metric::BiasR | Metric::BiasSlope => {
                MetricFamily::Correlation
            }
            Metric::Mean => MetricFamily::Mean,
        }
    }

    /// True when the metric is a weighted mean of a per-example value (accuracy: the
    /// correctness indicator; mean: the score), so averaging runs commutes with the example
    /// weights and a bootstrap may average runs first.
    pub fn is_example_mean(&self) -> bool {
        matches!(self, Metric::Accuracy | Metric::Mean)
    }

    /// Evaluates a classification metric on a confusion matrix; None for other families.
    pub fn from_confusion(&self, m: &Confusion) -> Option<f64> {
        Some(match self {
            Metric::Accuracy => m.accuracy(),
            Metric::F1 => m.f1_binary(),
            Metric::MacroF1 => m.macro_f1(),
            Metric::Mcc => m.mcc(),
            _ => return None,
        })
    }

    /// Evaluates a correlation metric on moments (of ranks, for Spearman); None otherwise.
    pub fn from_moments(&self, m: &Moments) -> Option<f64> {
        Some(match self {
            Metric::Pearson | Metric::Spearman | Metric::BiasR => m.pearson(),
            Metric::BiasSlope => m.slope(),
            _ => return None,
        })
    }

    /// Computes the metric on `labels` and `predictions`, example i counted `weights[i]` times
    /// (once each when `weights` is None). Degenerate inputs give NaN; malformed ones an error.
    pub fn compute(
        &self,
        labels: &[f64],
        predictions: &[f64],
        weights: Option<&[u32]>,
    ) -> Result<f64, MetricError> {
        let n = labels.len();
        let nw = weights.map_or(n, <[u32]>::len);
        if predictions.len() != n || nw != n {
            return Err(MetricError::LengthMismatch {
                labels: n,
                predictions: predictions.len(),
                weights: nw,
            });
        }
        let w = |i: usize| weights.map_or(1, |w| w[i]);
        match self.family() {
            MetricFamily::Classification => {
                let mut codes = Vec::with_capacity(n);
                let mut k = 2usize;
                for i in 0..n {
                    let y = class_id(labels[i], i, "label")?;
                    let p = class_id(predictions[i], i, "prediction")?;
                    k = k.max(y as usize + 1).max(p as usize + 1);
                    codes.push((y as usize, p as usize));
                }
                let mut m = Confusion::new(k);
                for (i, &(y, p)) in codes.iter().enumerate() {
                    m.add(y, p, u64::from(w(i)));
                }
                Ok(self.from_confusion(&m).unwrap_or(f64::NAN))
            }
            MetricFamily::Mean => {
                check_finite(predictions, "prediction")?;
                let (mut s, mut t) = (0.0, 0.0);
                for (i, &p) in predictions.iter().enumerate() {
                    s += f64::from(w(i)) * p;
                    t += f64::from(w(i));
                }
                Ok(if t == 0.0 { f64::NAN } else { s / t })
            }
            MetricFamily::Correlation => {
                check_finite(labels, "label")?;
                check_finite(predictions, "prediction")?;
                let wf = |i: usize| f64::from(w(i));
                let m = if *self == Metric::Spearman {
                    let ws: Vec<f64> = (0..n).map(wf).collect();
                    let rx = weighted_ranks(labels, &ws);
                    let ry = weighted_ranks(predictions, &ws);
                    Moments::compute(&rx, &ry, wf)
                } else {
                    Moments::compute(labels, predictions, wf)
                };
                Ok(self.from_moments(&m).unwrap_or(f64::NAN))
            }
        }
    }
}

/// Converts a label or prediction to a class id, or says which example is wrong.
pub(crate) fn class_id(value: f64, index: usize, what: &'static str) -> Result<u16, MetricError> {
    // A saturating cast round-trips exactly for integers in range and never for NaN,
    // negatives, fractions or values too large (cheaper than `fract`, which calls libm).
    let c = value as u16;
    if f64::from(c) == value {
        Ok(c)
    } else {
        Err(MetricError::NotAClass { what, index, value })
    }
}

fn check_finite(values: &[f64], what: &'static str) -> Result<(), MetricError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(MetricError::NonFinite {
            what,
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}

impl Metric {
    /// Converts a value to a class id for classification metrics (errors name the example).
    pub fn class_id(value: f64, index: usize, what: &'static str) -> Result<u16, MetricError> {
        class_id(value, index, what)
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Metric {
    type Err = MetricError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Metric::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| MetricError::UnknownMetric(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_str_and_serde() {
        for m in Metric::ALL {
            assert_eq!(m.name().parse::<Metric>().unwrap(), m);
            let json = format!("\"{}\"", m.name());
            let back: Metric = serde_json_like(&json);
            assert_eq!(back, m);
        }
        assert!(matches!(
            "acc".parse::<Metric>(),
            Err(MetricError::UnknownMetric(_))
        ));
    }

    // serde round trip without pulling serde_json into this crate's deps.
    fn serde_json_like(s: &str) -> Metric {
        use serde::de::IntoDeserializer;
        let name = s.trim_matches('"').to_string();
        let de: serde::de::value::StringDeserializer<serde::de::value::Error> =
            name.into_deserializer();
        <Metric as serde::Deserialize>::deserialize(de).unwrap()
    }

    #[test]
    fn weighted_equals_replicated_for_every_metric() {
        let labels = [0.0, 1.0, 1.0, 0.0, 2.0, 1.0, 0.0];
        let preds = [0.0, 1.0, 0.0, 0.0, 2.0, 2.0, 1.0];
        let scores = [0.1, 0.7, 0.4, 0.2, 0.9, 0.5, 0.3];
        let w = [2u32, 0, 1, 3, 1, 2, 1];
        let expand = |v: &[f64]| -> Vec<f64> {
            v.iter()
                .zip(w)
                .flat_map(|(&x, k)| std::iter::repeat_n(x, k as usize))
                .collect()
        };
        for m in Metric::ALL {
            let p: &[f64] = if m.family() == MetricFamily::Classification {
                &preds
            } else {
                &scores
            };
            let a = m.compute(&labels, p, Some(&w)).unwrap();
            let b = m.compute(&expand(&labels), &expand(p), None).unwrap();
            assert!((a - b).abs() < 1e-14, "{m}: {a} vs {b}");
        }
    }

    #[test]
    fn spearman_with_ties_matches_scipy() {
        // scipy.stats.spearmanr([1, 2, 2, 3, 4], [2, 1, 3, 3, 5]).statistic = 0.7631578947368421
        let r = Metric::Spearman
            .compute(&[1.0, 2.0, 2.0, 3.0, 4.0], &[2.0, 1.0, 3.0, 3.0, 5.0], None)
            .unwrap();
        assert!((r - 0.7631578947368421).abs() < 1e-12, "{r}");
    }

    #[test]
    fn accuracy_and_mean_are_plain_fractions() {
        let acc = Metric::Accuracy
            .compute(&[1.0, 0.0, 1.0], &[1.0, 1.0, 1.0], None)
            .unwrap();
        assert_eq!(acc, 2.0 / 3.0);
        let mean = Metric::Mean
            .compute(&[0.0; 3], &[0.5, 1.0, 0.0], Some(&[2, 1, 1]))
            .unwrap();
        assert_eq!(mean, 0.5);
        assert!(
            Metric::Mean
                .compute(&[0.0], &[1.0], Some(&[0]))
                .unwrap()
                .is_nan()
        );
    }

    #[test]
    fn malformed_inputs_are_errors_naming_the_example() {
        assert_eq!(
            Metric::Accuracy.compute(&[0.0, 1.5], &[0.0, 1.0], None),
            Err(MetricError::NotAClass {
                what: "label",
                index: 1,
                value: 1.5
            })
        );
        assert!(matches!(
            Metric::Pearson.compute(&[0.0, 1.0], &[f64::NAN, 1.0], None),
            Err(MetricError::NonFinite { index: 0, .. })
        ));
        assert!(matches!(
            Metric::Mcc.compute(&[0.0], &[0.0, 1.0], None),
            Err(MetricError::LengthMismatch { .. })
        ));
    }

    #[test]
    fn bias_slope_is_least_squares_of_predictions_on_labels() {
        let x = [0.1, 0.4, 0.5, 0.9];
        let y: Vec<f64> = x.iter().map(|v| 0.5 * v - 0.1).collect();
        let s = Metric::BiasSlope.compute(&x, &y, None).unwrap();
        assert!((s - 0.5).abs() < 1e-14);
        let r = Metric::BiasR.compute(&x, &y, None).unwrap();
        assert!((r - 1.0).abs() < 1e-14);
    }
}
