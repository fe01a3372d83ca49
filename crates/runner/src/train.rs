//! How a job trains: AdamW with linear warm-up and decay, gradient clipping, one loss per head
//! kind ([`crate::head`]), evaluation after every epoch, resume checkpoints
//! ([`crate::save_schedule`]), and the stop signals (USR2 and the test hook that simulates a
//! kill).

use candle_core::Device;
use multiberts_collector::{EpochMetrics, JobDir, MetricsRecord};
use multiberts_manifest::JobSpec;
use multiberts_model::dropout::Mode;
use multiberts_model::optim::{AdamW, AdamWConfig, LinearSchedule, clip_grad_norm};
use multiberts_model::rng::SeededRng;

use crate::RunOptions;
use crate::error::{Result, RunnerError};
use crate::inputs::JobInputs;
use crate::model::{Model, Predictions};
use crate::phases::{Phases, Tally};
use crate::progress::Progress;
use crate::save_schedule::SaveClock;
use crate::state::{self, ResumeState};

/// What training produced.
pub(crate) struct Trained {
    /// Optimizer steps of the whole run.
    pub(crate) steps: u64,
    /// The step training resumed from, when a resume state was found.
    pub(crate) resumed_from: Option<u64>,
    /// Dev metrics after each epoch.
    pub(crate) epochs: Vec<EpochMetrics>,
    /// The model's outputs on the evaluation split after the last epoch.
    pub(crate) final_eval: Predictions,
    /// Time in training steps, evaluation and resume states (the other phases are zero).
    pub(crate) phases: Phases,
}

/// One training run's moving parts.
struct Trainer<'a> {
    model: &'a Model,
    inputs: &'a JobInputs,
    job: &'a JobSpec,
    dir: &'a JobDir,
    opts: &'a RunOptions,
    optimizer: AdamW,
    schedule: LinearSchedule,
    st: ResumeState,
    dropout_rng: SeededRng,
    /// Time spent evaluating and saving resume states.
    eval_time: Tally,
    state_time: Tally,
    /// When the next resume state is due.
    save_clock: SaveClock,
}

/// Fine-tunes `model` on the job's training split, resuming from the job's `state/` when an
/// earlier attempt left one, and evaluates after every epoch.
pub(crate) fn train(
    model: &Model,
    inputs: &JobInputs,
    job: &JobSpec,
    dir: &JobDir,
    opts: &RunOptions,
) -> Result<Trained> {
    let hyper = &job.hyper;
    let adam = AdamWConfig {
        beta1: hyper.adam_beta1,
        beta2: hyper.adam_beta2,
        eps: hyper.adam_epsilon,
        weight_decay: hyper.weight_decay,
    };
    let mut optimizer = AdamW::new(&model.params, adam)?;
    let n = inputs.train_features.len();
    let batches_per_epoch = n.div_ceil(hyper.batch_size as usize);
    let total_steps = batches_per_epoch as u64 * u64::from(hyper.epochs);
    let schedule = LinearSchedule {
        base_lr: job.learning_rate,
        warmup_steps: LinearSchedule::warmup_from_ratio(total_steps, hyper.warmup_ratio),
        total_steps,
    };
    let started = std::time::Instant::now();
    let mut state_time = Tally::default();
    let st = state_time.time(|| resume_or_start(job, dir, model, &mut optimizer))?;
    let resumed_from = (st.step > 0).then_some(st.step);
    if !st.epochs.is_empty() {
        dir.write_metrics(&metrics_record(job, &st.epochs))?;
    }
    let mut trainer = Trainer {
        model,
        inputs,
        job,
        dir,
        opts,
        optimizer,
        schedule,
        dropout_rng: SeededRng::from_state(st.dropout_rng),
        st,
        eval_time: Tally::default(),
        state_time,
        save_clock: opts.save.start(),
    };
    let final_eval = trainer.epochs(total_steps)?;
    // A job resumed after its last epoch (killed before writing its outputs) evaluates again:
    // an eval forward is deterministic.
    let final_eval = match final_eval {
        Some(p) => p,
        None => trainer.eval_time.time(|| {
            model.predict(
                &inputs.eval_features,
                hyper.eval_batch_size as usize,
                hyper.eval_order,
                &opts.device,
            )
        })?,
    };
    let (eval, state) = (trainer.eval_time.seconds(), trainer.state_time.seconds());
    let phases = Phases {
        train: (started.elapsed().as_secs_f64() - eval - state).max(0.0),
        eval,
        state,
        ..Phases::default()
    };
    Ok(Trained {
        steps: trainer.st.step,
        resumed_from,
        epochs: trainer.st.epochs,
        final_eval,
        phases,
    })
}

/// The saved resume state of this job (restored into the model and optimizer), or a fresh
/// start.
fn resume_or_start(
    job: &JobSpec,
    dir: &JobDir,
    model: &Model,
    optimizer: &mut AdamW,
) -> Result<ResumeState> {
    let state_dir = dir.state_dir();
    Ok(match state::load(&state_dir, &job.id)? {
        Some(s) => {
            state::restore(&state_dir, &s, &model.params, optimizer)?;
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
    })
}

/// `metrics.json` of the epochs so far.
fn metrics_record(job: &JobSpec, epochs: &[EpochMetrics]) -> MetricsRecord {
    MetricsRecord {
        primary_metric: job.task.primary_metric().to_string(),
        epochs: epochs.to_vec(),
    }
}

impl Trainer<'_> {
    /// Trains the remaining epochs; returns the last epoch's evaluation when this run
    /// reached it.
    fn epochs(&mut self, total_steps: u64) -> Result<Option<Predictions>> {
        let n = self.inputs.train_features.len();
        let bs = self.job.hyper.batch_size as usize;
        let step_sleep = crate::stop::step_sleep();
        let mut progress = Progress::new(self.st.step, total_steps);
        let mut final_eval = None;
        while self.st.epoch < self.job.hyper.epochs {
            let epoch = self.st.epoch;
            let order = SeededRng::named(self.job.finetune_seed, &format!("shuffle/epoch-{epoch}"))
                .permutation(n);
            let chunks: Vec<&[usize]> = order.chunks(bs).collect();
            while self.st.batch < chunks.len() {
                let loss = self.step(chunks[self.st.batch], epoch)?;
                let step = self.st.step;
                progress.tick(&self.job.id, epoch + 1, step, loss);
                let epoch_end = self.st.batch == chunks.len();
                if epoch_end {
                    let evaluated = self.end_epoch(epoch, step)?;
                    if self.st.epoch == self.job.hyper.epochs {
                        // The parameters do not change after the last epoch: its evaluation
                        // is the job's final prediction.
                        final_eval = Some(evaluated);
                    }
                }
                if let Some(pause) = step_sleep {
                    std::thread::sleep(pause);
                }
                self.save_or_stop(step, epoch_end)?;
                if epoch_end {
                    break;
                }
            }
        }
        Ok(final_eval)
    }

    /// One optimizer step on the batch `idx`; returns the epoch's mean loss so far.
    fn step(&mut self, idx: &[usize], epoch: u32) -> Result<f64> {
        let device: &Device = &self.opts.device;
        let mut mode = Mode::Train(&mut self.dropout_rng);
        let logits = self
            .model
            .logits(&self.inputs.train_features, idx, device, &mut mode)?;
        let loss = self
            .model
            .kind()
            .loss(&logits, &self.inputs.train_targets, idx, device)?;
        let loss_value = loss.to_scalar::<f32>()?;
        let step = self.st.step + 1;
        if !loss_value.is_finite() {
            return Err(RunnerError::NonFiniteLoss {
                job: self.job.id.clone(),
                step,
                epoch: epoch + 1,
                loss: loss_value,
            });
        }
        let mut grads = loss.backward()?;
        self.model.bert.zero_pad_gradient(&mut grads)?;
        if self.job.hyper.max_grad_norm > 0.0 {
            clip_grad_norm(&self.model.params, &mut grads, self.job.hyper.max_grad_norm)?;
        }
        self.optimizer
            .step(&grads, self.schedule.lr(self.st.step))?;
        self.st.step = step;
        self.st.batch += 1;
        self.st.loss_sum += f64::from(loss_value);
        self.st.loss_count += 1;
        Ok(self.st.loss_sum / self.st.loss_count as f64)
    }

    /// Evaluates after an epoch, records its metrics (`metrics.json`) and moves to the next
    /// epoch; returns the evaluation.
    fn end_epoch(&mut self, epoch: u32, step: u64) -> Result<Predictions> {
        let inputs = self.inputs;
        let (model, hyper, device) = (self.model, &self.job.hyper, &self.opts.device);
        let (batch, order) = (hyper.eval_batch_size as usize, hyper.eval_order);
        let evaluated = self
            .eval_time
            .time(|| model.predict(&inputs.eval_features, batch, order, device))?;
        let rows = inputs.layout.outputs(
            &inputs.eval.examples,
            &inputs.eval_labels,
            evaluated.scores.clone(),
            &evaluated.preds,
        )?;
        let dev = inputs.layout.metrics(&self.job.task.metrics, &rows)?;
        tracing::info!(job = %self.job.id, epoch = epoch + 1, step, ?dev, "epoch done");
        self.st.epochs.push(EpochMetrics {
            epoch: epoch + 1,
            step,
            train_loss: Some(self.st.loss_sum / self.st.loss_count.max(1) as f64),
            dev,
        });
        self.dir
            .write_metrics(&metrics_record(self.job, &self.st.epochs))?;
        self.st.epoch += 1;
        self.st.batch = 0;
        self.st.loss_sum = 0.0;
        self.st.loss_count = 0;
        Ok(evaluated)
    }

    /// Saves the resume state when due ([`RunOptions::save`], or a stop request), then stops
    /// when asked to.
    ///
    /// After the last step the state is saved only when it is kept (`keep_state`): otherwise
    /// the job writes its outputs at once and deletes it, and a kill in between resumes from
    /// the previous save with the same results. That write was about 1.3 s of a 80 s MiniLM
    /// job (docs/bench/sweep.md).
    fn save_or_stop(&mut self, step: u64, epoch_end: bool) -> Result<()> {
        let stop = crate::stop::requested();
        let finished = epoch_end && self.st.epoch == self.job.hyper.epochs;
        let save = if finished {
            stop || self.opts.keep_state
        } else {
            stop || self.save_clock.due(step)
        };
        if save {
            self.st.dropout_rng = self.dropout_rng.state();
            let (dir, st) = (self.dir.state_dir(), self.st.clone());
            let (params, optimizer) = (&self.model.params, &self.optimizer);
            self.state_time
                .time(|| state::save(&dir, st, params, optimizer))?;
            self.save_clock.saved();
        }
        let job = self.job.id.clone();
        if self.opts.abort_after_step == Some(step) {
            return Err(RunnerError::Aborted { job, step });
        }
        if stop {
            tracing::info!(job = %job, step, "stopping on request; resume state saved");
            return Err(RunnerError::Stopped { job, step });
        }
        Ok(())
    }
}
