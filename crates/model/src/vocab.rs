//! Training a WordPiece vocabulary on a corpus (for pre-training from scratch with a vocabulary
//! of one's own size), with the `tokenizers` crate's trainer and BERT's normalisation and
//! pre-tokenisation, so the result reads back with [`crate::tokenizer::WordPieceTokenizer`].

use std::path::{Path, PathBuf};

use tokenizers::decoders::wordpiece::WordPiece as WordPieceDecoder;
use tokenizers::models::wordpiece::{WordPiece, WordPieceTrainer};
use tokenizers::normalizers::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::{AddedToken, Model, TokenizerBuilder};

use crate::tokenizer::TokenizerError;

/// BERT's special tokens, first in the vocabulary in this order (`[PAD]` is id 0).
pub const SPECIAL_TOKENS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/// Trains a WordPiece vocabulary of at most `size` tokens on `files` (plain text) and writes it
/// to `out` (`vocab.txt`: one token per line, id = line number, the specials first, then the
/// other tokens in byte order). Returns the number of tokens.
///
/// Not reproducible to the token: the `tokenizers` trainer breaks ties between equally frequent
/// merges in hash-map order (huggingface/tokenizers#1794), so two trainings on the same files
/// can differ in a few rare tokens. Train a vocabulary once and keep the file: runs that read it
/// are reproducible.
pub fn train_wordpiece(
    files: &[PathBuf],
    size: usize,
    lowercase: bool,
    out: &Path,
) -> Result<usize, TokenizerError> {
    let err = |e: tokenizers::Error| TokenizerError::Tokenizers(e.to_string());
    let mut tokenizer = TokenizerBuilder::<
        WordPiece,
        BertNormalizer,
        BertPreTokenizer,
        BertProcessing,
        WordPieceDecoder,
    >::new()
    .with_model(WordPiece::default())
    .with_normalizer(Some(BertNormalizer::new(true, true, None, lowercase)))
    .with_pre_tokenizer(Some(BertPreTokenizer))
    .build()
    .map_err(err)?;
    let specials = SPECIAL_TOKENS
        .iter()
        .map(|t| AddedToken::from(*t, true))
        .collect();
    let mut trainer = WordPieceTrainer::builder()
        .vocab_size(size)
        .min_frequency(2)
        .show_progress(false)
        .special_tokens(specials)
        .build();
    let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    tokenizer
        .train_from_files(&mut trainer, names)
        .map_err(err)?;
    let mut tokens: Vec<String> = tokenizer
        .get_model()
        .get_vocab()
        .into_keys()
        .filter(|t| !SPECIAL_TOKENS.contains(&t.as_str()))
        .collect();
    tokens.sort_unstable();
    let vocab: Vec<String> = SPECIAL_TOKENS
        .iter()
        .map(|t| (*t).to_string())
        .chain(tokens)
        .collect();
    let mut text = String::with_capacity(vocab.len() * 8);
    for token in &vocab {
        text.push_str(token);
        text.push('\n');
    }
    crate::io::atomic_write(out, |tmp| {
        std::fs::write(tmp, &text).map_err(|e| e.to_string())
    })
    .map_err(|e| TokenizerError::Tokenizers(e.to_string()))?;
    Ok(vocab.len())
}
