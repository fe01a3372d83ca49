//! The typed examples every reader produces, whatever the file format.

use serde::{Deserialize, Serialize};

/// The gold label of one example.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Label {
    /// Index into the task's `labels` (classification, span-pair).
    Class(usize),
    /// A real-valued target (regression).
    Value(f32),
}

impl Label {
    /// The label as a number: the class index or the value (the predictions table stores this).
    pub fn as_f64(self) -> f64 {
        match self {
            Label::Class(c) => c as f64,
            Label::Value(v) => f64::from(v),
        }
    }
}

/// One example of a sentence or sentence-pair task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// Stable id from the data (or the 0-based row number when the data has none).
    pub id: String,
    /// The first (or only) text.
    pub text_a: String,
    /// The second text of a pair task.
    pub text_b: Option<String>,
    /// The gold label.
    pub label: Label,
}

/// The sha256 of one input file, kept as provenance in every job's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    /// The file read (or `synthetic:<generator>` for generated data).
    pub path: String,
    /// Lower-case hex sha256 of its bytes.
    pub sha256: String,
}

/// One split of one task, loaded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitData {
    /// The task's name.
    pub task: String,
    /// The split's name (`train`, `dev`, `dev_matched`, …).
    pub split: String,
    /// The format the examples were read from.
    pub format: crate::spec::DataFormat,
    /// The files read, with digests, in reading order.
    pub files: Vec<FileDigest>,
    /// The examples, in file order.
    pub examples: Vec<Example>,
    /// Lines skipped because the source allows skipping malformed lines.
    pub skipped: usize,
}
