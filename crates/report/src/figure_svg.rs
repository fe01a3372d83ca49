//! Draws a [`Figure`] as SVG with plotters' SVG backend. Text is written as `<text>` elements
//! that the viewer renders; plotters only estimates label widths (its font-free layout), so no
//! font is read from disk and no system library is needed.
//!
//! What the SVG holds, for readers and tests: each drawn run is one `<circle>` (radius
//! [`DOT_RADIUS`], drawn in the figure's run order); each seed's line (step layout) and each
//! column's mean bar (checkpoint layout) is a `<polyline>` of stroke width [`DATA_STROKE`];
//! axes and ticks are polylines of width 1, grid lines `<line>`s, legend swatches `<rect>`s.

use std::collections::BTreeMap;

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::{ReportError, Result};
use crate::figure::{Figure, FigureRun, Layout, SeedKey};

/// Radius of a run's dot, in pixels.
pub const DOT_RADIUS: i32 = 4;
/// Stroke width of the seeds' lines and the columns' mean bars, in pixels.
pub const DATA_STROKE: u32 = 2;

const FONT: &str = "sans-serif";
const HEIGHT: u32 = 460;
/// The title and the note above the chart.
const HEADER_H: u32 = 64;
const LEGEND_W: u32 = 150;
/// Left label area (tick labels and the metric's name) plus margins.
const Y_AXIS_W: u32 = 96;
/// Tableau 10: distinct for the usual few learning rates or seeds, and colour-blind friendly
/// enough for neighbours.
const PALETTE: [RGBColor; 10] = [
    RGBColor(0x4E, 0x79, 0xA7),
    RGBColor(0xF2, 0x8E, 0x2B),
    RGBColor(0xE1, 0x57, 0x59),
    RGBColor(0x76, 0xB7, 0xB2),
    RGBColor(0x59, 0xA1, 0x4F),
    RGBColor(0xED, 0xC9, 0x48),
    RGBColor(0xB0, 0x7A, 0xA1),
    RGBColor(0xFF, 0x9D, 0xA7),
    RGBColor(0x9C, 0x75, 0x5F),
    RGBColor(0xBA, 0xB0, 0xAC),
];
const MEAN_BAR: RGBColor = RGBColor(0x22, 0x22, 0x22);
const GRID: RGBColor = RGBColor(0xDD, 0xDD, 0xDD);
/// Seeds listed in the step layout's legend at most; more lines share colours unlabelled.
const MAX_SEED_LEGEND: usize = 12;
/// Checkpoint ids longer than this are shortened on the x axis.
const MAX_LABEL_CHARS: usize = 14;

/// The figure as an SVG document.
pub(crate) fn render(fig: &Figure) -> Result<String> {
    let plan = Plan::new(fig);
    let mut svg = String::new();
    draw(fig, &plan, &mut svg).map_err(|e| ReportError::Figure {
        file: fig.file_name(),
        message: e.to_string(),
    })?;
    Ok(svg)
}

/// A drawn run: where it goes and in which colour.
struct Dot {
    x: f64,
    y: f64,
    colour: RGBColor,
}

/// A polyline of the data: a seed's per-step means, or a column's mean bar.
struct Line {
    points: Vec<(f64, f64)>,
    colour: RGBColor,
}

/// Everything decided before drawing: coordinates, colours, labels, sizes.
struct Plan {
    width: u32,
    x: XAxis,
    y_range: (f64, f64),
    y_ticks: Vec<f64>,
    y_decimals: usize,
    dots: Vec<Dot>,
    lines: Vec<Line>,
    legend_title: String,
    legend: Vec<(String, RGBColor)>,
}

/// The width of the legend column: none without a legend.
fn legend_width(legend: &[(String, RGBColor)]) -> u32 {
    if legend.is_empty() { 0 } else { LEGEND_W }
}

impl Plan {
    fn new(fig: &Figure) -> Self {
        let runs = fig.drawn();
        let lrs = fig.learning_rates();
        let lr_index = |r: &FigureRun| {
            lrs.iter()
                .position(|l| l.to_bits() == r.learning_rate.to_bits())
                .unwrap_or(0)
        };
        let by_lr = lrs.len() > 1;
        let mut keys: Vec<SeedKey> = runs.iter().map(|r| r.seed_key()).collect();
        keys.sort();
        keys.dedup();
        let key_index = |r: &FigureRun| keys.binary_search(&r.seed_key()).unwrap_or(0);
        let (y_range, y_ticks, y_decimals) = y_axis(runs.iter().map(|r| r.value));
        let lr_legend = || {
            lrs.iter()
                .enumerate()
                .map(|(i, lr)| (lr_label(*lr), colour(i)))
                .collect::<Vec<_>>()
        };
        let x_desc = match (
            keys.iter().any(|k| matches!(k, SeedKey::Seed(_))),
            keys.iter().any(|k| matches!(k, SeedKey::Checkpoint(_))),
        ) {
            (_, false) => "pre-training seed",
            (false, true) => "checkpoint",
            (true, true) => "pre-training seed or checkpoint",
        };
        let (x, dots, lines, (legend_title, legend)) = match fig.layout() {
            Layout::Steps => {
                let colour_of =
                    |r: &FigureRun| colour(if by_lr { lr_index(r) } else { key_index(r) });
                let dots = runs
                    .iter()
                    .map(|r| Dot {
                        x: r.step.unwrap_or(0) as f64,
                        y: r.value,
                        colour: colour_of(r),
                    })
                    .collect();
                // Per line (seed, learning rate) and step: the sum and count of the values.
                let mut sums: BTreeMap<(usize, usize), BTreeMap<i64, (f64, usize)>> =
                    BTreeMap::new();
                for r in &runs {
                    let s = sums
                        .entry((key_index(r), lr_index(r)))
                        .or_default()
                        .entry(r.step.unwrap_or(0))
                        .or_insert((0.0, 0));
                    s.0 += r.value;
                    s.1 += 1;
                }
                let lines = sums
                    .into_iter()
                    .filter(|(_, steps)| steps.len() > 1)
                    .map(|((k, l), steps)| Line {
                        points: steps
                            .into_iter()
                            .map(|(step, (sum, n))| (step as f64, sum / n as f64))
                            .collect(),
                        colour: colour(if by_lr { l } else { k }),
                    })
                    .collect();
                let (lo, hi) = min_max(runs.iter().map(|r| r.step.unwrap_or(0) as f64));
                let pad = ((hi - lo) * 0.03).max(0.5);
                let (x_ticks, step) = nice_ticks(lo, hi, 8);
                let x_labels = x_ticks
                    .iter()
                    .map(|t| (t.to_bits(), number(*t, decimals(step))))
                    .collect();
                let (legend_title, legend) = if by_lr {
                    ("learning rate".to_string(), lr_legend())
                } else if keys.len() <= MAX_SEED_LEGEND {
                    let legend = keys
                        .iter()
                        .enumerate()
                        .map(|(i, k)| (shorten(&k.to_string()), colour(i)))
                        .collect();
                    (x_desc.to_string(), legend)
                } else {
                    (String::new(), Vec::new())
                };
                let x = XAxis {
                    plot_w: 640,
                    range: (lo - pad, hi + pad),
                    ticks: x_ticks,
                    labels: x_labels,
                    desc: fig.step_unit.axis().to_string(),
                };
                (x, dots, lines, (legend_title, legend))
            }
            Layout::Checkpoints => {
                let columns = keys.len().max(1);
                let slots = lrs.len().max(1);
                // A column is 1 wide; each learning rate gets a slot of it.
                let slot_w = 0.8 / slots as f64;
                let slot_centre = |k: usize, l: usize| {
                    k as f64 + (l as f64 - (slots as f64 - 1.0) / 2.0) * slot_w
                };
                let mut groups: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
                for (i, r) in runs.iter().enumerate() {
                    groups
                        .entry((key_index(r), lr_index(r)))
                        .or_default()
                        .push(i);
                }
                let mut dots: Vec<Dot> = runs
                    .iter()
                    .map(|r| Dot {
                        x: 0.0,
                        y: r.value,
                        colour: colour(if by_lr { lr_index(r) } else { 0 }),
                    })
                    .collect();
                let mut lines = Vec::new();
                for (&(k, l), members) in &groups {
                    let centre = slot_centre(k, l);
                    // Evenly spread across most of the slot, at most 0.1 apart, so equal values
                    // stay visible side by side; the same runs always land in the same places.
                    let n = members.len();
                    let gap = if n > 1 {
                        (slot_w * 0.7 / (n - 1) as f64).min(0.1)
                    } else {
                        0.0
                    };
                    for (j, &i) in members.iter().enumerate() {
                        dots[i].x = centre + (j as f64 - (n as f64 - 1.0) / 2.0) * gap;
                    }
                    let mean = members.iter().map(|&i| runs[i].value).sum::<f64>() / n as f64;
                    let half = slot_w * 0.45;
                    lines.push(Line {
                        points: vec![(centre - half, mean), (centre + half, mean)],
                        colour: if by_lr { colour(l) } else { MEAN_BAR },
                    });
                }
                let plot_w = (columns as u32 * 36 * slots as u32).clamp(480, 1600);
                let labels: Vec<String> = keys.iter().map(|k| shorten(&k.to_string())).collect();
                let widest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(1);
                // Label every `stride`-th column so that labels (about 7 px a character at
                // the tick font size) do not overlap.
                let label_px = widest as f64 * 7.0 + 10.0;
                let stride = (label_px / (plot_w as f64 / columns as f64))
                    .ceil()
                    .max(1.0) as usize;
                let mut shown: Vec<usize> = (0..columns).step_by(stride).collect();
                // A checkpoint after the seeds (e.g. the original BERT beside the MultiBERTs)
                // always gets its label, in place of a seed's too close to it.
                let last = columns - 1;
                if matches!(keys.last(), Some(SeedKey::Checkpoint(_))) && !shown.contains(&last) {
                    shown.retain(|&k| last - k >= stride);
                    shown.push(last);
                }
                let x_ticks: Vec<f64> = shown.iter().map(|&k| k as f64).collect();
                let x_labels = shown
                    .iter()
                    .filter_map(|&k| labels.get(k).map(|l| ((k as f64).to_bits(), l.clone())))
                    .collect();
                let (legend_title, legend) = if by_lr {
                    ("learning rate".to_string(), lr_legend())
                } else {
                    (String::new(), Vec::new())
                };
                let x = XAxis {
                    plot_w,
                    range: (-0.5, columns as f64 - 0.5),
                    ticks: x_ticks,
                    labels: x_labels,
                    desc: x_desc.to_string(),
                };
                (x, dots, lines, (legend_title, legend))
            }
        };
        Plan {
            width: Y_AXIS_W + x.plot_w + legend_width(&legend),
            x,
            y_range,
            y_ticks,
            y_decimals,
            dots,
            lines,
            legend_title,
            legend,
        }
    }
}

/// The x axis of a layout: the plot's width in pixels, the range, ticks with their labels (keyed
/// by the tick's bits) and the axis' name.
struct XAxis {
    plot_w: u32,
    range: (f64, f64),
    ticks: Vec<f64>,
    labels: BTreeMap<u64, String>,
    desc: String,
}

/// A linear axis whose ticks we choose (whole columns, round steps and values). plotters' own
/// key-point wrapper cannot be used: its mesh needs a default label format, which it lacks.
struct Axis {
    linear: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Axis {
    fn new((lo, hi): (f64, f64), ticks: &[f64]) -> Self {
        Self {
            linear: (lo..hi).into(),
            ticks: ticks.to_vec(),
        }
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.linear.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Ticks and grid lines only at our ticks: no light lines in between.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.linear.range()
    }
}

/// Draws the plan into `svg`.
fn draw(
    fig: &Figure,
    plan: &Plan,
    svg: &mut String,
) -> std::result::Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let root = SVGBackend::with_string(svg, (plan.width, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let (header, body) = root.split_vertically(HEADER_H);
    let (plot, legend) = body.split_horizontally(plan.width - legend_width(&plan.legend));
    let centred = Pos::new(HPos::Center, VPos::Top);
    let mid = (plan.width / 2) as i32;
    header.draw(&Text::new(
        fig.title(),
        (mid, 12),
        (FONT, 22).into_font().color(&BLACK).pos(centred),
    ))?;
    header.draw(&Text::new(
        fig.note(),
        (mid, 40),
        (FONT, 15).into_font().color(&BLACK.mix(0.7)).pos(centred),
    ))?;

    let x = Axis::new(plan.x.range, &plan.x.ticks);
    let y = Axis::new(plan.y_range, &plan.y_ticks);
    let mut chart = ChartBuilder::on(&plot)
        .margin_top(8)
        .margin_left(12)
        .margin_right(16)
        .margin_bottom(8)
        .x_label_area_size(52)
        .y_label_area_size((Y_AXIS_W - 28) as i32)
        .build_cartesian_2d(x, y)?;
    let x_label = |v: &f64| plan.x.labels.get(&v.to_bits()).cloned().unwrap_or_default();
    let y_label = |v: &f64| number(*v, plan.y_decimals);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .x_desc(plan.x.desc.as_str())
        .y_desc(fig.metric.as_str())
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .draw()?;

    chart.draw_series(
        plan.lines
            .iter()
            .map(|l| PathElement::new(l.points.clone(), l.colour.stroke_width(DATA_STROKE))),
    )?;
    chart.draw_series(
        plan.dots
            .iter()
            .map(|d| Circle::new((d.x, d.y), DOT_RADIUS, d.colour.mix(0.85).filled())),
    )?;

    if !plan.legend.is_empty() {
        let style = (FONT, 14).into_font().color(&BLACK);
        legend.draw(&Text::new(
            plan.legend_title.clone(),
            (8, 12),
            style.clone(),
        ))?;
        for (i, (label, colour)) in plan.legend.iter().enumerate() {
            let top = 36 + 22 * i as i32;
            legend.draw(&Rectangle::new([(8, top), (22, top + 14)], colour.filled()))?;
            legend.draw(&Text::new(label.clone(), (30, top), style.clone()))?;
        }
    }
    root.present()?;
    Ok(())
}

/// The `i`-th palette colour, cycling.
fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A learning rate as the summary table writes it (`2e-5`).
fn lr_label(lr: f64) -> String {
    if lr.is_nan() {
        "unknown".to_string()
    } else {
        format!("{lr:e}")
    }
}

/// `s`, cut to [`MAX_LABEL_CHARS`] characters with an ellipsis.
fn shorten(s: &str) -> String {
    if s.chars().count() <= MAX_LABEL_CHARS {
        s.to_string()
    } else {
        let head: String = s.chars().take(MAX_LABEL_CHARS - 1).collect();
        format!("{head}…")
    }
}

/// The smallest and largest of `values` ((0, 1) for none).
fn min_max(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values
        .fold(None, |acc: Option<(f64, f64)>, v| {
            Some(acc.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))))
        })
        .unwrap_or((0.0, 1.0))
}

/// The y range (the values with some room), its ticks and their decimals.
fn y_axis(values: impl Iterator<Item = f64>) -> ((f64, f64), Vec<f64>, usize) {
    let (lo, hi) = min_max(values);
    let pad = if hi > lo {
        (hi - lo) * 0.08
    } else {
        (lo.abs() * 0.05).max(0.01)
    };
    let (lo, hi) = (lo - pad, hi + pad);
    let (ticks, step) = nice_ticks(lo, hi, 6);
    ((lo, hi), ticks, decimals(step))
}

/// About `target` round ticks (1, 2 or 5 times a power of ten apart) within [lo, hi], and
/// their spacing. Each tick is an integer times the spacing, so no rounding error accumulates.
pub(crate) fn nice_ticks(lo: f64, hi: f64, target: usize) -> (Vec<f64>, f64) {
    let raw = ((hi - lo) / target as f64).max(f64::MIN_POSITIVE);
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    ((first..=last).map(|k| k as f64 * step).collect(), step)
}

/// Decimals that show ticks `step` apart exactly.
pub(crate) fn decimals(step: f64) -> usize {
    (-step.log10().floor()).max(0.0) as usize
}

/// `v` with `decimals` decimals, without a negative zero.
pub(crate) fn number(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figure::StepUnit;

    #[test]
    fn ticks_are_round_multiples_inside_the_range() {
        let (ticks, step) = nice_ticks(0.55, 1.02, 6);
        assert_eq!(step, 0.1);
        assert_eq!(
            ticks
                .iter()
                .map(|t| number(*t, decimals(step)))
                .collect::<Vec<_>>(),
            ["0.6", "0.7", "0.8", "0.9", "1.0"]
        );
        let (ticks, step) = nice_ticks(-10.0, 2010.0, 8);
        assert_eq!(
            (step, ticks.first(), ticks.last()),
            (500.0, Some(&0.0), Some(&2000.0))
        );
        assert_eq!(number(-0.0001, 2), "0.00");
    }

    #[test]
    fn a_figure_without_a_defined_run_still_draws_and_says_so() {
        let run = |value| crate::figure::FigureRun {
            pretrain_seed: Some(0),
            checkpoint: "seed_0".into(),
            step: Some(2000),
            learning_rate: 2e-5,
            value,
        };
        let fig = Figure {
            task: "rte".into(),
            variant: String::new(),
            metric: "mcc".into(),
            runs: vec![run(f64::NAN), run(f64::NAN)],
            step_unit: StepUnit::Thousands,
        };
        let svg = render(&fig).unwrap();
        assert!(!svg.contains("<circle"), "{svg}");
        assert!(svg.contains("0 runs over 0 pre-training seeds; 2 runs left out (mcc undefined)"));
        // One run: a single column, its dot on its bar.
        let fig = Figure {
            runs: vec![run(0.5)],
            ..fig
        };
        let svg = render(&fig).unwrap();
        assert_eq!(svg.matches("<circle").count(), 1);
    }

    #[test]
    fn a_checkpoint_column_after_many_seeds_keeps_its_label() {
        // 25 seeds and the original BERT: seeds are labelled every other column, and the
        // last column (BERT, index 25) is labelled in place of seed 24.
        let run = |seed: Option<i64>, checkpoint: &str| crate::figure::FigureRun {
            pretrain_seed: seed,
            checkpoint: checkpoint.into(),
            step: None,
            learning_rate: f64::NAN,
            value: 0.5 + seed.unwrap_or(30) as f64 / 100.0,
        };
        let mut runs: Vec<_> = (0..25).map(|s| run(Some(s), "")).collect();
        runs.push(run(None, "BERT"));
        let fig = Figure {
            task: "mnli".into(),
            variant: String::new(),
            metric: "accuracy".into(),
            runs,
            step_unit: StepUnit::Thousands,
        };
        let plan = Plan::new(&fig);
        let labels: Vec<&str> = plan.x.labels.values().map(String::as_str).collect();
        assert!(
            labels.contains(&"BERT") && labels.contains(&"22"),
            "{labels:?}"
        );
        assert!(
            !labels.contains(&"24") && !labels.contains(&"1"),
            "{labels:?}"
        );
        assert!(render(&fig).unwrap().contains("BERT"));
    }

    #[test]
    fn long_checkpoint_ids_are_shortened() {
        assert_eq!(shorten("seed_0"), "seed_0");
        assert_eq!(shorten("a-very-long-checkpoint-id"), "a-very-long-c…");
    }
}
