//! What a job writes when it is done: the prediction rows, `job.json` with its provenance, and
//! `DONE` last; then its resume state goes (unless kept).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use multiberts_collector::{InputFile, JobDir, JobRecord, PredictionRow, Provenance};
use multiberts_manifest::{CheckpointSource, JobFile};
use multiberts_model::kernel_path::kernel_path;
use multiberts_model::precision::Precision;

use crate::RunOptions;
use crate::error::Result;
use crate::inputs::JobInputs;
use crate::phases::{Phases, Tally};
use crate::train::Trained;

/// How the job ran, for its record (beside what [`Trained`] says).
pub(crate) struct RunFacts {
    /// When the job (this attempt) started.
    pub(crate) started: Instant,
    /// Where this attempt's time went so far (`write` is filled in while writing).
    pub(crate) phases: Phases,
    /// The precision the model ran in.
    pub(crate) precision: Precision,
    /// sha256 of the checkpoint's weights file.
    pub(crate) checkpoint_sha256: Option<String>,
}

/// Writes the predictions, `job.json` and `DONE`, then removes the resume state unless
/// `opts.keep_state`.
pub(crate) fn write_outputs(
    file: &JobFile,
    dir: &JobDir,
    inputs: &JobInputs,
    trained: Trained,
    facts: &RunFacts,
    opts: &RunOptions,
) -> Result<()> {
    let job = &file.spec;
    let rows = prediction_rows(file, inputs, trained.final_eval)?;
    let mut write = Tally::default();
    write.time(|| dir.write_predictions(&rows))?;
    let phases = Phases {
        write: write.seconds(),
        ..facts.phases
    };
    let predictions_sha256 = multiberts_collector::inputs::sha256_file(
        &dir.path()
            .join(multiberts_collector::tree::PREDICTIONS_FILE),
    )?;
    let mut record = JobRecord {
        job: file.job.clone(),
        spec: Some(serde_json::to_value(&file.spec).map_err(|e| {
            crate::RunnerError::file(dir.path(), format!("cannot serialise the job: {e}"))
        })?),
        provenance: provenance(
            file,
            inputs,
            trained.steps,
            trained.resumed_from,
            facts,
            opts,
        ),
    };
    record.provenance.predictions_sha256 = Some(predictions_sha256);
    record
        .provenance
        .extra
        .insert("phases_s".into(), phases.to_json());
    tracing::info!(job = %job.id, "time: {phases}");
    record.provenance.inputs = input_files(file, inputs, facts);
    dir.write_job(&record)?;
    dir.mark_done()?;
    if !opts.keep_state {
        // The job is done whatever happens here: a state left behind costs disk, not results.
        if let Err(e) = dir.remove_state() {
            tracing::warn!(job = %job.id, error = %e, "cannot delete the finished job's resume state");
        }
    }
    Ok(())
}

/// One row per evaluation output, with the job's identity columns.
fn prediction_rows(
    file: &JobFile,
    inputs: &JobInputs,
    eval: crate::model::Predictions,
) -> Result<Vec<PredictionRow>> {
    let job = &file.spec;
    let ckpt = &job.checkpoint;
    let to_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    Ok(inputs
        .layout
        .outputs(
            &inputs.eval.examples,
            &inputs.eval_labels,
            eval.scores,
            &eval.preds,
        )?
        .into_iter()
        .enumerate()
        .map(|(i, o)| PredictionRow {
            job_id: job.id.clone(),
            task: job.task.name.to_string(),
            variant: job.variant.clone(),
            split: inputs.eval.split.clone(),
            checkpoint: ckpt.id.to_string(),
            pretrain_seed: ckpt.pretrain_seed.map(to_i64),
            step: ckpt.step.map(to_i64),
            learning_rate: job.learning_rate,
            finetune_seed: to_i64(job.finetune_seed),
            example_index: i as i64,
            example_id: o.id,
            label: o.label,
            prediction: o.prediction,
            scores: o.scores,
            answer: o.answer,
        })
        .collect())
}

/// Where the result came from: digests of the checkpoint and data, code version, device,
/// resources, and what the job did (steps, resume, examples left out).
fn provenance(
    file: &JobFile,
    inputs: &JobInputs,
    steps: u64,
    resumed_from: Option<u64>,
    facts: &RunFacts,
    opts: &RunOptions,
) -> Provenance {
    let job = &file.spec;
    let mut data_sha256 = BTreeMap::new();
    for f in inputs.train.files.iter().chain(&inputs.eval.files) {
        data_sha256.insert(f.path.clone(), f.sha256.clone());
    }
    let mut extra = BTreeMap::new();
    extra.insert("job_id".into(), serde_json::json!(job.id));
    extra.insert("checkpoint_id".into(), serde_json::json!(job.checkpoint.id));
    extra.insert(
        "precision".into(),
        serde_json::json!(facts.precision.name()),
    );
    if opts.device.is_cpu() {
        // Which CPU implementation ran: `portable` is the op-for-op GPU path.
        extra.insert("kernels".into(), serde_json::json!(kernel_path().name()));
    }
    extra.insert(
        "vocab_sha256".into(),
        serde_json::json!(inputs.vocab_sha256),
    );
    extra.insert(
        "train_examples".into(),
        serde_json::json!(inputs.train_features.len()),
    );
    extra.insert(
        "train_examples_skipped".into(),
        serde_json::json!(inputs.skipped),
    );
    extra.insert("steps".into(), serde_json::json!(steps));
    extra.insert("resumed_from_step".into(), serde_json::json!(resumed_from));
    if let Some(commit) = &inputs.checkpoint.hub_commit {
        extra.insert("hub_commit".into(), serde_json::json!(commit));
    }
    Provenance {
        checkpoint_sha256: facts.checkpoint_sha256.clone(),
        data_sha256,
        code_version: crate::code_version(),
        device: crate::device::device_name(&opts.device),
        threads: opts.threads,
        wall_time_s: facts.started.elapsed().as_secs_f64(),
        peak_memory_bytes: peak_memory_bytes(),
        // Filled in by `write_outputs` once the predictions are written.
        inputs: BTreeMap::new(),
        predictions_sha256: None,
        extra,
    }
}

/// The files the job read, with their size, modification time and the sha256 taken when they
/// were read: the data files and, for a checkpoint that is not generated, its weights and
/// `vocab.txt`. Later runs compare them with the files then (`sweep`, `status`, `collect`).
fn input_files(
    file: &JobFile,
    inputs: &JobInputs,
    facts: &RunFacts,
) -> BTreeMap<String, InputFile> {
    let mut out = BTreeMap::new();
    let mut add = |path: &Path, sha256: &str| {
        if let Some(f) = InputFile::of(path, sha256.to_string()) {
            out.insert(path.to_string_lossy().into_owned(), f);
        }
    };
    for f in inputs.train.files.iter().chain(&inputs.eval.files) {
        if !f.path.starts_with("synthetic:") {
            add(Path::new(&f.path), &f.sha256);
        }
    }
    let ckpt = &inputs.checkpoint;
    if !ckpt.generated {
        let dir = &ckpt.dir;
        let weights = match &file.spec.checkpoint.source {
            CheckpointSource::Path { path } if Path::new(path).is_file() => {
                Some(PathBuf::from(path))
            }
            _ => ["model.safetensors", "pytorch_model.bin"]
                .iter()
                .map(|w| dir.join(w))
                .find(|w| w.is_file()),
        };
        if let (Some(weights), Some(sha)) = (weights, &facts.checkpoint_sha256) {
            add(&weights, sha);
        }
        add(&dir.join("vocab.txt"), &inputs.vocab_sha256);
    }
    out
}

/// Peak resident memory of this process, where the platform reports it.
fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
