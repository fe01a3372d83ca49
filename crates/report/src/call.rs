//! `multiberts bootstrap` as one call: where the predictions are, the repeated `--base` and
//! `--expt` selectors and metrics, the options every analysis shares, the correction and where
//! the draws go. One comparison runs as [`run_stored`], several (or a correction) as
//! [`run_family`].

use std::path::{Path, PathBuf};

use multiberts_bootstrap::Samples;

use crate::error::{ReportError, Result};
use crate::family::{Correction, FamilyOutcome, comparisons, run_family};
use crate::layouts::{CorefLayout, LayoutReader, layout_of};
use crate::span::requested_metric;
use crate::stored::{BootstrapOptions, Outcome, StoredAnalysis, run_stored};

/// A `multiberts bootstrap` call; the fields are its options, one for one (see the command's
/// help for each).
#[derive(Debug, Clone)]
pub struct BootstrapCall {
    /// Our predictions Parquet.
    pub predictions: Option<PathBuf>,
    /// An upstream GLUE layout root.
    pub glue: Option<PathBuf>,
    /// An upstream SQuAD layout root (scored against `data`).
    pub squad: Option<PathBuf>,
    /// The SQuAD dev file whose gold answers score `squad`'s runs.
    pub data: Option<PathBuf>,
    /// An upstream coref folder: the base group, or both groups.
    pub coref: Option<PathBuf>,
    /// A second upstream coref folder holding the experiment group.
    pub coref_expt: Option<PathBuf>,
    /// The task to analyse.
    pub task: Option<String>,
    /// Selectors of the baselines (repeated: several analyses).
    pub base: Vec<String>,
    /// Selectors of the experiments (repeated: several analyses).
    pub expt: Vec<String>,
    /// Metric names (none: accuracy, or exact for SQuAD).
    pub metric: Vec<String>,
    /// The correction of the call's p-values.
    pub correct: Correction,
    /// The options every analysis of the call shares.
    pub options: BootstrapOptions,
    /// Where to write the draws of the call's one analysis (CSV, or JSON for `.json`).
    pub samples: Option<PathBuf>,
}

/// What a [`BootstrapCall`] computed.
#[derive(Debug)]
pub enum BootstrapOutcome {
    /// One analysis, without a correction.
    Single(Box<Outcome>),
    /// Several analyses (or one with a correction).
    Family(FamilyOutcome),
}

impl BootstrapOutcome {
    /// The result as `multiberts bootstrap` prints it.
    pub fn text(&self) -> String {
        match self {
            Self::Single(out) => out.text(),
            Self::Family(out) => out.text(),
        }
    }

    /// The result as JSON (`--json`).
    pub fn json(&self) -> serde_json::Value {
        match self {
            Self::Single(out) => out.json(),
            Self::Family(out) => out.json(),
        }
    }
}

impl BootstrapCall {
    /// Runs the call's analyses and writes the draws (`samples`) of its one analysis.
    pub fn run(&self) -> Result<BootstrapOutcome> {
        let (analysis, family) = self.request()?;
        if family.len() > 1 || self.correct != Correction::None {
            let out = run_family(&analysis, &family, self.correct)?;
            if let (Some(path), [only]) = (&self.samples, out.members.as_slice()) {
                write_samples(path, &only.outcome.samples)?;
            }
            return Ok(BootstrapOutcome::Family(out));
        }
        let out = run_stored(&analysis)?;
        if let Some(path) = &self.samples {
            write_samples(path, &out.samples)?;
        }
        Ok(BootstrapOutcome::Single(Box::new(out)))
    }

    /// The analysis the call asks for (its sides and metric those of the first comparison)
    /// and every comparison of the call.
    fn request(&self) -> Result<(StoredAnalysis, Vec<crate::Comparison>)> {
        let squad = self.squad.as_deref().zip(self.data.as_deref());
        let layout = layout_of(
            self.predictions.as_deref(),
            self.glue.as_deref(),
            squad,
            self.coref.as_deref(),
        )?;
        let metrics = match self.metric.as_slice() {
            [] => vec![requested_metric(None, squad.is_some())?],
            names => names
                .iter()
                .map(|m| requested_metric(Some(m), squad.is_some()))
                .collect::<Result<_>>()?,
        };
        let family = comparisons(&self.base, &self.expt, &metrics)?;
        if family.len() > 1 && self.samples.is_some() {
            return Err(ReportError::Request(format!(
                "--samples writes the draws of one analysis; this call asks for {} (run them one \
                 at a time)",
                family.len()
            )));
        }
        let first = family
            .first()
            .cloned()
            .ok_or_else(|| ReportError::Request("no analysis asked for".into()))?;
        let expt_layout = self
            .coref_expt
            .clone()
            .map(|dir| -> Box<dyn LayoutReader> { Box::new(CorefLayout { dir }) });
        let analysis = StoredAnalysis {
            layout,
            expt_layout,
            task: self.task.clone(),
            base: first.base,
            expt: first.expt,
            metric: first.metric,
            span_score: first.span_score,
            options: self.options.clone(),
        };
        Ok((analysis, family))
    }
}

/// Writes the draws to `path`: CSV `draw,base,expt`, JSON if it ends in `.json`.
fn write_samples(path: &Path, samples: &Samples) -> Result<()> {
    let bytes = if path.extension().is_some_and(|e| e == "json") {
        serde_json::to_vec_pretty(samples).map_err(|e| ReportError::Request(e.to_string()))?
    } else {
        samples.to_csv().into_bytes()
    };
    multiberts_collector::atomic::write_bytes(path, &bytes).map_err(|source| ReportError::Samples {
        path: path.to_path_buf(),
        source: Box::new(source),
    })
}
