//! Assembles `report/index.html` ([`crate::html`]) from what [`crate::write_report`] computed:
//! the per-task figures it wrote, the per-seed intervals, the learning curves of tasks
//! fine-tuned from several pre-training steps, the bias pictures of Winogender-evaluated tasks
//! and the forest plot of the analyses.

use std::collections::BTreeMap;
use std::path::PathBuf;

use multiberts_collector::{Consolidation, ResultsTree};
use multiberts_manifest::Manifest;

use crate::coref::CorefData;
use crate::error::Result;
use crate::figure_bias::{bias_svg, bias_variants};
use crate::figure_curve::learning_curves;
use crate::figure_forest::{ForestRow, forest_svg};
use crate::figure_seeds::seed_intervals;
use crate::html::{FigureSection, Page, PageFigure, index_html};
use crate::summary::SummaryRow;
use crate::{AnalysisOutput, Tables};

/// What the page is made of besides the tables: the figures [`crate::write_report`] drew.
pub(crate) struct PageInputs<'a> {
    pub manifest: &'a Manifest,
    pub tree: &'a ResultsTree,
    pub tasks: &'a [Consolidation],
    pub coref: &'a BTreeMap<String, CorefData>,
    pub rows: &'a [SummaryRow],
    pub analyses: &'a [AnalysisOutput],
    /// The per-task figures, as written beside the page.
    pub task_figures: Vec<PageFigure>,
}

/// The per-seed intervals of every task, if any.
fn seeds_section(
    inputs: &PageInputs<'_>,
    tables: &mut Tables<'_>,
) -> Result<Option<FigureSection>> {
    let mut seeds = Vec::new();
    for c in inputs.tasks {
        for s in seed_intervals(tables.runs(&c.task)?, c, inputs.rows)? {
            seeds.push(PageFigure {
                title: s.title(),
                alt: format!(
                    "Per-seed intervals of {} for {} seeds",
                    s.metric,
                    s.seeds.len()
                ),
                svg: s.svg(),
                file: None,
            });
        }
    }
    Ok((!seeds.is_empty()).then(|| FigureSection {
        heading: "Per-seed intervals".into(),
        intro: "For each pre-training seed, the mean over its fine-tuning runs with a 95% \
                interval that resamples evaluation examples only: seed-to-seed spread against \
                example noise. The grey band is the summary's interval over seeds and examples."
            .into(),
        figures: seeds,
    }))
}

/// The learning curves of every task fine-tuned from several pre-training steps, if any.
fn curves_section(
    inputs: &PageInputs<'_>,
    tables: &mut Tables<'_>,
) -> Result<Option<FigureSection>> {
    let mut curves = Vec::new();
    for c in inputs.tasks {
        for curve in learning_curves(
            tables.runs(&c.task)?,
            c,
            crate::figure::step_unit(inputs.manifest),
        )? {
            curves.push(PageFigure {
                title: curve.title(),
                alt: format!(
                    "Learning curve of {} over {} pre-training steps",
                    curve.metric,
                    curve.steps.len()
                ),
                svg: curve.svg(),
                file: None,
            });
        }
    }
    Ok((!curves.is_empty()).then(|| FigureSection {
        heading: "Learning curves".into(),
        intro: "The primary metric over pre-training steps: a thin line per pre-training seed \
                (the mean over its fine-tuning runs), the mean over all runs in black, and a \
                grey 95% Multi-Bootstrap band per step that resamples seeds and examples."
            .into(),
        figures: curves,
    }))
}

/// Writes `report/index.html` atomically and returns its path.
pub(crate) fn write_index(mut inputs: PageInputs<'_>, tables: &mut Tables<'_>) -> Result<PathBuf> {
    let mut sections = Vec::new();
    if !inputs.task_figures.is_empty() {
        sections.push(FigureSection {
            heading: "Runs per task".into(),
            intro: "The primary dev metric of every kept run: one column per pre-training seed \
                    (a bar at the mean), or the metric against pre-training step."
                .into(),
            figures: std::mem::take(&mut inputs.task_figures),
        });
    }
    sections.extend(seeds_section(&inputs, tables)?);
    sections.extend(curves_section(&inputs, tables)?);
    let mut bias = Vec::new();
    for (task, data) in inputs.coref {
        let variants = bias_variants(data)?;
        bias.push(PageFigure {
            title: format!("{task}: bias by occupation"),
            alt: format!("Bias score per occupation against the BLS share of women, {task}"),
            svg: bias_svg(task, data, &variants),
            file: None,
        });
    }
    if !bias.is_empty() {
        sections.push(FigureSection {
            heading: "Gender bias (Winogender)".into(),
            intro: "Per occupation, the bias score averaged over each variant's runs against \
                    the BLS share of women, with a least-squares line per variant and the mean \
                    of the runs' bias r (the MultiBERTs case study)."
                .into(),
            figures: bias,
        });
    }
    let forest_rows: Vec<ForestRow> = inputs
        .manifest
        .analyses
        .iter()
        .zip(inputs.analyses)
        .map(|(a, out)| ForestRow {
            name: out.name.to_string(),
            metric: a.metric.clone(),
            report: out.report.clone(),
        })
        .collect();
    if let Some(svg) = forest_svg(&forest_rows) {
        sections.push(FigureSection {
            heading: "Analyses: forest plot".into(),
            intro: "Each analysis' E[L] and E[L'] with their intervals on its metric's scale, \
                    and E[L'−L] with its interval and p-value on a shared scale, zero dashed."
                .into(),
            figures: vec![PageFigure {
                title: "Analyses: forest plot".into(),
                alt: "Forest plot of the analyses".into(),
                svg,
                file: None,
            }],
        });
    }
    let page = Page {
        manifest: inputs.manifest,
        root: inputs.tree.root(),
        tasks: inputs.tasks,
        rows: inputs.rows,
        analyses: inputs.analyses,
        sections,
    };
    let path = inputs.tree.root().join("report").join("index.html");
    multiberts_collector::atomic::write_bytes(&path, index_html(&page).as_bytes())?;
    Ok(path)
}
