//! Learning curves (the MultiBERTs paper's training-dynamics view): for a task fine-tuned from
//! checkpoints at several pre-training steps, the primary metric over the steps: one thin line
//! per pre-training seed (the mean over its fine-tuning runs at each step), the mean over all
//! runs, and a 95 % Multi-Bootstrap band per step that resamples seeds and examples.
//!
//! The steps are placed on a linear axis when they are evenly spaced, else one slot per saved
//! step (the released MultiBERTs schedule, every 20k steps to 200k then every 100k to 2M,
//! would crowd its early checkpoints into a corner of a linear axis); the axis' name says which.
//!
//! In the SVG each step's mean is a `<circle class="curve-mean">` (its `data-value` the mean),
//! each seed's line a `<polyline class="curve-seed">`, the band a `<polygon class="band">`.

use std::collections::BTreeMap;

use multiberts_bootstrap::{Design, Options, ReportOptions, multibootstrap, report_ci};
use multiberts_collector::Consolidation;
use multiberts_collector::upstream::format_steps;
use multiberts_manifest::Selector;

use crate::analysis::is_bias;
use crate::error::Result;
use crate::figure::StepUnit;
use crate::runs::Runs;
use crate::summary::{SUMMARY_NBOOT, single_problem};
use crate::svg::{Scale, Svg, colour, value_range};

/// One pre-training step of a [`LearningCurve`].
#[derive(Debug, Clone, PartialEq)]
pub struct CurveStep {
    /// The step as stored: thousands of steps (the hub's `step_{step}k`), or optimizer steps
    /// for the manifest's own pre-training runs ([`LearningCurve::step_unit`]).
    pub step: i64,
    /// The mean metric of each seed's fine-tuning runs at this step, seeds in order.
    pub seeds: Vec<(i64, f64)>,
    /// The mean over every run at this step.
    pub mean: f64,
    /// The 95 % Multi-Bootstrap interval over seeds and examples (low, high).
    pub band: (f64, f64),
    /// Runs at this step.
    pub runs: usize,
}

/// The learning curve of one task variant at one learning rate.
#[derive(Debug, Clone, PartialEq)]
pub struct LearningCurve {
    /// The task.
    pub task: String,
    /// The variant (empty for the plain task).
    pub variant: String,
    /// The metric.
    pub metric: String,
    /// The learning rate.
    pub learning_rate: f64,
    /// The steps, in increasing order (at least two).
    pub steps: Vec<CurveStep>,
    /// What the steps count.
    pub step_unit: StepUnit,
}

/// Runs grouped by (variant, learning rate), then step, then seed: their indices in the table.
type Groups = BTreeMap<(String, u64), BTreeMap<i64, BTreeMap<i64, Vec<usize>>>>;

/// The learning curves of one consolidated task: one per (variant, learning rate) whose runs
/// have a pre-training seed and at least two steps; none for a bias metric.
pub fn learning_curves(
    runs: &Runs,
    c: &Consolidation,
    step_unit: StepUnit,
) -> Result<Vec<LearningCurve>> {
    let (metric, runs) = crate::span::scoring(runs, &c.primary_metric)?;
    if is_bias(metric) {
        return Ok(Vec::new());
    }
    let runs = runs.as_ref();
    let mut groups: Groups = BTreeMap::new();
    for (i, f) in runs.first.iter().enumerate() {
        if let (Some(step), Some(seed)) = (f.step, f.pretrain_seed) {
            groups
                .entry((f.variant.clone(), f.learning_rate.to_bits()))
                .or_default()
                .entry(step)
                .or_default()
                .entry(seed)
                .or_default()
                .push(i);
        }
    }
    let options = Options {
        design: Design::Single,
        nboot: SUMMARY_NBOOT,
        ..Options::default()
    };
    let mut out = Vec::new();
    for ((variant, bits), by_step) in groups.into_iter().filter(|(_, s)| s.len() >= 2) {
        let lr = f64::from_bits(bits);
        let mut steps = Vec::with_capacity(by_step.len());
        for (step, by_seed) in by_step {
            let mut seeds = Vec::with_capacity(by_seed.len());
            let mut all = Vec::new();
            for (seed, idx) in by_seed {
                let scores = runs.scores(&idx, metric)?;
                seeds.push((seed, mean(&scores)));
                all.extend(scores);
            }
            let sel = Selector {
                conditions: vec![
                    ("variant".into(), variant.clone()),
                    ("learning_rate".into(), lr.to_string()),
                    ("step".into(), format_steps(step)),
                ],
            };
            let problem = single_problem(&runs.set, &sel, metric)?;
            let samples = multibootstrap(&problem, metric, &options)?;
            let base = report_ci(&samples, &ReportOptions::default())?.base;
            steps.push(CurveStep {
                step,
                seeds,
                mean: mean(&all),
                band: (base.low, base.high),
                runs: all.len(),
            });
        }
        out.push(LearningCurve {
            task: c.task.clone(),
            variant,
            metric: c.primary_metric.clone(),
            learning_rate: lr,
            steps,
            step_unit,
        });
    }
    Ok(out)
}

/// The mean of the finite values (NaN when there are none).
fn mean(values: &[f64]) -> f64 {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        f64::NAN
    } else {
        finite.iter().sum::<f64>() / finite.len() as f64
    }
}

const WIDTH: u32 = 760;
const HEIGHT: u32 = 480;
const LEFT: f64 = 96.0;
const RIGHT: f64 = 32.0;
const TOP: f64 = 80.0;
const PLOT_H: f64 = 300.0;

impl LearningCurve {
    /// The title: task, variant in brackets, learning rate.
    pub fn title(&self) -> String {
        let variant = crate::svg::variant_suffix(&self.variant);
        format!(
            "{}{variant}, lr {:e}: {} over pre-training",
            self.task, self.learning_rate, self.metric
        )
    }

    /// Whether the steps are evenly spaced (then the x axis is linear in steps).
    fn evenly_spaced(&self) -> bool {
        let gaps: Vec<i64> = self
            .steps
            .windows(2)
            .map(|w| w[1].step - w[0].step)
            .collect();
        gaps.windows(2).all(|g| g[0] == g[1])
    }

    /// The x pixel of each step.
    fn x_positions(&self, plot_w: f64) -> Vec<f64> {
        let n = self.steps.len();
        if self.evenly_spaced() {
            let (first, last) = (self.steps[0].step as f64, self.steps[n - 1].step as f64);
            let x = Scale {
                lo: first,
                hi: last,
                px0: LEFT + 20.0,
                px1: LEFT + plot_w - 20.0,
            };
            self.steps.iter().map(|s| x.px(s.step as f64)).collect()
        } else {
            let slot = plot_w / n as f64;
            (0..n).map(|k| LEFT + slot * (k as f64 + 0.5)).collect()
        }
    }

    /// The figure as an SVG document.
    pub fn svg(&self) -> String {
        let plot_w = WIDTH as f64 - LEFT - RIGHT;
        let title = self.title();
        let seeds: usize = self.steps.iter().map(|s| s.seeds.len()).max().unwrap_or(0);
        let mut svg = Svg::new(
            WIDTH,
            HEIGHT,
            &title,
            &format!(
                "{} at {} pre-training steps: a thin line per pre-training seed ({seeds} seeds, \
                 each the mean over its fine-tuning runs), the mean over all runs in black, and \
                 a grey 95% band resampling seeds and examples",
                self.metric,
                self.steps.len()
            ),
        );
        svg.header(
            &title,
            &format!("band: 95% Multi-Bootstrap over seeds and examples ({SUMMARY_NBOOT} draws)"),
        );
        let values = self.steps.iter().flat_map(|s| {
            let seeds = s.seeds.iter().map(|&(_, v)| v);
            seeds.chain([s.mean, s.band.0, s.band.1])
        });
        let ((lo, hi), ticks, dec) = value_range(values, None, 6);
        let y = Scale {
            lo,
            hi,
            px0: TOP + PLOT_H,
            px1: TOP,
        };
        svg.y_axis(&y, LEFT, LEFT + plot_w, &ticks, dec, &self.metric);
        let xs = self.x_positions(plot_w);
        self.draw_x_axis(&mut svg, &xs, plot_w);
        svg.open_group(&format!(" class=\"plot\"{}", y.data_attrs("y")));
        let band: Vec<(f64, f64)> = xs
            .iter()
            .zip(&self.steps)
            .map(|(&x, s)| (x, y.px(s.band.1)))
            .chain(
                xs.iter()
                    .zip(&self.steps)
                    .rev()
                    .map(|(&x, s)| (x, y.px(s.band.0))),
            )
            .filter(|(_, py)| py.is_finite())
            .collect();
        svg.polygon(&band, "#000000", " class=\"band\" fill-opacity=\"0.12\"");
        for (k, seed) in self.seed_ids().into_iter().enumerate() {
            let points: Vec<(f64, f64)> = xs
                .iter()
                .zip(&self.steps)
                .filter_map(|(&x, s)| {
                    let v = s.seeds.iter().find(|&&(id, _)| id == seed)?.1;
                    v.is_finite().then(|| (x, y.px(v)))
                })
                .collect();
            let class =
                format!(" class=\"curve-seed\" data-seed=\"{seed}\" stroke-opacity=\"0.6\"");
            svg.polyline(&points, colour(k + 1), 1.2, &class);
        }
        let means: Vec<(f64, f64)> = xs
            .iter()
            .zip(&self.steps)
            .map(|(&x, s)| (x, y.px(s.mean)))
            .collect();
        svg.polyline(&means, "#000000", 2.5, " class=\"curve-mean-line\"");
        for ((x, py), s) in means.into_iter().zip(&self.steps) {
            if py.is_finite() {
                svg.dot((x, py), 4.5, "#000000", "curve-mean", s.mean);
            }
        }
        svg.close_group();
        svg.finish()
    }

    /// Every seed that appears at some step, in order.
    fn seed_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .steps
            .iter()
            .flat_map(|s| s.seeds.iter().map(|&(id, _)| id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The x axis: a tick and label per step (thinned when crowded) and the axis' name.
    fn draw_x_axis(&self, svg: &mut Svg, xs: &[f64], plot_w: f64) {
        let bottom = TOP + PLOT_H;
        svg.line((LEFT, bottom), (LEFT + plot_w, bottom), "#000000", 1.0, "");
        let stride = ((xs.len() as f64 * 44.0 / plot_w).ceil() as usize).max(1);
        for (k, (&x, s)) in xs.iter().zip(&self.steps).enumerate() {
            svg.line((x, bottom), (x, bottom + 5.0), "#000000", 1.0, "");
            if k % stride == 0 || k + 1 == xs.len() {
                svg.text(
                    x,
                    bottom + 20.0,
                    14,
                    "middle",
                    "#000000",
                    &self.step_unit.tick(s.step),
                );
            }
        }
        let name = match (self.step_unit, self.evenly_spaced()) {
            (StepUnit::Thousands, true) => "pre-training step",
            (StepUnit::Thousands, false) => "pre-training step (saved checkpoints evenly spaced)",
            (StepUnit::Optimizer, true) => "pre-training step (optimizer steps)",
            (StepUnit::Optimizer, false) => {
                "pre-training step (optimizer steps; saved checkpoints evenly spaced)"
            }
        };
        svg.text(
            LEFT + plot_w / 2.0,
            bottom + 42.0,
            15,
            "middle",
            "#000000",
            name,
        );
    }
}
