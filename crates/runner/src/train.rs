//! One job end to end: load, tokenize, fine-tune with resume checkpoints, evaluate after every
//! epoch, write the job directory through the collector, `DONE` last.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use candle_core::{Device, Tensor};
use multiberts_collector::{
    EpochMetrics, JobRecord, MetricsRecord, PredictionRow, Provenance, ResultsTree,
};
use multiberts_manifest::Job;
use multiberts_model::batch::Batch;
use multiberts_model::bert::{Bert, PaddedPositions};
use multiberts_model::checkpoint::load_checkpoint;
use multiberts_model::config::BertConfig;
use multiberts_model::dropout::Mode;
use multiberts_model::heads::{
    ClassificationHead, SpanPairHead, SpanPairs, bce_with_logits, cross_entropy, labels_tensor, mse,
};
use multiberts_model::kernel_path::kernel_path;
use multiberts_model::optim::{AdamW, AdamWConfig, LinearSchedule, clip_grad_norm};
use multiberts_model::params::{ParamBuilder, Params};
use multiberts_model::precision::Precision;
use multiberts_model::rng::SeededRng;
use multiberts_tasks::{Label, TaskKind, TaskRegistry};

use crate::checkpoint;
use crate::error::{Result, RunnerError};
use crate::evaluate::EvalLayout;
use crate::features::{self, Feature, TooFar};
use crate::state::{self, ResumeState};

/// How to run a job (everything that is not part of the job's identity).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The results directory of the manifest, `results/<name>` (caches go to `.cache/` in it).
    pub output_dir: PathBuf,
    /// The manifest's folder, for relative checkpoint paths.
    pub manifest_dir: PathBuf,
    /// Where task data lives (unused by generated tasks).
    pub data_root: Option<PathBuf>,
    /// Save a resume checkpoint every this many optimizer steps (and after every epoch).
    pub checkpoint_every: u64,
    /// Keep `state/` (the last resume checkpoint: the fine-tuned weights and optimizer
    /// moments) after the job is done. By default it is deleted once `DONE` is written, since a
    /// done job never resumes and the state is 3x the model's size per job.
    pub keep_state: bool,
    /// Stop with [`RunnerError::Aborted`] right after this step (tests simulate a kill).
    pub abort_after_step: Option<u64>,
    /// Worker threads in use, for the record.
    pub threads: usize,
    /// Where the model trains and evaluates. Not part of the job's identity: the same job on
    /// another device is the same job; `job.json` records the device that ran it.
    pub device: Device,
}

/// What a finished (or already finished) job reports.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// The job id.
    pub job_id: String,
    /// The job directory.
    pub dir: PathBuf,
    /// Whether the job was done before this call (nothing was run).
    pub already_done: bool,
    /// Optimizer steps of the whole run.
    pub steps: u64,
    /// The step training resumed from, when a resume state was found.
    pub resumed_from: Option<u64>,
    /// The primary metric's name.
    pub primary_metric: String,
    /// Dev metrics after the final epoch.
    pub dev: BTreeMap<String, f64>,
}

/// The model being fine-tuned.
struct Model {
    bert: Bert,
    head: Head,
    params: Params,
    config: BertConfig,
}

/// The task head: sentence(-pair) classification/regression on the pooler output, or the
/// span-pair head on the token vectors (one logit, trained with binary cross-entropy).
enum Head {
    Classification(ClassificationHead),
    SpanPair(SpanPairHead),
}

impl Model {
    /// Logits of the examples `idx` of `features`: `[B, labels]`, or `[B]` for span pairs.
    fn logits(
        &self,
        features: &[Feature],
        idx: &[usize],
        device: &Device,
        mode: &mut Mode<'_>,
    ) -> Result<Tensor> {
        let batch = make_batch(features, idx, &self.config, device)?;
        let out = self.bert.forward(&batch, mode)?;
        Ok(match &self.head {
            Head::Classification(h) => h.forward(&out.pooler_output, mode)?,
            Head::SpanPair(h) => {
                let mut pairs = SpanPairs {
                    span1: Vec::with_capacity(idx.len()),
                    span2: Vec::with_capacity(idx.len()),
                };
                for &i in idx {
                    let [a, b] = features[i].spans.ok_or_else(|| {
                        RunnerError::Model(multiberts_model::error::ModelError::Batch(format!(
                            "example {i} of a span-pair task has no token spans"
                        )))
                    })?;
                    pairs.span1.push((a.0 as usize, a.1 as usize));
                    pairs.span2.push((b.0 as usize, b.1 as usize));
                }
                h.forward(out.last_hidden_state(), &pairs, mode)?
            }
        })
    }
}

/// Gold labels as the loss wants them.
/// Periodic progress lines in the job log (a GAP or BERT-base job runs for an hour; the sweep's
/// bar only counts whole jobs). Wall-clock driven, so it never touches the computation.
struct Progress {
    started: Instant,
    first_step: u64,
    total_steps: u64,
    last_report: Instant,
}

impl Progress {
    /// How often a line is written.
    const EVERY: std::time::Duration = std::time::Duration::from_secs(30);

    fn new(first_step: u64, total_steps: u64) -> Self {
        let now = Instant::now();
        Self {
            started: now,
            first_step,
            total_steps,
            last_report: now,
        }
    }

    fn tick(&mut self, job: &str, epoch: u32, step: u64, mean_loss: f64) {
        if self.last_report.elapsed() < Self::EVERY && step != self.total_steps {
            return;
        }
        self.last_report = Instant::now();
        let done = step.saturating_sub(self.first_step).max(1);
        let per_step = self.started.elapsed().as_secs_f64() / done as f64;
        let left = self.total_steps.saturating_sub(step) as f64 * per_step;
        tracing::info!(
            job,
            epoch,
            "step {step}/{} ({:.0} %), epoch mean loss {mean_loss:.4}, {per_step:.2} s/step, \
             about {} left",
            self.total_steps,
            100.0 * step as f64 / self.total_steps.max(1) as f64,
            human_duration(left)
        );
    }
}

/// `1 h 05 min`, `12 min`, `40 s`.
fn human_duration(secs: f64) -> String {
    let s = secs.round() as u64;
    if s >= 3600 {
        format!("{} h {:02} min", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{} min", (s + 30) / 60)
    } else {
        format!("{s} s")
    }
}

enum Targets {
    Classes(Vec<i64>),
    Values(Vec<f32>),
}

fn targets(
    task: &str,
    split: &str,
    kind: TaskKind,
    num_labels: usize,
    examples: &[multiberts_tasks::Example],
) -> Result<Targets> {
    let bad = |i: usize, message: String| RunnerError::Data {
        task: task.into(),
        split: split.into(),
        index: i,
        id: examples[i].id.clone(),
        message,
    };
    match kind {
        TaskKind::Regression => examples
            .iter()
            .enumerate()
            .map(|(i, e)| match e.label {
                Label::Value(v) if v.is_finite() => Ok(v),
                other => Err(bad(
                    i,
                    format!("expected a finite regression value, found {other:?}"),
                )),
            })
            .collect::<Result<_>>()
            .map(Targets::Values),
        _ => examples
            .iter()
            .enumerate()
            .map(|(i, e)| match e.label {
                Label::Class(c) if c < num_labels => Ok(c as i64),
                other => Err(bad(
                    i,
                    format!("expected a class index below {num_labels}, found {other:?}"),
                )),
            })
            .collect::<Result<_>>()
            .map(Targets::Classes),
    }
}

/// A batch of the examples `idx`, padded to its longest member (dynamic padding).
fn make_batch(
    features: &[Feature],
    idx: &[usize],
    config: &BertConfig,
    device: &Device,
) -> Result<Batch> {
    let t = idx
        .iter()
        .map(|&i| features[i].ids.len())
        .max()
        .unwrap_or(1);
    let mut ids = Vec::with_capacity(idx.len());
    let mut types = Vec::with_capacity(idx.len());
    let mut mask = Vec::with_capacity(idx.len());
    for &i in idx {
        let f = &features[i];
        let pad = t - f.ids.len();
        let mut row: Vec<i64> = f.ids.iter().map(|&v| i64::from(v)).collect();
        row.resize(t, 0);
        ids.push(row);
        let mut row: Vec<i64> = f.type_ids.iter().map(|&v| i64::from(v)).collect();
        row.resize(t, 0);
        types.push(row);
        let mut row = vec![1i64; f.ids.len()];
        row.extend(std::iter::repeat_n(0, pad));
        mask.push(row);
    }
    Ok(Batch::from_rows(&ids, &types, &mask, config, device)?)
}

/// Class scores (softmax probabilities, `[value]` for regression, `[1 − p, p]` for span pairs
/// with p = sigmoid(logit), the probability of coreference) and predictions of the model on
/// `features`, in order, in eval mode.
fn predict(
    model: &Model,
    features: &[Feature],
    regression: bool,
    batch_size: usize,
    device: &Device,
) -> Result<(Vec<Vec<f32>>, Vec<f64>)> {
    let mut scores = Vec::with_capacity(features.len());
    let mut preds = Vec::with_capacity(features.len());
    let all: Vec<usize> = (0..features.len()).collect();
    for chunk in all.chunks(batch_size.max(1)) {
        let mut mode = Mode::Eval;
        let logits = model.logits(features, chunk, device, &mut mode)?;
        if let Head::SpanPair(_) = model.head {
            for z in logits.to_vec1::<f32>()? {
                let p = 1.0 / (1.0 + (-f64::from(z)).exp());
                preds.push(if p > 0.5 { 1.0 } else { 0.0 });
                scores.push(vec![(1.0 - p) as f32, p as f32]);
            }
            continue;
        }
        for row in logits.to_vec2::<f32>()? {
            if regression {
                preds.push(f64::from(row[0]));
                scores.push(row);
            } else {
                let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let exp: Vec<f32> = row.iter().map(|&x| (x - max).exp()).collect();
                let sum: f32 = exp.iter().sum();
                let probs: Vec<f32> = exp.iter().map(|&e| e / sum).collect();
                // First maximum on ties, as numpy's argmax.
                let mut best = 0;
                for (k, &p) in row.iter().enumerate() {
                    if p > row[best] {
                        best = k;
                    }
                }
                preds.push(best as f64);
                scores.push(probs);
            }
        }
    }
    Ok((scores, preds))
}

/// Peak resident memory of this process, where the platform reports it.
fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The version of the code that ran a job.
pub fn code_version() -> String {
    match option_env!("MULTIBERTS_GIT_REV") {
        Some(rev) => format!("{} (git {rev})", env!("CARGO_PKG_VERSION")),
        None => env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// The model's implementation of a manifest precision.
fn model_precision(p: multiberts_manifest::Precision) -> Precision {
    match p {
        multiberts_manifest::Precision::Fp32 => Precision::Fp32,
        multiberts_manifest::Precision::Tf32 => Precision::Tf32,
        multiberts_manifest::Precision::Bf16 => Precision::Bf16,
    }
}

/// Fine-tunes and evaluates `job`, writing its directory under `opts.output_dir`. A done job is
/// left alone; an unfinished one resumes from its last state.
pub fn run_job(job: &Job, registry: &TaskRegistry, opts: &RunOptions) -> Result<RunSummary> {
    let started = Instant::now();
    // Before the slow start-up, so that an early USR2 is a stop request and not a kill.
    crate::stop::install();
    let invalid = |message: String| RunnerError::Invalid {
        job: job.id.clone(),
        message,
    };
    let (results_dir, name) = match (opts.output_dir.parent(), opts.output_dir.file_name()) {
        (Some(p), Some(n)) => (p.to_path_buf(), n.to_string_lossy().into_owned()),
        _ => {
            return Err(invalid(format!(
                "bad output directory {}",
                opts.output_dir.display()
            )));
        }
    };
    let tree = ResultsTree::new(&results_dir, &name)?;
    let dir = tree.job(&job.task, &job.checkpoint.id, &job.id)?;
    let spec = registry.get(&job.task)?;
    let primary = spec.primary_metric().to_string();
    if dir.is_done() {
        let metrics = dir.read_metrics()?;
        let last = metrics.epochs.last();
        return Ok(RunSummary {
            job_id: job.id.clone(),
            dir: dir.path().to_path_buf(),
            already_done: true,
            steps: last.map_or(0, |e| e.step),
            resumed_from: None,
            primary_metric: metrics.primary_metric.clone(),
            dev: last.map(|e| e.dev.clone()).unwrap_or_default(),
        });
    }
    dir.prepare()?;
    let device = opts.device.clone();
    let hyper = &job.hyper;
    let precision = model_precision(hyper.precision);
    precision
        .check_device(&device)
        .map_err(|e| invalid(e.to_string()))?;
    precision.apply_to_cublas();
    let regression = spec.kind == TaskKind::Regression;
    let span_pair = spec.kind == TaskKind::SpanPair;
    let num_labels = if regression { 1 } else { spec.labels.len() };
    if span_pair && num_labels != 2 {
        return Err(invalid(format!(
            "span-pair task `{}` has {num_labels} labels; a span-pair task is binary (labels = [\"0\", \"1\"])",
            job.task
        )));
    }

    // Data.
    let root = opts.data_root.clone().unwrap_or_else(|| PathBuf::from("."));
    let mut train = spec.load_split(&root, &spec.train_split)?;
    if let Some(max) = hyper.max_train_examples {
        train
            .examples
            .truncate(usize::try_from(max).unwrap_or(usize::MAX));
    }
    // The augmentation applies to the (possibly truncated) training split only; the split is
    // renamed so that its cached features never mix with the plain split's.
    match job.augment.as_deref() {
        None => {}
        Some("cda") => {
            train.examples = multiberts_tasks::cda::augment(&train.examples);
            train.split = format!("{}+cda", train.split);
        }
        Some(other) => return Err(invalid(format!("unknown augmentation `{other}`"))),
    }
    let eval = spec.load_split(&root, &spec.eval_split)?;
    if train.examples.is_empty() || eval.examples.is_empty() {
        return Err(invalid(format!(
            "task `{}` has {} training and {} evaluation examples; both must be non-empty",
            job.task,
            train.examples.len(),
            eval.examples.len()
        )));
    }
    let eval_labels: Vec<f64> = match targets(
        &job.task,
        &eval.split,
        spec.kind,
        num_labels,
        &eval.examples,
    )? {
        Targets::Classes(c) => c.iter().map(|&v| v as f64).collect(),
        Targets::Values(v) => v.iter().map(|&x| f64::from(x)).collect(),
    };
    let layout = EvalLayout::new(&job.task, &eval.split, &eval.examples, &eval_labels)?;

    // Checkpoint, tokenizer, features.
    let cache = opts.output_dir.join(".cache");
    let resolved = checkpoint::resolve(&job.checkpoint.source, &opts.manifest_dir, &cache)?;
    let tokenizer = checkpoint::tokenizer(&resolved)?;
    let vocab_sha = features::file_sha256(&resolved.dir.join("vocab.txt"))?;
    let max_len = hyper.max_seq_len as usize;
    let feature_cache = cache.join("features");
    let train_features = features::load_or_tokenize(
        &tokenizer,
        &vocab_sha,
        &train,
        max_len,
        TooFar::Skip,
        &feature_cache,
    )?;
    let skipped = train_features.iter().filter(|f| f.is_none()).count();
    if skipped > 0 {
        if skipped == train_features.len() {
            return Err(invalid(format!(
                "every training example of task `{}` has its two spans further apart than \
                 max_seq_len − 2 = {} tokens; raise max_seq_len",
                job.task,
                max_len.saturating_sub(2)
            )));
        }
        tracing::warn!(
            task = %job.task,
            skipped,
            of = train_features.len(),
            max_seq_len = max_len,
            "training examples left out: their two spans lie further apart than one window; \
             raise max_seq_len to keep them"
        );
        let mut kept = train_features.iter().map(Option::is_some);
        train.examples.retain(|_| kept.next().unwrap_or(false));
    }
    let train_features: Vec<Feature> = train_features.into_iter().flatten().collect();
    let eval_features: Vec<Feature> = features::load_or_tokenize(
        &tokenizer,
        &vocab_sha,
        &eval,
        max_len,
        TooFar::Error,
        &feature_cache,
    )?
    .into_iter()
    .flatten()
    .collect();
    let train_targets = targets(
        &job.task,
        &train.split,
        spec.kind,
        num_labels,
        &train.examples,
    )?;

    let loaded = load_checkpoint(&resolved.dir, &device)?;
    let config_path = loaded
        .config_path
        .clone()
        .ok_or_else(|| RunnerError::file(&resolved.dir, "no config.json beside the weights"))?;
    let config =
        BertConfig::from_file(&config_path).map_err(multiberts_model::error::ModelError::from)?;
    if tokenizer.vocab_size() > config.vocab_size {
        return Err(RunnerError::file(
            resolved.dir.join("vocab.txt"),
            format!(
                "the vocabulary has {} tokens but the model only {} embeddings",
                tokenizer.vocab_size(),
                config.vocab_size
            ),
        ));
    }
    let mut builder = ParamBuilder::from_tensors(&loaded.tensors, &device, job.finetune_seed);
    // Padded positions feed nothing the heads read ([CLS] and the spans are real tokens), so
    // they are skipped: 25-40 % less work on typical batches (docs/bench/model.md).
    let bert = Bert::build(&config, &mut builder)?
        .with_padded_positions(PaddedPositions::Skip)
        .with_precision(precision);
    let (head, other_heads) = if span_pair {
        (
            Head::SpanPair(SpanPairHead::build(&config, &mut builder)?),
            "classifier.",
        )
    } else {
        (
            Head::Classification(ClassificationHead::build(
                &config,
                num_labels,
                &mut builder,
            )?),
            "span_head.",
        )
    };
    let (params, report) = builder.finish(&[other_heads])?;
    tracing::debug!(initialised = ?report.initialised, "model built");
    let model = Model {
        bert,
        head,
        params,
        config,
    };
    // A generated init is recorded too: its file is a pure function of (config, seed), so the
    // digest identifies exactly what was fine-tuned.
    let checkpoint_sha256 = loaded.files.first().map(|f| f.sha256.clone());
    drop(loaded);

    // Optimizer and schedule.
    let adam = AdamWConfig {
        beta1: hyper.adam_beta1,
        beta2: hyper.adam_beta2,
        eps: hyper.adam_epsilon,
        weight_decay: hyper.weight_decay,
    };
    let mut optimizer = AdamW::new(&model.params, adam)?;
    let n = train_features.len();
    let bs = hyper.batch_size as usize;
    let batches_per_epoch = n.div_ceil(bs);
    let total_steps = batches_per_epoch as u64 * u64::from(hyper.epochs);
    let schedule = LinearSchedule {
        base_lr: job.learning_rate,
        warmup_steps: LinearSchedule::warmup_from_ratio(total_steps, hyper.warmup_ratio),
        total_steps,
    };

    // Resume.
    let state_dir = dir.state_dir();
    let mut st = match state::load(&state_dir, &job.id)? {
        Some(s) => {
            state::restore(&state_dir, &s, &model.params, &mut optimizer)?;
            tracing::info!(job = %job.id, step = s.step, "resuming");
            s
        }
        None => ResumeState {
            job_id: job.id.clone(),
            step: 0,
            epoch: 0,
            batch: 0,
            loss_sum: 0.0,
            loss_count: 0,
            dropout_rng: SeededRng::named(job.finetune_seed, "dropout").state(),
            epochs: Vec::new(),
            model_file: String::new(),
            optimizer_file: String::new(),
        },
    };
    let resumed_from = (st.step > 0).then_some(st.step);
    let mut dropout_rng = SeededRng::from_state(st.dropout_rng);
    let metrics_record = |epochs: &[EpochMetrics]| MetricsRecord {
        primary_metric: primary.clone(),
        epochs: epochs.to_vec(),
    };
    if !st.epochs.is_empty() {
        dir.write_metrics(&metrics_record(&st.epochs))?;
    }

    let step_sleep = crate::stop::step_sleep();
    let mut progress = Progress::new(st.step, total_steps);
    let mut final_eval = None;
    while st.epoch < hyper.epochs {
        let epoch = st.epoch;
        let order =
            SeededRng::named(job.finetune_seed, &format!("shuffle/epoch-{epoch}")).permutation(n);
        let chunks: Vec<&[usize]> = order.chunks(bs).collect();
        while st.batch < chunks.len() {
            let idx = chunks[st.batch];
            let mut mode = Mode::Train(&mut dropout_rng);
            let logits = model.logits(&train_features, idx, &device, &mut mode)?;
            let loss = match &train_targets {
                Targets::Classes(c) if span_pair => {
                    let y: Vec<f32> = idx.iter().map(|&i| c[i] as f32).collect();
                    bce_with_logits(&logits, &Tensor::from_vec(y, idx.len(), &device)?)?
                }
                Targets::Classes(c) => {
                    let y: Vec<i64> = idx.iter().map(|&i| c[i]).collect();
                    cross_entropy(&logits, &labels_tensor(&y, &device)?)?
                }
                Targets::Values(v) => {
                    let y: Vec<f32> = idx.iter().map(|&i| v[i]).collect();
                    mse(&logits, &Tensor::from_vec(y, idx.len(), &device)?)?
                }
            };
            let loss_value = loss.to_scalar::<f32>()?;
            let step = st.step + 1;
            if !loss_value.is_finite() {
                return Err(RunnerError::NonFiniteLoss {
                    job: job.id.clone(),
                    step,
                    epoch: epoch + 1,
                    loss: loss_value,
                });
            }
            let mut grads = loss.backward()?;
            model.bert.zero_pad_gradient(&mut grads)?;
            if hyper.max_grad_norm > 0.0 {
                clip_grad_norm(&model.params, &mut grads, hyper.max_grad_norm)?;
            }
            optimizer.step(&grads, schedule.lr(st.step))?;
            st.step = step;
            st.batch += 1;
            st.loss_sum += f64::from(loss_value);
            st.loss_count += 1;
            progress.tick(&job.id, epoch + 1, step, st.loss_sum / st.loss_count as f64);

            let epoch_end = st.batch == chunks.len();
            if epoch_end {
                let evaluated = predict(
                    &model,
                    &eval_features,
                    regression,
                    hyper.eval_batch_size as usize,
                    &device,
                )?;
                let rows = layout.outputs(
                    &eval.examples,
                    &eval_labels,
                    evaluated.0.clone(),
                    &evaluated.1,
                );
                let dev = layout.metrics(&spec.metrics, &rows)?;
                tracing::info!(job = %job.id, epoch = epoch + 1, step, ?dev, "epoch done");
                st.epochs.push(EpochMetrics {
                    epoch: epoch + 1,
                    step,
                    train_loss: Some(st.loss_sum / st.loss_count.max(1) as f64),
                    dev,
                });
                dir.write_metrics(&metrics_record(&st.epochs))?;
                st.epoch += 1;
                if st.epoch == hyper.epochs {
                    // The parameters do not change after the last epoch: its evaluation is the
                    // job's final prediction (an eval forward is deterministic).
                    final_eval = Some(evaluated);
                }
                st.batch = 0;
                st.loss_sum = 0.0;
                st.loss_count = 0;
            }
            if let Some(pause) = step_sleep {
                std::thread::sleep(pause);
            }
            let stop = crate::stop::requested();
            if stop || epoch_end || (opts.checkpoint_every > 0 && step % opts.checkpoint_every == 0)
            {
                st.dropout_rng = dropout_rng.state();
                state::save(&state_dir, st.clone(), &model.params, &optimizer)?;
            }
            if opts.abort_after_step == Some(step) {
                return Err(RunnerError::Aborted {
                    job: job.id.clone(),
                    step,
                });
            }
            if stop {
                tracing::info!(job = %job.id, step, "stopping on request; resume state saved");
                return Err(RunnerError::Stopped {
                    job: job.id.clone(),
                    step,
                });
            }
            if epoch_end {
                break;
            }
        }
    }

    // Final predictions and records; DONE last. A job resumed after its last epoch (killed
    // before writing them) evaluates again.
    let (scores, preds) = match final_eval {
        Some(evaluated) => evaluated,
        None => predict(
            &model,
            &eval_features,
            regression,
            hyper.eval_batch_size as usize,
            &device,
        )?,
    };
    let ckpt = &job.checkpoint;
    let to_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let rows: Vec<PredictionRow> = layout
        .outputs(&eval.examples, &eval_labels, scores, &preds)
        .into_iter()
        .enumerate()
        .map(|(i, o)| PredictionRow {
            job_id: job.id.clone(),
            task: job.task.clone(),
            variant: job.variant.clone(),
            split: eval.split.clone(),
            checkpoint: ckpt.id.clone(),
            pretrain_seed: ckpt.pretrain_seed.map(to_i64),
            step: ckpt.step.map(to_i64),
            learning_rate: job.learning_rate,
            finetune_seed: to_i64(job.finetune_seed),
            example_index: i as i64,
            example_id: o.id,
            label: o.label,
            prediction: o.prediction,
            scores: o.scores,
        })
        .collect();
    dir.write_predictions(&rows)?;
    let mut data_sha256 = BTreeMap::new();
    for f in train.files.iter().chain(&eval.files) {
        data_sha256.insert(f.path.clone(), f.sha256.clone());
    }
    let mut extra = BTreeMap::new();
    extra.insert("job_id".into(), serde_json::json!(job.id));
    extra.insert("checkpoint_id".into(), serde_json::json!(ckpt.id));
    extra.insert("precision".into(), serde_json::json!(precision.name()));
    if device.is_cpu() {
        // Which CPU implementation ran: `portable` is the op-for-op GPU path.
        extra.insert("kernels".into(), serde_json::json!(kernel_path().name()));
    }
    extra.insert("vocab_sha256".into(), serde_json::json!(vocab_sha));
    extra.insert("train_examples".into(), serde_json::json!(n));
    extra.insert("train_examples_skipped".into(), serde_json::json!(skipped));
    extra.insert("steps".into(), serde_json::json!(st.step));
    extra.insert("resumed_from_step".into(), serde_json::json!(resumed_from));
    if let Some(commit) = &resolved.hub_commit {
        extra.insert("hub_commit".into(), serde_json::json!(commit));
    }
    let record = JobRecord {
        job: job.canonical.clone(),
        provenance: Provenance {
            checkpoint_sha256,
            data_sha256,
            code_version: code_version(),
            device: crate::device::device_name(&device),
            threads: opts.threads,
            wall_time_s: started.elapsed().as_secs_f64(),
            peak_memory_bytes: peak_memory_bytes(),
            extra,
        },
    };
    dir.write_job(&record)?;
    dir.mark_done()?;
    if !opts.keep_state {
        // The job is done whatever happens here: a state left behind costs disk, not results.
        if let Err(e) = dir.remove_state() {
            tracing::warn!(job = %job.id, error = %e, "cannot delete the finished job's resume state");
        }
    }
    let dev = st.epochs.last().map(|e| e.dev.clone()).unwrap_or_default();
    tracing::info!(job = %job.id, steps = st.step, ?dev, "job done");
    Ok(RunSummary {
        job_id: job.id.clone(),
        dir: dir.path().to_path_buf(),
        already_done: false,
        steps: st.step,
        resumed_from,
        primary_metric: primary,
        dev,
    })
}

#[cfg(test)]
mod tests {
    use super::human_duration;

    #[test]
    fn durations_read_like_a_person_would_say_them() {
        assert_eq!(human_duration(40.2), "40 s");
        assert_eq!(human_duration(12.0 * 60.0 + 10.0), "12 min");
        assert_eq!(human_duration(3600.0 + 5.0 * 60.0), "1 h 05 min");
    }
}
