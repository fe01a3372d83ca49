//! Builders shared by the tree and consolidation tests.

use std::collections::BTreeMap;

use multiberts_collector::{
    EpochMetrics, JobDir, JobRecord, MetricsRecord, PredictionRow, Provenance, ResultsTree,
};

/// What one fake job is.
pub struct Spec<'a> {
    pub task: &'a str,
    pub checkpoint: &'a str,
    pub job_id: &'a str,
    pub variant: &'a str,
    pub lr: f64,
    pub ft_seed: i64,
    pub final_score: f64,
}

pub fn rows(s: &Spec, n: i64) -> Vec<PredictionRow> {
    (0..n)
        .map(|i| PredictionRow {
            job_id: s.job_id.into(),
            task: s.task.into(),
            variant: s.variant.into(),
            split: "dev".into(),
            checkpoint: s.checkpoint.into(),
            pretrain_seed: Some(1),
            step: Some(0),
            learning_rate: s.lr,
            finetune_seed: s.ft_seed,
            example_index: i,
            example_id: format!("e{i}"),
            label: (i % 2) as f64,
            prediction: ((i + s.ft_seed) % 2) as f64,
            scores: vec![0.25, 0.75],
            answer: None,
        })
        .collect()
}

pub fn record(s: &Spec) -> JobRecord {
    JobRecord {
        job: serde_json::json!({"task": s.task, "checkpoint": s.checkpoint, "lr": s.lr, "seed": s.ft_seed}),
        spec: None,
        provenance: Provenance {
            checkpoint_sha256: Some("ab".repeat(32)),
            data_sha256: BTreeMap::from([("dev.tsv".to_string(), "cd".repeat(32))]),
            code_version: "0.1.0+test".into(),
            device: "cpu".into(),
            threads: 2,
            wall_time_s: 1.5,
            peak_memory_bytes: Some(1 << 20),
            inputs: BTreeMap::new(),
            predictions_sha256: None,
            extra: BTreeMap::new(),
        },
    }
}

pub fn metrics(final_score: f64) -> MetricsRecord {
    MetricsRecord {
        primary_metric: "accuracy".into(),
        epochs: vec![
            EpochMetrics {
                epoch: 1,
                step: 10,
                train_loss: Some(0.7),
                // An earlier epoch that is better than the final one: the rule must not use it.
                dev: BTreeMap::from([("accuracy".to_string(), 0.99), ("f1".to_string(), 0.5)]),
            },
            EpochMetrics {
                epoch: 2,
                step: 20,
                train_loss: None,
                dev: BTreeMap::from([
                    ("accuracy".to_string(), final_score),
                    ("f1".to_string(), f64::NAN),
                ]),
            },
        ],
    }
}

/// Writes every file of a job; marks it done when `done`.
pub fn write_job(tree: &ResultsTree, s: &Spec, done: bool) -> JobDir {
    let dir = tree.job(s.task, s.checkpoint, s.job_id).unwrap();
    dir.prepare().unwrap();
    dir.write_job(&record(s)).unwrap();
    dir.write_metrics(&metrics(s.final_score)).unwrap();
    dir.write_predictions(&rows(s, 4)).unwrap();
    if done {
        dir.mark_done().unwrap();
    }
    dir
}
