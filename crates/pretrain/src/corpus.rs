//! The pre-training corpus: plain text files in the layout of BERT's
//! `create_pretraining_data.py`, one sentence (or paragraph) per line and a blank line between
//! documents, tokenised with the model's WordPiece vocabulary.

use std::path::{Path, PathBuf};

use multiberts_model::tokenizer::WordPieceTokenizer;

use crate::error::{PretrainError, Result};

/// One document: its sentences as token ids, without special tokens.
pub type Document = Vec<Vec<u32>>;

/// Every document of the corpus files, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corpus {
    /// The documents (each with at least one non-empty sentence).
    pub documents: Vec<Document>,
    /// The files read, in order.
    pub files: Vec<PathBuf>,
}

impl Corpus {
    /// Reads and tokenises `files`. Each file's blank lines separate documents (a file's end
    /// ends one too); lines that tokenise to nothing are skipped. A file that cannot be read,
    /// is not UTF-8, or holds no text is an error naming it.
    pub fn read(files: &[PathBuf], tokenizer: &WordPieceTokenizer) -> Result<Self> {
        if files.is_empty() {
            return Err(PretrainError::Settings(
                "no corpus files given; expected one or more plain text files".into(),
            ));
        }
        let mut documents = Vec::new();
        for path in files {
            let before = documents.len();
            read_file(path, tokenizer, &mut documents)?;
            if documents.len() == before {
                return Err(corpus_error(
                    path,
                    None,
                    "holds no text (expected plain text, one sentence per line, blank lines between documents)",
                ));
            }
        }
        Ok(Self {
            documents,
            files: files.to_vec(),
        })
    }

    /// The number of tokens in all documents (special tokens not counted).
    pub fn tokens(&self) -> usize {
        self.documents.iter().flatten().map(Vec::len).sum()
    }
}

fn corpus_error(path: &Path, line: Option<usize>, message: impl Into<String>) -> PretrainError {
    PretrainError::Corpus {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// Appends the documents of one file.
fn read_file(
    path: &Path,
    tokenizer: &WordPieceTokenizer,
    documents: &mut Vec<Document>,
) -> Result<()> {
    let bytes =
        std::fs::read(path).map_err(|e| corpus_error(path, None, format!("cannot read: {e}")))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        corpus_error(path, Some(line), "is not valid UTF-8; expected plain text")
    })?;
    let mut current: Document = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                documents.push(std::mem::take(&mut current));
            }
            continue;
        }
        let encoding = tokenizer
            .encode(line, None, None)
            .map_err(|e| corpus_error(path, Some(i + 1), format!("cannot tokenise: {e}")))?;
        let ids: Vec<u32> = encoding
            .ids
            .iter()
            .zip(&encoding.special_tokens_mask)
            .filter(|&(_, &special)| special == 0)
            .map(|(&id, _)| id)
            .collect();
        if !ids.is_empty() {
            current.push(ids);
        }
    }
    if !current.is_empty() {
        documents.push(current);
    }
    Ok(())
}
