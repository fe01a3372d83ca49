//! The per-task summary table: per task, variant and learning rate, the primary dev metric of
//! each run as mean ± sd and a single-procedure Multi-Bootstrap interval; rendered as the
//! Markdown of `report/summary.md` and the CSV of `report/summary.csv`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use multiberts_bootstrap::{
    Design, Metric, Options, Problem, ReportOptions, multibootstrap, report_ci,
};
use multiberts_collector::Consolidation;
use multiberts_collector::upstream::UpstreamPredictions;
use multiberts_manifest::{Manifest, Selector};
use serde::{Deserialize, Serialize};

use crate::AnalysisOutput;
use crate::analysis::is_bias;
use crate::coref::CorefData;
use crate::engine::{Request, Side, problem, select};
use crate::error::{ReportError, Result};
use crate::family::family_note;
use crate::runs::Runs;

/// Draws of the per-task intervals in the summary.
pub const SUMMARY_NBOOT: usize = 1000;

/// One row of the summary table (and of `summary.csv`, whose columns are these fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    /// The task.
    pub task: String,
    /// The task variant (empty for the plain task).
    pub variant: String,
    /// The metric (the task's primary dev metric, or bias_r / bias_slope).
    pub metric: String,
    /// The fine-tuning learning rate of the row's runs.
    pub learning_rate: f64,
    /// Runs in the row.
    pub runs: usize,
    /// Distinct pre-training seeds among them.
    pub seeds: usize,
    /// Mean of the runs' metric (runs with an undefined metric left out).
    pub mean: f64,
    /// Sample standard deviation of the runs' metric (NaN for fewer than two runs).
    pub sd: f64,
    /// Lower end of the 95% bootstrap interval (NaN when undefined).
    pub ci_low: f64,
    /// Upper end of the 95% bootstrap interval (NaN when undefined).
    pub ci_high: f64,
}

impl SummaryRow {
    /// The row of `summary.md`.
    pub fn markdown(&self) -> String {
        let label = if self.variant.is_empty() {
            self.task.clone()
        } else {
            format!("{}[{}]", self.task, self.variant)
        };
        let interval = if self.ci_low.is_finite() && self.ci_high.is_finite() {
            format!("[{:.4}, {:.4}]", self.ci_low, self.ci_high)
        } else {
            // A draw's estimate averages every run it holds, so one run with an undefined metric
            // (bias r of constant bias scores) makes every draw undefined.
            "undefined (a run's metric is undefined)".to_string()
        };
        format!(
            "| {label} | {} | {:e} | {} | {} | {:.4} ± {:.4} | {interval} |",
            self.metric, self.learning_rate, self.runs, self.seeds, self.mean, self.sd
        )
    }
}

/// What a summary row is about, before its numbers.
struct RowKey<'a> {
    task: &'a str,
    variant: &'a str,
    metric: Metric,
    /// The metric's name in the table (a span task's `exact`/`f1` are computed as `mean`).
    name: &'a str,
    learning_rate: f64,
}

/// Mean ± sd of per-run scores and a single-procedure bootstrap interval over `problem`.
fn summary_row(key: RowKey<'_>, scores: &[f64], problem: &Problem) -> Result<SummaryRow> {
    // Runs whose metric is undefined (e.g. bias r of a run whose bias scores are all equal)
    // are left out of the mean and sd, as pandas' mean does.
    let defined: Vec<f64> = scores.iter().copied().filter(|s| !s.is_nan()).collect();
    let n = defined.len() as f64;
    let mean = defined.iter().sum::<f64>() / n;
    let sd = if defined.len() > 1 {
        (defined.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        f64::NAN
    };
    let mut seeds: Vec<u64> = problem.runs().iter().map(|r| r.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let options = Options {
        design: Design::Single,
        nboot: SUMMARY_NBOOT,
        ..Options::default()
    };
    let samples = multibootstrap(problem, key.metric, &options)?;
    let report = report_ci(&samples, &ReportOptions::default())?;
    let (ci_low, ci_high) = if report.base.low.is_finite() && report.base.high.is_finite() {
        (report.base.low, report.base.high)
    } else {
        (f64::NAN, f64::NAN)
    };
    Ok(SummaryRow {
        task: key.task.to_string(),
        variant: key.variant.to_string(),
        metric: key.name.to_string(),
        learning_rate: key.learning_rate,
        runs: scores.len(),
        seeds: seeds.len(),
        mean,
        sd,
        ci_low,
        ci_high,
    })
}

/// The engine's problem of the runs of `data` that `sel` picks, as one procedure.
pub(crate) fn single_problem(
    data: &UpstreamPredictions,
    sel: &Selector,
    metric: Metric,
) -> Result<Problem> {
    problem(&Request {
        base: Side {
            data,
            selector: Some(sel),
        },
        expt: None,
        metric,
        seed_key: "pretrain_seed",
        options: Options {
            design: Design::Single,
            nboot: SUMMARY_NBOOT,
            ..Options::default()
        },
        report: ReportOptions::default(),
    })
}

/// Summary rows of one consolidated task from its table `runs`: one per (variant, learning
/// rate), plus bias r and bias slope for a Winogender-evaluated task (`coref`).
pub fn task_rows(
    runs: &Runs,
    c: &Consolidation,
    coref: Option<&CorefData>,
) -> Result<Vec<SummaryRow>> {
    let (metric, runs) = crate::span::scoring(runs, &c.primary_metric)?;
    let runs = runs.as_ref();
    let mut groups: BTreeMap<(String, u64), Vec<usize>> = BTreeMap::new();
    for (i, run) in runs.first.iter().enumerate() {
        groups
            .entry((run.variant.clone(), run.learning_rate.to_bits()))
            .or_default()
            .push(i);
    }
    let mut rows = Vec::new();
    for ((variant, bits), idx) in groups {
        let lr = f64::from_bits(bits);
        let key = |metric: Metric| RowKey {
            task: &c.task,
            variant: &variant,
            metric,
            name: if metric == Metric::Mean {
                &c.primary_metric
            } else {
                metric.name()
            },
            learning_rate: lr,
        };
        let sel = Selector {
            conditions: vec![
                ("variant".into(), variant.clone()),
                ("learning_rate".into(), lr.to_string()),
            ],
        };
        if !is_bias(metric) {
            let scores = runs.scores(&idx, metric)?;
            let problem = single_problem(&runs.set, &sel, metric)?;
            rows.push(summary_row(key(metric), &scores, &problem)?);
        }
        if let Some(data) = coref {
            let picked = select(&data.predictions, Some(&sel))?;
            let bias = single_problem(&data.bias_set()?, &sel, Metric::BiasR)?;
            for m in [Metric::BiasR, Metric::BiasSlope] {
                let scores = data.scores(&picked, m)?;
                rows.push(summary_row(key(m), &scores, &bias)?);
            }
        }
    }
    Ok(rows)
}

/// `report/summary.md`: the manifest's title and description, the summary table and, when the
/// manifest has analyses, their table (`analyses` aligned with the manifest's analyses), with a
/// `p (Holm)` column and a note naming the corrected family when the p-values were adjusted.
pub fn summary_markdown(
    manifest: &Manifest,
    rows: &[SummaryRow],
    analyses: &[AnalysisOutput],
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# {}: results\n", manifest.name);
    if !manifest.description.is_empty() {
        let _ = writeln!(md, "{}\n", manifest.description);
    }
    let _ = writeln!(
        md,
        "Per task and learning rate: the primary dev metric of each run, mean ± sd across runs \
         (pre-training × fine-tuning seeds), and a {}% Multi-Bootstrap interval that resamples \
         pre-training seeds and dev examples ({} draws).\n",
        95, SUMMARY_NBOOT
    );
    let _ = writeln!(
        md,
        "| task | metric | learning rate | runs | seeds | mean ± sd | bootstrap 95% CI |\n|---|---|---|---|---|---|---|"
    );
    for row in rows {
        md.push_str(&row.markdown());
        md.push('\n');
    }
    if !manifest.analyses.is_empty() {
        analyses_markdown(&mut md, manifest, analyses);
    }
    md
}

/// The analyses section of `summary.md`.
fn analyses_markdown(md: &mut String, manifest: &Manifest, analyses: &[AnalysisOutput]) {
    let holm = analyses.iter().any(|a| a.p_holm.is_some());
    let _ = writeln!(md, "\n## Analyses\n");
    let (extra, rule) = if holm {
        (" p (Holm) |", "---|")
    } else {
        ("", "")
    };
    let _ = writeln!(
        md,
        "| analysis | kind | task | metric | base | experiment | delta (CI) | p |{extra}\n|---|---|---|---|---|---|---|---|{rule}"
    );
    let iv =
        |i: &multiberts_bootstrap::Interval| format!("{:.4} [{:.4}, {:.4}]", i.mean, i.low, i.high);
    for (a, out) in manifest.analyses.iter().zip(analyses) {
        let report = &out.report;
        let adjusted = if holm {
            format!(
                " {} |",
                out.p_holm.map_or(String::new(), |p| format!("{p:.3}"))
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            md,
            "| {} | {:?} | {} | {} | {} | {} | {} | {} |{adjusted}",
            a.name,
            a.kind,
            a.task,
            a.metric,
            iv(&report.base),
            report.expt.as_ref().map_or("".into(), iv),
            report.delta.map_or("".into(), |d| format!(
                "{:+.4} [{:+.4}, {:+.4}]",
                d.mean, d.low, d.high
            )),
            report.delta.map_or("".into(), |d| format!("{:.3}", d.p)),
        );
    }
    if holm {
        let _ = writeln!(md, "\n{}", family_note(&family_names(analyses)));
    }
}

/// The names of the analyses with a p-value: the family the Holm column corrects.
pub(crate) fn family_names(analyses: &[AnalysisOutput]) -> Vec<&str> {
    analyses
        .iter()
        .filter(|a| a.report.delta.is_some())
        .map(|a| a.name.as_str())
        .collect()
}

/// The rows as CSV with a header (`task,variant,metric,learning_rate,runs,seeds,mean,sd,
/// ci_low,ci_high`); undefined numbers are written `NaN`. `path` only names the file in errors.
pub fn summary_csv(rows: &[SummaryRow], path: &Path) -> Result<Vec<u8>> {
    let csv_error = |source| ReportError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    if rows.is_empty() {
        // serde writes the header with the first row; an empty table still gets its columns.
        w.write_record(CSV_COLUMNS).map_err(csv_error)?;
    }
    for row in rows {
        w.serialize(row).map_err(csv_error)?;
    }
    w.into_inner()
        .map_err(|e| csv_error(csv::Error::from(e.into_error())))
}

/// The columns of `summary.csv`, in order.
pub const CSV_COLUMNS: [&str; 10] = [
    "task",
    "variant",
    "metric",
    "learning_rate",
    "runs",
    "seeds",
    "mean",
    "sd",
    "ci_low",
    "ci_high",
];
