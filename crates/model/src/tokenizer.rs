//! BERT WordPiece tokenizer built from `vocab.txt` + `tokenizer_config.json`, on `tokenizers`
//! 0.23 (the same engine as Python's `BertTokenizerFast`, so ids match exactly).
//!
//! Pipeline: BertNormalizer (clean text, CJK spacing, accent stripping, lower-casing), BERT
//! pre-tokenizer (whitespace and punctuation), WordPiece (`##` continuation, `[UNK]` for words
//! over 100 chars), then `[CLS] A [SEP] (B [SEP])`. Pairs are truncated with `longest_first`.
//! The special tokens are registered as added tokens, so a literal `[MASK]` in the text is one
//! token, as in transformers.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Deserialize;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::utils::truncation::{TruncationParams, TruncationStrategy, truncate_encodings};
use tokenizers::{AddedToken, PostProcessor, Tokenizer};

/// Longest word WordPiece splits; longer words become `[UNK]` (BERT's value).
pub const MAX_INPUT_CHARS_PER_WORD: usize = 100;

/// Why a tokenizer could not be built or could not encode.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// `tokenizer_config.json` is not valid JSON of the expected shape.
    #[error("{path}:{line}:{column}: invalid tokenizer config: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What was expected.
        message: String,
    },
    /// `vocab.txt` is unusable.
    #[error("{path}: invalid vocab: {what}")]
    Vocab {
        /// The file.
        path: PathBuf,
        /// What is wrong (with the line number where it applies).
        what: String,
    },
    /// `max_len` cannot even hold the special tokens.
    #[error("max_len {max_len} is too small: a {kind} needs {needed} special tokens")]
    MaxLenTooSmall {
        /// The requested maximum length.
        max_len: usize,
        /// `single sequence` or `pair`.
        kind: &'static str,
        /// How many special tokens the template adds.
        needed: usize,
    },
    /// The `tokenizers` library failed.
    #[error("tokenizer: {0}")]
    Tokenizers(String),
}

fn tk_err(e: tokenizers::Error) -> TokenizerError {
    TokenizerError::Tokenizers(e.to_string())
}

/// The options of a BERT tokenizer, as `tokenizer_config.json` gives them. Unknown keys in the
/// file are ignored (the file is written by transformers and holds many).
#[derive(Debug, Clone, PartialEq)]
pub struct BertTokenizerOptions {
    /// Lower-case the text (uncased models).
    pub do_lower_case: bool,
    /// Strip accents; `None` follows `do_lower_case` (transformers' rule).
    pub strip_accents: Option<bool>,
    /// Put spaces around CJK ideographs so each is a word.
    pub tokenize_chinese_chars: bool,
    /// Unknown token.
    pub unk_token: String,
    /// Separator token.
    pub sep_token: String,
    /// Padding token.
    pub pad_token: String,
    /// Classification token.
    pub cls_token: String,
    /// Mask token.
    pub mask_token: String,
    /// `model_max_length`, if the file gives a real one (transformers writes 1e30 for "none").
    pub model_max_length: Option<usize>,
}

impl Default for BertTokenizerOptions {
    /// transformers' `BertTokenizer` defaults.
    fn default() -> Self {
        Self {
            do_lower_case: true,
            strip_accents: None,
            tokenize_chinese_chars: true,
            unk_token: "[UNK]".into(),
            sep_token: "[SEP]".into(),
            pad_token: "[PAD]".into(),
            cls_token: "[CLS]".into(),
            mask_token: "[MASK]".into(),
            model_max_length: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TokenSpec {
    Plain(String),
    Added { content: String },
}

impl TokenSpec {
    fn content(self) -> String {
        match self {
            TokenSpec::Plain(s) | TokenSpec::Added { content: s } => s,
        }
    }
}

#[derive(Deserialize)]
struct ConfigFile {
    do_lower_case: Option<bool>,
    strip_accents: Option<bool>,
    tokenize_chinese_chars: Option<bool>,
    unk_token: Option<TokenSpec>,
    sep_token: Option<TokenSpec>,
    pad_token: Option<TokenSpec>,
    cls_token: Option<TokenSpec>,
    mask_token: Option<TokenSpec>,
    model_max_length: Option<f64>,
    do_basic_tokenize: Option<bool>,
    never_split: Option<Vec<String>>,
}

impl BertTokenizerOptions {
    /// Reads `tokenizer_config.json`; keys it lacks keep transformers' defaults.
    pub fn from_json_file(path: &Path) -> Result<Self, TokenizerError> {
        let text = std::fs::read_to_string(path).map_err(|source| TokenizerError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let file: ConfigFile = serde_json::from_str(&text).map_err(|e| TokenizerError::Config {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        if file.do_basic_tokenize == Some(false) {
            tracing::warn!(
                path = %path.display(),
                "do_basic_tokenize=false is not supported: whitespace/punctuation splitting stays on"
            );
        }
        if file.never_split.as_ref().is_some_and(|v| !v.is_empty()) {
            tracing::warn!(path = %path.display(), "never_split is not supported and is ignored");
        }
        let d = Self::default();
        Ok(Self {
            do_lower_case: file.do_lower_case.unwrap_or(d.do_lower_case),
            strip_accents: file.strip_accents,
            tokenize_chinese_chars: file
                .tokenize_chinese_chars
                .unwrap_or(d.tokenize_chinese_chars),
            unk_token: file.unk_token.map_or(d.unk_token, TokenSpec::content),
            sep_token: file.sep_token.map_or(d.sep_token, TokenSpec::content),
            pad_token: file.pad_token.map_or(d.pad_token, TokenSpec::content),
            cls_token: file.cls_token.map_or(d.cls_token, TokenSpec::content),
            mask_token: file.mask_token.map_or(d.mask_token, TokenSpec::content),
            model_max_length: file
                .model_max_length
                .filter(|m| (1.0..=1e9).contains(m))
                .map(|m| m as usize),
        })
    }
}

/// One encoded sequence (or pair), unpadded unless [`Encoding::pad_to`] was called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoding {
    /// Token ids, `[CLS] A [SEP] (B [SEP])`.
    pub ids: Vec<u32>,
    /// 0 for `[CLS] A [SEP]`, 1 for `B [SEP]`.
    pub type_ids: Vec<u32>,
    /// 1 for real tokens, 0 for padding.
    pub attention_mask: Vec<u32>,
    /// Token strings (`##` marks continuations).
    pub tokens: Vec<String>,
    /// `[start, end)` in Unicode code points (Python `str` indices) into the text given by
    /// `sequence_ids`; `(0, 0)` for special and padding tokens.
    pub offsets: Vec<(usize, usize)>,
    /// The same spans in UTF-8 bytes (for slicing a Rust `&str`).
    pub byte_offsets: Vec<(usize, usize)>,
    /// `Some(0)` for tokens of text A, `Some(1)` for text B, `None` for special and padding.
    pub sequence_ids: Vec<Option<u8>>,
    /// Index of the pre-tokenized word each token belongs to, within its own text.
    pub word_ids: Vec<Option<u32>>,
    /// 1 for special and padding tokens.
    pub special_tokens_mask: Vec<u32>,
}

impl Encoding {
    /// Number of tokens (including special tokens and padding).
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are no tokens at all.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Pads on the right up to `len` tokens (no-op if already that long) with `pad_id`,
    /// type 0 and mask 0, as transformers does.
    pub fn pad_to(&mut self, len: usize, pad_id: u32, pad_token: &str) {
        let n = len.saturating_sub(self.len());
        self.ids.extend(std::iter::repeat_n(pad_id, n));
        self.type_ids.extend(std::iter::repeat_n(0, n));
        self.attention_mask.extend(std::iter::repeat_n(0, n));
        self.tokens
            .extend(std::iter::repeat_n(pad_token.to_string(), n));
        self.offsets.extend(std::iter::repeat_n((0, 0), n));
        self.byte_offsets.extend(std::iter::repeat_n((0, 0), n));
        self.sequence_ids.extend(std::iter::repeat_n(None, n));
        self.word_ids.extend(std::iter::repeat_n(None, n));
        self.special_tokens_mask.extend(std::iter::repeat_n(1, n));
    }
}

/// A BERT WordPiece tokenizer.
pub struct WordPieceTokenizer {
    inner: Tokenizer,
    options: BertTokenizerOptions,
    pad_id: u32,
}

impl std::fmt::Debug for WordPieceTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WordPieceTokenizer")
            .field("options", &self.options)
            .field("vocab_size", &self.vocab_size())
            .finish()
    }
}

impl WordPieceTokenizer {
    /// Builds the tokenizer of a checkpoint directory: `vocab.txt` and, if present,
    /// `tokenizer_config.json` (otherwise transformers' defaults, with a warning, since a
    /// cased model would then be lower-cased).
    pub fn from_dir(dir: &Path) -> Result<Self, TokenizerError> {
        let config = dir.join("tokenizer_config.json");
        let options = if config.is_file() {
            BertTokenizerOptions::from_json_file(&config)?
        } else {
            tracing::warn!(
                dir = %dir.display(),
                "no tokenizer_config.json: using BertTokenizer defaults (lower-casing)"
            );
            BertTokenizerOptions::default()
        };
        Self::from_vocab_file(&dir.join("vocab.txt"), options)
    }

    /// Builds the tokenizer from a `vocab.txt` (one token per line, id = line number) and
    /// explicit options.
    pub fn from_vocab_file(
        vocab: &Path,
        options: BertTokenizerOptions,
    ) -> Result<Self, TokenizerError> {
        let bytes = std::fs::read(vocab).map_err(|source| TokenizerError::Io {
            path: vocab.to_path_buf(),
            source,
        })?;
        let vocab_err = |what: String| TokenizerError::Vocab {
            path: vocab.to_path_buf(),
            what,
        };
        if let Err(e) = std::str::from_utf8(&bytes) {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            return Err(vocab_err(format!("line {line} is not valid UTF-8")));
        }
        let map = WordPiece::read_bytes(&bytes).map_err(|e| vocab_err(e.to_string()))?;
        if map.is_empty() {
            return Err(vocab_err("the file is empty".into()));
        }
        let special = [
            &options.unk_token,
            &options.sep_token,
            &options.pad_token,
            &options.cls_token,
            &options.mask_token,
        ];
        let mut ids = Vec::with_capacity(special.len());
        for token in special {
            let id = map
                .get(token.as_str())
                .copied()
                .ok_or_else(|| vocab_err(format!("special token {token} is not in the vocab")))?;
            ids.push(id);
        }
        let (sep_id, pad_id, cls_id) = (ids[1], ids[2], ids[3]);

        let model = WordPiece::builder()
            .vocab(map)
            .unk_token(options.unk_token.clone())
            .continuing_subword_prefix("##".into())
            .max_input_chars_per_word(MAX_INPUT_CHARS_PER_WORD)
            .build()
            .map_err(|e| vocab_err(e.to_string()))?;
        let mut inner = Tokenizer::new(model);
        inner
            .with_normalizer(Some(BertNormalizer::new(
                true,
                options.tokenize_chinese_chars,
                options.strip_accents,
                options.do_lower_case,
            )))
            .map_err(tk_err)?;
        inner.with_pre_tokenizer(Some(BertPreTokenizer));
        inner.with_post_processor(Some(BertProcessing::new(
            (options.sep_token.clone(), sep_id),
            (options.cls_token.clone(), cls_id),
        )));
        let added: Vec<AddedToken> = special
            .iter()
            .map(|t| AddedToken::from(t.as_str(), true))
            .collect();
        inner.add_special_tokens(added).map_err(tk_err)?;
        Ok(Self {
            inner,
            options,
            pad_id,
        })
    }

    /// The options the tokenizer was built with.
    pub fn options(&self) -> &BertTokenizerOptions {
        &self.options
    }

    /// Number of entries in the vocab (including added special tokens).
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The id of `[PAD]` (or the configured pad token).
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// The id of a token, if it is in the vocab.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// The token of an id, if the id is in the vocab.
    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// Encodes `text_a`, or the pair (`text_a`, `text_b`), with special tokens. With
    /// `max_len`, the result has at most that many tokens: a single text keeps its first
    /// tokens; a pair is truncated `longest_first` (tokenizers' rule: the shorter side keeps
    /// `min(len, budget / 2)` tokens, the other side the rest of the budget).
    pub fn encode(
        &self,
        text_a: &str,
        text_b: Option<&str>,
        max_len: Option<usize>,
    ) -> Result<Encoding, TokenizerError> {
        let a = self.inner.encode(text_a, false).map_err(tk_err)?;
        let b = text_b
            .map(|b| self.inner.encode(b, false).map_err(tk_err))
            .transpose()?;
        let (a, b) = match max_len {
            None => (a, b),
            Some(max_len) => {
                let pair = b.is_some();
                let needed = self
                    .inner
                    .get_post_processor()
                    .map_or(0, |p| p.added_tokens(pair));
                if max_len < needed {
                    return Err(TokenizerError::MaxLenTooSmall {
                        max_len,
                        kind: if pair { "pair" } else { "single sequence" },
                        needed,
                    });
                }
                let params = TruncationParams {
                    max_length: max_len - needed,
                    strategy: TruncationStrategy::LongestFirst,
                    stride: 0,
                    ..Default::default()
                };
                truncate_encodings(a, b, &params).map_err(tk_err)?
            }
        };
        let enc = self.inner.post_process(a, b, true).map_err(tk_err)?;

        let sequence_ids: Vec<Option<u8>> = enc
            .get_sequence_ids()
            .into_iter()
            .zip(enc.get_special_tokens_mask())
            .map(|(s, &special)| match (s, special) {
                (Some(s), 0) => Some(s as u8),
                _ => None,
            })
            .collect();
        let byte_offsets: Vec<(usize, usize)> = enc
            .get_offsets()
            .iter()
            .zip(&sequence_ids)
            .map(|(&o, s)| if s.is_some() { o } else { (0, 0) })
            .collect();
        let map_a = CharIndex::new(text_a);
        let map_b = text_b.map(CharIndex::new);
        let offsets = byte_offsets
            .iter()
            .zip(&sequence_ids)
            .map(|(&(s, e), seq)| {
                let map = match seq {
                    Some(0) => Some(&map_a),
                    Some(_) => map_b.as_ref(),
                    None => None,
                };
                match map {
                    Some(m) => (m.char_at(s), m.char_at(e)),
                    None => (0, 0),
                }
            })
            .collect();
        Ok(Encoding {
            ids: enc.get_ids().to_vec(),
            type_ids: enc.get_type_ids().to_vec(),
            attention_mask: enc.get_attention_mask().to_vec(),
            tokens: enc.get_tokens().to_vec(),
            offsets,
            byte_offsets,
            sequence_ids,
            word_ids: enc.get_word_ids().to_vec(),
            special_tokens_mask: enc.get_special_tokens_mask().to_vec(),
        })
    }

    /// Encodes many inputs in parallel; the output is in input order and does not depend on
    /// the number of threads.
    pub fn encode_batch(
        &self,
        inputs: &[(&str, Option<&str>)],
        max_len: Option<usize>,
    ) -> Result<Vec<Encoding>, TokenizerError> {
        inputs
            .par_iter()
            .map(|(a, b)| self.encode(a, *b, max_len))
            .collect()
    }

    /// Encodes many inputs and pads them all to the longest one (or to `pad_to` if given and
    /// longer), ready to stack into `[batch, len]` tensors.
    pub fn encode_batch_padded(
        &self,
        inputs: &[(&str, Option<&str>)],
        max_len: Option<usize>,
        pad_to: Option<usize>,
    ) -> Result<Vec<Encoding>, TokenizerError> {
        let mut encs = self.encode_batch(inputs, max_len)?;
        let longest = encs.iter().map(Encoding::len).max().unwrap_or(0);
        let len = pad_to.map_or(longest, |p| p.max(longest));
        for e in &mut encs {
            e.pad_to(len, self.pad_id, &self.options.pad_token);
        }
        Ok(encs)
    }
}

/// Converts UTF-8 byte offsets of one text into code-point offsets.
struct CharIndex {
    /// `None` for ASCII text, where both are the same.
    table: Option<Vec<usize>>,
}

impl CharIndex {
    fn new(text: &str) -> Self {
        if text.is_ascii() {
            return Self { table: None };
        }
        // table[byte] = number of chars that start before `byte`.
        let mut table = vec![0usize; text.len() + 1];
        let mut chars = 0;
        let mut next_boundary = text.char_indices().map(|(i, _)| i).peekable();
        for (byte, slot) in table.iter_mut().enumerate() {
            while next_boundary.peek().is_some_and(|&i| i < byte) {
                next_boundary.next();
                chars += 1;
            }
            *slot = chars;
        }
        Self { table: Some(table) }
    }

    fn char_at(&self, byte: usize) -> usize {
        match &self.table {
            None => byte,
            Some(t) => t
                .get(byte)
                .copied()
                .unwrap_or_else(|| t.last().copied().unwrap_or(0)),
        }
    }
}
