//! One manifest `[[analyses]]` entry run through the analysis engine on its task's
//! consolidated table.

use std::str::FromStr;

use multiberts_bootstrap::{Design, Metric, Options, Report, ReportOptions, RngSpec};
use multiberts_collector::upstream::UpstreamPredictions;
use multiberts_manifest::{Analysis, AnalysisKind, Selector};

use crate::coref::CorefData;
use crate::engine::{Request, Side, analyse};
use crate::error::{ReportError, Result};
use crate::runs::Runs;

/// Whether a metric scores bias (its examples are occupations, not evaluation examples).
pub fn is_bias(metric: Metric) -> bool {
    matches!(metric, Metric::BiasR | Metric::BiasSlope)
}

/// Runs analysis `a` on `runs`, its task's consolidated table (see [`crate::read_runs`]); a bias
/// metric uses the task's `coref` data instead. Errors are wrapped in [`ReportError::Analysis`]
/// naming the analysis.
pub fn run_analysis(runs: &Runs, a: &Analysis, coref: Option<&CorefData>) -> Result<Report> {
    analysis_report(runs, a, coref).map_err(|e| ReportError::Analysis {
        name: a.name.to_string(),
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
    let bias;
    let data = if is_bias(metric) {
        let coref = coref.ok_or_else(|| ReportError::NoCorefData {
            task: a.task.to_string(),
            metric: metric.to_string(),
        })?;
        bias = coref.bias_set()?;
        &bias
    } else {
        &runs.set
    };
    // An empty manifest selector is "every run": the engine's missing selector.
    fn side<'a>(data: &'a UpstreamPredictions, selector: &'a Selector) -> Side<'a> {
        Side {
            data,
            selector: (!selector.conditions.is_empty()).then_some(selector),
        }
    }
    let request = Request {
        base: side(data, &a.base),
        expt: a.experiment.as_ref().map(|e| side(data, e)),
        metric,
        seed_key: "pretrain_seed",
        options: Options {
            design,
            nboot: a.nboot as usize,
            sample_seeds: a.sample_seeds,
            sample_examples: a.sample_examples,
            resample_runs: false,
            rng: RngSpec::from_str(&a.rng).map_err(|message| ReportError::Rng {
                spec: a.rng.clone(),
                message,
            })?,
        },
        report: ReportOptions {
            level: a.level,
            abs_threshold: a.abs_threshold,
            rel_threshold: a.rel_threshold,
            expect_negative_effect: a.expect_negative_effect,
        },
    };
    Ok(analyse(&request)?.report)
}
