//! Masked-language-model pre-training of BERT from scratch, the first half of the MultiBERTs
//! procedure: a corpus of plain text ([`corpus`]), training sequences as BERT builds them
//! ([`instances`]), BERT's 15 % / 80-10-10 masking ([`masking`]), and a run ([`run`]) that
//! trains a seeded BERT with the pre-training heads of `multiberts_model::pretraining`,
//! saving Hugging Face checkpoints at chosen steps ([`save`]) and a resume state every N steps
//! ([`state`]).

pub mod corpus;
pub mod error;
pub mod instances;
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

/// The steps to save a checkpoint after: `save_steps` and the last step, in order, once each.
pub fn save_steps_with_last(save_steps: &[u64], steps: u64) -> Vec<u64> {
    let mut all: Vec<u64> = save_steps.iter().copied().chain([steps]).collect();
    all.sort_unstable();
    all.dedup();
    all
}
