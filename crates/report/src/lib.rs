//! Reports regenerated from stored results: the per-task summary table (`report/summary.md`,
//! `report/summary.csv`, and with the analyses table as LaTeX in `report/summary.tex`), the
//! manifest's Multi-Bootstrap analyses (`report/<name>.json`) and one figure per task and
//! variant (`report/<task>.svg`, `report/<task>.<variant>.svg`), computed from the
//! consolidated `predictions/<task>.parquet` tables.
//!
//! Every analysis — the manifest's `[[analyses]]`, the summary's intervals, `multiberts
//! bootstrap` on any stored layout — goes through one route, the analysis [`engine`]: runs in
//! the collector's neutral form + selectors + metric and options → problem → report. Stored
//! layouts are read by a [`LayoutReader`] each.
//!
//! `multiberts collect` calls [`write_report`] right after consolidating; `multiberts report`
//! calls [`report_from_tables`] on tables consolidated earlier, so the same files come out
//! without the job directories.

mod analysis;
mod call;
mod collect;
mod coref;
pub mod engine;
mod error;
mod family;
mod figure;
mod figure_bias;
mod figure_curve;
mod figure_forest;
mod figure_seeds;
mod figure_svg;
mod html;
mod latex;
mod layouts;
mod page;
mod paper;
mod runs;
mod span;
mod stored;
mod summary;
mod svg;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use multiberts_bootstrap::{Metric, Report, RngSpec, Samples};
use multiberts_collector::consolidate::{read_selection, selection_path, table_path};
use multiberts_collector::{CollectorError, Consolidation, ResultsTree};
use multiberts_manifest::Manifest;

pub use analysis::{is_bias, run_analysis};
pub use call::{BootstrapCall, BootstrapOutcome};
pub use collect::{Collected, RuleChoice, TaskCollected, collect, collect_current, rule_for};
pub use coref::{CorefData, coref_data};
pub use engine::{Analysed, Request, SeedRule, Side, analyse};
pub use error::{ReportError, Result};
pub use family::{
    Comparison, Correction, FamilyOutcome, Member, comparisons, family_note, family_size,
    holm_adjusted, run_family,
};
pub use figure::{Figure, FigureRun, Layout, SeedKey, StepUnit, task_figures};
pub use figure_bias::{BiasVariant, bias_svg, bias_variants};
pub use figure_curve::{CurveStep, LearningCurve, learning_curves};
pub use figure_forest::{ForestRow, forest_svg};
pub use figure_seeds::{SeedInterval, SeedIntervals, seed_intervals};
pub use figure_svg::{DATA_STROKE, DOT_RADIUS};
pub use html::{FigureSection, Page, PageFigure, escape, index_html, inline_svg, jobs_hash};
pub use latex::{latex_escape, summary_latex};
pub use layouts::{CorefLayout, GlueLayout, LayoutReader, ParquetLayout, SquadLayout, layout_of};
pub use paper::{
    PAPER_NBOOT, PAPER_RNG, PaperFigure, PaperFigureRun, PaperOptions, PaperRow, PaperTable,
    PaperWritten, paper_report,
};
pub use runs::{Runs, read_runs};
pub use span::{requested_metric, scoring, upstream_squad_task};
pub use stored::{BootstrapOptions, Outcome, StoredAnalysis, parse_selector, run_stored};
pub use summary::{
    CSV_COLUMNS, SUMMARY_NBOOT, SummaryRow, summary_csv, summary_markdown, task_rows,
};

/// The manifest's task names in manifest order, each once (a task listed once per variant has
/// one table holding every variant).
pub fn task_names(manifest: &Manifest) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for t in &manifest.tasks {
        if !names.contains(&t.name.as_str()) {
            names.push(&t.name);
        }
    }
    names
}

/// One analysis written to `report/<name>.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisOutput {
    /// The analysis' name in the manifest.
    pub name: multiberts_tasks::SafeName,
    /// Its JSON file.
    pub path: PathBuf,
    /// Its result.
    pub report: Report,
    /// Its p-value adjusted by Holm–Bonferroni across the family of the manifest's analyses
    /// with a p-value, when that family has at least two members (else `None`).
    pub p_holm: Option<f64>,
}

/// What [`write_report`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// `report/summary.md`.
    pub summary_md: PathBuf,
    /// `report/summary.csv`.
    pub summary_csv: PathBuf,
    /// `report/summary.tex`: the summary and analyses tables for `\input{}` in a paper.
    pub summary_tex: PathBuf,
    /// The summary rows, as in all three files.
    pub rows: Vec<SummaryRow>,
    /// The analyses, in manifest order.
    pub analyses: Vec<AnalysisOutput>,
    /// The figures (`report/<task>.svg`, `report/<task>.<variant>.svg`), in table order and
    /// per task the plain task first, then its variants by name.
    pub figures: Vec<PathBuf>,
    /// `report/index.html`: every table and figure on one offline page.
    pub index_html: PathBuf,
}

/// Writes `report/` under `tree`: each analysis' JSON, `summary.md`, `summary.csv`,
/// `summary.tex` and each task variant's figure, from the consolidated tables of `tasks` (in
/// table order) and the coref data of Winogender-evaluated tasks (keyed by task). Every file is
/// written atomically.
pub fn write_report(
    manifest: &Manifest,
    tree: &ResultsTree,
    tasks: &[Consolidation],
    coref: &BTreeMap<String, CorefData>,
) -> Result<Written> {
    let dir = tree.root().join("report");
    std::fs::create_dir_all(&dir).map_err(|source| CollectorError::Io {
        path: dir.clone(),
        source,
    })?;
    let mut tables = Tables::new(tree);
    let mut rows = Vec::new();
    let mut figures = Vec::new();
    let mut page_figures = Vec::new();
    let step_unit = crate::figure::step_unit(manifest);
    for c in tasks {
        let runs = tables.runs(&c.task)?;
        rows.extend(task_rows(runs, c, coref.get(&c.task))?);
        for figure in task_figures(runs, c, coref.get(&c.task), step_unit)? {
            let path = dir.join(figure.file_name());
            let svg = figure.svg()?;
            multiberts_collector::atomic::write_bytes(&path, svg.as_bytes())?;
            figures.push(path);
            page_figures.push(PageFigure {
                title: figure.title(),
                alt: format!("{} of each run: {}", figure.metric, figure.note()),
                svg,
                file: Some(figure.file_name()),
            });
        }
    }
    let analyses = write_analyses(manifest, &mut tables, coref, &dir)?;
    let summary_md = dir.join("summary.md");
    let md = summary_markdown(manifest, &rows, &analyses);
    multiberts_collector::atomic::write_bytes(&summary_md, md.as_bytes())?;
    let summary_csv_path = dir.join("summary.csv");
    let csv = summary_csv(&rows, &summary_csv_path)?;
    multiberts_collector::atomic::write_bytes(&summary_csv_path, &csv)?;
    let summary_tex = dir.join("summary.tex");
    let tex = summary_latex(manifest, &rows, &analyses);
    multiberts_collector::atomic::write_bytes(&summary_tex, tex.as_bytes())?;
    let inputs = page::PageInputs {
        manifest,
        tree,
        tasks,
        coref,
        rows: &rows,
        analyses: &analyses,
        task_figures: page_figures,
    };
    let index_html = page::write_index(inputs, &mut tables)?;
    Ok(Written {
        summary_md,
        summary_csv: summary_csv_path,
        summary_tex,
        rows,
        analyses,
        figures,
        index_html,
    })
}

/// Runs the manifest's analyses on their tables, adjusts their p-values by Holm–Bonferroni
/// when at least two have one, and writes each to `dir/<name>.json` (the report, plus `holm`:
/// the adjusted p-value and the family's names, when adjusted).
fn write_analyses(
    manifest: &Manifest,
    tables: &mut Tables<'_>,
    coref: &BTreeMap<String, CorefData>,
    dir: &Path,
) -> Result<Vec<AnalysisOutput>> {
    let mut reports = Vec::new();
    for a in &manifest.analyses {
        reports.push(run_analysis(
            tables.runs(&a.task)?,
            a,
            coref.get(a.task.as_str()),
        )?);
    }
    let refs: Vec<&Report> = reports.iter().collect();
    let adjusted = if family_size(&refs) >= 2 {
        holm_adjusted(&refs)
    } else {
        vec![None; reports.len()]
    };
    let family: Vec<&str> = manifest
        .analyses
        .iter()
        .zip(&reports)
        .filter(|(_, r)| r.delta.is_some())
        .map(|(a, _)| a.name.as_str())
        .collect();
    let mut out = Vec::new();
    for ((a, report), p_holm) in manifest.analyses.iter().zip(reports).zip(adjusted) {
        let path = dir.join(format!("{}.json", a.name));
        match p_holm {
            Some(p) => {
                let json = AnalysisJson {
                    report: &report,
                    holm: HolmJson {
                        p_adjusted: p,
                        family: &family,
                    },
                };
                multiberts_collector::atomic::write_json(&path, &json)?
            }
            None => multiberts_collector::atomic::write_json(&path, &report)?,
        }
        out.push(AnalysisOutput {
            name: a.name.clone(),
            path,
            report,
            p_holm,
        });
    }
    Ok(out)
}

/// An analysis' JSON with its Holm-adjusted p-value: the report's fields, then `holm`.
#[derive(serde::Serialize)]
struct AnalysisJson<'a> {
    #[serde(flatten)]
    report: &'a Report,
    holm: HolmJson<'a>,
}

/// The `holm` object of an analysis' JSON.
#[derive(serde::Serialize)]
struct HolmJson<'a> {
    /// The adjusted p-value.
    p_adjusted: f64,
    /// The names of the analyses adjusted together, in manifest order.
    family: &'a [&'a str],
}

/// The consolidated tables of one report, each read once however many summary rows and
/// analyses use it (a sweep's table can hold millions of rows). Only the runs' predictions are
/// kept, a small fraction of the table.
struct Tables<'a> {
    tree: &'a ResultsTree,
    read: BTreeMap<String, Runs>,
}

impl<'a> Tables<'a> {
    fn new(tree: &'a ResultsTree) -> Self {
        Self {
            tree,
            read: BTreeMap::new(),
        }
    }

    /// `predictions/<task>.parquet` as runs, read on first use.
    fn runs(&mut self, task: &str) -> Result<&Runs> {
        if !self.read.contains_key(task) {
            let runs = read_runs(&table_path(self.tree, task))?;
            self.read.insert(task.to_string(), runs);
        }
        Ok(&self.read[task])
    }
}

/// The consolidation record of each of the manifest's tasks, read from
/// `predictions/<task>.selection.json`; a task without it or without its table is a
/// [`ReportError::NotCollected`] naming the missing file.
pub fn consolidated_tasks(manifest: &Manifest, tree: &ResultsTree) -> Result<Vec<Consolidation>> {
    let not_collected = |task: &str, path: PathBuf| ReportError::NotCollected {
        task: task.to_string(),
        path,
        manifest: manifest.path.display().to_string(),
    };
    let mut out = Vec::new();
    for task in task_names(manifest) {
        let selection = selection_path(tree, task);
        if !selection.is_file() {
            return Err(not_collected(task, selection));
        }
        let table = table_path(tree, task);
        if !table.is_file() {
            return Err(not_collected(task, table));
        }
        // Every reader below goes through this: a damaged table is an error, not results.
        multiberts_collector::consolidate::check_table(&table)?;
        out.push(read_selection(tree, task)?);
    }
    Ok(out)
}

/// `multiberts report`: regenerates `report/` from the already consolidated tables of every
/// task of the manifest, without the job directories. Winogender metadata for coref tasks is
/// read from `data_dir` (else MULTIBERTS_DATA or the manifest's `data_dir`).
pub fn report_from_tables(
    manifest: &Manifest,
    tree: &ResultsTree,
    data_dir: Option<&Path>,
) -> Result<Written> {
    let tasks = consolidated_tasks(manifest, tree)?;
    let mut coref = BTreeMap::new();
    for c in &tasks {
        if let Some(data) = coref_data(manifest, &c.task, &table_path(tree, &c.task), data_dir)? {
            coref.insert(c.task.clone(), data);
        }
    }
    write_report(manifest, tree, &tasks, &coref)
}

/// Writes integers compactly, collapsing runs: `0..=4, 7, 9..=10`.
pub fn format_ints(values: &[u64]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < values.len() {
        let mut j = i;
        while j + 1 < values.len() && values[j + 1] == values[j] + 1 {
            j += 1;
        }
        parts.push(if j - i >= 2 {
            format!("{}..={}", values[i], values[j])
        } else if j > i {
            format!("{}, {}", values[i], values[j])
        } else {
            values[i].to_string()
        });
        i = j + 1;
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn integer_runs_collapse() {
        assert_eq!(super::format_ints(&[0, 1, 2, 3, 4]), "0..=4");
        assert_eq!(super::format_ints(&[0, 1, 5, 7, 8, 9]), "0, 1, 5, 7..=9");
        assert_eq!(super::format_ints(&[3]), "3");
    }
}
