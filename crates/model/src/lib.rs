//! A trainable candle BERT with Hugging Face parameter names, task heads, checkpoint loading,
//! a WordPiece tokenizer with offsets, hub download, and an AdamW with resumable state.

pub mod batch;
pub mod bench;
pub mod bert;
pub mod bmm;
pub mod checkpoint;
pub mod config;
pub mod device;
pub mod dropout;
pub mod encode;
pub mod error;
pub mod fixture_parity;
pub mod fused;
pub mod heads;
pub mod hub;
pub mod init;
pub mod inplace;
pub mod io;
pub mod kernel_path;
pub mod ops;
pub mod optim;
pub mod packing;
pub mod params;
pub mod pickle;
pub mod precision;
pub mod rng;
mod small_mm;
pub mod tokenizer;
mod torch_cpu;
mod xent;
