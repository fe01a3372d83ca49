//! Readers that turn data files into [`Example`]s, one module per file format.

pub(crate) mod jsonl;
pub(crate) mod parquet;
pub(crate) mod tsv;

use crate::diag::one_of;
use crate::example::Label;
use crate::spec::{Source, TaskKind, TaskSpec};

/// Turns raw label values into [`Label`]s for one task and source.
pub(crate) struct LabelParser<'a> {
    kind: TaskKind,
    labels: &'a [String],
    names: Option<&'a [String]>,
}

impl<'a> LabelParser<'a> {
    pub(crate) fn new(spec: &'a TaskSpec, source: &'a Source) -> LabelParser<'a> {
        LabelParser {
            kind: spec.kind,
            labels: &spec.labels,
            names: source.label_names.as_deref(),
        }
    }

    /// A label written as text (TSV fields, JSON strings).
    pub(crate) fn parse_str(&self, raw: &str) -> Result<Label, String> {
        let raw = raw.trim();
        if self.kind == TaskKind::Regression {
            return match raw.parse::<f32>() {
                Ok(v) if v.is_finite() => Ok(Label::Value(v)),
                _ => Err(format!("expected a number as label, found {raw:?}")),
            };
        }
        if let Some(i) = self.labels.iter().position(|l| l == raw) {
            return Ok(Label::Class(i));
        }
        if self.names.is_some()
            && let Ok(i) = raw.parse::<i64>()
        {
            return self.parse_int(i);
        }
        Err(format!(
            "unknown label {raw:?}; expected one of {}",
            one_of(self.labels)
        ))
    }

    /// A label stored as an integer (Parquet `ClassLabel`, JSON numbers).
    pub(crate) fn parse_int(&self, value: i64) -> Result<Label, String> {
        if self.kind == TaskKind::Regression {
            return Ok(Label::Value(value as f32));
        }
        let name = match self.names {
            Some(names) => match usize::try_from(value).ok().and_then(|i| names.get(i)) {
                Some(name) => name.clone(),
                None if value < 0 => {
                    return Err(format!(
                        "label {value} marks an unlabelled example (a test split?); expected a class index 0..{}",
                        names.len()
                    ));
                }
                None => {
                    return Err(format!(
                        "label index {value} is out of range; label_names has {} entries",
                        names.len()
                    ));
                }
            },
            None => value.to_string(),
        };
        self.parse_str(&name)
    }

    /// A label stored as a float (Parquet regression columns, JSON numbers).
    pub(crate) fn parse_float(&self, value: f64) -> Result<Label, String> {
        if self.kind == TaskKind::Regression {
            if value.is_finite() {
                return Ok(Label::Value(value as f32));
            }
            return Err(format!("expected a finite number as label, found {value}"));
        }
        if value.fract() == 0.0 && value.is_finite() {
            return self.parse_int(value as i64);
        }
        Err(format!("expected a class label, found the number {value}"))
    }
}

/// Hex sha256 of a byte slice (provenance of every file read).
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
