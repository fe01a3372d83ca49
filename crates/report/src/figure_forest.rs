//! The forest plot of the manifest's analyses: per analysis one row with two panels. The left
//! panel, on the analysis' own metric scale, holds E[L] (and E[L'] for a comparison) with their
//! intervals; the right panel, on one scale shared by every analysis with zero marked, holds
//! E[L'−L] with its interval, and the p-value beside it.
//!
//! In the SVG each mean is a `<circle class="base|expt|delta">` with its `data-value`, each
//! interval a `<line class="… interval">`; the panels' groups carry their mapping (see
//! [`crate::svg`]).

use multiberts_bootstrap::Report;

use crate::svg::{Scale, Svg, colour, value_range};

/// One analysis of the forest plot.
#[derive(Debug, Clone, PartialEq)]
pub struct ForestRow {
    /// The analysis' name.
    pub name: String,
    /// Its metric.
    pub metric: String,
    /// Its result.
    pub report: Report,
}

const WIDTH: u32 = 980;
const HEADER_H: f64 = 76.0;
const ROW_H: f64 = 64.0;
const AXIS_H: f64 = 56.0;
const NAME_W: f64 = 230.0;
const PANEL_W: f64 = 300.0;
const GAP: f64 = 40.0;

/// The colour of L, L' and Δ.
fn side_colour(class: &str) -> &'static str {
    match class {
        "base" => colour(0),
        "expt" => colour(1),
        _ => "#222222",
    }
}

/// The forest plot of `rows` as an SVG document (no rows: `None`).
pub fn forest_svg(rows: &[ForestRow]) -> Option<String> {
    if rows.is_empty() {
        return None;
    }
    let height = (HEADER_H + ROW_H * rows.len() as f64 + AXIS_H + 8.0).round() as u32;
    let comparisons = rows.iter().filter(|r| r.report.delta.is_some()).count();
    let mut svg = Svg::new(
        WIDTH,
        height,
        "Analyses: forest plot",
        &format!(
            "Forest plot of {} analyses: each analysis' E[L] and E[L'] with their intervals, and \
             E[L'−L] with its interval and p-value against zero",
            rows.len()
        ),
    );
    svg.header(
        "Analyses",
        &format!(
            "E[L] (blue) and E[L'] (orange) on each metric's scale; E[L'−L] on a shared scale \
             ({comparisons} of {} analyses compare)",
            rows.len()
        ),
    );
    let bottom = HEADER_H + ROW_H * rows.len() as f64;
    let left_x0 = NAME_W;
    let right_x0 = NAME_W + PANEL_W + GAP;
    let deltas = rows.iter().filter_map(|r| r.report.delta);
    let ((lo, hi), ticks, dec) =
        value_range(deltas.flat_map(|d| [d.low, d.high, d.mean]), Some(0.0), 6);
    let delta_scale = Scale {
        lo,
        hi,
        px0: right_x0,
        px1: right_x0 + PANEL_W,
    };
    if comparisons > 0 {
        svg.x_axis(&delta_scale, bottom, HEADER_H, &ticks, dec, "E[L'−L]");
        let zero = delta_scale.px(0.0);
        svg.line(
            (zero, HEADER_H),
            (zero, bottom),
            "#000000",
            1.5,
            " class=\"zero\" stroke-dasharray=\"4 3\"",
        );
    }
    for (i, row) in rows.iter().enumerate() {
        let top = HEADER_H + ROW_H * i as f64;
        draw_row(&mut svg, row, top, left_x0, &delta_scale);
    }
    Some(svg.finish())
}

/// One analysis' row: its name, the L/L' panel and the Δ mark with its p.
fn draw_row(svg: &mut Svg, row: &ForestRow, top: f64, left_x0: f64, delta_scale: &Scale) {
    let r = &row.report;
    svg.text(8.0, top + 26.0, 15, "start", "#000000", &row.name);
    svg.text(
        8.0,
        top + 46.0,
        13,
        "start",
        "#4D4D4D",
        &format!("{} · {}", row.metric, r.signature.design),
    );
    let sides: Vec<(&str, f64, f64, f64)> =
        std::iter::once(("base", r.base.mean, r.base.low, r.base.high))
            .chain(r.expt.map(|e| ("expt", e.mean, e.low, e.high)))
            .collect();
    let ((lo, hi), ticks, dec) = value_range(sides.iter().flat_map(|s| [s.1, s.2, s.3]), None, 4);
    let scale = Scale {
        lo,
        hi,
        px0: left_x0,
        px1: left_x0 + PANEL_W,
    };
    svg.open_group(&format!(" class=\"panel metric\"{}", scale.data_attrs("x")));
    svg.rect(left_x0, top + 4.0, PANEL_W, ROW_H - 8.0, "#F7F7F7", "");
    for &t in &ticks {
        let x = scale.px(t);
        svg.line((x, top + 4.0), (x, top + ROW_H - 4.0), "#DDDDDD", 1.0, "");
        svg.text(
            x,
            top + ROW_H - 6.0,
            11,
            "middle",
            "#4D4D4D",
            &crate::figure_svg::number(t, dec),
        );
    }
    for (k, (class, mean, low, high)) in sides.iter().enumerate() {
        let y = top + 18.0 + 16.0 * k as f64;
        mark(svg, &scale, y, class, *mean, *low, *high);
    }
    svg.close_group();
    if let Some(d) = r.delta {
        let y = top + ROW_H / 2.0;
        svg.open_group(&format!(
            " class=\"panel delta\"{}",
            delta_scale.data_attrs("x")
        ));
        mark(svg, delta_scale, y, "delta", d.mean, d.low, d.high);
        svg.close_group();
        svg.text(
            delta_scale.px1 + 12.0,
            y + 5.0,
            14,
            "start",
            "#000000",
            &format!("p = {:.3}", d.p),
        );
    }
}

/// A mean with its interval at row `y`: a line with end caps and a dot. Undefined values are
/// left out (and the interval with them).
#[allow(clippy::too_many_arguments)]
fn mark(svg: &mut Svg, scale: &Scale, y: f64, class: &str, mean: f64, low: f64, high: f64) {
    let c = side_colour(class);
    if low.is_finite() && high.is_finite() {
        let (a, b) = (scale.px(low), scale.px(high));
        svg.line(
            (a, y),
            (b, y),
            c,
            2.0,
            &format!(" class=\"{class} interval\""),
        );
        svg.line((a, y - 4.0), (a, y + 4.0), c, 2.0, "");
        svg.line((b, y - 4.0), (b, y + 4.0), c, 2.0, "");
    }
    if mean.is_finite() {
        svg.dot((scale.px(mean), y), 5.0, c, class, mean);
    }
}
