//! The paper's GLUE and SQuAD figures and the notebooks' comparisons (`2m_vs_1m.ipynb`,
//! `multi_vs_original.ipynb`) from the released `GLUE/` and `SQuAD/` folders.
//!
//! Per task, each (release, steps) group keeps its best learning rate (the mean dev score of
//! all its runs, the notebooks' rule). The figure draws the final MultiBERTs checkpoints' runs
//! (release `multiberts`, the largest step) and the original BERT's (release `public`); the
//! comparisons are 1M vs 2M steps (paired by seed) and the original BERT vs the final
//! MultiBERTs (unpaired), each when both groups are there.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use multiberts_bootstrap::{Design, Metric, Options, Report, ReportOptions};
use multiberts_collector::CollectorError;
use multiberts_collector::upstream::{SpanScore, UpstreamPredictions, python_float};

use super::{PaperFigure, PaperFigureRun, PaperOptions, PaperRow, PaperTable};
use crate::engine::{Request, Side, analyse};
use crate::error::{ReportError, Result};
use crate::figure::{Figure, FigureRun, StepUnit};
use crate::layouts::{GlueLayout, LayoutReader, SquadLayout};
use crate::stored::parse_selector;

/// The original BERT's runs in the figures' data.
const ORIGINAL: &str = "BERT (original)";
/// … and its column's label (short, so that it is always printed).
const ORIGINAL_COLUMN: &str = "BERT";

/// One task's runs with the metric its figure and comparisons use.
struct TaskRuns {
    /// The task as shown (`MNLI`, `SQuAD v2.0`).
    label: String,
    /// The runs; for SQuAD, the per-question score as predictions.
    data: UpstreamPredictions,
    metric: Metric,
    /// The metric's name (`accuracy`, `pearson`, `exact`, `f1`).
    metric_name: String,
}

/// The figures of every GLUE task and of SQuAD's exact and F1, and the table of the
/// notebooks' comparisons (empty when there is nothing to compare).
pub(super) fn glue_and_squad(
    o: &PaperOptions,
    notes: &mut Vec<String>,
) -> Result<(Vec<PaperFigure>, PaperTable)> {
    let mut tasks = Vec::new();
    let glue = o.dir.join("GLUE");
    if glue.join("index.tsv").is_file() {
        for task in index_tasks(&glue)? {
            let data = GlueLayout { root: glue.clone() }.read(Some(&task))?;
            let regression = data.scores.as_ref().is_some_and(|s| s.classes() == 1);
            let (metric, metric_name) = if regression {
                (Metric::Pearson, "pearson")
            } else {
                (Metric::Accuracy, "accuracy")
            };
            tasks.push(TaskRuns {
                label: task,
                data,
                metric,
                metric_name: metric_name.into(),
            });
        }
    } else {
        notes.push("GLUE/index.tsv not found: the GLUE figures are left out.".into());
    }
    let squad = o.dir.join("SQuAD");
    if squad.join("index.tsv").is_file() {
        let dev = o
            .squad_data
            .clone()
            .unwrap_or_else(|| squad.join("dev-v2.0.json"));
        if !dev.is_file() {
            return Err(ReportError::Request(format!(
                "the SQuAD answers are scored against the dev file, and {} is missing (pass \
                 --squad-data FILE)",
                dev.display()
            )));
        }
        let data = SquadLayout {
            root: squad,
            data: dev,
        }
        .read(Some("v2.0"))?;
        for (score, name) in [(SpanScore::Exact, "exact"), (SpanScore::F1, "f1")] {
            tasks.push(TaskRuns {
                label: "SQuAD v2.0".into(),
                data: data.clone().with_span_score(score)?,
                metric: Metric::Mean,
                metric_name: name.into(),
            });
        }
    } else {
        notes.push("SQuAD/index.tsv not found: the SQuAD figures are left out.".into());
    }
    let mut figures = Vec::new();
    let mut rows = Vec::new();
    for t in &tasks {
        let groups = best_learning_rates(t)?;
        if let Some(f) = figure(t, &groups)? {
            figures.push(f);
        }
        rows.extend(comparisons(o, t, &groups)?);
    }
    let table = PaperTable {
        id: "notebooks".into(),
        title: "The notebooks' GLUE and SQuAD comparisons".into(),
        description: "From 2m_vs_1m.ipynb and multi_vs_original.ipynb, on every task of the \
                      folder: MultiBERTs after 1M vs 2M pre-training steps (paired by seed), and \
                      the original BERT vs the final MultiBERTs (unpaired); each group at its \
                      best learning rate; p: fraction of draws with Δ ≤ 0."
            .into(),
        base: "per row".into(),
        expt: "per row".into(),
        rows,
    };
    Ok((figures, table))
}

/// The distinct tasks of `<root>/index.tsv`, sorted.
fn index_tasks(root: &Path) -> Result<Vec<String>> {
    let path = root.join("index.tsv");
    let text = std::fs::read_to_string(&path).map_err(|source| CollectorError::Io {
        path: path.clone(),
        source,
    })?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    let col = header
        .iter()
        .position(|h| *h == "task")
        .ok_or_else(|| ReportError::Request(format!("{} has no `task` column", path.display())))?;
    let tasks: BTreeSet<String> = lines
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| l.split('\t').nth(col).map(str::to_string))
        .collect();
    Ok(tasks.into_iter().collect())
}

/// A (release, steps in thousands) group of runs.
type Group = (String, i64);

/// Each group's best learning rate and the runs it keeps.
#[derive(Debug)]
struct Best {
    learning_rate: f64,
    runs: Vec<usize>,
}

/// Per (release, steps) group, the learning rate with the best mean dev score over its runs
/// (ties: the smaller rate) and those runs; each run's score is the task's metric.
fn best_learning_rates(t: &TaskRuns) -> Result<BTreeMap<Group, Best>> {
    let mut by: BTreeMap<Group, BTreeMap<u64, Vec<usize>>> = BTreeMap::new();
    for (r, run) in t.data.runs.iter().enumerate() {
        let release = run.keys.get("release").cloned().unwrap_or_default();
        let lr = run.learning_rate.unwrap_or(f64::NAN);
        by.entry((release, run.step_thousands().unwrap_or(0)))
            .or_default()
            .entry(lr.to_bits())
            .or_default()
            .push(r);
    }
    let mut out = BTreeMap::new();
    for (group, rates) in by {
        let mut best: Option<(f64, f64, Vec<usize>)> = None;
        let mut rates: Vec<(f64, Vec<usize>)> = rates
            .into_iter()
            .map(|(bits, runs)| (f64::from_bits(bits), runs))
            .collect();
        rates.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (lr, runs) in rates {
            let mut sum = 0.0;
            for &r in &runs {
                sum += t
                    .metric
                    .compute(&t.data.labels, t.data.predictions.row(r), None)?;
            }
            let mean = sum / runs.len() as f64;
            if best.as_ref().is_none_or(|b| mean > b.1) {
                best = Some((lr, mean, runs));
            }
        }
        if let Some((learning_rate, _, runs)) = best {
            out.insert(
                group,
                Best {
                    learning_rate,
                    runs,
                },
            );
        }
    }
    Ok(out)
}

/// The final MultiBERTs group: release `multiberts` at its largest step.
fn final_multiberts(groups: &BTreeMap<Group, Best>) -> Option<&Group> {
    groups
        .keys()
        .filter(|(r, _)| r == "multiberts")
        .max_by_key(|(_, s)| *s)
}

/// The figure of `t`: the final MultiBERTs runs by seed, then the original BERT's runs.
fn figure(t: &TaskRuns, groups: &BTreeMap<Group, Best>) -> Result<Option<PaperFigure>> {
    let Some(last) = final_multiberts(groups) else {
        return Ok(None);
    };
    let public = groups.iter().filter(|((r, _), _)| r == "public");
    let drawn = std::iter::once((last, &groups[last])).chain(public);
    let mut runs = Vec::new();
    let mut figure_runs = Vec::new();
    for ((release, _), best) in drawn {
        for &r in &best.runs {
            let run = &t.data.runs[r];
            let original = release == "public";
            let value = t
                .metric
                .compute(&t.data.labels, t.data.predictions.row(r), None)?;
            let seed = run.pretrain_seed.filter(|_| !original);
            let model = match seed {
                Some(s) => format!("seed {s}"),
                None if original => ORIGINAL.to_string(),
                None => run.get("pretrain_id").unwrap_or_default(),
            };
            let column = if original {
                ORIGINAL_COLUMN.into()
            } else {
                model.clone()
            };
            runs.push(PaperFigureRun {
                model,
                pretrain_seed: seed,
                finetune_seed: run.finetune_seed,
                learning_rate: run.learning_rate,
                value,
            });
            figure_runs.push(FigureRun {
                pretrain_seed: seed,
                checkpoint: column,
                step: None,
                // One colour for all: each column has its own best rate (listed in the JSON).
                learning_rate: f64::NAN,
                value,
            });
        }
    }
    let fig = Figure {
        task: t.label.clone(),
        variant: t.metric_name.clone(),
        metric: t.metric_name.clone(),
        runs: figure_runs,
        // The released checkpoints' steps: thousands.
        step_unit: StepUnit::Thousands,
    };
    Ok(Some(PaperFigure {
        task: t.label.clone(),
        metric: t.metric_name.clone(),
        checkpoints: format!("multiberts, {}", steps(last.1)),
        runs,
        file: fig.file_name(),
        svg: fig.svg()?,
    }))
}

/// Steps as upstream writes them: `2M`, `1M`, `200k`.
fn steps(thousands: i64) -> String {
    if thousands % 1000 == 0 && thousands > 0 {
        format!("{}M", thousands / 1000)
    } else {
        format!("{thousands}k")
    }
}

/// The selector of a group's runs at its best learning rate (the original BERT's runs by
/// release alone: upstream writes their steps as `0`, or not at all).
fn selector((release, step): &Group, best: &Best) -> String {
    let lr = python_float(best.learning_rate);
    if release == "public" {
        format!("release={release},lr={lr}")
    } else {
        format!("release={release},n_steps={step}k,lr={lr}")
    }
}

/// 1M vs 2M (paired) and the original BERT vs the final MultiBERTs (unpaired), when there.
fn comparisons(
    o: &PaperOptions,
    t: &TaskRuns,
    groups: &BTreeMap<Group, Best>,
) -> Result<Vec<PaperRow>> {
    let mut rows = Vec::new();
    let one = ("multiberts".to_string(), 1000);
    let two = ("multiberts".to_string(), 2000);
    if let (Some(b), Some(e)) = (groups.get(&one), groups.get(&two)) {
        let report = compare(o, t, &selector(&one, b), &selector(&two, e), Design::Paired)?;
        rows.push(comparison_row(t, "1M → 2M steps, paired", report));
    }
    let public = groups.iter().find(|((r, _), _)| r == "public");
    if let (Some((pg, pb)), Some(last)) = (public, final_multiberts(groups)) {
        let e = &groups[last];
        let report = compare(
            o,
            t,
            &selector(pg, pb),
            &selector(last, e),
            Design::Unpaired,
        )?;
        let what = format!("BERT → MultiBERTs {}, unpaired", steps(last.1));
        rows.push(comparison_row(t, &what, report));
    }
    Ok(rows)
}

/// A row of the comparisons' table.
fn comparison_row(t: &TaskRuns, what: &str, report: Report) -> PaperRow {
    PaperRow {
        label: format!("{} {}: {what}", t.label, t.metric_name),
        resampled: "seeds + examples".into(),
        report,
        in_family: true,
        p_holm: None,
    }
}

/// One comparison through the engine, with the notebooks' options.
fn compare(
    o: &PaperOptions,
    t: &TaskRuns,
    base: &str,
    expt: &str,
    design: Design,
) -> Result<Report> {
    let (b, e) = (parse_selector(base)?, parse_selector(expt)?);
    let side = |sel| Side {
        data: &t.data,
        selector: Some(sel),
    };
    let request = Request {
        base: side(&b),
        expt: Some(side(&e)),
        metric: t.metric,
        seed_key: "pretrain_seed",
        options: Options {
            design,
            nboot: o.nboot,
            sample_seeds: true,
            sample_examples: true,
            resample_runs: false,
            rng: o.rng,
        },
        report: ReportOptions::default(),
    };
    let analysed = analyse(&request).map_err(|e| ReportError::Analysis {
        name: format!("{} {}: {base} vs {expt}", t.label, t.metric_name),
        source: Box::new(e),
    })?;
    Ok(analysed.report)
}
