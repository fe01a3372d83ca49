//! Errors of the QA crate.

use multiberts_model::tokenizer::TokenizerError;

/// Why windows could not be built or predictions could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum QaError {
    /// The window settings cannot work (e.g. the stride leaves no room for the context).
    #[error("invalid QA settings: {0}")]
    Config(String),
    /// The tokenizer failed on a question or a context.
    #[error("cannot tokenize {what}: {source}")]
    Tokenize {
        /// Which text: `question <id>` or `the context of paragraph <index>`.
        what: String,
        /// The tokenizer's error.
        source: TokenizerError,
    },
    /// The logits do not come one pair per window.
    #[error("{logits} logit rows for {windows} windows; expected one (start, end) pair per window")]
    LogitCount {
        /// Number of windows.
        windows: usize,
        /// Number of logit rows given.
        logits: usize,
    },
    /// A window's logit rows are shorter than the window or differ in length.
    #[error(
        "window {window}: {start} start and {end} end logits for a window of {tokens} tokens; \
         expected equal lengths of at least {tokens} (longer rows are padding)"
    )]
    LogitLength {
        /// The window's index.
        window: usize,
        /// Length of its start logits.
        start: usize,
        /// Length of its end logits.
        end: usize,
        /// Tokens in the window.
        tokens: usize,
    },
    /// A logit is NaN or infinite (the n-best order would be undefined).
    #[error(
        "window {window}: {which} logit at position {position} is {value}; expected a finite number"
    )]
    NonFiniteLogit {
        /// The window's index.
        window: usize,
        /// `start` or `end`.
        which: &'static str,
        /// Token position in the window.
        position: usize,
        /// The offending value.
        value: f32,
    },
}
