//! Winogender-evaluated tasks: the consolidated runs joined with the per-sentence metadata,
//! the BLS shares and the per-run bias scores that the bias metrics bootstrap over.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use multiberts_bootstrap::Metric;
use multiberts_collector::upstream::{BiasInputs, CorefExample, UpstreamPredictions};
use multiberts_manifest::Manifest;
use multiberts_tasks::TaskKind;

use crate::error::{ReportError, Result};

/// A Winogender-evaluated task's consolidated runs with the per-sentence metadata, the BLS
/// shares and the per-run bias scores.
#[derive(Debug, Clone, PartialEq)]
pub struct CorefData {
    /// The runs in the neutral upstream form, with `coref_examples` filled in.
    pub predictions: UpstreamPredictions,
    /// BLS share of women per occupation (percent).
    pub bls_pct_female: BTreeMap<String, f64>,
    /// Per run, the occupations' bias scores; the BLS shares as labels.
    pub bias: BiasInputs,
}

/// The coref data of `task` when its evaluation split is made of Winogender-like choice items
/// (span-pair examples with `choice` and `occupation`/`gender` metadata); `None` otherwise, and
/// also when its data cannot be read (a warning says so: the tables and the other analyses
/// stand, and an analysis needing the metadata says what is missing). The data root is
/// `data_dir`, else MULTIBERTS_DATA or the manifest's `data_dir`.
pub fn coref_data(
    manifest: &Manifest,
    task: &str,
    table: &Path,
    data_dir: Option<&Path>,
) -> Result<Option<CorefData>> {
    let spec = manifest.registry.get(task)?;
    if spec.kind != TaskKind::SpanPair {
        return Ok(None);
    }
    let root = multiberts_tasks::data_root(data_dir, manifest.data_dir.as_deref())
        .unwrap_or_else(|| PathBuf::from("."));
    let eval = match spec.load_split(&root, &spec.eval_split) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(
                task,
                error = %e,
                "cannot read the evaluation split for the coref export; pass --data-dir or set \
                 MULTIBERTS_DATA"
            );
            return Ok(None);
        }
    };
    let meta_error = |message: String| ReportError::CorefMetadata {
        task: task.to_string(),
        message,
    };
    let mut by_group: BTreeMap<String, CorefExample> = BTreeMap::new();
    let mut bls: BTreeMap<String, f64> = BTreeMap::new();
    for e in &eval.examples {
        let Some(choice) = e.choice.as_ref().filter(|c| c.candidate == 0) else {
            continue;
        };
        if !(e.meta.contains_key("occupation") && e.meta.contains_key("gender")) {
            return Ok(None);
        }
        let ex = CorefExample::from_meta(&e.meta)
            .map_err(|m| meta_error(format!("example `{}`: {m}", e.id)))?;
        if let Some(p) = e.meta.get("bls_pct_female") {
            let v: f64 = p.parse().map_err(|_| {
                meta_error(format!(
                    "example `{}`: bls_pct_female {p:?} is not a number",
                    e.id
                ))
            })?;
            bls.insert(ex.occupation.clone(), v);
        }
        by_group.insert(choice.group.clone(), ex);
    }
    if by_group.is_empty() {
        return Ok(None);
    }
    let mut predictions = UpstreamPredictions::from_parquet(table, |_| true)?;
    let rows = multiberts_collector::read_predictions(table)?;
    let first = rows.first().map(|r| r.job_id.clone()).unwrap_or_default();
    let mut ids: Vec<(i64, &str)> = rows
        .iter()
        .filter(|r| r.job_id == first)
        .map(|r| (r.example_index, r.example_id.as_str()))
        .collect();
    ids.sort_unstable();
    let examples = ids
        .iter()
        .map(|(_, id)| {
            by_group
                .get(*id)
                .cloned()
                .ok_or_else(|| ReportError::Table {
                    path: table.to_path_buf(),
                    message: format!(
                        "row `{id}` is not a sentence of the evaluation split of `{task}`"
                    ),
                })
        })
        .collect::<Result<Vec<_>>>()?;
    predictions.coref_examples = Some(examples);
    let bias = multiberts_collector::upstream::bias_inputs(&predictions, &bls)?;
    Ok(Some(CorefData {
        predictions,
        bls_pct_female: bls,
        bias,
    }))
}

impl CorefData {
    /// The bias `metric` of each run in `picked` (indices of `predictions.runs`), in that
    /// order (NaN where it is undefined, e.g. bias r of constant bias scores).
    pub fn scores(&self, picked: &[usize], metric: Metric) -> Result<Vec<f64>> {
        Ok(picked
            .iter()
            .map(|&r| metric.compute(&self.bias.shares, self.bias.scores.row(r), None))
            .collect::<std::result::Result<_, _>>()?)
    }

    /// The runs as the bias metrics see them ([`crate::engine::bias_view`]): per run, the
    /// occupations' bias scores; the examples are the occupations, their labels the BLS
    /// shares.
    pub fn bias_set(&self) -> Result<UpstreamPredictions> {
        crate::engine::bias_view(&self.predictions, &self.bias)
    }
}
