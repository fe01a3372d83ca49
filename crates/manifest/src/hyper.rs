//! Fine-tuning hyper-parameters: the manifest's `[defaults]`, per-task overrides, and the
//! resolved values that go into each job's canonical object.

use serde::{Deserialize, Serialize};
use serde_spanned::Spanned;

use crate::ints::IntList;

/// Declares a struct holding every hyper-parameter key as an optional, spanned value, plus the
/// extra fields given. `[defaults]` and `[[tasks]]` share the keys, and serde's `flatten` cannot
/// be combined with `deny_unknown_fields`, so the keys are spelled out once here.
macro_rules! with_hyper_keys {
    ($(#[$meta:meta])* $name:ident { $($field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct $name {
            $(pub(crate) $field: $ty,)*
            pub(crate) max_seq_len: Option<Spanned<u32>>,
            pub(crate) batch_size: Option<Spanned<u32>>,
            pub(crate) eval_batch_size: Option<Spanned<u32>>,
            pub(crate) epochs: Option<Spanned<u32>>,
            pub(crate) learning_rates: Option<Spanned<Vec<f64>>>,
            pub(crate) finetune_seeds: Option<Spanned<IntList>>,
            pub(crate) warmup_ratio: Option<Spanned<f64>>,
            pub(crate) weight_decay: Option<Spanned<f64>>,
            pub(crate) max_grad_norm: Option<Spanned<f64>>,
            pub(crate) adam_beta1: Option<Spanned<f64>>,
            pub(crate) adam_beta2: Option<Spanned<f64>>,
            pub(crate) adam_epsilon: Option<Spanned<f64>>,
            pub(crate) max_train_examples: Option<Spanned<u64>>,
            pub(crate) precision: Option<Spanned<String>>,
            pub(crate) eval_order: Option<Spanned<String>>,
        }

        impl $name {
            /// The hyper-parameter keys as a [`RawHyperRef`].
            pub(crate) fn hyper(&self) -> RawHyperRef<'_> {
                RawHyperRef {
                    max_seq_len: &self.max_seq_len,
                    batch_size: &self.batch_size,
                    eval_batch_size: &self.eval_batch_size,
                    epochs: &self.epochs,
                    learning_rates: &self.learning_rates,
                    finetune_seeds: &self.finetune_seeds,
                    warmup_ratio: &self.warmup_ratio,
                    weight_decay: &self.weight_decay,
                    max_grad_norm: &self.max_grad_norm,
                    adam_beta1: &self.adam_beta1,
                    adam_beta2: &self.adam_beta2,
                    adam_epsilon: &self.adam_epsilon,
                    max_train_examples: &self.max_train_examples,
                    precision: &self.precision,
                    eval_order: &self.eval_order,
                }
            }
        }
    };
}

with_hyper_keys!(
    /// `[defaults]`: only hyper-parameter keys.
    #[derive(Default)]
    RawDefaults {}
);

with_hyper_keys!(
    /// One `[[tasks]]` entry: the task's name, an optional variant (with a training-data
    /// augmentation), plus any hyper-parameter overrides.
    RawTask {
        name: Spanned<String>,
        variant: Option<Spanned<String>>,
        augment: Option<Spanned<String>>,
    }
);

/// Borrowed view of the hyper-parameter keys of a `[defaults]` or `[[tasks]]` table.
pub(crate) struct RawHyperRef<'a> {
    pub(crate) max_seq_len: &'a Option<Spanned<u32>>,
    pub(crate) batch_size: &'a Option<Spanned<u32>>,
    pub(crate) eval_batch_size: &'a Option<Spanned<u32>>,
    pub(crate) epochs: &'a Option<Spanned<u32>>,
    pub(crate) learning_rates: &'a Option<Spanned<Vec<f64>>>,
    pub(crate) finetune_seeds: &'a Option<Spanned<IntList>>,
    pub(crate) warmup_ratio: &'a Option<Spanned<f64>>,
    pub(crate) weight_decay: &'a Option<Spanned<f64>>,
    pub(crate) max_grad_norm: &'a Option<Spanned<f64>>,
    pub(crate) adam_beta1: &'a Option<Spanned<f64>>,
    pub(crate) adam_beta2: &'a Option<Spanned<f64>>,
    pub(crate) adam_epsilon: &'a Option<Spanned<f64>>,
    pub(crate) max_train_examples: &'a Option<Spanned<u64>>,
    pub(crate) precision: &'a Option<Spanned<String>>,
    pub(crate) eval_order: &'a Option<Spanned<String>>,
}

/// Resolved hyper-parameters for one task (defaults, then the task's overrides).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hyper {
    /// Longest tokenized input; longer pairs are truncated `longest_first`.
    pub max_seq_len: u32,
    /// Training batch size.
    pub batch_size: u32,
    /// Evaluation batch size (part of the job: padding can change the last bits of scores).
    pub eval_batch_size: u32,
    /// Passes over the training data.
    pub epochs: u32,
    /// Peak learning rates to sweep; one job each.
    pub learning_rates: Vec<f64>,
    /// Fine-tuning seeds (data order, dropout, head init); one job each.
    pub finetune_seeds: Vec<u64>,
    /// Fraction of steps with linear warm-up, then linear decay to 0.
    pub warmup_ratio: f64,
    /// Decoupled weight decay (not applied to biases and LayerNorm weights).
    pub weight_decay: f64,
    /// Global gradient-norm clipping threshold (0 disables).
    pub max_grad_norm: f64,
    /// Adam β₁.
    pub adam_beta1: f64,
    /// Adam β₂.
    pub adam_beta2: f64,
    /// Adam ε (BERT's original optimizer used 1e-6).
    pub adam_epsilon: f64,
    /// Train on the first N examples only (a documented subset); absent = all.
    pub max_train_examples: Option<u64>,
    /// Numeric precision of the matmuls (part of the job: it changes results).
    pub precision: Precision,
    /// The order dev examples are batched in for evaluation (part of the job, like
    /// `eval_batch_size`: the batch a row is padded with can change its last bits). Job files
    /// written before the key existed evaluated in file order, and file order is left out of
    /// `job.json` so that their files stay byte-identical.
    #[serde(default, skip_serializing_if = "EvalOrder::is_file")]
    pub eval_order: EvalOrder,
}

/// How evaluation batches are formed. Predictions are written in file order either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EvalOrder {
    /// Consecutive examples of the dev file, each batch padded to its longest (the default,
    /// as Hugging Face's Trainer evaluates).
    #[default]
    File,
    /// Examples sorted by token count (stable, so ties keep file order), so each batch holds
    /// examples of similar length and pads less: half the padded tokens on QNLI at
    /// `max_seq_len = 128`, 13 % less evaluation time (docs/bench/sweep.md).
    Length,
}

impl EvalOrder {
    /// The manifest spelling: `file`, `length`.
    pub fn name(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Length => "length",
        }
    }

    /// Whether this is the default, file order.
    pub fn is_file(&self) -> bool {
        *self == Self::File
    }

    /// Parses the manifest spelling (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        [Self::File, Self::Length]
            .into_iter()
            .find(|o| o.name().eq_ignore_ascii_case(s.trim()))
    }
}

/// The numeric precision of a job's matmuls, as manifests spell it. The runner maps it onto
/// `multiberts_model::precision::Precision`, which implements it (this crate stays free of
/// candle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Float32 everywhere (the default).
    #[default]
    Fp32,
    /// Float32 with TF32 tensor-core matmuls (CUDA only).
    Tf32,
    /// bfloat16 matmul inputs, float32 elsewhere (torch-style autocast).
    Bf16,
}

impl Precision {
    /// The manifest spelling: `fp32`, `tf32`, `bf16`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Fp32 => "fp32",
            Self::Tf32 => "tf32",
            Self::Bf16 => "bf16",
        }
    }

    /// Parses the manifest spelling (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Fp32, Self::Tf32, Self::Bf16]
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Default for Hyper {
    /// BERT's GLUE fine-tuning recipe, as used for the MultiBERTs (paper.md §2).
    fn default() -> Hyper {
        Hyper {
            max_seq_len: 128,
            batch_size: 32,
            eval_batch_size: 128,
            epochs: 3,
            learning_rates: vec![2e-5],
            finetune_seeds: vec![0],
            warmup_ratio: 0.1,
            weight_decay: 0.01,
            max_grad_norm: 1.0,
            adam_beta1: 0.9,
            adam_beta2: 0.999,
            adam_epsilon: 1e-6,
            max_train_examples: None,
            precision: Precision::Fp32,
            eval_order: EvalOrder::File,
        }
    }
}

/// A validation problem with the byte span it is about.
pub(crate) type SpanError = (std::ops::Range<usize>, String);

impl Hyper {
    /// Applies the keys set in `raw` on top of `self`, validating each.
    pub(crate) fn apply(&mut self, raw: RawHyperRef<'_>) -> Result<(), SpanError> {
        fn positive(v: &Spanned<u32>, what: &str) -> Result<u32, SpanError> {
            if *v.get_ref() == 0 {
                return Err((v.span(), format!("{what} must be at least 1")));
            }
            Ok(*v.get_ref())
        }
        fn within(v: &Spanned<f64>, lo: f64, hi: f64, what: &str) -> Result<f64, SpanError> {
            let x = *v.get_ref();
            if !(lo..=hi).contains(&x) {
                return Err((
                    v.span(),
                    format!("{what} = {x} is out of range; expected {lo} to {hi}"),
                ));
            }
            Ok(x)
        }
        if let Some(v) = raw.max_seq_len {
            let n = positive(v, "max_seq_len")?;
            if !(8..=512).contains(&n) {
                return Err((
                    v.span(),
                    format!(
                        "max_seq_len = {n} is out of range; expected 8 to 512 (BERT's position table)"
                    ),
                ));
            }
            self.max_seq_len = n;
        }
        if let Some(v) = raw.batch_size {
            self.batch_size = positive(v, "batch_size")?;
        }
        if let Some(v) = raw.eval_batch_size {
            self.eval_batch_size = positive(v, "eval_batch_size")?;
        }
        if let Some(v) = raw.epochs {
            self.epochs = positive(v, "epochs")?;
        }
        if let Some(v) = raw.learning_rates {
            let rates = v.get_ref();
            if rates.is_empty() {
                return Err((
                    v.span(),
                    "learning_rates is empty; expected at least one rate".into(),
                ));
            }
            for (i, &r) in rates.iter().enumerate() {
                if !(r.is_finite() && r > 0.0 && r < 1.0) {
                    return Err((
                        v.span(),
                        format!(
                            "learning rate {r} is invalid; expected a positive number below 1 (e.g. 2e-5)"
                        ),
                    ));
                }
                if rates[..i].contains(&r) {
                    return Err((v.span(), format!("learning rate {r} is listed twice")));
                }
            }
            self.learning_rates = rates.clone();
        }
        if let Some(v) = raw.finetune_seeds {
            self.finetune_seeds = v.get_ref().0.clone();
        }
        if let Some(v) = raw.warmup_ratio {
            self.warmup_ratio = within(v, 0.0, 1.0, "warmup_ratio")?;
        }
        if let Some(v) = raw.weight_decay {
            self.weight_decay = within(v, 0.0, 1.0, "weight_decay")?;
        }
        if let Some(v) = raw.max_grad_norm {
            self.max_grad_norm = within(v, 0.0, f64::MAX, "max_grad_norm")?;
        }
        if let Some(v) = raw.adam_beta1 {
            self.adam_beta1 = within(v, 0.0, 0.999_999, "adam_beta1")?;
        }
        if let Some(v) = raw.adam_beta2 {
            self.adam_beta2 = within(v, 0.0, 0.999_999_999, "adam_beta2")?;
        }
        if let Some(v) = raw.adam_epsilon {
            let x = *v.get_ref();
            if !(x.is_finite() && x > 0.0) {
                return Err((
                    v.span(),
                    format!("adam_epsilon = {x} is invalid; expected a small positive number"),
                ));
            }
            self.adam_epsilon = x;
        }
        if let Some(v) = raw.max_train_examples {
            if *v.get_ref() == 0 {
                return Err((
                    v.span(),
                    "max_train_examples must be at least 1 (omit it to use all)".into(),
                ));
            }
            self.max_train_examples = Some(*v.get_ref());
        }
        if let Some(v) = raw.precision {
            self.precision = Precision::parse(v.get_ref()).ok_or_else(|| {
                (
                    v.span(),
                    format!(
                        "precision = {:?} is not supported; expected \"fp32\" (the default), \
                         \"tf32\" (CUDA only) or \"bf16\"",
                        v.get_ref()
                    ),
                )
            })?;
        }
        if let Some(v) = raw.eval_order {
            self.eval_order = EvalOrder::parse(v.get_ref()).ok_or_else(|| {
                (
                    v.span(),
                    format!(
                        "eval_order = {:?} is not supported; expected \"file\" (the default) or \
                         \"length\" (batches of similar length, less padding)",
                        v.get_ref()
                    ),
                )
            })?;
        }
        Ok(())
    }
}
