//! Task specs (`tasks/*.toml`) and dataset readers that turn data files into typed examples.
//!
//! A [`TaskSpec`] says what a task is (kind, label order, metrics) and where its data lives
//! (one or more [`Source`]s: GLUE TSV, SuperGLUE JSONL, Hugging Face Parquet, or a built-in
//! generator). [`TaskRegistry`] holds the specs embedded in the binary plus any user folder.
//! [`TaskSpec::load_split`] reads a split into [`Example`]s; malformed data is an error that
//! names the file, the line and column, and what was expected.
//!
//! [`SafeName`] is the one type for a user-controlled string that becomes a path component
//! (task, manifest, checkpoint, variant and analysis names).
//!
//! [`check::check_task`] says whether a task's splits are present and well-formed (`multiberts
//! data check`).
//!
//! SQuAD v1.1/v2.0 files read into typed questions with [`squad::read_squad`].
//!
//! Coreference (span-pair) tasks read Winogender ([`winogender`]), GAP, jiant edge-probing
//! JSON (OntoNotes), SuperGLUE WSC and WinoBias into examples with two character spans
//! ([`SpanPair`]), choice items ([`Choice`], Winogender's two candidates per sentence) and
//! metadata; [`cda`] makes their counterfactual (gender-swapped) twins for training.

mod augment;
pub mod cda;
pub mod check;
pub mod describe;
pub mod diag;
mod error;
mod example;
mod load;
pub mod name;
mod readers;
mod registry;
mod spec;
pub mod squad;
pub mod synthetic;
mod synthetic_coref;
pub mod winogender;

pub use augment::Augmentation;
pub use error::TaskError;
pub use example::{CharSpan, Choice, Example, FileDigest, Label, SpanPair, SplitData};
pub use load::{DATA_DIR_ENV, data_root};
pub use name::{NameError, SafeName};
pub use registry::TaskRegistry;
pub use spec::{Column, DataFormat, KNOWN_METRICS, Source, SplitSource, TaskKind, TaskSpec};
