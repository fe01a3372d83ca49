//! Readers that turn data files into [`Example`]s, one module per file format.

pub(crate) mod edge_probing;
pub(crate) mod gap;
pub(crate) mod jsonl;
pub(crate) mod parquet;
pub(crate) mod text;
pub(crate) mod tsv;
pub(crate) mod winobias;
pub(crate) mod wsc;

use std::path::{Path, PathBuf};

use crate::diag::one_of;
use crate::error::TaskError;
use crate::example::{Example, FileDigest, Label};
use crate::spec::{DataFormat, Source, TaskKind, TaskSpec};

/// Reads one split of a span-pair format: the split's files (relative to `root`) plus the
/// source's auxiliary files (Winogender templates and statistics, WinoBias occupation lists).
/// Returns the examples and the digests of every file read, in reading order.
pub(crate) fn read_span_pair(
    format: DataFormat,
    source: &Source,
    root: &Path,
    files: &[String],
) -> Result<(Vec<Example>, Vec<FileDigest>), TaskError> {
    let mut digests = Vec::new();
    let mut load = |relative: &str| -> Result<(PathBuf, Vec<u8>), TaskError> {
        let path = root.join(relative);
        let bytes = std::fs::read(&path).map_err(|source| TaskError::Io {
            path: path.clone(),
            source,
        })?;
        digests.push(FileDigest {
            path: path.display().to_string(),
            sha256: sha256_hex(&bytes),
        });
        Ok((path, bytes))
    };
    let mut examples = Vec::new();
    match format {
        DataFormat::Winogender => {
            let (Some(templates), Some(stats)) = (&source.templates, &source.occupation_stats)
            else {
                return Err(TaskError::data_file(
                    &root.join(&files[0]),
                    "the task spec names no `templates`/`occupation_stats` for this Winogender split",
                ));
            };
            let (templates, _) = load(templates)?;
            let (stats, _) = load(stats)?;
            let templates = crate::winogender::read_templates(&templates)?;
            let stats: Vec<(String, f64)> = crate::winogender::read_occupation_stats(&stats)?
                .into_iter()
                .map(|s| (s.occupation, s.bls_pct_female))
                .collect();
            for file in files {
                let (path, _) = load(file)?;
                let sentences = crate::winogender::read_sentences(&path, &templates)?;
                examples.extend(crate::winogender::examples(&sentences, &stats));
            }
        }
        DataFormat::Winobias => {
            let mut occupations = Vec::new();
            for list in &source.occupations {
                let (path, bytes) = load(list)?;
                occupations.extend(winobias::read_occupations(&path, &bytes)?);
            }
            for file in files {
                let (path, bytes) = load(file)?;
                examples.extend(winobias::read(&path, &bytes, &occupations)?);
            }
        }
        _ => {
            for file in files {
                let (path, bytes) = load(file)?;
                examples.extend(match format {
                    DataFormat::Gap => gap::read(&path, &bytes)?,
                    DataFormat::EdgeProbing => edge_probing::read(&path, &bytes)?,
                    DataFormat::Wsc => wsc::read(&path, &bytes)?,
                    other => {
                        return Err(TaskError::data_file(
                            &path,
                            format!("{other} is not a span-pair format"),
                        ));
                    }
                });
            }
        }
    }
    Ok((examples, digests))
}

/// A span-pair example (labels "0"/"1") without choice or metadata.
pub(crate) fn span_example(
    id: String,
    text: &str,
    spans: crate::example::SpanPair,
    coreferent: bool,
) -> Example {
    Example {
        spans: Some(spans),
        ..Example::new(
            id,
            text.to_string(),
            None,
            Label::Class(usize::from(coreferent)),
        )
    }
}

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
