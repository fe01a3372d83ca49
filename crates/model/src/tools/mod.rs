//! What is built on the model for the CLI's checks, each beside a PyTorch reference:
//!
//! * [`encode`]: runs a checkpoint's encoder on one batch from JSON and writes its outputs
//!   (`multiberts encode`), to compare any checkpoint with any implementation.
//! * [`parity`]: parity with PyTorch on the bert-tiny fixture (forward, gradients, two AdamW
//!   steps), the check a device passes before its results are trusted.
//! * [`bench`]: times a training step or an evaluation forward on a random batch.

pub mod bench;
pub mod encode;
pub mod parity;
