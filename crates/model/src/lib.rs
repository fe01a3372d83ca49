//! A trainable candle BERT with Hugging Face parameter names, task heads, checkpoint loading,
//! a WordPiece tokenizer with offsets, hub download, and an AdamW with resumable state.

pub mod checkpoint;
pub mod hub;
pub mod pickle;
pub mod tokenizer;
