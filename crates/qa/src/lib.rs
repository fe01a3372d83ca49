//! Extractive question answering on SQuAD-style data: question + context windows with their
//! offsets and training labels ([`build_features`], after Hugging Face's `run_qa.py`), and
//! n-best span decoding with the no-answer score ([`decode`], after its
//! `postprocess_qa_predictions`).
//!
//! The data comes from [`multiberts_tasks::squad`]; the tokenizer is the model crate's
//! WordPiece tokenizer. Scoring the decoded answers is `multiberts_metrics::squad`'s job (a
//! separate crate, so the statistics need no tokenizer).

mod decode;
mod error;
mod features;

pub use decode::{Candidate, CandidateKind, DecodeConfig, QaPrediction, WindowLogits, decode};
pub use error::QaError;
pub use features::{
    ContextTokens, Features, QaConfig, Window, WindowInputs, build_features, window_spans,
};
