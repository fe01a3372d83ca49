//! A small SVG writer for the figures drawn without plotters (the forest plot, the bias picture
//! and the per-seed intervals), in the style of [`crate::figure_svg`]: the same font, palette,
//! title and note sizes, grid and axis strokes. Every document starts with `<title>` and carries
//! `role="img"` and an `aria-label`, every text is escaped, and numbers are written with fixed
//! decimals, so the same figure always gives the same bytes.
//!
//! Marks that stand for data carry their value (`data-value`) and the panels their mapping
//! (`data-px` = the pixel range, `data-range` = the value range), so a test can check that each
//! mark sits where its value says.

use std::fmt::Write as _;

use crate::html::escape;

/// The figures' font family.
pub(crate) const FONT: &str = "sans-serif";
/// Grid lines.
pub(crate) const GRID: &str = "#DDDDDD";
/// Tableau 10, as the plotters figures use it.
pub(crate) const PALETTE: [&str; 10] = [
    "#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#EDC948", "#B07AA1", "#FF9DA7",
    "#9C755F", "#BAB0AC",
];

/// The `i`-th palette colour, cycling.
pub(crate) fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// A linear map from values to pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Scale {
    /// The value range.
    pub lo: f64,
    /// The value range's upper end.
    pub hi: f64,
    /// The pixel where `lo` lands.
    pub px0: f64,
    /// The pixel where `hi` lands.
    pub px1: f64,
}

impl Scale {
    /// The pixel of `v`.
    pub fn px(&self, v: f64) -> f64 {
        if self.hi > self.lo {
            self.px0 + (v - self.lo) / (self.hi - self.lo) * (self.px1 - self.px0)
        } else {
            (self.px0 + self.px1) / 2.0
        }
    }

    /// The panel attributes a test reads the mapping from.
    pub fn data_attrs(&self, axis: &str) -> String {
        format!(
            " data-{axis}px=\"{} {}\" data-{axis}range=\"{} {}\"",
            n(self.px0),
            n(self.px1),
            self.lo,
            self.hi
        )
    }
}

/// A value range with room around `values` (finite ones; (0, 1) when none), optionally
/// stretched to include `include`, with round ticks inside it and their decimals.
pub(crate) fn value_range(
    values: impl Iterator<Item = f64>,
    include: Option<f64>,
    target_ticks: usize,
) -> ((f64, f64), Vec<f64>, usize) {
    let finite: Vec<f64> = values.filter(|v| v.is_finite()).chain(include).collect();
    let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if finite.is_empty() {
        (0.0, 1.0)
    } else {
        (lo, hi)
    };
    let pad = if hi > lo {
        (hi - lo) * 0.08
    } else {
        (lo.abs() * 0.05).max(0.01)
    };
    let (lo, hi) = (lo - pad, hi + pad);
    let (ticks, step) = crate::figure_svg::nice_ticks(lo, hi, target_ticks);
    ((lo, hi), ticks, crate::figure_svg::decimals(step))
}

/// A pixel coordinate with two decimals.
/// ` [variant]` for a figure title, or nothing for the plain task.
pub(crate) fn variant_suffix(variant: &str) -> String {
    if variant.is_empty() {
        String::new()
    } else {
        format!(" [{variant}]")
    }
}

/// `x,y x,y …` for a `points` attribute.
fn point_list(points: &[(f64, f64)]) -> String {
    let pairs: Vec<String> = points
        .iter()
        .map(|&(x, y)| format!("{},{}", n(x), n(y)))
        .collect();
    pairs.join(" ")
}

pub(crate) fn n(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.to_string() }
}

/// An SVG document being written.
pub(crate) struct Svg {
    body: String,
    width: u32,
    height: u32,
    title: String,
    label: String,
}

impl Svg {
    /// A white `width` × `height` document whose `<title>` is `title` and `aria-label` is
    /// `label` (what it shows, in words).
    pub fn new(width: u32, height: u32, title: &str, label: &str) -> Self {
        let mut s = Self {
            body: String::new(),
            width,
            height,
            title: title.to_string(),
            label: label.to_string(),
        };
        s.rect(0.0, 0.0, width as f64, height as f64, "#FFFFFF", "");
        s
    }

    /// Text at (x, y): `anchor` start, middle or end; `size` in pixels; `extra` attributes.
    pub fn text(&mut self, x: f64, y: f64, size: u32, anchor: &str, fill: &str, text: &str) {
        let _ = writeln!(
            self.body,
            "<text x=\"{}\" y=\"{}\" font-family=\"{FONT}\" font-size=\"{size}\" \
             text-anchor=\"{anchor}\" fill=\"{fill}\">{}</text>",
            n(x),
            n(y),
            escape(text)
        );
    }

    /// Text rotated a quarter turn anticlockwise around (x, y) (a y axis' name).
    pub fn vertical_text(&mut self, x: f64, y: f64, size: u32, text: &str) {
        let _ = writeln!(
            self.body,
            "<text x=\"{0}\" y=\"{1}\" font-family=\"{FONT}\" font-size=\"{size}\" \
             text-anchor=\"middle\" fill=\"#000000\" transform=\"rotate(-90 {0} {1})\">{2}</text>",
            n(x),
            n(y),
            escape(text)
        );
    }

    /// A line; `extra` attributes (e.g. a class) go in as written.
    #[allow(clippy::too_many_arguments)]
    pub fn line(
        &mut self,
        (x1, y1): (f64, f64),
        (x2, y2): (f64, f64),
        stroke: &str,
        width: f64,
        extra: &str,
    ) {
        let _ = writeln!(
            self.body,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{stroke}\" stroke-width=\"{}\"{extra}/>",
            n(x1),
            n(y1),
            n(x2),
            n(y2),
            n(width)
        );
    }

    /// A filled circle standing for `value` (its `data-value`), in class `class`.
    pub fn dot(&mut self, (x, y): (f64, f64), r: f64, fill: &str, class: &str, value: f64) {
        let _ = writeln!(
            self.body,
            "<circle class=\"{class}\" cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{fill}\" data-value=\"{value}\"/>",
            n(x),
            n(y),
            n(r)
        );
    }

    /// A line through `points` (nothing for fewer than two); `extra` attributes go in as
    /// written.
    pub fn polyline(&mut self, points: &[(f64, f64)], stroke: &str, width: f64, extra: &str) {
        if points.len() < 2 {
            return;
        }
        let _ = writeln!(
            self.body,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"{}\"{extra}/>",
            point_list(points),
            n(width)
        );
    }

    /// A filled polygon through `points` (nothing for fewer than three); `extra` attributes go
    /// in as written.
    pub fn polygon(&mut self, points: &[(f64, f64)], fill: &str, extra: &str) {
        if points.len() < 3 {
            return;
        }
        let _ = writeln!(
            self.body,
            "<polygon points=\"{}\" fill=\"{fill}\"{extra}/>",
            point_list(points)
        );
    }

    /// A rectangle; `extra` attributes go in as written.
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, extra: &str) {
        let _ = writeln!(
            self.body,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"{extra}/>",
            n(x),
            n(y),
            n(w),
            n(h)
        );
    }

    /// A clip path `id` of the rectangle at (x, y), `w` × `h`, for `clip-path="url(#id)"`; the
    /// id must be unique on the page that inlines the figure.
    pub fn clip_rect(&mut self, id: &str, x: f64, y: f64, w: f64, h: f64) {
        let _ = writeln!(
            self.body,
            "<clipPath id=\"{}\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath>",
            escape(id),
            n(x),
            n(y),
            n(w),
            n(h)
        );
    }

    /// Opens a group (a panel) with `attrs`; close it with [`Svg::close_group`].
    pub fn open_group(&mut self, attrs: &str) {
        let _ = writeln!(self.body, "<g{attrs}>");
    }

    /// Closes the group opened last.
    pub fn close_group(&mut self) {
        self.body.push_str("</g>\n");
    }

    /// The title (22 px) and the note (15 px, grey) centred at the top, as the plotters
    /// figures have them.
    pub fn header(&mut self, title: &str, note: &str) {
        let mid = self.width as f64 / 2.0;
        self.text(mid, 30.0, 22, "middle", "#000000", title);
        self.text(mid, 56.0, 15, "middle", "#4D4D4D", note);
    }

    /// A horizontal value axis at pixel row `y` over `scale`, with grid lines up to `top`,
    /// tick labels and the axis' name.
    pub fn x_axis(
        &mut self,
        scale: &Scale,
        y: f64,
        top: f64,
        ticks: &[f64],
        decimals: usize,
        name: &str,
    ) {
        for &t in ticks {
            let x = scale.px(t);
            self.line((x, top), (x, y), GRID, 1.0, "");
            self.line((x, y), (x, y + 5.0), "#000000", 1.0, "");
            self.text(
                x,
                y + 20.0,
                14,
                "middle",
                "#000000",
                &crate::figure_svg::number(t, decimals),
            );
        }
        self.line((scale.px0, y), (scale.px1, y), "#000000", 1.0, "");
        self.text(
            (scale.px0 + scale.px1) / 2.0,
            y + 42.0,
            15,
            "middle",
            "#000000",
            name,
        );
    }

    /// A vertical value axis at pixel column `x` over `scale` (px0 at the bottom), with grid
    /// lines to `right`, tick labels and the axis' name.
    pub fn y_axis(
        &mut self,
        scale: &Scale,
        x: f64,
        right: f64,
        ticks: &[f64],
        decimals: usize,
        name: &str,
    ) {
        for &t in ticks {
            let y = scale.px(t);
            self.line((x, y), (right, y), GRID, 1.0, "");
            self.line((x - 5.0, y), (x, y), "#000000", 1.0, "");
            self.text(
                x - 8.0,
                y + 5.0,
                14,
                "end",
                "#000000",
                &crate::figure_svg::number(t, decimals),
            );
        }
        self.line((x, scale.px0), (x, scale.px1), "#000000", 1.0, "");
        self.vertical_text(x - 62.0, (scale.px0 + scale.px1) / 2.0, 15, name);
    }

    /// The document: `<svg>` with its size and view box, `role="img"`, the `aria-label`, the
    /// `<title>` first.
    pub fn finish(self) -> String {
        format!(
            "<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\">\n<title>{}</title>\n{}</svg>\n",
            escape(&self.label),
            escape(&self.title),
            self.body,
            w = self.width,
            h = self.height
        )
    }
}
