//! `report/index.html`: the report as one self-contained page that works offline from the file
//! system. Every figure is inline SVG (the per-task figures also written beside it, the forest
//! plot, the bias picture and the per-seed intervals only here); no script, font, style sheet
//! or image is loaded from anywhere, and no network address appears in it. The page holds the
//! title and description, the run counts per task (done, not done with the reason from the
//! job's log, kept by the learning-rate rule), the summary and analyses tables, the figures,
//! relative links to the files beside it and the procedure's signature.
//!
//! The same inputs give the same bytes: nothing in the page depends on the clock, the machine
//! or the order of a hash map. All text goes through [`escape`].

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use multiberts_bootstrap::RngSpec;
use multiberts_collector::Consolidation;
use multiberts_manifest::{Manifest, PROCEDURE_VERSION};
use sha2::{Digest, Sha256};

use crate::AnalysisOutput;
use crate::family::family_note;
use crate::summary::{SUMMARY_NBOOT, SummaryRow, family_names};

/// `s` with `&`, `<`, `>`, `"` and `'` replaced by character references: safe as element text
/// and inside a double- or single-quoted attribute.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One figure of the page: its title, what it shows (alternative text), the SVG document and
/// the file beside the page that holds it, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct PageFigure {
    /// The figure's title.
    pub title: String,
    /// What it shows, in words (its `aria-label`).
    pub alt: String,
    /// The SVG document.
    pub svg: String,
    /// Its file name under `report/`, when it is also written there.
    pub file: Option<String>,
}

/// A section of figures: a heading, a sentence on what they show, the figures.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureSection {
    /// The heading.
    pub heading: String,
    /// What the figures show.
    pub intro: String,
    /// The figures.
    pub figures: Vec<PageFigure>,
}

/// Everything the page shows.
#[derive(Debug, Clone)]
pub struct Page<'a> {
    /// The manifest.
    pub manifest: &'a Manifest,
    /// The results directory (the folder holding `report/`).
    pub root: &'a Path,
    /// Each task's consolidation record, in table order.
    pub tasks: &'a [Consolidation],
    /// The summary rows.
    pub rows: &'a [SummaryRow],
    /// The analyses, in manifest order.
    pub analyses: &'a [AnalysisOutput],
    /// The figure sections, in page order.
    pub sections: Vec<FigureSection>,
}

/// The page's style: readable on screen, and on A4 paper with no figure cut across pages.
const STYLE: &str = "\
body{font-family:sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.8em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:bold;padding:.3em 0}
figure{margin:1.2em 0;break-inside:avoid;page-break-inside:avoid}
figure svg{max-width:100%;height:auto;display:block}
figcaption{font-size:.9em;color:#444}
code,.sig{font-family:monospace;font-size:.9em;overflow-wrap:anywhere}
@page{size:A4;margin:12mm}
@media print{body{max-width:none;margin:0;font-size:10pt}figure svg{max-height:240mm}
a{color:inherit;text-decoration:none}h2,h2+p,caption{break-after:avoid}table{break-inside:auto}tr{break-inside:avoid}}
";

/// The page as HTML.
pub fn index_html(page: &Page<'_>) -> String {
    let m = page.manifest;
    let mut h = String::new();
    open_document(&mut h, &m.name, &m.description);
    let _ = writeln!(h, "{}", nav(page));
    runs_section(&mut h, page);
    summary_section(&mut h, page.rows);
    analyses_section(&mut h, page);
    for (i, s) in page.sections.iter().enumerate() {
        figure_section(&mut h, s, i);
    }
    files_section(&mut h, page);
    signature_section(&mut h, page);
    close_document(&mut h);
    h
}

/// Opens a page titled `<name>: results`: the head with the style, the header with the title
/// and `description` (if any), and `<main>`.
pub(crate) fn open_document(h: &mut String, name: &str, description: &str) {
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{0}: results</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <header>\n<h1>{0}: results</h1>\n",
        escape(name)
    );
    if !description.is_empty() {
        let _ = writeln!(h, "<p>{}</p>", escape(description));
    }
    let _ = writeln!(h, "</header>\n<main>");
}

/// Closes what [`open_document`] opened.
pub(crate) fn close_document(h: &mut String) {
    h.push_str("</main>\n</body>\n</html>\n");
}

/// The table of contents: `(id, text)` links to the page's sections.
pub(crate) fn nav_links(links: &[(String, String)]) -> String {
    let links: Vec<String> = links
        .iter()
        .map(|(id, t)| format!("<a href=\"#{id}\">{}</a>", escape(t)))
        .collect();
    format!(
        "<nav aria-label=\"contents\"><p>{}</p></nav>",
        links.join(" · ")
    )
}

/// The table of contents.
fn nav(page: &Page<'_>) -> String {
    let mut links = vec![
        ("runs".to_string(), "Runs".to_string()),
        ("summary".into(), "Summary".into()),
    ];
    if !page.analyses.is_empty() {
        links.push(("analyses".into(), "Analyses".into()));
    }
    for (i, sec) in page.sections.iter().enumerate() {
        links.push((format!("figures-{i}"), sec.heading.clone()));
    }
    links.push(("files".into(), "Files".into()));
    links.push(("signature".into(), "Signature".into()));
    nav_links(&links)
}

/// The run counts per task.
fn runs_section(h: &mut String, page: &Page<'_>) {
    let _ = writeln!(
        h,
        "<section id=\"runs\">\n<h2>Runs</h2>\n<table>\n<caption>Runs per task: done, kept by \
         the learning-rate rule, not done</caption>\n<thead><tr><th scope=\"col\">task</th>\
         <th scope=\"col\">done</th><th scope=\"col\">kept</th><th scope=\"col\">not done</th>\
         <th scope=\"col\">rule</th></tr></thead>\n<tbody>"
    );
    for c in page.tasks {
        let _ = writeln!(
            h,
            "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td>{}</td></tr>",
            escape(&c.task),
            c.jobs_done,
            c.jobs_kept,
            c.jobs_not_done.len(),
            escape(&c.rule_description)
        );
    }
    h.push_str("</tbody>\n</table>\n");
    let not_done: Vec<(&str, &String)> = page
        .tasks
        .iter()
        .flat_map(|c| c.jobs_not_done.iter().map(move |j| (c.task.as_str(), j)))
        .collect();
    if !not_done.is_empty() {
        let _ = writeln!(
            h,
            "<table>\n<caption>Jobs not done (no DONE marker), with the last error in their \
             log</caption>\n<thead><tr><th scope=\"col\">task</th><th scope=\"col\">job</th>\
             <th scope=\"col\">reason</th></tr></thead>\n<tbody>"
        );
        for (task, job) in not_done {
            let id = job.rsplit('/').next().unwrap_or(job);
            let reason = failure_reason(&page.root.join("logs").join(format!("{id}.log")));
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                escape(task),
                escape(job),
                escape(&reason)
            );
        }
        h.push_str("</tbody>\n</table>\n");
    }
    h.push_str("</section>\n");
}

/// The last `error:` line of a job's log, else what is known.
fn failure_reason(log: &Path) -> String {
    let Ok(bytes) = std::fs::read(log) else {
        return "no log (not started, or still running)".to_string();
    };
    let text = String::from_utf8_lossy(&bytes);
    text.lines()
        .rev()
        .find(|l| l.starts_with("error: "))
        .map_or_else(
            || "no error in its log (interrupted?)".to_string(),
            |l| l.trim().to_string(),
        )
}

/// A number with 4 decimals, or "undefined".
fn num(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.4}")
    } else {
        "undefined".to_string()
    }
}

/// The summary table.
fn summary_section(h: &mut String, rows: &[SummaryRow]) {
    let _ = writeln!(
        h,
        "<section id=\"summary\">\n<h2>Summary</h2>\n<p>Per task and learning rate: the primary \
         dev metric of each run, mean ± sd across runs (pre-training × fine-tuning seeds), and a \
         95% Multi-Bootstrap interval that resamples pre-training seeds and dev examples ({} \
         draws).</p>\n<table>\n<caption>Summary per task, variant and learning rate</caption>\n\
         <thead><tr><th scope=\"col\">task</th><th scope=\"col\">metric</th>\
         <th scope=\"col\">learning rate</th><th scope=\"col\">runs</th><th scope=\"col\">seeds</th>\
         <th scope=\"col\">mean</th><th scope=\"col\">sd</th><th scope=\"col\">95% CI</th></tr>\
         </thead>\n<tbody>",
        SUMMARY_NBOOT
    );
    for r in rows {
        let label = if r.variant.is_empty() {
            r.task.clone()
        } else {
            format!("{}[{}]", r.task, r.variant)
        };
        let ci = if r.ci_low.is_finite() && r.ci_high.is_finite() {
            format!("[{:.4}, {:.4}]", r.ci_low, r.ci_high)
        } else {
            "undefined (a run's metric is undefined)".to_string()
        };
        let _ = writeln!(
            h,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td class=\"num\">{:e}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&label),
            escape(&r.metric),
            r.learning_rate,
            r.runs,
            r.seeds,
            num(r.mean),
            num(r.sd),
            escape(&ci)
        );
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
}

/// The analyses table, with the Holm-adjusted p-values and the family they correct when
/// there are any.
fn analyses_section(h: &mut String, page: &Page<'_>) {
    if page.analyses.is_empty() {
        return;
    }
    let holm = page.analyses.iter().any(|a| a.p_holm.is_some());
    let _ = writeln!(
        h,
        "<section id=\"analyses\">\n<h2>Analyses</h2>\n<table>\n<caption>The manifest's \
         Multi-Bootstrap analyses: E[L] (base), E[L'] (experiment), E[L'−L] with their \
         intervals, and the one-sided p-value{}</caption>\n<thead><tr>\
         <th scope=\"col\">analysis</th><th scope=\"col\">kind</th><th scope=\"col\">task</th>\
         <th scope=\"col\">metric</th><th scope=\"col\">base</th><th scope=\"col\">experiment</th>\
         <th scope=\"col\">delta (CI)</th><th scope=\"col\">p</th>{}</tr></thead>\n<tbody>",
        if holm { ", raw and Holm-adjusted" } else { "" },
        if holm {
            "<th scope=\"col\">p (Holm)</th>"
        } else {
            ""
        }
    );
    let iv = |i: &multiberts_bootstrap::Interval| {
        format!("{} [{}, {}]", num(i.mean), num(i.low), num(i.high))
    };
    for (a, out) in page.manifest.analyses.iter().zip(page.analyses) {
        let r = &out.report;
        let adjusted = if holm {
            format!(
                "<td class=\"num\">{}</td>",
                out.p_holm.map_or(String::new(), |p| format!("{p:.3}"))
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            h,
            "<tr><th scope=\"row\"><a href=\"{}.json\">{}</a></th><td>{:?}</td><td>{}</td>\
             <td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td>{adjusted}</tr>",
            escape(&out.name),
            escape(&out.name),
            a.kind,
            escape(&a.task),
            escape(&a.metric),
            iv(&r.base),
            r.expt.as_ref().map_or(String::new(), iv),
            r.delta.map_or(String::new(), |d| format!(
                "{:+.4} [{:+.4}, {:+.4}]",
                d.mean, d.low, d.high
            )),
            r.delta.map_or(String::new(), |d| format!("{:.3}", d.p)),
        );
    }
    h.push_str("</tbody>\n</table>\n");
    if holm {
        let _ = writeln!(
            h,
            "<p class=\"family\">{}</p>",
            escape(&family_note(&family_names(page.analyses)))
        );
    }
    h.push_str("</section>\n");
}

/// One section of figures, `<section id="figures-{i}">`.
pub(crate) fn figure_section(h: &mut String, s: &FigureSection, i: usize) {
    let _ = writeln!(
        h,
        "<section id=\"figures-{i}\">\n<h2>{}</h2>\n<p>{}</p>",
        escape(&s.heading),
        escape(&s.intro)
    );
    for f in &s.figures {
        let file = f.file.as_ref().map_or(String::new(), |file| {
            format!(" (<a href=\"{0}\">{0}</a>)", escape(file))
        });
        let _ = writeln!(
            h,
            "<figure>\n{}<figcaption>{}{file}</figcaption>\n</figure>",
            inline_svg(&f.svg, &f.title, &f.alt),
            escape(&f.title)
        );
    }
    h.push_str("</section>\n");
}

/// `svg` ready to sit inside the page: no XML declaration or namespace address, and with
/// `role="img"`, an `aria-label` and a `<title>` when it lacks them (plotters writes none).
pub fn inline_svg(svg: &str, title: &str, alt: &str) -> String {
    let svg = svg.trim_start_matches(|c: char| c != '<');
    let svg = if svg.starts_with("<?xml") {
        svg.find("?>").map_or(svg, |e| svg[e + 2..].trim_start())
    } else {
        svg
    };
    let svg = svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1);
    if svg.contains("role=\"img\"") {
        return svg;
    }
    match svg.find('>') {
        Some(end) if svg.starts_with("<svg") => format!(
            "{} role=\"img\" aria-label=\"{}\">\n<title>{}</title>{}",
            &svg[..end],
            escape(alt),
            escape(title),
            &svg[end + 1..]
        ),
        _ => svg,
    }
}

/// Relative links to the files beside the page and the tables it was made from.
fn files_section(h: &mut String, page: &Page<'_>) {
    h.push_str("<section id=\"files\">\n<h2>Files</h2>\n<ul>\n");
    for (href, what) in [
        ("summary.md", "the summary and analyses as Markdown"),
        ("summary.csv", "the summary table as CSV"),
        ("summary.tex", "the summary and analyses tables as LaTeX"),
    ] {
        let _ = writeln!(h, "<li><a href=\"{href}\">{href}</a>: {what}</li>");
    }
    for a in page.analyses {
        let _ = writeln!(
            h,
            "<li><a href=\"{0}.json\">{0}.json</a>: analysis <code>{0}</code> as JSON</li>",
            escape(&a.name)
        );
    }
    for c in page.tasks {
        let table = format!("../{}", c.table);
        let selection = format!("../predictions/{}.selection.json", c.task);
        let _ = writeln!(
            h,
            "<li><a href=\"{0}\">{0}</a>: the predictions of task <code>{1}</code> (Parquet), \
             chosen as <a href=\"{2}\">{2}</a> records</li>",
            escape(&table),
            escape(&c.task),
            escape(&selection)
        );
    }
    let manifest = &page.manifest.path;
    match manifest
        .is_file()
        .then(|| relative_to(manifest, &page.root.join("report")))
        .flatten()
    {
        Some(rel) => {
            let rel = rel.to_string_lossy().replace('\\', "/");
            let _ = writeln!(
                h,
                "<li><a href=\"{0}\">{0}</a>: the manifest</li>",
                escape(&rel)
            );
        }
        None => {
            let _ = writeln!(
                h,
                "<li>the manifest: <code>{}</code> (built into <code>multiberts</code>; no file)</li>",
                escape(&manifest.display().to_string())
            );
        }
    }
    h.push_str("</ul>\n</section>\n");
}

/// `path` relative to the folder `from`, both made absolute against the working directory.
fn relative_to(path: &Path, from: &Path) -> Option<PathBuf> {
    let path = std::path::absolute(path).ok()?;
    let from = std::path::absolute(from).ok()?;
    let (a, b) = (normal_components(&path), normal_components(&from));
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return None;
    }
    let mut rel = PathBuf::new();
    for _ in common..b.len() {
        rel.push("..");
    }
    for c in &a[common..] {
        rel.push(c.as_os_str());
    }
    Some(rel)
}

/// The components of `p` without `.`.
fn normal_components(p: &Path) -> Vec<Component<'_>> {
    p.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

/// The code version, as the runner records it.
fn code_version() -> String {
    match option_env!("MULTIBERTS_GIT_REV") {
        Some(rev) => format!("{} (git {rev})", env!("CARGO_PKG_VERSION")),
        None => env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// sha256 of the manifest's job ids (sorted, one a line): what the sweep computes, whatever
/// the manifest's formatting; the first 16 hex digits.
pub fn jobs_hash(manifest: &Manifest) -> String {
    let mut ids: Vec<String> = manifest.jobs().into_iter().map(|j| j.id).collect();
    ids.sort();
    let digest = Sha256::digest(ids.join("\n").as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The procedure's signature, as sacrebleu prints one: one line for the report, one per
/// analysis.
fn signature_section(h: &mut String, page: &Page<'_>) {
    let _ = writeln!(
        h,
        "<section id=\"signature\">\n<h2>Signature</h2>\n<p>What produced these numbers; \
         quote it with them.</p>\n<ul>"
    );
    let _ = writeln!(
        h,
        "<li><span class=\"sig\">multiberts:{}|procedure:{PROCEDURE_VERSION}|jobs:sha256:{}|\
         summary:nboot:{SUMMARY_NBOOT}|level:0.95|rng:{}|axes:seeds+examples|per-seed:axes:examples</span></li>",
        escape(&code_version()),
        jobs_hash(page.manifest),
        RngSpec::default()
    );
    for a in page.analyses {
        let _ = writeln!(
            h,
            "<li>{}: <span class=\"sig\">{}</span></li>",
            escape(&a.name),
            escape(&a.report.signature.to_string())
        );
    }
    h.push_str("</ul>\n</section>\n");
}
