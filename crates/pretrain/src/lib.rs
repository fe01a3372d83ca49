//! Masked-language-model pre-training of BERT from scratch, the first half of the MultiBERTs
//! procedure: a corpus of plain text ([`corpus`]), training sequences as BERT builds them
//! ([`instances`]), BERT's 15 % / 80-10-10 masking ([`masking`]), and a run ([`run`]) that
//! trains a seeded BERT with the pre-training heads of `multiberts_model::pretraining`,
//! saving Hugging Face checkpoints at chosen steps ([`save`]) and a resume state every N steps
//! ([`state`]). A manifest's pre-training jobs run through [`job`].

pub mod corpus;
pub mod error;
pub mod instances;
pub mod job;
pub mod masking;
pub mod record;
pub mod run;
pub mod save;
mod state;

pub use error::{PretrainError, Result};
pub use run::{PretrainOptions, PretrainSpec, PretrainSummary, StepLog, pretrain};

/// The architecture a run trains: a size preset (`tiny`, `mini`, `small`, `base`, or
/// `L<layers>-H<hidden>`) with the vocabulary's size, or else a `config.json` at that path.
pub fn resolve_config(
    config: &str,
    vocab: &std::path::Path,
    lowercase: bool,
) -> Result<multiberts_model::config::BertConfig> {
    use multiberts_model::config::BertConfig;
    if let Ok(mut preset) = BertConfig::preset(config) {
        let options = multiberts_model::tokenizer::BertTokenizerOptions {
            do_lower_case: lowercase,
            ..Default::default()
        };
        let tokenizer =
            multiberts_model::tokenizer::WordPieceTokenizer::from_vocab_file(vocab, options)?;
        preset.vocab_size = tokenizer.vocab_size();
        return Ok(preset);
    }
    BertConfig::from_file(config).map_err(|e| {
        PretrainError::Settings(format!(
            "`{config}` is not a model size (tiny, mini, small, base, L<layers>-H<hidden>) nor a \
             readable config.json: {e}"
        ))
    })
}

pub use multiberts_manifest::pretrain::save_steps_with_last;

/// The run of `settings` (paths absolute, or relative to the working directory) with `seed`,
/// named `name` in messages: the one builder of `multiberts pretrain` and of a manifest's
/// pre-training jobs, so the two cannot drift apart.
pub fn spec_from_settings(
    name: &str,
    settings: &multiberts_manifest::PretrainSettings,
    seed: u64,
) -> Result<PretrainSpec> {
    let lowercase = !settings.cased;
    let config = resolve_config(&settings.config, &settings.vocab, lowercase)?;
    Ok(PretrainSpec {
        name: name.to_string(),
        config,
        corpus: settings.corpus.clone(),
        vocab: settings.vocab.clone(),
        lowercase,
        seed,
        steps: settings.steps,
        save_steps: save_steps_with_last(&settings.save_steps, settings.steps),
        batch_size: settings.batch_size,
        max_seq_len: settings.max_seq_len,
        learning_rate: settings.learning_rate,
        warmup_steps: settings.warmup_steps,
        weight_decay: settings.weight_decay,
        max_grad_norm: settings.max_grad_norm,
        next_sentence: settings.next_sentence,
    })
}

/// The run of `multiberts pretrain` into the folder `out` (which names it): `settings`' paths
/// relative to the working directory, then [`spec_from_settings`].
pub fn spec_of_folder(
    out: &std::path::Path,
    settings: &multiberts_manifest::PretrainSettings,
    seed: u64,
) -> Result<PretrainSpec> {
    let name = out
        .file_name()
        .map_or_else(|| "pretrain".into(), |n| n.to_string_lossy().into_owned());
    let cwd = std::env::current_dir().map_err(PretrainError::WorkingDirectory)?;
    spec_from_settings(&name, &settings.resolved_against(&cwd), seed)
}

/// The run of a manifest's pre-training job file (named by its job id).
pub fn spec_of_job(file: &multiberts_manifest::PretrainJobFile) -> Result<PretrainSpec> {
    spec_from_settings(&file.spec.id, &file.spec.settings, file.spec.seed)
}

impl PretrainError {
    /// Whether a retry cannot fix it: bad settings, an unreadable or empty corpus, a
    /// vocabulary the tokenizer refuses, a diverging loss.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            PretrainError::Settings(_)
                | PretrainError::Corpus { .. }
                | PretrainError::Tokenizer(_)
                | PretrainError::NonFiniteLoss { .. }
        )
    }
}
