//! One pre-training run: a BERT initialised from its seed, trained with the masked-LM loss
//! (and next-sentence, when asked) on instances of the corpus in a seeded order, with AdamW,
//! linear warm-up and decay and gradient clipping as BERT; a Hugging Face checkpoint at every
//! save step; a resume state every N steps, so a killed run continues bit-identically.
//!
//! The run's folder:
//!
//! ```text
//! <out>/run.json              the settings and the input files' digests (`RunRecord`)
//! <out>/log.jsonl             one line per step: step, loss, mlm, nsp, lr
//! <out>/step_<N>/             config.json, model.safetensors (bert.* and cls.*), vocab.txt,
//!                             tokenizer_config.json: what transformers' BertForPreTraining loads
//! <out>/state/                the resume state (deleted when the run is done)
//! <out>/DONE                  written last
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::Device;
use serde::{Deserialize, Serialize};

use multiberts_model::batch::Batch;
use multiberts_model::bert::Bert;
use multiberts_model::config::BertConfig;
use multiberts_model::dropout::Mode;
use multiberts_model::optim::{AdamW, AdamWConfig, LinearSchedule, clip_grad_norm};
use multiberts_model::params::{ParamBuilder, Params};
use multiberts_model::pretraining::{PretrainingHeads, pretraining_loss};
use multiberts_model::rng::{SeededRng, stream_id};
use multiberts_model::tokenizer::{BertTokenizerOptions, WordPieceTokenizer};
use multiberts_runner::SaveSchedule;
use multiberts_runner::save_schedule::SaveClock;

use crate::corpus::Corpus;
use crate::error::{PretrainError, Result};
use crate::instances::{Instance, SpecialIds, build_instances};
use crate::masking::{MaskingRule, masked_batch};
use crate::record::{RunRecord, check_finished};
use crate::save::{save_checkpoint, step_dir};
use crate::state::ResumeState;

/// What one pre-training run computes: everything that changes its checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PretrainSpec {
    /// The run's name, used in messages (e.g. `tiny-seed_0`).
    pub name: String,
    /// The architecture.
    pub config: BertConfig,
    /// The corpus files (plain text, one sentence per line, blank lines between documents).
    pub corpus: Vec<PathBuf>,
    /// The WordPiece vocabulary (`vocab.txt`); its size must be the config's `vocab_size`.
    pub vocab: PathBuf,
    /// Lower-case the text (uncased vocabularies).
    pub lowercase: bool,
    /// The seed of the initialisation, the instances, their order, the masks and dropout.
    pub seed: u64,
    /// Optimizer steps.
    pub steps: u64,
    /// Steps after which a checkpoint is saved (0 is the initialisation).
    pub save_steps: Vec<u64>,
    /// Sequences per step.
    pub batch_size: usize,
    /// Tokens per sequence, special tokens included.
    pub max_seq_len: usize,
    /// Peak learning rate.
    pub learning_rate: f64,
    /// Steps of linear warm-up (then linear decay to 0 at `steps`).
    pub warmup_steps: u64,
    /// AdamW's decoupled weight decay (not on biases and LayerNorm weights).
    pub weight_decay: f64,
    /// Gradient clipping norm (0: none).
    pub max_grad_norm: f64,
    /// Train the next-sentence head too (BERT did; RoBERTa and many since do not).
    pub next_sentence: bool,
}

impl PretrainSpec {
    /// Checks the settings against each other.
    pub fn check(&self) -> Result<()> {
        let fail = |m: String| Err(PretrainError::Settings(m));
        if self.steps == 0 || self.batch_size == 0 {
            return fail("`steps` and `batch_size` must be at least 1".into());
        }
        if let Some(s) = self.save_steps.iter().find(|&&s| s > self.steps) {
            return fail(format!(
                "save step {s} is after the last step ({})",
                self.steps
            ));
        }
        let min_len = if self.next_sentence { 5 } else { 4 };
        if self.max_seq_len < min_len || self.max_seq_len > self.config.max_position_embeddings {
            return fail(format!(
                "max_seq_len = {} must be between {min_len} and the config's \
                 max_position_embeddings ({})",
                self.max_seq_len, self.config.max_position_embeddings
            ));
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return fail(format!(
                "learning_rate = {} must be positive",
                self.learning_rate
            ));
        }
        Ok(())
    }
}

/// How a run is carried out (not part of what it computes).
#[derive(Debug, Clone)]
pub struct PretrainOptions {
    /// Where it runs.
    pub device: Device,
    /// When to save the resume state (besides a stop request).
    pub save: SaveSchedule,
    /// Test hook: stop with an error right after this step, as if killed there.
    pub abort_after_step: Option<u64>,
}

/// What a finished run did.
#[derive(Debug, Clone, PartialEq)]
pub struct PretrainSummary {
    /// The run's folder.
    pub dir: PathBuf,
    /// Whether it was done before this call (nothing ran).
    pub already_done: bool,
    /// The step it resumed from, if it did.
    pub resumed_from: Option<u64>,
    /// The saved checkpoints' folders, by step.
    pub checkpoints: Vec<(u64, PathBuf)>,
    /// The masked-LM loss of the first and last steps run (mean over the step's batch).
    pub first_and_last_mlm: Option<(f32, f32)>,
}

impl PretrainSummary {
    /// What `multiberts pretrain` prints of a run of `steps` steps: done before, or the
    /// masked-LM loss of its first and last steps (and where it resumed); then every saved
    /// checkpoint's folder.
    pub fn text(&self, steps: u64) -> String {
        let mut text = String::new();
        if self.already_done {
            text = format!("{} is already done\n", self.dir.display());
        } else if let Some((first, last)) = self.first_and_last_mlm {
            let resumed = self
                .resumed_from
                .map(|s| format!(" (resumed from step {s})"))
                .unwrap_or_default();
            text = format!(
                "pre-trained {steps} steps{resumed}: masked-LM loss {first:.4} → {last:.4}\n"
            );
        }
        for (step, dir) in &self.checkpoints {
            text.push_str(&format!("step {step}: {}\n", dir.display()));
        }
        text
    }
}

/// One step's losses, as `log.jsonl` holds them. Single precision (as computed), so the log
/// survives the resume state's JSON unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepLog {
    /// 1-based step.
    pub step: u64,
    /// Total loss.
    pub loss: f32,
    /// Masked-LM loss.
    pub mlm: f32,
    /// Next-sentence loss, when on.
    pub nsp: Option<f32>,
    /// Learning rate of the step.
    pub lr: f32,
}

const DONE: &str = "DONE";

/// Runs (or resumes, or finds done) the pre-training run `spec` in `dir`.
pub fn pretrain(
    spec: &PretrainSpec,
    dir: &Path,
    opts: &PretrainOptions,
) -> Result<PretrainSummary> {
    spec.check()?;
    let checkpoints: Vec<(u64, PathBuf)> = spec
        .save_steps
        .iter()
        .map(|&s| (s, step_dir(dir, s)))
        .collect();
    let record = RunRecord::current(spec)?;
    if dir.join(DONE).is_file() {
        check_finished(dir, &record)?;
        return Ok(PretrainSummary {
            dir: dir.to_path_buf(),
            already_done: true,
            resumed_from: None,
            checkpoints,
            first_and_last_mlm: None,
        });
    }
    multiberts_runner::stop::install();
    std::fs::create_dir_all(dir)
        .map_err(|e| PretrainError::file(dir, format!("cannot create: {e}")))?;
    record.write(dir)?;
    let mut run = Run::start(&record, dir, opts)?;
    let resumed_from = (run.state.step > 0).then_some(run.state.step);
    run.train()?;
    let log = &run.state.log;
    let first_and_last_mlm = log.first().zip(log.last()).map(|(a, b)| (a.mlm, b.mlm));
    write_log(dir, log)?;
    let state_dir = dir.join("state");
    if state_dir.exists() {
        std::fs::remove_dir_all(&state_dir)
            .map_err(|e| PretrainError::file(&state_dir, format!("cannot remove: {e}")))?;
    }
    multiberts_collector::atomic::write_bytes(&dir.join(DONE), b"")?;
    Ok(PretrainSummary {
        dir: dir.to_path_buf(),
        already_done: false,
        resumed_from,
        checkpoints,
        first_and_last_mlm,
    })
}

/// `log.jsonl`, written atomically from the whole log.
fn write_log(dir: &Path, log: &[StepLog]) -> Result<()> {
    let mut text = String::new();
    for line in log {
        text += &serde_json::to_string(line).map_err(|e| PretrainError::file(dir, e))?;
        text.push('\n');
    }
    Ok(multiberts_collector::atomic::write_bytes(
        &dir.join("log.jsonl"),
        text.as_bytes(),
    )?)
}

/// A run's moving parts.
struct Run<'a> {
    spec: &'a PretrainSpec,
    dir: &'a Path,
    opts: &'a PretrainOptions,
    bert: Bert,
    heads: PretrainingHeads,
    params: Params,
    optimizer: AdamW,
    schedule: LinearSchedule,
    instances: Vec<Instance>,
    rule: MaskingRule,
    pad_id: u32,
    tokenizer: WordPieceTokenizer,
    state: ResumeState,
    dropout: SeededRng,
    /// When the next resume state is due.
    save_clock: SaveClock,
}

impl<'a> Run<'a> {
    /// Reads the corpus, builds the instances and the model, and restores the resume state
    /// when one was saved.
    fn start(record: &'a RunRecord, dir: &'a Path, opts: &'a PretrainOptions) -> Result<Self> {
        let spec = &record.spec;
        let options = BertTokenizerOptions {
            do_lower_case: spec.lowercase,
            ..BertTokenizerOptions::default()
        };
        let tokenizer = WordPieceTokenizer::from_vocab_file(&spec.vocab, options)?;
        if tokenizer.vocab_size() != spec.config.vocab_size {
            return Err(PretrainError::Settings(format!(
                "{} has {} tokens but the config's vocab_size is {}",
                spec.vocab.display(),
                tokenizer.vocab_size(),
                spec.config.vocab_size
            )));
        }
        let id = |t: &str| {
            tokenizer.token_to_id(t).ok_or_else(|| {
                PretrainError::Settings(format!("{} has no {t} token", spec.vocab.display()))
            })
        };
        let (cls, sep, mask, unk) = (id("[CLS]")?, id("[SEP]")?, id("[MASK]")?, id("[UNK]")?);
        let pad_id = tokenizer.pad_id();
        let corpus = Corpus::read(&spec.corpus, &tokenizer)?;
        let mut rng = SeededRng::named(spec.seed, "pretrain/instances");
        let special = SpecialIds { cls, sep };
        let instances = build_instances(
            &corpus,
            spec.max_seq_len,
            spec.next_sentence,
            special,
            &mut rng,
        );
        if instances.is_empty() {
            return Err(PretrainError::Settings(format!(
                "the corpus ({} files) gives no training sequence",
                spec.corpus.len()
            )));
        }
        tracing::info!(
            run = %spec.name,
            documents = corpus.documents.len(),
            tokens = corpus.tokens(),
            instances = instances.len(),
            "corpus read"
        );
        let rule = MaskingRule::bert(
            mask,
            vec![pad_id, unk, cls, sep, mask],
            spec.config.vocab_size as u32,
        );
        let mut b = ParamBuilder::fresh(&opts.device, spec.seed);
        let bert = Bert::build(&spec.config, &mut b)?;
        let heads = PretrainingHeads::build(&spec.config, spec.next_sentence, &mut b)?;
        let (params, _) = b.finish(&[])?;
        let adam = AdamWConfig {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-6,
            weight_decay: spec.weight_decay,
        };
        let mut optimizer = AdamW::new(&params, adam)?;
        let schedule = LinearSchedule {
            base_lr: spec.learning_rate,
            warmup_steps: spec.warmup_steps,
            total_steps: spec.steps,
        };
        let state = crate::state::load_or_start(dir, record, &params, &mut optimizer)?;
        Ok(Self {
            spec,
            dir,
            opts,
            bert,
            heads,
            params,
            optimizer,
            schedule,
            instances,
            rule,
            pad_id,
            tokenizer,
            dropout: SeededRng::from_state(state.dropout_rng),
            save_clock: opts.save.start(),
            state,
        })
    }

    /// Trains the remaining steps, saving checkpoints and resume states when due.
    fn train(&mut self) -> Result<()> {
        if self.state.step == 0 && self.spec.save_steps.contains(&0) {
            self.save_checkpoint(0)?;
        }
        let started = Instant::now();
        let first = self.state.step;
        let mut order = EpochOrder::new(self.spec.seed, self.instances.len());
        while self.state.step < self.spec.steps {
            let log = self.step(&mut order)?;
            let step = log.step;
            self.state.log.push(log);
            self.report_progress(step, first, started);
            if self.spec.save_steps.contains(&step) {
                self.save_checkpoint(step)?;
            }
            self.save_or_stop(step)?;
        }
        Ok(())
    }

    /// One optimizer step on the batch of step `state.step + 1`.
    fn step(&mut self, order: &mut EpochOrder) -> Result<StepLog> {
        let s = self.state.step;
        let bs = self.spec.batch_size;
        let picked: Vec<&Instance> = (0..bs)
            .map(|k| &self.instances[order.at(s as usize * bs + k)])
            .collect();
        let mut mask_rng = SeededRng::new(
            self.spec.seed,
            stream_id(&format!("pretrain/mask/step-{s}")),
        );
        let m = masked_batch(&picked, &self.rule, self.pad_id, &mut mask_rng);
        let device = &self.opts.device;
        let batch = Batch::from_rows(
            &m.input_ids,
            &m.token_type_ids,
            &m.attention_mask,
            &self.spec.config,
            device,
        )?;
        let nsp = m
            .next_sentence_labels
            .as_ref()
            .filter(|_| self.spec.next_sentence)
            .map(|l| candle_core::Tensor::new(l.as_slice(), device))
            .transpose()?;
        let out = self
            .bert
            .forward(&batch, &mut Mode::Train(&mut self.dropout))?;
        let loss = pretraining_loss(&self.bert, &self.heads, &out, &m.masked, nsp.as_ref())?;
        let value = loss.total.to_scalar::<f32>()?;
        if !value.is_finite() {
            return Err(PretrainError::NonFiniteLoss {
                run: self.spec.name.clone(),
                step: s + 1,
                loss: value,
            });
        }
        let mut grads = loss.total.backward()?;
        if self.spec.max_grad_norm > 0.0 {
            clip_grad_norm(&self.params, &mut grads, self.spec.max_grad_norm)?;
        }
        let lr = self.schedule.lr(s);
        self.optimizer.step(&grads, lr)?;
        self.state.step = s + 1;
        Ok(StepLog {
            step: s + 1,
            loss: value,
            mlm: loss.mlm.to_scalar::<f32>()?,
            nsp: loss
                .next_sentence
                .map(|t| t.to_scalar::<f32>())
                .transpose()?,
            lr: lr as f32,
        })
    }

    /// A log line with the step, the masked-LM loss, the learning rate and the time left,
    /// every 10 % of the run: `step 300/1000 mlm 6.9100 lr 1.0e-3 eta 4m10s`.
    fn report_progress(&self, step: u64, first: u64, started: Instant) {
        let every = (self.spec.steps / 10).max(1);
        if !step.is_multiple_of(every) && step != self.spec.steps {
            return;
        }
        let done = (step - first) as f64;
        let left =
            started.elapsed().as_secs_f64() / done.max(1.0) * (self.spec.steps - step) as f64;
        let Some(last) = self.state.log.last() else {
            return;
        };
        tracing::info!(
            run = %self.spec.name,
            "step {step}/{} mlm {:.4} lr {:.1e} eta {}",
            self.spec.steps,
            last.mlm,
            last.lr,
            duration_text(left)
        );
    }

    /// Writes the Hugging Face checkpoint of `step`.
    fn save_checkpoint(&self, step: u64) -> Result<()> {
        save_checkpoint(
            self.dir,
            step,
            &self.spec.config,
            &self.params,
            &self.tokenizer,
            &self.spec.vocab,
        )
    }

    /// Saves the resume state when due ([`PretrainOptions::save`], or a stop request; never
    /// after the last step, whose outputs are written at once), then stops when asked to.
    fn save_or_stop(&mut self, step: u64) -> Result<()> {
        let stop = multiberts_runner::stop::requested();
        let last = step == self.spec.steps;
        if !last && (stop || self.save_clock.due(step)) {
            self.state.dropout_rng = self.dropout.state();
            crate::state::save(self.dir, &self.state, &self.params, &self.optimizer)?;
            write_log(self.dir, &self.state.log)?;
            self.save_clock.saved();
        }
        let run = self.spec.name.clone();
        if self.opts.abort_after_step == Some(step) {
            return Err(PretrainError::Aborted { run, step });
        }
        if stop && !last {
            return Err(PretrainError::Stopped { run, step });
        }
        Ok(())
    }
}

/// The order instances are visited in: one seeded permutation per pass over them.
struct EpochOrder {
    seed: u64,
    n: usize,
    epoch: usize,
    permutation: Vec<usize>,
}

impl EpochOrder {
    fn new(seed: u64, n: usize) -> Self {
        Self {
            seed,
            n,
            epoch: usize::MAX,
            permutation: Vec::new(),
        }
    }

    /// The instance at position `k` of the endless sequence of passes.
    fn at(&mut self, k: usize) -> usize {
        let epoch = k / self.n;
        if epoch != self.epoch {
            self.permutation =
                SeededRng::named(self.seed, &format!("pretrain/order/epoch-{epoch}"))
                    .permutation(self.n);
            self.epoch = epoch;
        }
        self.permutation[k % self.n]
    }
}

/// `4m10s`, `1h02m`, `7s`: a duration in seconds for progress lines.
pub fn duration_text(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_says_what_ran_and_where_the_checkpoints_are() {
        let summary = PretrainSummary {
            dir: PathBuf::from("runs/a"),
            already_done: false,
            resumed_from: Some(4),
            checkpoints: vec![(0, PathBuf::from("runs/a/step_0"))],
            first_and_last_mlm: Some((9.5, 7.25)),
        };
        assert_eq!(
            summary.text(8),
            "pre-trained 8 steps (resumed from step 4): masked-LM loss 9.5000 → 7.2500\n\
             step 0: runs/a/step_0\n"
        );
        let done = PretrainSummary {
            already_done: true,
            ..summary
        };
        assert!(done.text(8).starts_with("runs/a is already done\n"));
    }

    #[test]
    fn durations_read_as_hours_minutes_seconds() {
        assert_eq!(super::duration_text(7.4), "7s");
        assert_eq!(super::duration_text(250.0), "4m10s");
        assert_eq!(super::duration_text(3720.0), "1h02m");
        assert_eq!(super::duration_text(-1.0), "0s");
    }
}
