//! `pretrain = { ... }` checkpoints: a pre-training run declared in the manifest (plain data:
//! the pretrain crate turns [`PretrainSettings`] into a run), its jobs (one per pre-training
//! seed) and the job file the sweep writes for each.
//!
//! The keys mirror `multiberts pretrain`'s flags, with the same defaults (the constants
//! below, which the command's flags use too).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_spanned::Spanned;

use crate::hyper::SpanError;
use crate::ints::IntList;
use crate::job::job_id;

/// Version of the pre-training job's canonical object; bump it when a change alters what a
/// pre-training job computes.
pub const PRETRAIN_VERSION: u32 = 1;
/// Sequences per step (`batch_size`) unless set.
pub const DEFAULT_BATCH_SIZE: usize = 32;
/// Tokens per sequence (`max_seq_len`) unless set.
pub const DEFAULT_MAX_SEQ_LEN: usize = 128;
/// Peak learning rate unless set (BERT's 1e-4).
pub const DEFAULT_LEARNING_RATE: f64 = 1e-4;
/// AdamW's weight decay unless set (BERT's).
pub const DEFAULT_WEIGHT_DECAY: f64 = 0.01;
/// Gradient clipping norm unless set (BERT's).
pub const DEFAULT_MAX_GRAD_NORM: f64 = 1.0;
/// The size presets a pre-training run may name besides `L<layers>-H<hidden>`.
pub const PRETRAIN_SIZES: &[&str] = &["tiny", "mini", "small", "base"];

/// Warm-up steps unless set: 1 % of the steps (BERT's 10k of 1M).
pub fn default_warmup_steps(steps: u64) -> u64 {
    steps / 100
}

/// The steps a run saves a checkpoint after: `save_steps` and the last step, in order, once
/// each.
pub fn save_steps_with_last(save_steps: &[u64], steps: u64) -> Vec<u64> {
    let mut all: Vec<u64> = save_steps.iter().copied().chain([steps]).collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// Whether `name` is a size preset: `tiny`, `mini`, `small`, `base` or `L<layers>-H<hidden>`
/// (1 to 48 layers, a hidden size that is a multiple of 64 from 64 to 4096), as the model
/// crate builds them.
pub fn is_size_name(name: &str) -> bool {
    if PRETRAIN_SIZES.contains(&name) {
        return true;
    }
    let Some((l, h)) = name.strip_prefix('L').and_then(|r| r.split_once("-H")) else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(l) || !digits(h) {
        return false;
    }
    let (Ok(layers), Ok(hidden)) = (l.parse::<u64>(), h.parse::<u64>()) else {
        return false;
    };
    (1..=48).contains(&layers) && hidden % 64 == 0 && (64..=4096).contains(&hidden)
}

/// One pre-training run's settings, everything that changes its checkpoints except the seed.
/// In a manifest's canonical objects the paths are as written (relative to the manifest's
/// folder); in a job file they are absolute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PretrainSettings {
    /// A size preset ([`is_size_name`]) or a `config.json` path.
    pub config: String,
    /// Corpus files: plain text, one sentence per line, blank lines between documents.
    pub corpus: Vec<PathBuf>,
    /// The WordPiece vocabulary (`vocab.txt`).
    pub vocab: PathBuf,
    /// Keep case (default: lower-case the text).
    pub cased: bool,
    /// Optimizer steps.
    pub steps: u64,
    /// Steps after which a checkpoint is saved, the last step included, in order.
    pub save_steps: Vec<u64>,
    /// Sequences per step.
    pub batch_size: usize,
    /// Tokens per sequence, special tokens included.
    pub max_seq_len: usize,
    /// Peak learning rate.
    pub learning_rate: f64,
    /// Steps of linear warm-up.
    pub warmup_steps: u64,
    /// AdamW's decoupled weight decay.
    pub weight_decay: f64,
    /// Gradient clipping norm (0: none).
    pub max_grad_norm: f64,
    /// Also train the next-sentence head.
    pub next_sentence: bool,
}

impl PretrainSettings {
    /// These settings with every relative path (corpus, vocabulary, a `config.json`) joined
    /// onto `base` and made absolute.
    pub fn resolved_against(&self, base: &Path) -> PretrainSettings {
        let abs = |p: &Path| {
            let joined = base.join(p);
            std::path::absolute(&joined).unwrap_or(joined)
        };
        let config = if is_size_name(&self.config) {
            self.config.clone()
        } else {
            abs(Path::new(&self.config)).to_string_lossy().into_owned()
        };
        PretrainSettings {
            config,
            corpus: self.corpus.iter().map(|p| abs(p)).collect(),
            vocab: abs(&self.vocab),
            ..self.clone()
        }
    }
}

/// `pretrain = { config = "L2-H128", corpus = [...], vocab = "...", steps = 1000, ... }` as
/// written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPretrain {
    config: Spanned<String>,
    corpus: Spanned<Vec<String>>,
    vocab: String,
    steps: Spanned<u64>,
    save_steps: Option<Spanned<IntList>>,
    batch_size: Option<Spanned<usize>>,
    max_seq_len: Option<Spanned<usize>>,
    learning_rate: Option<Spanned<f64>>,
    warmup_steps: Option<u64>,
    weight_decay: Option<Spanned<f64>>,
    max_grad_norm: Option<Spanned<f64>>,
    next_sentence: Option<bool>,
    cased: Option<bool>,
}

impl RawPretrain {
    /// The settings with defaults filled in, checked key by key.
    pub(crate) fn resolve(&self) -> Result<PretrainSettings, SpanError> {
        let config = self.config.get_ref();
        if !is_size_name(config) && !config.ends_with(".json") {
            return Err((
                self.config.span(),
                format!(
                    "unknown model size {config:?}; expected tiny, mini, small, base, \
                     L<layers>-H<hidden> (e.g. L2-H128: 1 to 48 layers, a hidden size that is a \
                     multiple of 64) or a config.json path"
                ),
            ));
        }
        if self.corpus.get_ref().is_empty() {
            return Err((
                self.corpus.span(),
                "`corpus` is empty; expected at least one text file".into(),
            ));
        }
        let steps = *self.steps.get_ref();
        if steps == 0 {
            return Err((self.steps.span(), "`steps` must be at least 1".into()));
        }
        let save_steps = self.save_steps.as_ref().map_or(&[][..], |s| &s.get_ref().0);
        if let (Some(s), Some(late)) = (&self.save_steps, save_steps.iter().find(|&&s| s > steps)) {
            return Err((
                s.span(),
                format!("save step {late} is after the last step ({steps})"),
            ));
        }
        let positive = |v: &Option<Spanned<usize>>, key: &str, default: usize| match v {
            Some(v) if *v.get_ref() == 0 => Err((v.span(), format!("`{key}` must be at least 1"))),
            Some(v) => Ok(*v.get_ref()),
            None => Ok(default),
        };
        let batch_size = positive(&self.batch_size, "batch_size", DEFAULT_BATCH_SIZE)?;
        let max_seq_len = positive(&self.max_seq_len, "max_seq_len", DEFAULT_MAX_SEQ_LEN)?;
        let number = |v: &Option<Spanned<f64>>, key: &str, default: f64, zero_ok: bool| match v {
            Some(v) => {
                let x = *v.get_ref();
                let ok = x.is_finite() && (x > 0.0 || (zero_ok && x == 0.0));
                if ok {
                    Ok(x)
                } else {
                    let what = if zero_ok { "0 or more" } else { "positive" };
                    Err((v.span(), format!("`{key}` = {x} must be {what}")))
                }
            }
            None => Ok(default),
        };
        Ok(PretrainSettings {
            config: config.clone(),
            corpus: self.corpus.get_ref().iter().map(PathBuf::from).collect(),
            vocab: PathBuf::from(&self.vocab),
            cased: self.cased.unwrap_or(false),
            steps,
            save_steps: save_steps_with_last(save_steps, steps),
            batch_size,
            max_seq_len,
            learning_rate: number(
                &self.learning_rate,
                "learning_rate",
                DEFAULT_LEARNING_RATE,
                false,
            )?,
            warmup_steps: self
                .warmup_steps
                .unwrap_or_else(|| default_warmup_steps(steps)),
            weight_decay: number(
                &self.weight_decay,
                "weight_decay",
                DEFAULT_WEIGHT_DECAY,
                true,
            )?,
            max_grad_norm: number(
                &self.max_grad_norm,
                "max_grad_norm",
                DEFAULT_MAX_GRAD_NORM,
                true,
            )?,
            next_sentence: self.next_sentence.unwrap_or(false),
        })
    }
}

/// One pre-training job: a `pretrain` table's settings and one of its seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PretrainJob {
    /// Short stable hash of [`PretrainJob::canonical`].
    pub id: String,
    /// The settings, paths as written in the manifest.
    pub settings: PretrainSettings,
    /// The pre-training seed.
    pub seed: u64,
    /// `{"kind": "pretrain", "pretrain_version": 1, "settings": ..., "seed": ...}`: what the
    /// id hashes.
    pub canonical: Value,
}

/// The value of `kind` in a pre-training job's canonical object (fine-tuning jobs have no
/// `kind`, so their ids are those of manifests before pre-training jobs).
pub const PRETRAIN_KIND: &str = "pretrain";

impl PretrainJob {
    /// The job of `settings` (paths as written) and `seed`.
    pub fn new(settings: &PretrainSettings, seed: u64) -> PretrainJob {
        let canonical = serde_json::json!({
            "kind": PRETRAIN_KIND,
            "pretrain_version": PRETRAIN_VERSION,
            "settings": settings,
            "seed": seed,
        });
        PretrainJob {
            id: job_id(&canonical),
            settings: settings.clone(),
            seed,
            canonical,
        }
    }

    /// Its folder under the results tree's `pretrain/`: `seed_<seed>` (the job id below it
    /// tells tables apart).
    pub fn run_folder(&self) -> String {
        format!("seed_{}", self.seed)
    }
}

/// `job.json` of a pre-training job: the canonical object and the settings with absolute
/// paths. `multiberts run-job` tells it from a fine-tuning job by `job.kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PretrainJobFile {
    /// The canonical object ([`PretrainJob::canonical`]); the id hashes it.
    pub job: Value,
    /// What the run needs, resolved.
    pub spec: PretrainJobSpec,
}

/// A pre-training job, resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PretrainJobSpec {
    /// The job id.
    pub id: String,
    /// Its folder under `pretrain/` (`seed_<seed>`).
    pub run: String,
    /// The settings with absolute paths.
    pub settings: PretrainSettings,
    /// The pre-training seed.
    pub seed: u64,
}

impl PretrainJobFile {
    /// Checks that the canonical object hashes to the job id (`path` names the file).
    pub fn check(&self, path: &Path) -> Result<(), crate::JobFileError> {
        let actual = job_id(&self.job);
        if actual != self.spec.id {
            return Err(crate::JobFileError::IdMismatch {
                path: path.to_path_buf(),
                expected: self.spec.id.clone(),
                actual,
            });
        }
        Ok(())
    }
}

/// Whether a `job.json`'s canonical object is a pre-training job's.
pub fn is_pretrain_job(job_json: &Value) -> bool {
    job_json.pointer("/job/kind").and_then(Value::as_str) == Some(PRETRAIN_KIND)
}

/// The saved step of a pre-training job a fine-tuning job starts from: the sweep does not
/// start the fine-tuning job before `dir` exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PretrainStep {
    /// The pre-training job's id.
    pub job: String,
    /// The optimizer step.
    pub step: u64,
    /// The saved checkpoint's folder (absolute): `<pretrain job dir>/step_<step>`.
    pub dir: PathBuf,
}
