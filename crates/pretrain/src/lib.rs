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

/// The number of tokens of the vocabulary file `vocab` (what a preset's `vocab_size` must be).
pub fn vocab_size(vocab: &std::path::Path, lowercase: bool) -> Result<usize> {
    let options = multiberts_model::tokenizer::BertTokenizerOptions {
        do_lower_case: lowercase,
        ..Default::default()
    };
    Ok(
        multiberts_model::tokenizer::WordPieceTokenizer::from_vocab_file(vocab, options)?
            .vocab_size(),
    )
}
