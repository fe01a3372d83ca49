//! Per-seed intervals (the MultiBERTs paper's §3 point): for each pre-training seed (else
//! checkpoint) of a task variant and learning rate, the mean of the primary metric over its
//! fine-tuning runs with an interval that resamples evaluation examples only (the
//! Multi-Bootstrap with `sample_seeds: false` on that seed's runs), so the spread between seeds
//! shows against the example noise of each. The summary's interval over seeds and examples is
//! drawn as a grey band behind them.
//!
//! In the SVG each seed is a `<circle class="seed">` (its `data-value` the bootstrap mean) with
//! a `<line class="seed interval">`; the plot's group carries the y mapping.

use std::collections::BTreeMap;

use multiberts_bootstrap::{Design, Interval, Options, ReportOptions, multibootstrap, report_ci};
use multiberts_collector::Consolidation;
use multiberts_manifest::Selector;

use crate::analysis::is_bias;
use crate::error::Result;
use crate::figure::SeedKey;
use crate::runs::Runs;
use crate::summary::{SUMMARY_NBOOT, SummaryRow, single_problem};
use crate::svg::{Scale, Svg, colour, value_range};

/// One pre-training seed's runs of a [`SeedIntervals`] figure.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedInterval {
    /// The seed (else the checkpoint).
    pub key: SeedKey,
    /// Its fine-tuning runs.
    pub runs: usize,
    /// The bootstrap mean and interval over examples only.
    pub interval: Interval,
}

/// The per-seed intervals of one task variant at one learning rate.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedIntervals {
    /// The task.
    pub task: String,
    /// The variant (empty for the plain task).
    pub variant: String,
    /// The metric.
    pub metric: String,
    /// The learning rate.
    pub learning_rate: f64,
    /// One entry per seed, seeds in order.
    pub seeds: Vec<SeedInterval>,
    /// The summary row's interval over seeds and examples, when defined.
    pub overall: Option<(f64, f64)>,
}

/// The per-seed intervals of one consolidated task, one per (variant, learning rate) in the
/// summary's order; none for a task whose primary metric is a bias metric. `rows` are the
/// summary rows, whose intervals become the band.
pub fn seed_intervals(
    runs: &Runs,
    c: &Consolidation,
    rows: &[SummaryRow],
) -> Result<Vec<SeedIntervals>> {
    let (metric, runs) = crate::span::scoring(runs, &c.primary_metric)?;
    if is_bias(metric) {
        return Ok(Vec::new());
    }
    let runs = runs.as_ref();
    let mut groups: BTreeMap<(String, u64), BTreeMap<SeedKey, usize>> = BTreeMap::new();
    for f in &runs.first {
        let key = match f.pretrain_seed {
            Some(s) => SeedKey::Seed(s),
            None => SeedKey::Checkpoint(f.checkpoint.clone()),
        };
        *groups
            .entry((f.variant.clone(), f.learning_rate.to_bits()))
            .or_default()
            .entry(key)
            .or_default() += 1;
    }
    let options = Options {
        design: Design::Single,
        nboot: SUMMARY_NBOOT,
        sample_seeds: false,
        ..Options::default()
    };
    let mut out = Vec::new();
    for ((variant, bits), keys) in groups {
        let lr = f64::from_bits(bits);
        let mut seeds = Vec::new();
        for (key, n) in keys {
            let which = match &key {
                SeedKey::Seed(s) => ("pretrain_seed".to_string(), s.to_string()),
                SeedKey::Checkpoint(ck) => ("checkpoint".to_string(), ck.clone()),
            };
            let sel = Selector {
                conditions: vec![
                    ("variant".into(), variant.clone()),
                    ("learning_rate".into(), lr.to_string()),
                    which,
                ],
            };
            let p = single_problem(&runs.set, &sel, metric)?;
            let samples = multibootstrap(&p, metric, &options)?;
            let report = report_ci(&samples, &ReportOptions::default())?;
            seeds.push(SeedInterval {
                key,
                runs: n,
                interval: report.base,
            });
        }
        let overall = rows
            .iter()
            .find(|r| {
                r.task == c.task
                    && r.variant == variant
                    && r.learning_rate.to_bits() == bits
                    && !matches!(r.metric.as_str(), "bias_r" | "bias_slope")
            })
            .filter(|r| r.ci_low.is_finite() && r.ci_high.is_finite())
            .map(|r| (r.ci_low, r.ci_high));
        out.push(SeedIntervals {
            task: c.task.clone(),
            variant,
            metric: c.primary_metric.clone(),
            learning_rate: lr,
            seeds,
            overall,
        });
    }
    Ok(out)
}

const HEIGHT: u32 = 460;
const LEFT: f64 = 96.0;
const TOP: f64 = 80.0;
const PLOT_H: f64 = 300.0;

impl SeedIntervals {
    /// The title: task, variant in brackets, learning rate.
    pub fn title(&self) -> String {
        let variant = crate::svg::variant_suffix(&self.variant);
        format!(
            "{}{variant}, lr {:e}: per-seed intervals",
            self.task, self.learning_rate
        )
    }

    /// The figure as an SVG document.
    pub fn svg(&self) -> String {
        let columns = self.seeds.len().max(1);
        let plot_w = (columns as f64 * 40.0).clamp(480.0, 1400.0);
        let width = (LEFT + plot_w + 32.0).round() as u32;
        let title = self.title();
        let mut svg = Svg::new(
            width,
            HEIGHT,
            &title,
            &format!(
                "{} pre-training seeds: each seed's mean {} over its fine-tuning runs with a 95% \
                 interval from resampling examples only; grey band: the interval over seeds and \
                 examples",
                self.seeds.len(),
                self.metric
            ),
        );
        svg.header(
            &title,
            &format!(
                "95% intervals: examples only ({SUMMARY_NBOOT} draws); band: seeds + examples"
            ),
        );
        let band = self.overall.into_iter().flat_map(|(a, b)| [a, b]);
        let values = self
            .seeds
            .iter()
            .flat_map(|s| [s.interval.low, s.interval.high, s.interval.mean])
            .chain(band);
        let ((lo, hi), ticks, dec) = value_range(values, None, 6);
        let y = Scale {
            lo,
            hi,
            px0: TOP + PLOT_H,
            px1: TOP,
        };
        svg.y_axis(&y, LEFT, LEFT + plot_w, &ticks, dec, &self.metric);
        let bottom = TOP + PLOT_H;
        svg.line((LEFT, bottom), (LEFT + plot_w, bottom), "#000000", 1.0, "");
        if let Some((a, b)) = self.overall {
            svg.rect(
                LEFT,
                y.px(b),
                plot_w,
                y.px(a) - y.px(b),
                "#000000",
                " class=\"band\" fill-opacity=\"0.08\"",
            );
        }
        let slot = plot_w / columns as f64;
        let stride = ((60.0 / slot).ceil() as usize).max(1);
        svg.open_group(&format!(" class=\"plot\"{}", y.data_attrs("y")));
        for (k, s) in self.seeds.iter().enumerate() {
            let x = LEFT + slot * (k as f64 + 0.5);
            let c = colour(0);
            let iv = s.interval;
            if iv.low.is_finite() && iv.high.is_finite() {
                svg.line(
                    (x, y.px(iv.low)),
                    (x, y.px(iv.high)),
                    c,
                    2.0,
                    " class=\"seed interval\"",
                );
            }
            if iv.mean.is_finite() {
                svg.dot((x, y.px(iv.mean)), 5.0, c, "seed", iv.mean);
            }
            if k % stride == 0 {
                svg.text(
                    x,
                    bottom + 20.0,
                    14,
                    "middle",
                    "#000000",
                    &s.key.to_string(),
                );
            }
        }
        svg.close_group();
        svg.text(
            LEFT + plot_w / 2.0,
            bottom + 42.0,
            15,
            "middle",
            "#000000",
            "pre-training seed",
        );
        svg.finish()
    }
}
