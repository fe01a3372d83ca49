//! One manifest `[[analyses]]` entry run on its task's consolidated table.

use std::str::FromStr;

use multiberts_bootstrap::{
    Design, Group, Metric, Options, Report, ReportOptions, RngSpec, multibootstrap, report_ci,
};
use multiberts_manifest::{Analysis, AnalysisKind};

use crate::coref::CorefData;
use crate::error::{ReportError, Result};
use crate::runs::{Runs, problem};

/// Whether a metric scores bias (its examples are occupations, not evaluation examples).
pub fn is_bias(metric: Metric) -> bool {
    matches!(metric, Metric::BiasR | Metric::BiasSlope)
}

/// Runs analysis `a` on `runs`, its task's consolidated table (see [`crate::read_runs`]); a bias
/// metric uses the task's `coref` data instead. Errors are wrapped in [`ReportError::Analysis`]
/// naming the analysis.
pub fn run_analysis(runs: &Runs, a: &Analysis, coref: Option<&CorefData>) -> Result<Report> {
    analysis_report(runs, a, coref).map_err(|e| ReportError::Analysis {
        name: a.name.clone(),
        source: Box::new(e),
    })
}

fn analysis_report(runs: &Runs, a: &Analysis, coref: Option<&CorefData>) -> Result<Report> {
    let (metric, runs) = crate::span::scoring(runs, &a.metric)?;
    let runs = runs.as_ref();
    let design = match a.kind {
        AnalysisKind::Single => Design::Single,
        AnalysisKind::Paired => Design::Paired,
        AnalysisKind::Unpaired => Design::Unpaired,
    };
    let mut sides = vec![(Group::Base, &a.base)];
    if let Some(e) = &a.experiment {
        sides.push((Group::Expt, e));
    }
    let problem = if is_bias(metric) {
        let data = coref.ok_or_else(|| ReportError::NoCorefData {
            task: a.task.clone(),
            metric: metric.to_string(),
        })?;
        data.bias_problem(&sides)?
    } else {
        problem(runs, &sides)?
    };
    let options = Options {
        design,
        nboot: a.nboot as usize,
        sample_seeds: a.sample_seeds,
        sample_examples: a.sample_examples,
        resample_runs: false,
        rng: RngSpec::from_str(&a.rng).map_err(|message| ReportError::Rng {
            spec: a.rng.clone(),
            message,
        })?,
    };
    let samples = multibootstrap(&problem, metric, &options)?;
    Ok(report_ci(
        &samples,
        &ReportOptions {
            level: a.level,
            abs_threshold: a.abs_threshold,
            rel_threshold: a.rel_threshold,
            expect_negative_effect: a.expect_negative_effect,
        },
    )?)
}
