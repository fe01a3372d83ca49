//! The MultiBERTs case-study picture for a Winogender-evaluated task: per occupation, the bias
//! score averaged over a variant's runs against the BLS share of women, one colour per variant
//! (base, CDA, …), each with its least-squares line and the runs' mean bias r.
//!
//! In the SVG each occupation of a variant is a `<circle class="occupation">` (its
//! `data-value` the mean bias score) inside the variant's `<g class="variant">`, and each fitted
//! line a `<line class="fit">`; the plot's group carries both axes' mappings.

use std::collections::BTreeMap;

use multiberts_bootstrap::Metric;

use crate::coref::CorefData;
use crate::error::Result;
use crate::svg::{Scale, Svg, colour, value_range};

/// One variant's points: the mean bias score per occupation (aligned with the data's
/// occupations and shares) and the mean of its runs' bias r.
#[derive(Debug, Clone, PartialEq)]
pub struct BiasVariant {
    /// The variant (empty for the plain task).
    pub variant: String,
    /// Runs averaged.
    pub runs: usize,
    /// Per occupation, the mean bias score over the runs.
    pub mean_scores: Vec<f64>,
    /// The mean of the runs' bias r (runs where it is undefined left out; NaN if all are).
    pub bias_r: f64,
    /// Intercept and slope of the least-squares line through the points.
    pub fit: Option<(f64, f64)>,
}

/// The variants of `data`, by name, each averaged over its runs.
pub fn bias_variants(data: &CorefData) -> Result<Vec<BiasVariant>> {
    let mut by_variant: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (r, run) in data.predictions.runs.iter().enumerate() {
        let v = run.keys.get("variant").cloned().unwrap_or_default();
        by_variant.entry(v).or_default().push(r);
    }
    let shares = &data.bias.shares;
    let mut out = Vec::new();
    for (variant, runs) in by_variant {
        let mut mean_scores = vec![0.0; shares.len()];
        for &r in &runs {
            for (m, s) in mean_scores.iter_mut().zip(data.bias.scores.row(r)) {
                *m += s / runs.len() as f64;
            }
        }
        let rs: Vec<f64> = data
            .scores(&runs, Metric::BiasR)?
            .into_iter()
            .filter(|v| v.is_finite())
            .collect();
        let bias_r = if rs.is_empty() {
            f64::NAN
        } else {
            rs.iter().sum::<f64>() / rs.len() as f64
        };
        let xs: Vec<f64> = shares.iter().map(|s| s * 100.0).collect();
        out.push(BiasVariant {
            variant,
            runs: runs.len(),
            fit: least_squares(&xs, &mean_scores),
            mean_scores,
            bias_r,
        });
    }
    Ok(out)
}

/// Intercept and slope of y on x (`None` when x is constant or there are fewer than 2 points).
fn least_squares(x: &[f64], y: &[f64]) -> Option<(f64, f64)> {
    let n = x.len() as f64;
    if x.len() < 2 {
        return None;
    }
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    (sxx > 0.0).then(|| (my - sxy / sxx * mx, sxy / sxx))
}

/// The part of the line y = a + b·x inside the box [x0, x1] × [y0, y1]: its two ends, or
/// `None` when the line misses the box.
fn clip_line(
    (a, b): (f64, f64),
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> Option<((f64, f64), (f64, f64))> {
    let (mut lo, mut hi) = (x0, x1);
    if b != 0.0 {
        let (at_y0, at_y1) = ((y0 - a) / b, (y1 - a) / b);
        lo = lo.max(at_y0.min(at_y1));
        hi = hi.min(at_y0.max(at_y1));
    } else if a < y0 || a > y1 {
        return None;
    }
    // At the edges, the ends are put exactly on them (no rounding outside).
    let at = |x: f64| (a + b * x).clamp(y0, y1);
    (lo <= hi).then(|| ((lo, at(lo)), (hi, at(hi))))
}

/// `task` as part of an element id: letters, digits, `-` and `_` kept, anything else `_` (the
/// page can hold one bias picture per task, and ids are shared across its inline figures).
fn clip_id(task: &str) -> String {
    task.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

const WIDTH: u32 = 820;
const HEIGHT: u32 = 520;
const LEFT: f64 = 96.0;
const TOP: f64 = 80.0;
const PLOT_W: f64 = 520.0;
const PLOT_H: f64 = 360.0;

/// The bias picture of `task` as an SVG document.
pub fn bias_svg(task: &str, data: &CorefData, variants: &[BiasVariant]) -> String {
    let occupations = data.bias.occupations.len();
    let xs: Vec<f64> = data.bias.shares.iter().map(|s| s * 100.0).collect();
    let title = format!("{task}: bias by occupation");
    let mut svg = Svg::new(
        WIDTH,
        HEIGHT,
        &title,
        &format!(
            "Scatter plot: the mean bias score of each of {occupations} occupations against the \
             BLS share of women, for {} variants, with a fitted line per variant",
            variants.len()
        ),
    );
    svg.header(
        &title,
        &format!(
            "{occupations} occupations; bias score averaged over each variant's runs; line: least squares"
        ),
    );
    let ((xlo, xhi), xticks, xdec) = value_range(xs.iter().copied(), None, 6);
    let all_y = variants.iter().flat_map(|v| v.mean_scores.iter().copied());
    let ((ylo, yhi), yticks, ydec) = value_range(all_y, Some(0.0), 6);
    let x = Scale {
        lo: xlo,
        hi: xhi,
        px0: LEFT,
        px1: LEFT + PLOT_W,
    };
    let y = Scale {
        lo: ylo,
        hi: yhi,
        px0: TOP + PLOT_H,
        px1: TOP,
    };
    svg.x_axis(
        &x,
        TOP + PLOT_H,
        TOP,
        &xticks,
        xdec,
        "BLS share of women (%)",
    );
    svg.y_axis(
        &y,
        LEFT,
        LEFT + PLOT_W,
        &yticks,
        ydec,
        "bias score (mean over runs)",
    );
    // The fitted lines end on the plot's edges; the clip also cuts their strokes' ends there.
    let clip = format!("bias-plot-{}", clip_id(task));
    svg.clip_rect(&clip, LEFT, TOP, PLOT_W, PLOT_H);
    svg.open_group(&format!(
        " class=\"plot\"{}{}",
        x.data_attrs("x"),
        y.data_attrs("y")
    ));
    for (i, v) in variants.iter().enumerate() {
        let c = colour(i);
        svg.open_group(" class=\"variant\"");
        for (xv, yv) in xs.iter().zip(&v.mean_scores) {
            if yv.is_finite() {
                svg.dot((x.px(*xv), y.px(*yv)), 4.0, c, "occupation", *yv);
            }
        }
        if let Some(((x0, y0), (x1, y1))) =
            v.fit.and_then(|fit| clip_line(fit, (xlo, xhi), (ylo, yhi)))
        {
            svg.line(
                (x.px(x0), y.px(y0)),
                (x.px(x1), y.px(y1)),
                c,
                2.0,
                &format!(" class=\"fit\" clip-path=\"url(#{clip})\""),
            );
        }
        svg.close_group();
        let top = TOP + 10.0 + 44.0 * i as f64;
        let lx = LEFT + PLOT_W + 24.0;
        svg.rect(lx, top, 14.0, 14.0, c, "");
        let name = if v.variant.is_empty() {
            "base"
        } else {
            v.variant.as_str()
        };
        svg.text(
            lx + 22.0,
            top + 12.0,
            14,
            "start",
            "#000000",
            &format!("{name} ({} runs)", v.runs),
        );
        let r = if v.bias_r.is_finite() {
            format!("bias r = {:.3}", v.bias_r)
        } else {
            "bias r undefined".to_string()
        };
        svg.text(lx + 22.0, top + 30.0, 13, "start", "#4D4D4D", &r);
    }
    svg.close_group();
    svg.finish()
}

#[cfg(test)]
mod tests {
    #[test]
    fn least_squares_recovers_a_line() {
        let x = [0.0, 1.0, 2.0, 3.0];
        let y = [1.0, 3.0, 5.0, 7.0];
        assert_eq!(super::least_squares(&x, &y), Some((1.0, 2.0)));
        assert_eq!(super::least_squares(&[1.0, 1.0], &[0.0, 1.0]), None);
    }

    #[test]
    fn fitted_lines_are_clipped_to_the_plot() {
        use super::clip_line;
        let boxed = |fit| clip_line(fit, (0.0, 10.0), (0.0, 5.0));
        // Inside from edge to edge.
        assert_eq!(boxed((1.0, 0.2)), Some(((0.0, 1.0), (10.0, 3.0))));
        // Leaves through the top at x = 4 and enters through the bottom at x = -1 (outside).
        assert_eq!(boxed((1.0, 1.0)), Some(((0.0, 1.0), (4.0, 5.0))));
        // Steep and falling: from the top at x = 1 to the bottom at x = 2.
        assert_eq!(boxed((10.0, -5.0)), Some(((1.0, 5.0), (2.0, 0.0))));
        // Flat above the box, or crossing beside it: nothing to draw.
        assert_eq!(boxed((6.0, 0.0)), None);
        assert_eq!(boxed((-100.0, 1.0)), None);
    }
}
