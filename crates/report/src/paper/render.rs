//! The paper page (`index.html`, in the manifest report's style and with its helpers) and its
//! Markdown (`summary.md`). Numbers are printed with 3 significant digits, as the notebooks
//! print `report_ci` (Python's `.3g`), so they read against the paper directly.

use std::fmt::Write as _;

use multiberts_bootstrap::Interval;
use multiberts_bootstrap::pyfmt::g;

use super::{PaperFigure, PaperOptions, PaperRow, PaperTable};
use crate::html::{
    FigureSection, PageFigure, close_document, escape, figure_section, nav_links, open_document,
};

/// The page's and the Markdown's title (before `: results`).
const NAME: &str = "MultiBERTs paper";

/// What every number is, in words.
fn description(o: &PaperOptions) -> String {
    format!(
        "The MultiBERTs paper's tables and figures regenerated from the released per-example \
         predictions in {}: the Multi-Bootstrap with {} draws and {} afresh for every analysis, \
         as the authors' notebooks ran it. E[·]: the mean of the bootstrap estimates, with its \
         95% percentile interval in brackets; p: one-sided; 3 significant digits, as the \
         notebooks print them.",
        o.dir.display(),
        o.nboot,
        match o.rng {
            multiberts_bootstrap::RngSpec::Numpy(s) => format!("numpy's RandomState({s})"),
            other => other.to_string(),
        }
    )
}

/// `mean (low, high)`.
fn interval(i: &Interval) -> String {
    format!("{} ({}, {})", g(i.mean, 3), g(i.low, 3), g(i.high, 3))
}

/// The cells of a row: E[L], E[L'], E[L'−L], p, p (Holm).
fn cells(r: &PaperRow) -> [String; 5] {
    let rep = &r.report;
    [
        interval(&rep.base),
        rep.expt.as_ref().map_or(String::new(), interval),
        rep.delta.map_or(String::new(), |d| {
            format!("{} ({}, {})", g(d.mean, 3), g(d.low, 3), g(d.high, 3))
        }),
        rep.delta.map_or(String::new(), |d| g(d.p, 3)),
        r.p_holm.map_or("–".into(), |q| g(q, 3)),
    ]
}

/// The column headers of a table.
fn headers(t: &PaperTable) -> [String; 7] {
    let side = |what: &str, name: &str| {
        if name == "per row" {
            what.to_string()
        } else {
            format!("{what} {name}")
        }
    };
    [
        "metric".into(),
        "resampled".into(),
        side("E[L]", &t.base),
        side("E[L']", &t.expt),
        "E[L'−L]".into(),
        "p".into(),
        "p (Holm)".into(),
    ]
}

/// The sentence naming a table's Holm family.
fn family_note(t: &PaperTable) -> String {
    let family = t.family();
    if family.is_empty() {
        "p (Holm): fewer than two rows resample seeds and examples; nothing to adjust.".into()
    } else {
        format!(
            "p (Holm): adjusted by Holm–Bonferroni across this table's {} rows that resample \
             seeds and examples ({}).",
            family.len(),
            family.join("; ")
        )
    }
}

/// `summary.md` of the paper page.
pub(super) fn markdown(
    o: &PaperOptions,
    tables: &[PaperTable],
    figures: &[PaperFigure],
    notes: &[String],
) -> String {
    let mut md = format!("# {NAME}: results\n\n{}\n", description(o));
    for t in tables {
        let _ = writeln!(md, "\n## {}\n\n{}\n", t.title, t.description);
        let _ = writeln!(
            md,
            "| {} |\n|---|---|---|---|---|---|---|",
            headers(t).join(" | ")
        );
        for r in &t.rows {
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                r.label,
                r.resampled,
                cells(r).join(" | ")
            );
        }
        let _ = writeln!(md, "\n{}", family_note(t));
    }
    if !figures.is_empty() {
        let _ = writeln!(md, "\n## GLUE and SQuAD (Figs. 1–2)\n");
        for f in figures {
            let _ = writeln!(md, "![{}]({})\n", figure_title(f), f.file);
        }
    }
    if !notes.is_empty() {
        let _ = writeln!(md, "\n## Left out\n");
        for n in notes {
            let _ = writeln!(md, "- {n}");
        }
    }
    md
}

/// A figure's title.
fn figure_title(f: &PaperFigure) -> String {
    format!(
        "{}, {}: each run of the final MultiBERTs ({}) and of the original BERT",
        f.task, f.metric, f.checkpoints
    )
}

/// One table as HTML.
fn table_html(h: &mut String, t: &PaperTable) {
    let _ = writeln!(
        h,
        "<section id=\"{}\">\n<h2>{}</h2>\n<p>{}</p>\n<table>\n<caption>{}</caption>\n\
         <thead><tr>{}</tr></thead>\n<tbody>",
        escape(&t.id),
        escape(&t.title),
        escape(&t.description),
        escape(&t.title),
        headers(t)
            .iter()
            .map(|c| format!("<th scope=\"col\">{}</th>", escape(c)))
            .collect::<String>()
    );
    for r in &t.rows {
        let nums: String = cells(r)
            .iter()
            .map(|c| format!("<td class=\"num\">{}</td>", escape(c)))
            .collect();
        let _ = writeln!(
            h,
            "<tr><th scope=\"row\">{}</th><td>{}</td>{nums}</tr>",
            escape(&r.label),
            escape(&r.resampled)
        );
    }
    let _ = writeln!(
        h,
        "</tbody>\n</table>\n<p class=\"family\">{}</p>\n</section>",
        escape(&family_note(t))
    );
}

/// `index.html` of the paper page.
pub(super) fn html(
    o: &PaperOptions,
    tables: &[PaperTable],
    figures: &[PaperFigure],
    notes: &[String],
) -> String {
    let mut h = String::new();
    open_document(&mut h, NAME, &description(o));
    let mut links: Vec<(String, String)> = tables
        .iter()
        .map(|t| (t.id.clone(), t.title.clone()))
        .collect();
    if !figures.is_empty() {
        links.push(("figures-0".into(), "GLUE and SQuAD".into()));
    }
    links.push(("files".into(), "Files".into()));
    links.push(("signature".into(), "Signature".into()));
    let _ = writeln!(h, "{}", nav_links(&links));
    for t in tables {
        table_html(&mut h, t);
    }
    if !figures.is_empty() {
        let section = FigureSection {
            heading: "GLUE and SQuAD (Figs. 1–2)".into(),
            intro: "Per task, the dev metric of every fine-tuning run of the final MultiBERTs \
                    checkpoints (one column per pre-training seed, a bar at the mean) and of the \
                    original BERT (the last column, BERT), each at its best learning rate."
                .into(),
            figures: figures
                .iter()
                .map(|f| PageFigure {
                    title: figure_title(f),
                    alt: format!(
                        "{} of each of {} fine-tuning runs, by pre-trained model, {}",
                        f.metric,
                        f.runs.len(),
                        f.task
                    ),
                    svg: f.svg.clone(),
                    file: Some(f.file.clone()),
                })
                .collect(),
        };
        figure_section(&mut h, &section, 0);
    }
    if !notes.is_empty() {
        h.push_str("<section id=\"left-out\">\n<h2>Left out</h2>\n<ul>\n");
        for n in notes {
            let _ = writeln!(h, "<li>{}</li>", escape(n));
        }
        h.push_str("</ul>\n</section>\n");
    }
    files_and_signature(&mut h, tables, figures);
    close_document(&mut h);
    h
}

/// The files beside the page and each analysis' signature.
fn files_and_signature(h: &mut String, tables: &[PaperTable], figures: &[PaperFigure]) {
    h.push_str("<section id=\"files\">\n<h2>Files</h2>\n<ul>\n");
    for (file, what) in [
        ("summary.md", "the tables as Markdown"),
        ("tables.json", "every table and figure as data"),
    ] {
        let _ = writeln!(h, "<li><a href=\"{file}\">{file}</a>: {what}</li>");
    }
    for f in figures {
        let _ = writeln!(
            h,
            "<li><a href=\"{0}\">{0}</a>: the figure of {1}, {2}</li>",
            escape(&f.file),
            escape(&f.task),
            escape(&f.metric)
        );
    }
    h.push_str("</ul>\n</section>\n<section id=\"signature\">\n<h2>Signature</h2>\n<ul>\n");
    for t in tables {
        for r in &t.rows {
            let _ = writeln!(
                h,
                "<li>{}, {} ({}): <span class=\"sig\">{}</span></li>",
                escape(&t.title),
                escape(&r.label),
                escape(&r.resampled),
                escape(&r.report.signature.to_string())
            );
        }
    }
    h.push_str("</ul>\n</section>\n");
}
