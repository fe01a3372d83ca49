//! `report/summary.tex`: the summary table and the analyses table as `booktabs` tables, a
//! fragment a paper can `\input{}` (its preamble needs only `\usepackage{booktabs}`).
//!
//! Numbers are rounded as in `summary.md`; an undefined value is `--`. Every text cell is
//! escaped with [`latex_escape`], since task variants and analysis names come from users.

use std::fmt::Write as _;

use multiberts_bootstrap::{DeltaStats, Interval};
use multiberts_manifest::Manifest;

use crate::AnalysisOutput;
use crate::summary::{SUMMARY_NBOOT, SummaryRow, family_names};

/// `s` as LaTeX text: the specials `\ { } $ & % # _ ~ ^` are escaped; brackets are braced (a
/// cell starting with `[` would otherwise be read as the optional argument of `\\` or
/// `\midrule`); `< > |`, which the default font encoding turns into other glyphs, are spelled
/// out; line breaks and tabs become spaces (a blank line would end the caption's paragraph).
pub fn latex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str(r"\textbackslash{}"),
            '{' | '}' | '$' | '&' | '%' | '#' | '_' => {
                out.push('\\');
                out.push(c);
            }
            '~' => out.push_str(r"\textasciitilde{}"),
            '^' => out.push_str(r"\textasciicircum{}"),
            '[' | ']' => {
                out.push('{');
                out.push(c);
                out.push('}');
            }
            '<' => out.push_str(r"\textless{}"),
            '>' => out.push_str(r"\textgreater{}"),
            '|' => out.push_str(r"\textbar{}"),
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The marker of an undefined value.
const UNDEFINED: &str = "--";

/// `x` with `decimals` decimals (`--` when undefined), its sign in math mode so that a minus is
/// a minus, not a hyphen; `signed` also writes `+` for positive values, as the Markdown does.
fn number(x: f64, decimals: usize, signed: bool) -> String {
    if !x.is_finite() {
        return UNDEFINED.to_string();
    }
    let text = format!("{:.*}", decimals, x.abs());
    // Rounded to zero, a negative value would read "-0.0000"; the Markdown writes that too.
    if x.is_sign_negative() {
        format!("$-${text}")
    } else if signed {
        format!("$+${text}")
    } else {
        text
    }
}

/// `[low, high]` at 4 decimals; `--` when either end is undefined.
fn interval(low: f64, high: f64, signed: bool) -> String {
    if low.is_finite() && high.is_finite() {
        format!("[{}, {}]", number(low, 4, signed), number(high, 4, signed))
    } else {
        UNDEFINED.to_string()
    }
}

/// A learning rate in scientific notation, e.g. `$2 \times 10^{-5}$`.
fn learning_rate(lr: f64) -> String {
    if !lr.is_finite() {
        return UNDEFINED.to_string();
    }
    let e = format!("{lr:e}");
    match e.split_once('e') {
        Some((mantissa, "0")) => format!("${mantissa}$"),
        Some((mantissa, exponent)) => format!(r"${mantissa} \times 10^{{{exponent}}}$"),
        None => format!("${e}$"),
    }
}

/// The row of the per-task table.
fn summary_row(row: &SummaryRow) -> String {
    let label = if row.variant.is_empty() {
        latex_escape(&row.task)
    } else {
        latex_escape(&format!("{}[{}]", row.task, row.variant))
    };
    format!(
        r"{label} & {} & {} & {} & {} & {} $\pm$ {} & {} \\",
        latex_escape(&row.metric),
        learning_rate(row.learning_rate),
        row.runs,
        row.seeds,
        number(row.mean, 4, false),
        number(row.sd, 4, false),
        interval(row.ci_low, row.ci_high, false),
    )
}

/// An analysis estimate: its mean (first line) and interval (second line).
fn estimate(i: &Interval) -> [String; 2] {
    [number(i.mean, 4, false), interval(i.low, i.high, false)]
}

/// A difference of estimates: signed mean (first line) and interval (second line).
fn delta(d: &DeltaStats) -> [String; 2] {
    [number(d.mean, 4, true), interval(d.low, d.high, true)]
}

/// A `\label{}` key from the manifest's name: letters, digits, `-`, `.` and `:` kept, anything
/// else a `-` (manifest names are already restricted to letters, digits, `-`, `_`, `.`).
fn label_key(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Opens a float with its caption and label and starts a `booktabs` tabular with `header`.
/// `table*` so that a two-column paper gives it the page's width (one-column papers treat it
/// as `table`); small type and narrower column gaps because the intervals are wide (both stay
/// inside the float).
fn open_table(tex: &mut String, caption: &str, label: &str, columns: &str, header: &str) {
    let _ = writeln!(tex, r"\begin{{table*}}[t]");
    let _ = writeln!(tex, r"\centering");
    let _ = writeln!(tex, r"\small");
    let _ = writeln!(tex, r"\setlength{{\tabcolsep}}{{4pt}}");
    let _ = writeln!(tex, r"\caption{{{caption}}}");
    let _ = writeln!(tex, r"\label{{{label}}}");
    let _ = writeln!(tex, r"\begin{{tabular}}{{{columns}}}");
    let _ = writeln!(tex, r"\toprule");
    let _ = writeln!(tex, r"{header} \\");
    let _ = writeln!(tex, r"\midrule");
}

/// Closes what [`open_table`] opened.
fn close_table(tex: &mut String) {
    let _ = writeln!(tex, r"\bottomrule");
    let _ = writeln!(tex, r"\end{{tabular}}");
    let _ = writeln!(tex, r"\end{{table*}}");
}

/// `report/summary.tex`: the per-task table (the rows of `summary.md` and `summary.csv`) and,
/// when the manifest has analyses, their table (`analyses` aligned with the manifest's
/// analyses, with a $p_{\mathrm{Holm}}$ column when their p-values were adjusted), as two
/// `table*` floats labelled `tab:<name>-summary` and `tab:<name>-analyses`.
pub fn summary_latex(
    manifest: &Manifest,
    rows: &[SummaryRow],
    analyses: &[AnalysisOutput],
) -> String {
    let name = latex_escape(&manifest.name);
    let key = label_key(&manifest.name);
    let mut tex = String::new();
    let _ = writeln!(
        tex,
        "% {}: results tables written by multiberts (regenerate with `multiberts report`).",
        manifest.name.replace(['\n', '\r'], " ")
    );
    let _ = writeln!(
        tex,
        r"% A fragment to \input{{}}: the preamble needs \usepackage{{booktabs}}."
    );
    let _ = writeln!(tex);
    open_table(
        &mut tex,
        &format!(
            r"{name}: per task and fine-tuning learning rate (LR), the primary dev metric of each run, mean $\pm$ sd across runs (pre-training $\times$ fine-tuning seeds), and a 95\% Multi-Bootstrap interval that resamples pre-training seeds and dev examples ({SUMMARY_NBOOT} draws). {UNDEFINED}: undefined."
        ),
        &format!("tab:{key}-summary"),
        "llrrrcc",
        r"Task & Metric & LR & Runs & Seeds & Mean $\pm$ sd & 95\% CI",
    );
    for row in rows {
        tex.push_str(&summary_row(row));
        tex.push('\n');
    }
    close_table(&mut tex);
    if manifest.analyses.is_empty() {
        return tex;
    }
    let levels: Vec<f64> = analyses.iter().map(|a| a.report.level).collect();
    let level = match levels.first() {
        // Rounded so that 0.9 reads 90, not 90.00000000000001.
        Some(&first) if levels.iter().all(|&l| l == first) => {
            format!(r"{}\%", (first * 100.0 * 1e6).round() / 1e6)
        }
        _ => "each analysis' level".to_string(),
    };
    let _ = writeln!(tex);
    analyses_latex(&mut tex, manifest, analyses, &level);
    tex
}

/// The analyses float of `summary.tex`.
fn analyses_latex(tex: &mut String, manifest: &Manifest, analyses: &[AnalysisOutput], level: &str) {
    let name = latex_escape(&manifest.name);
    let key = label_key(&manifest.name);
    let holm = analyses.iter().any(|a| a.p_holm.is_some());
    let holm_caption = if holm {
        let family = family_names(analyses);
        format!(
            r" $p_{{\mathrm{{Holm}}}}$: $p$ adjusted by Holm--Bonferroni across the family of the {} analyses with a $p$ ({}).",
            family.len(),
            latex_escape(&family.join(", "))
        )
    } else {
        String::new()
    };
    let (columns, header) = if holm {
        (
            "llcccrr",
            r"Analysis, kind & Task, metric & Base & Experiment & $\Delta$ & $p$ & $p_{\mathrm{Holm}}$",
        )
    } else {
        (
            "llcccr",
            r"Analysis, kind & Task, metric & Base & Experiment & $\Delta$ & $p$",
        )
    };
    open_table(
        tex,
        &format!(
            r"{name}: Multi-Bootstrap analyses, two lines each: the analysis and its kind, the task and the metric; base and experiment: the mean of the bootstrap estimates and, below it, their {level} interval; $\Delta$: experiment minus base, with its interval; $p$: the fraction of draws on the wrong side of zero.{holm_caption} {UNDEFINED}: not applicable or undefined."
        ),
        &format!("tab:{key}-analyses"),
        columns,
        header,
    );
    let none = || [UNDEFINED.to_string(), String::new()];
    for (i, (a, out)) in manifest.analyses.iter().zip(analyses).enumerate() {
        let report = &out.report;
        if i > 0 {
            // Keeps each analysis' two lines visibly together.
            let _ = writeln!(tex, r"\addlinespace");
        }
        let base = estimate(&report.base);
        let expt = report.expt.as_ref().map_or_else(none, estimate);
        let diff = report.delta.as_ref().map_or_else(none, delta);
        let p = report
            .delta
            .map_or(UNDEFINED.to_string(), |d| number(d.p, 3, false));
        let (adjusted, blank) = match (holm, out.p_holm) {
            (false, _) => (String::new(), ""),
            (true, Some(q)) => (format!(" & {}", number(q, 3, false)), " &"),
            (true, None) => (format!(" & {UNDEFINED}"), " &"),
        };
        // Stacked in two lines, the eight values fit a page's width.
        let _ = writeln!(
            tex,
            r"{} & {} & {} & {} & {} & {p}{adjusted} \\",
            latex_escape(&a.name),
            latex_escape(&a.task),
            base[0],
            expt[0],
            diff[0],
        );
        let _ = writeln!(
            tex,
            r"{} & {} & {} & {} & {} &{blank} \\",
            latex_escape(&format!("{:?}", a.kind)),
            latex_escape(&a.metric),
            base[1],
            expt[1],
            diff[1]
        );
    }
    close_table(tex);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_special_is_escaped() {
        let cases = [
            ("a_b", r"a\_b"),
            ("100%", r"100\%"),
            ("A&B", r"A\&B"),
            ("#1", r"\#1"),
            ("$x$", r"\$x\$"),
            ("{x}", r"\{x\}"),
            ("~", r"\textasciitilde{}"),
            ("^", r"\textasciicircum{}"),
            (r"\emph", r"\textbackslash{}emph"),
            ("[cda]", "{[}cda{]}"),
            ("a<b>c|d", r"a\textless{}b\textgreater{}c\textbar{}d"),
            ("two\nlines\tand\rcr", "two lines and cr"),
            ("demo-coref.v2 plain", "demo-coref.v2 plain"),
        ];
        for (raw, escaped) in cases {
            assert_eq!(latex_escape(raw), escaped, "{raw:?}");
        }
        // A backslash followed by a brace: each escaped on its own, nothing left unbalanced.
        assert_eq!(latex_escape(r"\}"), r"\textbackslash{}\}");
    }

    #[test]
    fn numbers_follow_the_markdown_and_undefined_is_a_dash() {
        assert_eq!(number(0.74996, 4, false), "0.7500");
        assert_eq!(number(-0.01234, 4, false), "$-$0.0123");
        assert_eq!(number(0.05, 4, true), "$+$0.0500");
        assert_eq!(number(f64::NAN, 4, false), "--");
        assert_eq!(number(f64::INFINITY, 4, true), "--");
        assert_eq!(interval(0.1, f64::NAN, false), "--");
        assert_eq!(learning_rate(2e-5), r"$2 \times 10^{-5}$");
        assert_eq!(learning_rate(3.5e-5), r"$3.5 \times 10^{-5}$");
        assert_eq!(learning_rate(1.0), "$1$");
        assert_eq!(learning_rate(f64::NAN), "--");
        assert_eq!(label_key("demo_coref v2"), "demo-coref-v2");
    }
}
