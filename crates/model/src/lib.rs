//! A trainable candle BERT with Hugging Face parameter names, task heads, checkpoint loading,
//! a WordPiece tokenizer with offsets, hub download, and an AdamW with resumable state.
//!
//! The rooms, in the order a reader meets them:
//!
//! * [`bert`]: the encoder in one file, in reading order (layers, embeddings, encoder layer,
//!   model), like candle-transformers' one-file models; [`config`] is its `config.json`,
//!   [`batch`] its input.
//! * [`heads`]: task heads on top of the encoder and their losses.
//! * [`params`]: trainable parameters by Hugging Face name, the builder that fills them from a
//!   checkpoint or a seeded initialisation, and that initialisation ([`params::Init`]).
//! * [`kernels`]: every op twice, a torch-order f32 CPU kernel and a portable composite of
//!   candle ops (what a GPU runs); linear, LayerNorm, softmax, GELU, dropout, unpadding,
//!   cross-entropy, in-place gradient passes, and the switch between the two paths.
//! * [`checkpoint`]: checkpoints as candle tensors and random-init checkpoints. Reading the
//!   files (safetensors, torch zip and legacy pickles) needs no tensor library and lives in the
//!   `multiberts-checkpoint` crate; downloading them from a hub lives in `multiberts-hub`
//!   (re-exported here as [`hub`]).
//! * [`optim`]: AdamW, the learning-rate schedule and gradient clipping.
//! * [`tokenizer`]: the BERT WordPiece tokenizer.
//! * [`device`] and [`precision`]: where the model runs and in which precision; [`rng`]: our
//!   seeded random streams.
//! * [`tools`]: what is built on the model for the CLI's checks: `encode` (a checkpoint's
//!   outputs on one batch), the PyTorch fixture parity check and the benchmark.
//! * [`error`] and [`io`]: the crate's error type and atomic writes.
//!
//! Dependencies between rooms go one way: `bert` and `heads` use `params` and `kernels`;
//! `checkpoint` uses `bert` (to build random inits) and `params`; `optim` uses `params` and
//! `kernels`; `tools` use everything; `kernels` uses only `rng`.
//!
//! The modules below the rooms (`fused`, `ops`, `dropout`, `init`, `pickle`, `encode`, …) keep
//! the paths other crates used before the rooms existed; they only re-export.

pub mod batch;
pub mod bert;
pub mod checkpoint;
pub mod config;
pub mod device;
pub mod error;
pub mod heads;
pub mod io;
pub mod kernels;
pub mod optim;
pub mod params;
pub mod precision;
pub mod pretraining;
pub mod rng;
pub mod tokenizer;
pub mod tools;
pub mod vocab;

/// Hub downloads into the cache Python's `huggingface_hub` shares: the `multiberts-hub` crate.
pub mod hub {
    pub use multiberts_hub::*;
}

// The paths of the flat layout, kept for other crates.
pub use kernels::path as kernel_path;
pub use kernels::{bmm, dropout, fused, inplace, ops, packing};
pub use multiberts_checkpoint::pickle;
pub use tools::{bench, encode, parity as fixture_parity};

/// Weight initialisation and random-init checkpoints (now in [`params`] and [`checkpoint`]).
pub mod init {
    pub use crate::checkpoint::{random_encoder, write_random_checkpoint};
    pub use crate::params::Init;
}
