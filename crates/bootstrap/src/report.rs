//! `report_ci`: means, percentile intervals, delta, one-sided p-value and threshold
//! probabilities from bootstrap samples, returned as data and printable like the reference.

use crate::numpy::{mean as np_mean, quantile_sorted};
use crate::pyfmt::{g, percent0};
use crate::{BootstrapError, Samples, Signature};

/// What to report.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReportOptions {
    /// Confidence level c of the percentile intervals, in (0, 1).
    pub level: f64,
    /// Also report P(Δ ≥ a) (P(Δ ≤ −a) when a negative effect is expected).
    pub abs_threshold: Option<f64>,
    /// Also report P(Δ/L ≥ r) (≤ −r when negative). Zero is ignored, as in the reference.
    pub rel_threshold: Option<f64>,
    /// The p-value tests Δ < 0 instead of Δ > 0.
    pub expect_negative_effect: bool,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self {
            level: 0.95,
            abs_threshold: None,
            rel_threshold: None,
            expect_negative_effect: false,
        }
    }
}

/// Bootstrap mean and percentile interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Interval {
    /// Mean of the bootstrap samples (not the full-data estimate).
    pub mean: f64,
    /// Lower quantile (1 − c)/2.
    pub low: f64,
    /// Upper quantile 1 − (1 − c)/2.
    pub high: f64,
}

/// Statistics of Δ = L' − L.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DeltaStats {
    /// Mean of Δ.
    pub mean: f64,
    /// Lower quantile.
    pub low: f64,
    /// Upper quantile.
    pub high: f64,
    /// Fraction of Δ ≤ 0 (Δ ≥ 0 when a negative effect is expected), at least 1/nboot.
    pub p: f64,
}

/// A threshold and the fraction of draws beyond it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ThresholdProb {
    /// The threshold as given.
    pub threshold: f64,
    /// Fraction of (defined) draws past it.
    pub probability: f64,
}

/// Draws on which a statistic was undefined (NaN) and so left out of it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Undefined {
    /// NaN values of L.
    pub base: usize,
    /// NaN values of L'.
    pub expt: usize,
    /// NaN values of Δ.
    pub delta: usize,
}

/// The result of [`report_ci`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Report {
    /// The procedure, with the level filled in.
    pub signature: Signature,
    /// Number of draws.
    pub n_samples: usize,
    /// Confidence level.
    pub level: f64,
    /// L.
    pub base: Interval,
    /// L' (comparisons only).
    pub expt: Option<Interval>,
    /// Δ (comparisons only).
    pub delta: Option<DeltaStats>,
    /// Whether p tests a negative effect.
    pub expect_negative_effect: bool,
    /// Absolute-threshold probability, if asked.
    pub abs_threshold: Option<ThresholdProb>,
    /// Relative-threshold probability, if asked (and non-zero).
    pub rel_threshold: Option<ThresholdProb>,
    /// NaN draws excluded from each statistic.
    pub undefined: Undefined,
}

fn interval(values: &[f64], q: [f64; 2]) -> (Interval, usize) {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    let nan = values.len() - v.len();
    let mean = np_mean(&v);
    v.sort_by(f64::total_cmp);
    let iv = Interval {
        mean,
        low: quantile_sorted(&v, q[0]),
        high: quantile_sorted(&v, q[1]),
    };
    (iv, nan)
}

fn fraction(values: &[f64], pred: impl Fn(f64) -> bool) -> f64 {
    let defined = values.iter().filter(|x| !x.is_nan()).count();
    let hits = values.iter().filter(|&&x| !x.is_nan() && pred(x)).count();
    if defined == 0 {
        f64::NAN
    } else {
        hits as f64 / defined as f64
    }
}

/// Summarises bootstrap samples like the reference `report_ci`. NaN draws are excluded from
/// each statistic and counted in `undefined`.
pub fn report_ci(samples: &Samples, opts: &ReportOptions) -> Result<Report, BootstrapError> {
    let c = opts.level;
    if !(c > 0.0 && c < 1.0) {
        return Err(BootstrapError::InvalidOption(format!(
            "confidence level must be in (0, 1), got {c}"
        )));
    }
    let q = [(1.0 - c) / 2.0, 1.0 - (1.0 - c) / 2.0];
    let mut undefined = Undefined::default();
    let (base, nb) = interval(&samples.base, q);
    undefined.base = nb;
    let mut expt_iv = None;
    let mut delta = None;
    let mut abs_threshold = None;
    let mut rel_threshold = None;
    if let Some(expt) = &samples.expt {
        let (e, ne) = interval(expt, q);
        undefined.expt = ne;
        expt_iv = Some(e);
        let deltas: Vec<f64> = expt.iter().zip(&samples.base).map(|(e, b)| e - b).collect();
        let (d, nd) = interval(&deltas, q);
        undefined.delta = nd;
        let neg = opts.expect_negative_effect;
        let mut p = fraction(&deltas, |x| if neg { x >= 0.0 } else { x <= 0.0 });
        if p == 0.0 {
            // A p-value below 1/(number of draws) cannot be estimated.
            p = 1.0 / (deltas.len() - nd) as f64;
        }
        delta = Some(DeltaStats {
            mean: d.mean,
            low: d.low,
            high: d.high,
            p,
        });
        if let Some(r) = opts.rel_threshold.filter(|&r| r != 0.0) {
            let rel: Vec<f64> = deltas
                .iter()
                .zip(&samples.base)
                .map(|(d, b)| d / b)
                .collect();
            let probability = fraction(&rel, |x| if neg { x <= -r } else { x >= r });
            rel_threshold = Some(ThresholdProb {
                threshold: r,
                probability,
            });
        }
        if let Some(a) = opts.abs_threshold {
            let probability = fraction(&deltas, |x| if neg { x <= -a } else { x >= a });
            abs_threshold = Some(ThresholdProb {
                threshold: a,
                probability,
            });
        }
    }
    // Debug only: the counts are in the report (its rendering says how many draws were left
    // out, the summary table says "undefined"), where the reader knows which analysis they are
    // about; a bare warning said it again, twice in the demo, without naming one.
    if undefined != Undefined::default() {
        tracing::debug!(
            base = undefined.base,
            expt = undefined.expt,
            delta = undefined.delta,
            "some bootstrap draws gave an undefined metric (NaN) and were excluded"
        );
    }
    let mut signature = samples.signature.clone();
    signature.level = Some(c);
    Ok(Report {
        signature,
        n_samples: samples.base.len(),
        level: c,
        base,
        expt: expt_iv,
        delta,
        expect_negative_effect: opts.expect_negative_effect,
        abs_threshold,
        rel_threshold,
        undefined,
    })
}

impl Report {
    /// The report as the reference prints it (`.3g` numbers), one statistic per line.
    pub fn render(&self) -> String {
        let c = percent0(self.level);
        let mut s = format!("Bootstrap statistics from {} samples:\n", self.n_samples);
        let b = &self.base;
        s += &format!(
            "  E[L]  = {} with {c} CI of ({} to {})\n",
            g(b.mean, 3),
            g(b.low, 3),
            g(b.high, 3)
        );
        if let Some(e) = &self.expt {
            s += &format!(
                "  E[L'] = {} with {c} CI of ({} to {})\n",
                g(e.mean, 3),
                g(e.low, 3),
                g(e.high, 3)
            );
        }
        if let Some(d) = &self.delta {
            s += &format!(
                "  E[L'-L] = {} with {c} CI of ({} to {}); p-value = {}\n",
                g(d.mean, 3),
                g(d.low, 3),
                g(d.high, 3),
                g(d.p, 3)
            );
        }
        let neg = self.expect_negative_effect;
        if let Some(t) = &self.rel_threshold {
            if neg {
                s += &format!(
                    "  E[(L'-L)/L ≤ {}] = {:.2}\n",
                    g(-t.threshold, 3),
                    t.probability
                );
            } else {
                s += &format!(
                    "  E[(L'-L)/L ≥ {}] = {:.2}\n",
                    g(t.threshold, 3),
                    t.probability
                );
            }
        }
        if let Some(t) = &self.abs_threshold {
            let op = if neg { "≤ L -" } else { "≥ L +" };
            s += &format!(
                "  E[L' {op} {}] = {:.2}\n",
                g(t.threshold, 3),
                t.probability
            );
        }
        let u = &self.undefined;
        if u.base + u.expt + u.delta > 0 {
            s += &format!(
                "  ({} base, {} expt, {} delta draws undefined (NaN) and excluded)\n",
                u.base, u.expt, u.delta
            );
        }
        s
    }
}
