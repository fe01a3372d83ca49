//! Task specs: one TOML file per task saying what the task is and where its data lives.
//!
//! A spec names the task kind, the label order (the order of the classifier's outputs, so it is
//! part of the model contract), the metrics (the first is primary) and one or more data
//! *sources*: alternative on-disk layouts of the same data (GLUE TSV, SuperGLUE JSONL, the Hugging
//! Face Parquet export, or a built-in generator). The first source with files under the data root
//! wins, so one spec serves users who downloaded GLUE from either place.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_spanned::Spanned;

use crate::diag::{Diagnostic, one_of};
use crate::error::TaskError;
use crate::name::SafeName;

/// Metric names a spec may list; the metrics crate implements each of them.
pub const KNOWN_METRICS: &[&str] = &[
    "accuracy",
    "f1",
    "macro_f1",
    "mcc",
    "pearson",
    "spearman",
    "mean",
    "bias_r",
    "bias_slope",
    "exact",
];

/// The metrics of a span (extractive QA) task: the official SQuAD script's per-question
/// `exact` and `f1`, averaged over questions.
pub const SPAN_METRICS: &[&str] = &["exact", "f1"];

/// What the model predicts for a task; decides the head and the loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskKind {
    /// One label out of `labels` per example; cross-entropy.
    Classification,
    /// One real number per example; mean squared error.
    Regression,
    /// A binary decision about a pair of spans in one text (coreference); span-pair head.
    SpanPair,
    /// Extractive question answering (SQuAD): the answer's start and end token in the
    /// context, or none; span head (`qa_outputs`).
    Span,
}

impl fmt::Display for TaskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskKind::Classification => "classification",
            TaskKind::Regression => "regression",
            TaskKind::SpanPair => "span-pair",
            TaskKind::Span => "span",
        })
    }
}

/// The on-disk layout of a data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataFormat {
    /// Tab-separated, no quoting (GLUE's own files), with or without a header line.
    GlueTsv,
    /// One JSON object per line (SuperGLUE).
    Jsonl,
    /// Apache Parquet, one file (or several shards) per split, as the Hugging Face hub serves
    /// `nyu-mll/glue`.
    Parquet,
    /// Generated in memory by a built-in, seeded generator; needs no files.
    Synthetic,
    /// Winogender schemas (span-pair): the split file is `all_sentences.tsv`; the source's
    /// `templates` and `occupation_stats` name the other two files. Two examples per sentence
    /// (occupation, participant), grouped by sentence for choice evaluation.
    Winogender,
    /// GAP coreference TSV (span-pair): two examples per row (A–pronoun, B–pronoun).
    Gap,
    /// SQuAD v1.1/v2.0 JSON (`data[].paragraphs[].qas[]`), read by [`crate::squad`]; one
    /// example per question. Needs no column mapping.
    Squad,
    /// jiant's edge-probing JSON lines (`text`, `targets` with token spans `span1`, `span2`
    /// and `label`), the format OntoNotes coreference is usually distributed in.
    EdgeProbing,
    /// SuperGLUE WSC JSON lines (span-pair): `target.span{1,2}_index` / `_text`, `label`.
    Wsc,
    /// WinoBias bracketed text (`N [The developer] argued … because [he] …`); the source's
    /// `occupations` lists the occupation files used to find the other candidate.
    Winobias,
}

impl DataFormat {
    /// Whether the format is read by a span-pair reader that needs no column mapping.
    pub fn is_span_pair(self) -> bool {
        matches!(
            self,
            DataFormat::Winogender
                | DataFormat::Gap
                | DataFormat::EdgeProbing
                | DataFormat::Wsc
                | DataFormat::Winobias
        )
    }
}

impl fmt::Display for DataFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DataFormat::GlueTsv => "glue-tsv",
            DataFormat::Jsonl => "jsonl",
            DataFormat::Parquet => "parquet",
            DataFormat::Synthetic => "synthetic",
            DataFormat::Winogender => "winogender",
            DataFormat::Gap => "gap",
            DataFormat::EdgeProbing => "edge-probing",
            DataFormat::Wsc => "wsc",
            DataFormat::Winobias => "winobias",
            DataFormat::Squad => "squad",
        })
    }
}

/// A reference to a field of a record: a header/key name, or a 0-based position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Column {
    /// Looked up in the header line (TSV), the object keys (JSONL) or the schema (Parquet).
    Name(String),
    /// A 0-based field position (TSV without header, or Parquet schema position).
    Index(usize),
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Column::Name(name) => write!(f, "`{name}`"),
            Column::Index(i) => write!(f, "#{i}"),
        }
    }
}

impl<'de> Deserialize<'de> for Column {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ColumnVisitor;
        impl Visitor<'_> for ColumnVisitor {
            type Value = Column;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a column name (string) or a 0-based column index (integer)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Column, E> {
                if v.is_empty() {
                    return Err(E::custom("a column name must not be empty"));
                }
                Ok(Column::Name(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Column, E> {
                usize::try_from(v)
                    .map(Column::Index)
                    .map_err(|_| E::custom(format!("column index {v} is negative")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Column, E> {
                usize::try_from(v)
                    .map(Column::Index)
                    .map_err(|_| E::custom(format!("column index {v} is too large")))
            }
        }
        deserializer.deserialize_any(ColumnVisitor)
    }
}

/// Where one split's data comes from: files relative to the data root, or a generated size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum SplitSource {
    /// One or more files (shards are concatenated in the order given).
    Files(Vec<String>),
    /// The number of examples a synthetic generator makes for this split.
    Generated(usize),
}

impl<'de> Deserialize<'de> for SplitSource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SplitVisitor;
        impl<'de> Visitor<'de> for SplitVisitor {
            type Value = SplitSource;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a file path, a list of file paths, or (synthetic sources) an example count",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SplitSource, E> {
                if v.is_empty() {
                    return Err(E::custom("a split file path must not be empty"));
                }
                Ok(SplitSource::Files(vec![v.to_string()]))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SplitSource, E> {
                match usize::try_from(v) {
                    Ok(n) if n > 0 => Ok(SplitSource::Generated(n)),
                    _ => Err(E::custom(format!(
                        "a generated split needs a positive example count, found {v}"
                    ))),
                }
            }
            // JSON (a job file's task spec) gives non-negative integers as u64.
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SplitSource, E> {
                match usize::try_from(v) {
                    Ok(n) if n > 0 => Ok(SplitSource::Generated(n)),
                    _ => Err(E::custom(format!(
                        "a generated split needs a positive example count, found {v}"
                    ))),
                }
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<SplitSource, A::Error> {
                let mut files = Vec::new();
                while let Some(file) = seq.next_element::<String>()? {
                    files.push(file);
                }
                if files.is_empty() {
                    return Err(de::Error::custom("a split needs at least one file"));
                }
                Ok(SplitSource::Files(files))
            }
        }
        deserializer.deserialize_any(SplitVisitor)
    }
}

/// One layout of a task's data. Which fields matter depends on `format`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The file layout.
    pub format: DataFormat,
    /// Split name → files (relative to the data root) or, for synthetic sources, sizes.
    pub splits: BTreeMap<String, SplitSource>,
    /// TSV only: whether the first line names the columns. Default true.
    #[serde(default = "default_true")]
    pub header: bool,
    /// TSV without header: the exact number of fields every line must have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<usize>,
    /// The first text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_a: Option<Column>,
    /// The second text of pair tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_b: Option<Column>,
    /// The label (class name, class index, or number for regression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Column>,
    /// A stable example id; the 0-based row number when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Column>,
    /// When labels are stored as integers (Hugging Face `ClassLabel`), the name of each index.
    /// Needed because HF's order can differ from ours (MNLI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_names: Option<Vec<String>>,
    /// TSV only: skip lines with the wrong number of fields instead of failing (QQP's train
    /// file has a few, and BERT's run_classifier skips them too). Skipped lines are counted.
    #[serde(default)]
    pub skip_malformed: bool,
    /// Synthetic only: the built-in generator's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<String>,
    /// Synthetic only: the generator's seed.
    #[serde(default)]
    pub seed: u64,
    /// Splits read in another format than `format` (e.g. a task that trains on GAP and
    /// evaluates on Winogender: `format = "gap"`, `split_formats = { test = "winogender" }`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub split_formats: BTreeMap<String, DataFormat>,
    /// Winogender only: `templates.tsv`, relative to the data root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub templates: Option<String>,
    /// Winogender only: `occupations-stats.tsv` (BLS share of women), relative to the data root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occupation_stats: Option<String>,
    /// WinoBias only: the occupation lists (`male_occupations.txt`, `female_occupations.txt`),
    /// relative to the data root, used to find the candidate that is not the antecedent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub occupations: Vec<String>,
}

impl Source {
    /// The format split `split` is read in: its `split_formats` entry, else `format`.
    pub fn format_of(&self, split: &str) -> DataFormat {
        self.split_formats
            .get(split)
            .copied()
            .unwrap_or(self.format)
    }
}

fn default_true() -> bool {
    true
}

fn default_train_split() -> Spanned<String> {
    Spanned::new(0..0, "train".to_string())
}

fn default_eval_split() -> Spanned<String> {
    Spanned::new(0..0, "dev".to_string())
}

/// Raw file shape, with spans where validation needs to point back into the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTaskSpec {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    kind: TaskKind,
    #[serde(default)]
    labels: Option<Spanned<Vec<String>>>,
    metrics: Spanned<Vec<Spanned<String>>>,
    #[serde(default = "default_train_split")]
    train_split: Spanned<String>,
    #[serde(default = "default_eval_split")]
    eval_split: Spanned<String>,
    #[serde(default)]
    eval_only: bool,
    #[serde(default)]
    homepage: Option<String>,
    sources: Spanned<Vec<Spanned<Source>>>,
}

/// A validated task spec. It serialises (and deserialises, for a job's `job.json`, which
/// carries the spec its job was planned with) field for field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSpec {
    /// The task's name, as manifests refer to it (`sst2`, `mnli`, …); it names the task's
    /// folder in the results tree.
    pub name: SafeName,
    /// One line for `tasks list`.
    pub description: String,
    /// Head and loss.
    pub kind: TaskKind,
    /// Class names in output order (classification and span-pair); empty for regression.
    pub labels: Vec<String>,
    /// Metric names; the first is the primary metric (model selection, best-LR rule).
    pub metrics: Vec<String>,
    /// The split fine-tuning trains on.
    pub train_split: String,
    /// The split evaluated after each epoch and reported.
    pub eval_split: String,
    /// An evaluation-only task (Winogender): its sources need no `train_split`, and it cannot
    /// be fine-tuned on by itself; a task such as `gap-winogender` trains elsewhere.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub eval_only: bool,
    /// Where the task comes from, for humans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
    /// Alternative layouts of the data, in order of preference.
    pub sources: Vec<Source>,
    /// The file the spec was read from (`<builtin>/…` for the embedded ones).
    pub origin: PathBuf,
}

impl TaskSpec {
    /// Parses and validates a spec from TOML text; `path` is used in error messages.
    pub fn from_toml(path: &Path, text: &str) -> Result<TaskSpec, TaskError> {
        let raw: RawTaskSpec = toml::from_str(text)
            .map_err(|e| TaskError::Spec(Box::new(Diagnostic::from_toml(path, text, &e))))?;
        let err = |span: std::ops::Range<usize>, msg: String| {
            TaskError::Spec(Box::new(Diagnostic::at_span(path, text, Some(span), msg)))
        };

        // The name is a folder of the results tree (`results/<manifest>/<task>/`).
        let name = SafeName::new(raw.name.get_ref().as_str())
            .map_err(|e| err(raw.name.span(), format!("invalid task name {e}")))?;
        if crate::name::RESERVED_NAMES.contains(&name.as_str()) {
            return Err(err(
                raw.name.span(),
                format!(
                    "invalid task name \"{name}\": it is a folder of the results tree ({}); \
                     choose another name",
                    crate::name::RESERVED_NAMES.join(", ")
                ),
            ));
        }

        // A split's name is part of the file name of its cached features.
        for split in [&raw.train_split, &raw.eval_split] {
            SafeName::check(split.get_ref())
                .map_err(|e| err(split.span(), format!("invalid split name {e}")))?;
        }

        let labels = match (raw.kind, &raw.labels) {
            (TaskKind::Regression, Some(labels)) if !labels.get_ref().is_empty() => {
                return Err(err(
                    labels.span(),
                    "a regression task has no `labels`; remove the key".to_string(),
                ));
            }
            (TaskKind::Regression, _) => Vec::new(),
            (TaskKind::Span, Some(labels)) if !labels.get_ref().is_empty() => {
                return Err(err(
                    labels.span(),
                    "a span task has no `labels` (its output is a span of the context); remove \
                     the key"
                        .to_string(),
                ));
            }
            (TaskKind::Span, _) => Vec::new(),
            (_, None) => {
                return Err(err(
                    raw.name.span(),
                    format!("a {} task needs `labels = [...]` in output order", raw.kind),
                ));
            }
            (_, Some(labels)) => {
                let list = labels.get_ref();
                if list.len() < 2 {
                    return Err(err(
                        labels.span(),
                        format!("expected at least two labels, found {}", list.len()),
                    ));
                }
                for (i, l) in list.iter().enumerate() {
                    if list[..i].contains(l) {
                        return Err(err(labels.span(), format!("label {l:?} is listed twice")));
                    }
                }
                list.clone()
            }
        };

        if raw.metrics.get_ref().is_empty() {
            return Err(err(
                raw.metrics.span(),
                "expected at least one metric (the first is the primary one)".to_string(),
            ));
        }
        for metric in raw.metrics.get_ref() {
            if !KNOWN_METRICS.contains(&metric.get_ref().as_str()) {
                return Err(err(
                    metric.span(),
                    format!(
                        "unknown metric {:?}; expected one of {}",
                        metric.get_ref(),
                        one_of(KNOWN_METRICS)
                    ),
                ));
            }
            let name = metric.get_ref().as_str();
            let problem = if raw.kind == TaskKind::Span && !SPAN_METRICS.contains(&name) {
                Some(format!(
                    "a span task is scored by {}, not {name:?}",
                    one_of(SPAN_METRICS)
                ))
            } else if raw.kind != TaskKind::Span && name == "exact" {
                Some("\"exact\" scores span (extractive QA) tasks only".to_string())
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(err(metric.span(), problem));
            }
        }

        if raw.sources.get_ref().is_empty() {
            return Err(err(
                raw.sources.span(),
                "expected at least one `[[sources]]` table".to_string(),
            ));
        }
        for source in raw.sources.get_ref() {
            validate_source(
                source.get_ref(),
                raw.kind,
                &labels,
                (!raw.eval_only).then_some(raw.train_split.get_ref().as_str()),
                raw.eval_split.get_ref(),
            )
            .map_err(|msg| err(source.span(), msg))?;
        }

        Ok(TaskSpec {
            name,
            description: raw.description,
            kind: raw.kind,
            labels,
            metrics: raw
                .metrics
                .into_inner()
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            train_split: raw.train_split.into_inner(),
            eval_split: raw.eval_split.into_inner(),
            eval_only: raw.eval_only,
            homepage: raw.homepage,
            sources: raw
                .sources
                .into_inner()
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            origin: path.to_path_buf(),
        })
    }

    /// Reads and validates a spec file.
    pub fn from_file(path: &Path) -> Result<TaskSpec, TaskError> {
        let bytes = std::fs::read(path).map_err(|source| TaskError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            TaskError::Spec(Box::new(Diagnostic::at(
                path,
                None,
                format!("not valid UTF-8 ({e}); a task spec is a UTF-8 TOML file"),
            )))
        })?;
        TaskSpec::from_toml(path, &text)
    }

    /// The primary metric (the first listed).
    pub fn primary_metric(&self) -> &str {
        &self.metrics[0]
    }

    /// Every split name any source provides, in a stable order (train, eval, then the rest;
    /// no train split for an eval-only task).
    pub fn split_names(&self) -> Vec<String> {
        let mut names = if self.eval_only {
            vec![self.eval_split.clone()]
        } else {
            vec![self.train_split.clone(), self.eval_split.clone()]
        };
        for source in &self.sources {
            for split in source.splits.keys() {
                if !names.contains(split) {
                    names.push(split.clone());
                }
            }
        }
        names
    }
}

/// Checks that a source has what its format needs; returns the problem as a message.
fn validate_source(
    source: &Source,
    kind: TaskKind,
    labels: &[String],
    train_split: Option<&str>,
    eval_split: &str,
) -> Result<(), String> {
    for split in train_split.into_iter().chain([eval_split]) {
        if !source.splits.contains_key(split) {
            return Err(format!(
                "this {} source has no `{split}` split; its splits are {}",
                source.format,
                one_of(source.splits.keys())
            ));
        }
    }
    let synthetic = source.format == DataFormat::Synthetic;
    for (split, files) in &source.splits {
        match (files, synthetic) {
            (SplitSource::Generated(_), false) => {
                return Err(format!(
                    "split `{split}` gives an example count, but only synthetic sources are generated; give a file path"
                ));
            }
            (SplitSource::Files(_), true) => {
                return Err(format!(
                    "split `{split}` gives files, but a synthetic source is generated; give an example count"
                ));
            }
            _ => {}
        }
    }
    validate_span_pair(source, kind, labels)?;
    validate_span(source, kind)?;
    if synthetic {
        let generator = source
            .generator
            .as_deref()
            .ok_or_else(|| "a synthetic source needs `generator = \"...\"`".to_string())?;
        let expected = crate::synthetic::generator_kind(generator).ok_or_else(|| {
            format!(
                "unknown generator {generator:?}; expected one of {}",
                one_of(crate::synthetic::GENERATORS)
            )
        })?;
        if expected != kind {
            return Err(format!(
                "generator {generator:?} makes {expected} data but the task kind is {kind}"
            ));
        }
        return Ok(());
    }
    if source.generator.is_some() {
        return Err("`generator` only applies to synthetic sources".to_string());
    }
    if source.format.is_span_pair() || source.format == DataFormat::Squad {
        return Ok(());
    }
    if source.text_a.is_none() {
        return Err("a file source needs `text_a` (the column holding the text)".to_string());
    }
    if source.label.is_none() {
        return Err("a file source needs `label` (the column holding the label)".to_string());
    }
    if source.format == DataFormat::GlueTsv
        && !source.header
        && [&source.text_a, &source.text_b, &source.label, &source.id]
            .into_iter()
            .flatten()
            .any(|c| matches!(c, Column::Name(_)))
    {
        return Err(
            "a TSV source without header must refer to columns by 0-based index".to_string(),
        );
    }
    if source.format == DataFormat::Jsonl
        && [&source.text_a, &source.text_b, &source.label, &source.id]
            .into_iter()
            .flatten()
            .any(|c| matches!(c, Column::Index(_)))
    {
        return Err("a JSONL source must refer to fields by key name".to_string());
    }
    if let Some(names) = &source.label_names {
        if kind == TaskKind::Regression {
            return Err("`label_names` does not apply to a regression task".to_string());
        }
        if let Some(unknown) = names.iter().find(|n| !labels.contains(n)) {
            return Err(format!(
                "label_names lists {unknown:?}, which is not one of the task's labels {}",
                one_of(labels)
            ));
        }
    }
    Ok(())
}

/// Checks the span-pair specific keys: which formats need what, and that span-pair data goes to
/// a span-pair task with `labels = ["0", "1"]`.
fn validate_span_pair(source: &Source, kind: TaskKind, labels: &[String]) -> Result<(), String> {
    for (split, format) in &source.split_formats {
        if !source.splits.contains_key(split) {
            return Err(format!(
                "split_formats names split `{split}`, which is not one of this source's splits {}",
                one_of(source.splits.keys())
            ));
        }
        if *format == DataFormat::Synthetic || source.format == DataFormat::Synthetic {
            return Err(
                "split_formats cannot mix synthetic and file splits; use one source for each"
                    .to_string(),
            );
        }
    }
    let formats: Vec<DataFormat> = std::iter::once(source.format)
        .chain(source.split_formats.values().copied())
        .collect();
    let uses = |f: DataFormat| formats.contains(&f);
    let span_pair_data = formats.iter().any(|f| f.is_span_pair())
        || (source.format == DataFormat::Synthetic
            && source
                .generator
                .as_deref()
                .and_then(crate::synthetic::generator_kind)
                == Some(TaskKind::SpanPair));
    if formats.iter().any(|f| f.is_span_pair()) && formats.iter().any(|f| !f.is_span_pair()) {
        return Err(format!(
            "this source mixes span-pair formats with {}; a split format must be a span-pair one too",
            one_of(
                formats
                    .iter()
                    .filter(|f| !f.is_span_pair())
                    .map(|f| f.to_string())
            )
        ));
    }
    if span_pair_data && kind != TaskKind::SpanPair {
        return Err(format!(
            "this source holds span-pair data but the task kind is {kind}; use kind = \"span-pair\""
        ));
    }
    if kind == TaskKind::SpanPair && !span_pair_data {
        return Err(format!(
            "a span-pair task needs a span-pair format ({}) or generator",
            one_of(
                [
                    DataFormat::Winogender,
                    DataFormat::Gap,
                    DataFormat::EdgeProbing,
                    DataFormat::Wsc,
                    DataFormat::Winobias
                ]
                .map(|f| f.to_string())
            )
        ));
    }
    if kind == TaskKind::SpanPair && labels != ["0", "1"] {
        return Err(format!(
            "a span-pair task has labels = [\"0\", \"1\"] (1 = coreferent), found {}",
            one_of(labels)
        ));
    }
    if uses(DataFormat::Winogender) {
        if source.templates.is_none() || source.occupation_stats.is_none() {
            return Err("a winogender split needs `templates = \"winogender/templates.tsv\"` and `occupation_stats = \"winogender/occupations-stats.tsv\"` in its source".to_string());
        }
    } else if source.templates.is_some() || source.occupation_stats.is_some() {
        return Err(
            "`templates` and `occupation_stats` only apply to winogender splits".to_string(),
        );
    }
    if !uses(DataFormat::Winobias) && !source.occupations.is_empty() {
        return Err("`occupations` only applies to winobias splits".to_string());
    }
    Ok(())
}

/// Checks that SQuAD data goes to a span task and a span task reads SQuAD data.
fn validate_span(source: &Source, kind: TaskKind) -> Result<(), String> {
    let squad = std::iter::once(source.format)
        .chain(source.split_formats.values().copied())
        .any(|f| f == DataFormat::Squad);
    let only_squad = std::iter::once(source.format)
        .chain(source.split_formats.values().copied())
        .all(|f| f == DataFormat::Squad);
    if squad && kind != TaskKind::Span {
        return Err(format!(
            "this source holds SQuAD data but the task kind is {kind}; use kind = \"span\""
        ));
    }
    if kind == TaskKind::Span && !only_squad {
        return Err("a span task reads `format = \"squad\"` files only".to_string());
    }
    Ok(())
}

/// Where a spec came from, for listing.
pub fn builtin_origin(relative: &str) -> PathBuf {
    PathBuf::from("<builtin>").join(relative)
}
