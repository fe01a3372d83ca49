//! What a job reads: its training and evaluation splits (truncated and augmented as the job
//! says), their gold labels, the evaluation layout, the checkpoint's files and tokenizer, and
//! the tokenized features (cached per sweep).

use std::path::{Path, PathBuf};

use multiberts_manifest::JobSpec;
use multiberts_tasks::SplitData;

use crate::checkpoint::{self, ResolvedCheckpoint};
use crate::error::{Result, RunnerError};
use crate::evaluate::EvalLayout;
use crate::features::{self, Feature, TooFar};
use crate::head::{HeadKind, Targets};

/// Everything a job reads before its model exists.
pub(crate) struct JobInputs {
    /// The head the task needs.
    pub(crate) kind: HeadKind,
    /// The training split as trained on (truncated, augmented, long span pairs left out).
    pub(crate) train: SplitData,
    /// Training examples left out because their spans lie too far apart for one window.
    pub(crate) skipped: usize,
    /// The evaluation split.
    pub(crate) eval: SplitData,
    /// Tokenized training examples, one per example of `train`.
    pub(crate) train_features: Vec<Feature>,
    /// Tokenized evaluation examples, one per example of `eval`.
    pub(crate) eval_features: Vec<Feature>,
    /// Gold labels of `train`.
    pub(crate) train_targets: Targets,
    /// Gold labels of `eval`, as the predictions table stores them.
    pub(crate) eval_labels: Vec<f64>,
    /// How evaluation outputs become rows and metrics.
    pub(crate) layout: EvalLayout,
    /// The checkpoint's local files.
    pub(crate) checkpoint: ResolvedCheckpoint,
    /// The tokenizer's vocabulary size.
    pub(crate) vocab_size: usize,
    /// sha256 of `vocab.txt`.
    pub(crate) vocab_sha256: String,
}

impl JobInputs {
    /// Reads the data of `job` from `data_root` and the checkpoint (downloads and generated
    /// inits go to `cache`, features to `cache/features`). Errors name the job.
    pub(crate) fn read(job: &JobSpec, data_root: Option<&Path>, cache: &Path) -> Result<Self> {
        let invalid = |message: String| RunnerError::Invalid {
            job: job.id.clone(),
            message,
        };
        let spec = &job.task;
        let kind = HeadKind::of(spec).map_err(invalid)?;
        let (mut train, eval) = read_splits(job, data_root)?;
        let eval_labels = kind
            .targets(&spec.name, &eval.split, &eval.examples)?
            .as_f64();

        let resolved = checkpoint::resolve(&job.checkpoint.source, cache)?;
        let tokenizer = checkpoint::tokenizer(&resolved)?;
        let vocab_sha256 = features::file_sha256(&resolved.dir.join("vocab.txt"))?;
        if kind == HeadKind::Span {
            let span = crate::qa::span_inputs(job, &tokenizer, &train, &eval)?;
            return Ok(Self {
                kind,
                layout: EvalLayout::span(&spec.name, &eval.split, span.layout),
                train,
                skipped: 0,
                eval,
                train_features: span.train_features,
                eval_features: span.eval_features,
                train_targets: span.train_targets,
                eval_labels,
                vocab_size: tokenizer.vocab_size(),
                checkpoint: resolved,
                vocab_sha256,
            });
        }
        let layout = EvalLayout::new(&spec.name, &eval.split, &eval.examples, &eval_labels)?;
        let max_len = job.hyper.max_seq_len as usize;
        let feature_cache = cache.join("features");
        let train_features = features::load_or_tokenize(
            &tokenizer,
            &vocab_sha256,
            &train,
            max_len,
            TooFar::Skip,
            &feature_cache,
        )?;
        let skipped = leave_out_too_far(job, &mut train, &train_features)?;
        let train_features: Vec<Feature> = train_features.into_iter().flatten().collect();
        let eval_features: Vec<Feature> = features::load_or_tokenize(
            &tokenizer,
            &vocab_sha256,
            &eval,
            max_len,
            TooFar::Error,
            &feature_cache,
        )?
        .into_iter()
        .flatten()
        .collect();
        let train_targets = kind.targets(&spec.name, &train.split, &train.examples)?;
        Ok(Self {
            kind,
            train,
            skipped,
            eval,
            train_features,
            eval_features,
            train_targets,
            eval_labels,
            layout,
            vocab_size: tokenizer.vocab_size(),
            checkpoint: resolved,
            vocab_sha256,
        })
    }
}

/// The training split (first `max_train_examples`, then augmented) and the evaluation split.
fn read_splits(job: &JobSpec, data_root: Option<&Path>) -> Result<(SplitData, SplitData)> {
    let spec = &job.task;
    let root = data_root.map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let mut train = spec.load_split(&root, &spec.train_split)?;
    if let Some(max) = job.hyper.max_train_examples {
        train.truncate(usize::try_from(max).unwrap_or(usize::MAX));
    }
    // The augmentation applies to the (possibly truncated) training split only.
    if let Some(augmentation) = job.augment {
        if train.squad.is_some() {
            return Err(RunnerError::Invalid {
                job: job.id.clone(),
                message: format!(
                    "augmentation {augmentation:?} rewrites single texts; it does not apply to \
                     the SQuAD task `{}` (remove `augment` from its variant)",
                    spec.name
                ),
            });
        }
        augmentation.apply(&mut train);
    }
    let eval = spec.load_split(&root, &spec.eval_split)?;
    if train.examples.is_empty() || eval.examples.is_empty() {
        return Err(RunnerError::Invalid {
            job: job.id.clone(),
            message: format!(
                "task `{}` has {} training and {} evaluation examples; both must be non-empty",
                spec.name,
                train.examples.len(),
                eval.examples.len()
            ),
        });
    }
    Ok((train, eval))
}

/// Drops the training examples whose features are `None` (span pairs too far apart for one
/// window), with a warning; fails when that is every example. Returns how many were dropped.
fn leave_out_too_far(
    job: &JobSpec,
    train: &mut SplitData,
    features: &[Option<Feature>],
) -> Result<usize> {
    let skipped = features.iter().filter(|f| f.is_none()).count();
    if skipped == 0 {
        return Ok(0);
    }
    let max_len = job.hyper.max_seq_len as usize;
    if skipped == features.len() {
        return Err(RunnerError::Invalid {
            job: job.id.clone(),
            message: format!(
                "every training example of task `{}` has its two spans further apart than \
                 max_seq_len − 2 = {} tokens; raise max_seq_len",
                job.task.name,
                max_len.saturating_sub(2)
            ),
        });
    }
    tracing::warn!(
        task = %job.task.name,
        skipped,
        of = features.len(),
        max_seq_len = max_len,
        "training examples left out: their two spans lie further apart than one window; \
         raise max_seq_len to keep them"
    );
    let mut kept = features.iter().map(Option::is_some);
    train.examples.retain(|_| kept.next().unwrap_or(false));
    Ok(skipped)
}
