//! The JSON files of a job directory: `job.json` (canonical job + provenance), `metrics.json`
//! (per-epoch dev metrics) and the `DONE` marker.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// `job.json`: the canonical job object and where its result came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The canonical job object whose hash is the job id, exactly as the manifest expanded it.
    pub job: serde_json::Value,
    /// The resolved job the sweep handed over (`multiberts_manifest::JobSpec`: task spec,
    /// checkpoint path, data root); absent in records written before jobs travelled as files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<serde_json::Value>,
    /// How, where and from what the job ran.
    pub provenance: Provenance,
}

/// Provenance of one job's result, given by the runner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Provenance {
    /// sha256 (hex) of the checkpoint's weights file (for a generated initialisation, of the
    /// generated `model.safetensors`); `None` only in records written before that was kept.
    pub checkpoint_sha256: Option<String>,
    /// sha256 (hex) of each data file read, by file name.
    pub data_sha256: BTreeMap<String, String>,
    /// Version of the code that ran the job (crate version, git revision).
    pub code_version: String,
    /// Device the job ran on (`cpu`, `cuda:0`).
    pub device: String,
    /// Worker threads used.
    pub threads: usize,
    /// Wall-clock time of the job, seconds.
    pub wall_time_s: f64,
    /// Peak resident memory, bytes, when the platform reports it.
    pub peak_memory_bytes: Option<u64>,
    /// Every file the job read (data, checkpoint weights, `vocab.txt`; not generated ones), by
    /// path: size, modification time and sha256, so that later runs notice a changed input.
    /// Empty in records written before it was kept (their inputs are unknown, not stale).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, crate::inputs::InputFile>,
    /// sha256 of `predictions.parquet` as written; checked whenever it is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predictions_sha256: Option<String>,
    /// Anything else the runner wants on record.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// `metrics.json`: dev metrics after each epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsRecord {
    /// Name of the task's primary metric (a key of every epoch's `dev`), higher is better.
    pub primary_metric: String,
    /// One entry per finished epoch, in order.
    pub epochs: Vec<EpochMetrics>,
}

/// Dev metrics after one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch number.
    pub epoch: u32,
    /// Optimizer steps taken so far.
    pub step: u64,
    /// Mean training loss over the epoch, when recorded.
    pub train_loss: Option<f64>,
    /// Metric name → value on the dev split. An undefined value (e.g. MCC with one predicted
    /// class) is NaN in memory and `null` in the file.
    #[serde(deserialize_with = "nan_from_null")]
    pub dev: BTreeMap<String, f64>,
}

impl MetricsRecord {
    /// The primary metric after the last epoch: the score the learning-rate rule uses.
    /// `None` when there is no epoch or the metric is missing; NaN when it is undefined.
    pub fn final_primary(&self) -> Option<f64> {
        self.epochs.last()?.dev.get(&self.primary_metric).copied()
    }
}

fn nan_from_null<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, f64>, D::Error> {
    let m = BTreeMap::<String, Option<f64>>::deserialize(d)?;
    Ok(m.into_iter()
        .map(|(k, v)| (k, v.unwrap_or(f64::NAN)))
        .collect())
}

/// The `DONE` marker's content: the job's identity as read back from its predictions when the
/// job was marked done, so listing and consolidation need not reopen the Parquet file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoneMarker {
    /// Rows in `predictions.parquet`.
    pub rows: usize,
    /// Task variant (`""` for none).
    pub variant: String,
    /// Evaluation split.
    pub split: String,
    /// Pre-training seed, when known.
    pub pretrain_seed: Option<i64>,
    /// Pre-training steps in thousands, when known.
    pub step: Option<i64>,
    /// Fine-tuning learning rate.
    pub learning_rate: f64,
    /// Fine-tuning seed.
    pub finetune_seed: i64,
}
