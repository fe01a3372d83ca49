//! Apache Parquet as served by the Hugging Face hub (`nyu-mll/glue`: columns such as `sentence`,
//! `premise`, `hypothesis`, an integer `label` (a `ClassLabel`, -1 on test splits) and `idx`).
//! Parquet has no lines, so errors name the file, the column and the 0-based row.

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::TaskError;
use crate::example::{Example, Label};
use crate::readers::LabelParser;
use crate::spec::{Column, Source};

/// Reads one Parquet file into examples.
pub(crate) fn read(
    path: &Path,
    bytes: Vec<u8>,
    source: &Source,
    labels: &LabelParser<'_>,
) -> Result<Vec<Example>, TaskError> {
    let bad = |msg: String| TaskError::data_file(path, msg);
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .map_err(|e| bad(format!("not a readable Parquet file ({e})")))?;
    let schema = builder.schema().clone();
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let find = |col: &Column| -> Result<usize, TaskError> {
        match col {
            Column::Name(name) => names.iter().position(|n| n == name).ok_or_else(|| {
                bad(format!(
                    "no column `{name}`; expected it among {}",
                    crate::diag::one_of(&names)
                ))
            }),
            Column::Index(i) if *i < names.len() => Ok(*i),
            Column::Index(i) => Err(bad(format!(
                "no column #{i}; the file has {} columns",
                names.len()
            ))),
        }
    };
    let (Some(text_a), Some(label)) = (&source.text_a, &source.label) else {
        return Err(bad("the task spec names no text_a/label column".to_string()));
    };
    let text_a = find(text_a)?;
    let text_b = source.text_b.as_ref().map(find).transpose()?;
    let label = find(label)?;
    let id = source.id.as_ref().map(find).transpose()?;

    let reader = builder
        .build()
        .map_err(|e| bad(format!("cannot read Parquet data ({e})")))?;
    let mut examples = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| bad(format!("corrupt Parquet data ({e})")))?;
        let offset = examples.len();
        let col_name = |i: usize| names[i].as_str();
        let texts_a = strings(&batch, text_a).map_err(|t| type_error(path, col_name(text_a), t))?;
        let texts_b = text_b
            .map(|i| strings(&batch, i).map_err(|t| type_error(path, col_name(i), t)))
            .transpose()?;
        let ids = id
            .map(|i| ids(&batch, i).map_err(|t| type_error(path, col_name(i), t)))
            .transpose()?;
        let label_array = batch.column(label);
        for row in 0..batch.num_rows() {
            let at = |msg: String| bad(format!("row {}: {msg}", offset + row));
            let text_a = texts_a[row]
                .clone()
                .ok_or_else(|| at(format!("`{}` is null; expected a string", col_name(text_a))))?;
            let text_b =
                match (&texts_b, text_b) {
                    (Some(col), Some(i)) => Some(col[row].clone().ok_or_else(|| {
                        at(format!("`{}` is null; expected a string", col_name(i)))
                    })?),
                    _ => None,
                };
            let label = label_at(label_array.as_ref(), row, labels)
                .map_err(|msg| at(format!("{msg} (column `{}`)", col_name(label))))?;
            let id = match &ids {
                Some(ids) => ids[row]
                    .clone()
                    .unwrap_or_else(|| (offset + row).to_string()),
                None => (offset + row).to_string(),
            };
            examples.push(Example::new(id, text_a, text_b, label));
        }
    }
    if examples.is_empty() {
        return Err(bad("no rows; expected at least one example".to_string()));
    }
    Ok(examples)
}

fn type_error(path: &Path, column: &str, found: DataType) -> TaskError {
    TaskError::data_file(
        path,
        format!("column `{column}` has type {found}; expected a string column"),
    )
}

/// A text column as owned strings.
fn strings(batch: &RecordBatch, i: usize) -> Result<Vec<Option<String>>, DataType> {
    let array = batch.column(i);
    let collect = |it: &mut dyn Iterator<Item = Option<&str>>| -> Vec<Option<String>> {
        it.map(|s| s.map(str::to_string)).collect()
    };
    match array.data_type() {
        DataType::Utf8 => Ok(collect(&mut array.as_string::<i32>().iter())),
        DataType::LargeUtf8 => Ok(collect(&mut array.as_string::<i64>().iter())),
        DataType::Utf8View => Ok(collect(&mut array.as_string_view().iter())),
        other => Err(other.clone()),
    }
}

/// An id column (strings or integers) as strings.
fn ids(batch: &RecordBatch, i: usize) -> Result<Vec<Option<String>>, DataType> {
    let array = batch.column(i);
    if let Ok(strings) = strings(batch, i) {
        return Ok(strings);
    }
    (0..array.len())
        .map(|row| match integer_at(array.as_ref(), row) {
            Some(Some(v)) => Ok(Some(v.to_string())),
            Some(None) => Ok(None),
            None => Err(array.data_type().clone()),
        })
        .collect()
}

/// `Some(value)` for integer columns (`Some(None)` when null), `None` for other types.
fn integer_at(array: &dyn Array, row: usize) -> Option<Option<i64>> {
    macro_rules! int {
        ($t:ty) => {{
            let a = array.as_primitive::<$t>();
            Some(a.is_valid(row).then(|| a.value(row) as i64))
        }};
    }
    match array.data_type() {
        DataType::Int8 => int!(Int8Type),
        DataType::Int16 => int!(Int16Type),
        DataType::Int32 => int!(Int32Type),
        DataType::Int64 => int!(Int64Type),
        DataType::UInt8 => int!(UInt8Type),
        DataType::UInt16 => int!(UInt16Type),
        DataType::UInt32 => int!(UInt32Type),
        DataType::UInt64 => int!(UInt64Type),
        _ => None,
    }
}

fn label_at(array: &dyn Array, row: usize, labels: &LabelParser<'_>) -> Result<Label, String> {
    if array.is_null(row) {
        return Err("label is null".to_string());
    }
    if let Some(Some(v)) = integer_at(array, row) {
        return labels.parse_int(v);
    }
    match array.data_type() {
        DataType::Float32 => {
            labels.parse_float(f64::from(array.as_primitive::<Float32Type>().value(row)))
        }
        DataType::Float64 => labels.parse_float(array.as_primitive::<Float64Type>().value(row)),
        DataType::Boolean => labels.parse_str(if array.as_boolean().value(row) {
            "true"
        } else {
            "false"
        }),
        DataType::Utf8 => labels.parse_str(array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => labels.parse_str(array.as_string::<i64>().value(row)),
        DataType::Utf8View => labels.parse_str(array.as_string_view().value(row)),
        other => Err(format!(
            "label column has type {other}; expected integers, floats, booleans or strings"
        )),
    }
}
