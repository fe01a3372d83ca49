//! The predictions Parquet contract: one row per run × example.
//!
//! | column | Arrow type | nulls | meaning |
//! |---|---|---|---|
//! | `job_id` | Utf8 | no | the job's id (short hash of its canonical JSON) |
//! | `task` | Utf8 | no | task name |
//! | `variant` | Utf8 | no | task variant, `""` for none (e.g. `"cda"`) |
//! | `split` | Utf8 | no | evaluation split (e.g. `"dev"`) |
//! | `checkpoint` | Utf8 | no | checkpoint id |
//! | `pretrain_seed` | Int64 | yes | pre-training seed, null when unknown |
//! | `step` | Int64 | yes | pre-training steps in thousands (hub `step_{step}k`), null when unknown |
//! | `learning_rate` | Float64 | no | fine-tuning learning rate |
//! | `finetune_seed` | Int64 | no | fine-tuning seed |
//! | `example_index` | Int64 | no | 0-based position in the evaluation split |
//! | `example_id` | Utf8 | no | the example's id in its data file |
//! | `label` | Float64 | no | class index or regression target |
//! | `prediction` | Float64 | no | argmax class index or regression value |
//! | `scores` | `List<Float32>` | no | class scores (`[value]` for regression) |
//!
//! Span (extractive QA) tasks store one row per question, with `label` 1 when the question
//! has a gold answer (0 when unanswerable), `prediction` 1 when the model answered (0 for
//! `""`), `scores` `[null score − best span score]` (positive favours "no answer"), and three
//! more columns, written only in span tasks' files:
//!
//! | column | Arrow type | nulls | meaning |
//! |---|---|---|---|
//! | `answer` | Utf8 | yes | the predicted answer text, `""` for no answer |
//! | `exact` | Float64 | yes | the official SQuAD script's exact match, 0 or 1 |
//! | `f1` | Float64 | yes | the official SQuAD script's token F1, 0 to 1 |
//!
//! Readers accept the large and view string/list encodings that pandas and polars may write,
//! integer columns stored as float64 with integral values (pandas' default for nullable
//! integers, NaN = null), and ignore extra columns.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{
    Float32Builder, Float64Builder, Int64Builder, ListBuilder, StringBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, Float32Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};

use crate::atomic::AtomicFile;
use crate::error::{CollectorError, Result, io_err};

/// One prediction: one run (job) on one evaluation example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionRow {
    /// The job's id.
    pub job_id: String,
    /// Task name.
    pub task: String,
    /// Task variant; `""` when the task is used as is.
    pub variant: String,
    /// Evaluation split.
    pub split: String,
    /// Checkpoint id.
    pub checkpoint: String,
    /// Pre-training seed, when known.
    pub pretrain_seed: Option<i64>,
    /// Pre-training steps in thousands, when known.
    pub step: Option<i64>,
    /// Fine-tuning learning rate.
    pub learning_rate: f64,
    /// Fine-tuning seed.
    pub finetune_seed: i64,
    /// 0-based position of the example in the evaluation split.
    pub example_index: i64,
    /// The example's id in its data file.
    pub example_id: String,
    /// Class index, or the regression target.
    pub label: f64,
    /// Argmax class index, or the regression value.
    pub prediction: f64,
    /// Class scores; `[value]` for regression.
    pub scores: Vec<f32>,
    /// Span tasks: the predicted answer and its official scores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<AnswerColumns>,
}

/// The predicted answer of a span (extractive QA) task's row, with the official SQuAD
/// evaluation script's per-question scores (max over the gold answers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerColumns {
    /// The answer text; `""` means "no answer".
    pub text: String,
    /// Exact match after normalisation: 0 or 1.
    pub exact: f64,
    /// Token-overlap F1 after normalisation, 0 to 1.
    pub f1: f64,
}

/// The optional columns of span tasks, after the documented ones.
const ANSWER_COLUMNS: [(&str, Kind); 3] = [
    ("answer", Kind::Utf8),
    ("exact", Kind::Float64),
    ("f1", Kind::Float64),
];

/// The kinds of column in the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Utf8,
    Int64,
    Float64,
    ListFloat32,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Utf8 => "Utf8",
            Kind::Int64 => "Int64",
            Kind::Float64 => "Float64",
            Kind::ListFloat32 => "List<Float32>",
        }
    }

    fn accepts(self, dt: &DataType) -> bool {
        match self {
            Kind::Utf8 => matches!(
                dt,
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            ),
            // pandas turns nullable integer columns into float64 (NaN for null) by default;
            // such files are read when every value is integral.
            Kind::Int64 => matches!(dt, DataType::Int64 | DataType::Float64),
            Kind::Float64 => dt == &DataType::Float64,
            Kind::ListFloat32 => match dt {
                DataType::List(f) | DataType::LargeList(f) => f.data_type() == &DataType::Float32,
                _ => false,
            },
        }
    }
}

/// The documented columns, in file order: name, kind, nullable.
const COLUMNS: [(&str, Kind, bool); 14] = [
    ("job_id", Kind::Utf8, false),
    ("task", Kind::Utf8, false),
    ("variant", Kind::Utf8, false),
    ("split", Kind::Utf8, false),
    ("checkpoint", Kind::Utf8, false),
    ("pretrain_seed", Kind::Int64, true),
    ("step", Kind::Int64, true),
    ("learning_rate", Kind::Float64, false),
    ("finetune_seed", Kind::Int64, false),
    ("example_index", Kind::Int64, false),
    ("example_id", Kind::Utf8, false),
    ("label", Kind::Float64, false),
    ("prediction", Kind::Float64, false),
    ("scores", Kind::ListFloat32, false),
];

/// The names of the schema's columns, in file order.
pub fn column_names() -> Vec<&'static str> {
    COLUMNS.iter().map(|c| c.0).collect()
}

fn scores_item_field() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::Float32, false))
}

/// The Arrow schema every predictions file is written with (see [`schema_for`]).
pub fn schema() -> SchemaRef {
    schema_for(false)
}

/// The Arrow schema of a predictions file: the documented columns, plus the span tasks'
/// `answer`, `exact` and `f1` when `answers` is true.
pub fn schema_for(answers: bool) -> SchemaRef {
    let extra = ANSWER_COLUMNS
        .iter()
        .filter(|_| answers)
        .map(|&(name, kind)| (name, kind, true));
    let fields: Vec<Field> = COLUMNS
        .iter()
        .copied()
        .chain(extra)
        .map(|(name, kind, nullable)| {
            let dt = match kind {
                Kind::Utf8 => DataType::Utf8,
                Kind::Int64 => DataType::Int64,
                Kind::Float64 => DataType::Float64,
                Kind::ListFloat32 => DataType::List(scores_item_field()),
            };
            Field::new(name, dt, nullable)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

fn parquet_err(path: &Path) -> impl Fn(parquet::errors::ParquetError) -> CollectorError + '_ {
    move |e| CollectorError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn arrow_err(path: &Path) -> impl Fn(arrow_schema::ArrowError) -> CollectorError + '_ {
    move |e| CollectorError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Builds one Arrow record batch of the documented schema from rows (with the answer
/// columns when any row has an answer).
pub fn to_record_batch(
    rows: &[PredictionRow],
) -> std::result::Result<RecordBatch, arrow_schema::ArrowError> {
    to_record_batch_with(rows, rows.iter().any(|r| r.answer.is_some()))
}

fn to_record_batch_with(
    rows: &[PredictionRow],
    answers: bool,
) -> std::result::Result<RecordBatch, arrow_schema::ArrowError> {
    let n = rows.len();
    let strings = |get: &dyn Fn(&PredictionRow) -> &str| -> ArrayRef {
        let mut b = StringBuilder::with_capacity(n, n * 8);
        for r in rows {
            b.append_value(get(r));
        }
        Arc::new(b.finish())
    };
    let ints = |get: &dyn Fn(&PredictionRow) -> Option<i64>| -> ArrayRef {
        let mut b = Int64Builder::with_capacity(n);
        for r in rows {
            b.append_option(get(r));
        }
        Arc::new(b.finish())
    };
    let floats = |get: &dyn Fn(&PredictionRow) -> f64| -> ArrayRef {
        let mut b = Float64Builder::with_capacity(n);
        for r in rows {
            b.append_value(get(r));
        }
        Arc::new(b.finish())
    };
    let mut scores = ListBuilder::with_capacity(Float32Builder::with_capacity(n * 2), n)
        .with_field(scores_item_field());
    for r in rows {
        scores.values().append_slice(&r.scores);
        scores.append(true);
    }
    let mut columns: Vec<ArrayRef> = vec![
        strings(&|r| &r.job_id),
        strings(&|r| &r.task),
        strings(&|r| &r.variant),
        strings(&|r| &r.split),
        strings(&|r| &r.checkpoint),
        ints(&|r| r.pretrain_seed),
        ints(&|r| r.step),
        floats(&|r| r.learning_rate),
        ints(&|r| Some(r.finetune_seed)),
        ints(&|r| Some(r.example_index)),
        strings(&|r| &r.example_id),
        floats(&|r| r.label),
        floats(&|r| r.prediction),
        Arc::new(scores.finish()),
    ];
    if answers {
        let mut text = StringBuilder::with_capacity(n, n * 8);
        let (mut exact, mut f1) = (
            Float64Builder::with_capacity(n),
            Float64Builder::with_capacity(n),
        );
        for r in rows {
            let a = r.answer.as_ref();
            text.append_option(a.map(|a| a.text.as_str()));
            exact.append_option(a.map(|a| a.exact));
            f1.append_option(a.map(|a| a.f1));
        }
        columns.push(Arc::new(text.finish()));
        columns.push(Arc::new(exact.finish()));
        columns.push(Arc::new(f1.finish()));
    }
    RecordBatch::try_new(schema_for(answers), columns)
}

/// A predictions file being written in pieces (e.g. one job at a time during consolidation),
/// so that memory holds one piece, not the whole table. Nothing is visible at the destination
/// until [`PredictionsWriter::finish`]. The file has the answer columns when the first piece
/// written has answers (a span task's table); every later piece must agree.
pub struct PredictionsWriter {
    file: AtomicFile,
    writer: Option<(ArrowWriter<File>, bool)>,
    rows: usize,
}

impl PredictionsWriter {
    /// Starts writing `path` (its directory must exist), zstd-compressed.
    pub fn create(path: &Path) -> Result<Self> {
        let file = AtomicFile::create(path)?;
        Ok(Self {
            file,
            writer: None,
            rows: 0,
        })
    }

    /// The Parquet writer, created with the schema the first piece needs.
    fn writer(&mut self, answers: bool) -> Result<&mut (ArrowWriter<File>, bool)> {
        if self.writer.is_none() {
            let path = self.file.path().to_path_buf();
            let sink = self.file.reopen()?;
            let props = WriterProperties::builder()
                .set_compression(Compression::ZSTD(ZstdLevel::default()))
                .build();
            let w = ArrowWriter::try_new(sink, schema_for(answers), Some(props))
                .map_err(parquet_err(&path))?;
            self.writer = Some((w, answers));
        }
        let path = self.file.path().to_path_buf();
        self.writer.as_mut().ok_or(CollectorError::Parquet {
            path,
            message: "the Parquet writer is gone (a bug)".into(),
        })
    }

    /// Appends rows.
    pub fn write(&mut self, rows: &[PredictionRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let path = self.file.path().to_path_buf();
        let has_answers = rows.iter().any(|r| r.answer.is_some());
        let (writer, answers) = self.writer(has_answers)?;
        if has_answers && !*answers {
            return Err(CollectorError::Parquet {
                path,
                message: "rows with answers (a span task) follow rows without; one table holds \
                          one task"
                    .into(),
            });
        }
        let batch = to_record_batch_with(rows, *answers).map_err(arrow_err(&path))?;
        writer.write(&batch).map_err(parquet_err(&path))?;
        self.rows += rows.len();
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Finishes the Parquet footer, syncs and renames the file into place.
    pub fn finish(mut self) -> Result<()> {
        let path = self.file.path().to_path_buf();
        self.writer(false)?;
        let Some((writer, _)) = self.writer.take() else {
            return Err(CollectorError::Parquet {
                path,
                message: "the Parquet writer is gone (a bug)".into(),
            });
        };
        let sink = writer.into_inner().map_err(parquet_err(&path))?;
        sink.sync_all().map_err(io_err(&path))?;
        drop(sink);
        self.file.commit()
    }
}

/// Writes `rows` to `path` atomically as a zstd-compressed Parquet file of the documented schema.
pub fn write_predictions(path: &Path, rows: &[PredictionRow]) -> Result<()> {
    let mut w = PredictionsWriter::create(path)?;
    w.write(rows)?;
    w.finish()
}

/// Reads a predictions file, checking every documented column's presence, type and nulls.
/// Errors name the file and the column (and the row for an unexpected null).
pub fn read_predictions(path: &Path) -> Result<Vec<PredictionRow>> {
    let mut rows = Vec::new();
    for_each_batch(path, |batch| {
        rows.extend_from_slice(batch);
        Ok(())
    })?;
    Ok(rows)
}

/// Reads a predictions file in batches of at most [`BATCH_ROWS`] rows, with the checks of
/// [`read_predictions`], handing each batch to `f`; memory holds one batch, so tables far
/// larger than memory as rows can be scanned.
pub fn for_each_batch(
    path: &Path,
    mut f: impl FnMut(&[PredictionRow]) -> Result<()>,
) -> Result<()> {
    let mut file = File::open(path).map_err(io_err(path))?;
    check_leading_magic(path, &mut file)?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet_err(path))?;
    let indices = check_schema(path, builder.schema())?;
    let answer_indices = answer_columns(path, builder.schema())?;
    let reader = builder
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(parquet_err(path))?;
    let mut rows = Vec::with_capacity(BATCH_ROWS);
    let mut base = 0;
    for batch in reader {
        let batch = batch.map_err(arrow_err(path))?;
        rows.clear();
        append_rows(path, &batch, &indices, base, &mut rows)?;
        if let Some(idx) = &answer_indices {
            append_answers(path, &batch, idx, base, &mut rows)?;
        }
        base += batch.num_rows();
        f(&rows)?;
    }
    Ok(())
}

/// A Parquet file starts with `PAR1` as well as ending with it; the reader only looks at the
/// end, so a damaged start would otherwise pass unnoticed.
fn check_leading_magic(path: &Path, file: &mut File) -> Result<()> {
    use std::io::{Read, Seek};
    let mut head = [0u8; 4];
    file.read_exact(&mut head).map_err(io_err(path))?;
    if &head != b"PAR1" {
        return Err(CollectorError::Parquet {
            path: path.to_path_buf(),
            message: format!(
                "not a Parquet file: it starts with {:?}, not \"PAR1\" (damaged or another format)",
                String::from_utf8_lossy(&head)
            ),
        });
    }
    file.rewind().map_err(io_err(path))
}

/// Rows per batch of [`for_each_batch`].
pub const BATCH_ROWS: usize = 8192;

/// Finds each documented column in `schema`; returns their indices in documented order.
fn check_schema(path: &Path, schema: &Schema) -> Result<Vec<usize>> {
    COLUMNS
        .iter()
        .map(|&(name, kind, _)| {
            let (idx, field) =
                schema
                    .column_with_name(name)
                    .ok_or_else(|| CollectorError::MissingColumn {
                        path: path.to_path_buf(),
                        column: name.to_string(),
                        expected: kind.describe().to_string(),
                    })?;
            check_type(path, name, kind, field)?;
            Ok(idx)
        })
        .collect()
}

/// A column's type, checked against what its kind accepts.
fn check_type(path: &Path, name: &str, kind: Kind, field: &Field) -> Result<()> {
    if kind.accepts(field.data_type()) {
        return Ok(());
    }
    Err(CollectorError::WrongColumnType {
        path: path.to_path_buf(),
        column: name.to_string(),
        expected: kind.describe().to_string(),
        found: field.data_type().to_string(),
    })
}

/// The indices of the span tasks' `answer`, `exact` and `f1` columns when the file has them
/// (all three or none).
fn answer_columns(path: &Path, schema: &Schema) -> Result<Option<[usize; 3]>> {
    let found: Vec<Option<usize>> = ANSWER_COLUMNS
        .iter()
        .map(|&(name, kind)| {
            let Some((idx, field)) = schema.column_with_name(name) else {
                return Ok(None);
            };
            check_type(path, name, kind, field)?;
            Ok(Some(idx))
        })
        .collect::<Result<_>>()?;
    match found[..] {
        [Some(a), Some(e), Some(f)] => Ok(Some([a, e, f])),
        [None, None, None] => Ok(None),
        _ => {
            let k = found.iter().position(Option::is_none).unwrap_or(0);
            Err(CollectorError::MissingColumn {
                path: path.to_path_buf(),
                column: ANSWER_COLUMNS[k].0.to_string(),
                expected: format!(
                    "{} (a span task's table has answer, exact and f1)",
                    ANSWER_COLUMNS[k].1.describe()
                ),
            })
        }
    }
}

/// Fills in the answers of the rows of `batch` (the last `batch.num_rows()` of `rows`); a
/// row whose three answer cells are null has no answer.
fn append_answers(
    path: &Path,
    batch: &RecordBatch,
    idx: &[usize; 3],
    base: usize,
    rows: &mut [PredictionRow],
) -> Result<()> {
    let mismatch = |k: usize| CollectorError::WrongColumnType {
        path: path.to_path_buf(),
        column: ANSWER_COLUMNS[k].0.to_string(),
        expected: ANSWER_COLUMNS[k].1.describe().to_string(),
        found: batch.column(idx[k]).data_type().to_string(),
    };
    let text_col = batch.column(idx[0]);
    let text = str_col(text_col.as_ref()).ok_or_else(|| mismatch(0))?;
    let exact = batch.column(idx[1]).as_primitive_opt::<Float64Type>();
    let f1 = batch.column(idx[2]).as_primitive_opt::<Float64Type>();
    let (exact, f1) = (
        exact.ok_or_else(|| mismatch(1))?,
        f1.ok_or_else(|| mismatch(2))?,
    );
    let first = rows.len() - batch.num_rows();
    for (i, row) in rows[first..].iter_mut().enumerate() {
        let nulls = [text_col.is_null(i), exact.is_null(i), f1.is_null(i)];
        row.answer = match nulls {
            [false, false, false] => Some(AnswerColumns {
                text: text.value(i).to_string(),
                exact: exact.value(i),
                f1: f1.value(i),
            }),
            [true, true, true] => None,
            _ => {
                let k = nulls.iter().position(|&n| n).unwrap_or(0);
                return Err(null_err(path, ANSWER_COLUMNS[k].0, base + i));
            }
        };
    }
    Ok(())
}

/// A string column in any of the encodings Arrow writers use.
enum StrCol<'a> {
    Utf8(&'a arrow_array::StringArray),
    Large(&'a arrow_array::LargeStringArray),
    View(&'a arrow_array::StringViewArray),
}

impl StrCol<'_> {
    fn value(&self, i: usize) -> &str {
        match self {
            StrCol::Utf8(a) => a.value(i),
            StrCol::Large(a) => a.value(i),
            StrCol::View(a) => a.value(i),
        }
    }
}

fn str_col(a: &dyn Array) -> Option<StrCol<'_>> {
    match a.data_type() {
        DataType::Utf8 => Some(StrCol::Utf8(a.as_string::<i32>())),
        DataType::LargeUtf8 => Some(StrCol::Large(a.as_string::<i64>())),
        DataType::Utf8View => Some(StrCol::View(a.as_string_view())),
        _ => None,
    }
}

/// Rows of a list-of-f32 column, as (offsets, values).
fn list_col(a: &dyn Array) -> Option<(Vec<usize>, &Float32Array)> {
    match a.data_type() {
        DataType::List(_) => {
            let l = a.as_list::<i32>();
            let offsets = l.value_offsets().iter().map(|&o| o as usize).collect();
            Some((offsets, l.values().as_primitive_opt::<Float32Type>()?))
        }
        DataType::LargeList(_) => {
            let l = a.as_list::<i64>();
            let offsets = l.value_offsets().iter().map(|&o| o as usize).collect();
            Some((offsets, l.values().as_primitive_opt::<Float32Type>()?))
        }
        _ => None,
    }
}

fn append_rows(
    path: &Path,
    batch: &RecordBatch,
    indices: &[usize],
    base: usize,
    rows: &mut Vec<PredictionRow>,
) -> Result<()> {
    let col = |k: usize| batch.column(indices[k]).as_ref();
    // Nulls where the schema forbids them, reported at their row in the file.
    for (k, &(name, _, nullable)) in COLUMNS.iter().enumerate() {
        let a = col(k);
        if !nullable && a.null_count() > 0 {
            let row = (0..a.len()).find(|&i| a.is_null(i)).unwrap_or(0);
            return Err(null_err(path, name, base + row));
        }
    }
    let mismatch = |k: usize| CollectorError::WrongColumnType {
        path: path.to_path_buf(),
        column: COLUMNS[k].0.to_string(),
        expected: COLUMNS[k].1.describe().to_string(),
        found: col(k).data_type().to_string(),
    };
    let s = |k: usize| str_col(col(k)).ok_or_else(|| mismatch(k));
    let i64s = |k: usize| -> Result<IntCol<'_>> {
        let a = col(k);
        if let Some(a) = a.as_primitive_opt::<Int64Type>() {
            Ok(IntCol::I64(a))
        } else if let Some(a) = a.as_primitive_opt::<Float64Type>() {
            Ok(IntCol::F64(a))
        } else {
            Err(mismatch(k))
        }
    };
    let f64s = |k: usize| {
        col(k)
            .as_primitive_opt::<Float64Type>()
            .ok_or_else(|| mismatch(k))
    };
    let (job_id, task, variant, split, checkpoint) = (s(0)?, s(1)?, s(2)?, s(3)?, s(4)?);
    let (pretrain_seed, step) = (i64s(5)?, i64s(6)?);
    let learning_rate = f64s(7)?;
    let (finetune_seed, example_index) = (i64s(8)?, i64s(9)?);
    let example_id = s(10)?;
    let (label, prediction) = (f64s(11)?, f64s(12)?);
    let (offsets, values) = list_col(col(13)).ok_or_else(|| mismatch(13))?;
    if values.null_count() > 0 {
        let value_idx = (0..values.len()).find(|&i| values.is_null(i)).unwrap_or(0);
        let row = offsets
            .partition_point(|&o| o <= value_idx)
            .saturating_sub(1);
        return Err(null_err(path, "scores", base + row));
    }
    let int = |a: &IntCol, k: usize, i: usize| -> Result<Option<i64>> {
        a.value(i).map_err(|message| CollectorError::BadValue {
            path: path.to_path_buf(),
            column: COLUMNS[k].0.to_string(),
            row: base + i,
            message,
        })
    };
    let req = |a: &IntCol, k: usize, i: usize| -> Result<i64> {
        int(a, k, i)?.ok_or_else(|| null_err(path, COLUMNS[k].0, base + i))
    };
    rows.reserve(batch.num_rows());
    for i in 0..batch.num_rows() {
        rows.push(PredictionRow {
            job_id: job_id.value(i).to_string(),
            task: task.value(i).to_string(),
            variant: variant.value(i).to_string(),
            split: split.value(i).to_string(),
            checkpoint: checkpoint.value(i).to_string(),
            pretrain_seed: int(&pretrain_seed, 5, i)?,
            step: int(&step, 6, i)?,
            learning_rate: learning_rate.value(i),
            finetune_seed: req(&finetune_seed, 8, i)?,
            example_index: req(&example_index, 9, i)?,
            example_id: example_id.value(i).to_string(),
            label: label.value(i),
            prediction: prediction.value(i),
            scores: values.values()[offsets[i]..offsets[i + 1]].to_vec(),
            answer: None,
        });
    }
    Ok(())
}

/// An integer column, native or as pandas' float64 (NaN = null).
enum IntCol<'a> {
    I64(&'a arrow_array::Int64Array),
    F64(&'a arrow_array::Float64Array),
}

impl IntCol<'_> {
    fn value(&self, i: usize) -> std::result::Result<Option<i64>, String> {
        match self {
            IntCol::I64(a) => Ok((!a.is_null(i)).then(|| a.value(i))),
            IntCol::F64(a) => {
                if a.is_null(i) || a.value(i).is_nan() {
                    return Ok(None);
                }
                let v = a.value(i);
                if v.fract() == 0.0 && v.abs() < 9.0e15 {
                    Ok(Some(v as i64))
                } else {
                    Err(format!("{v} is not an integer"))
                }
            }
        }
    }
}

fn null_err(path: &Path, column: &str, row: usize) -> CollectorError {
    CollectorError::UnexpectedNull {
        path: PathBuf::from(path),
        column: column.to_string(),
        row,
    }
}
