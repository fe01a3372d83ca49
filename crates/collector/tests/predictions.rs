//! The predictions Parquet contract: exact columns and types, round trip, errors naming the
//! file and the column, and atomic writes.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{Float32Builder, ListBuilder};
use arrow_array::{
    Array, ArrayRef, Float64Array, Int64Array, LargeStringArray, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use multiberts_collector::predictions::{self, PredictionRow, PredictionsWriter};
use multiberts_collector::{CollectorError, read_predictions, write_predictions};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn rows() -> Vec<PredictionRow> {
    let mut out = Vec::new();
    for (job, variant, seed, step) in [("a1", "", Some(0), Some(2000)), ("b2", "cda", None, None)] {
        for i in 0..3 {
            out.push(PredictionRow {
                job_id: job.into(),
                task: "mnli".into(),
                variant: variant.into(),
                split: "dev".into(),
                checkpoint: format!("ckpt-{job}"),
                pretrain_seed: seed,
                step,
                learning_rate: 2e-5,
                finetune_seed: 3,
                example_index: i,
                example_id: format!("ex{i}"),
                label: (i % 3) as f64,
                prediction: ((i + 1) % 3) as f64,
                scores: vec![0.1 * i as f32, -1.5, 2.25e-3],
                answer: None,
            });
        }
    }
    out
}

#[test]
fn written_file_has_the_documented_columns_and_types() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.parquet");
    write_predictions(&path, &rows()).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap();
    let schema = builder.schema();
    let got: Vec<(String, DataType, bool)> = schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone(), f.is_nullable()))
        .collect();
    let list = DataType::List(Arc::new(Field::new("item", DataType::Float32, false)));
    let expected = vec![
        ("job_id", DataType::Utf8, false),
        ("task", DataType::Utf8, false),
        ("variant", DataType::Utf8, false),
        ("split", DataType::Utf8, false),
        ("checkpoint", DataType::Utf8, false),
        ("pretrain_seed", DataType::Int64, true),
        ("step", DataType::Int64, true),
        ("learning_rate", DataType::Float64, false),
        ("finetune_seed", DataType::Int64, false),
        ("example_index", DataType::Int64, false),
        ("example_id", DataType::Utf8, false),
        ("label", DataType::Float64, false),
        ("prediction", DataType::Float64, false),
        ("scores", list, false),
    ];
    let expected: Vec<(String, DataType, bool)> = expected
        .into_iter()
        .map(|(n, t, null)| (n.to_string(), t, null))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(
        predictions::column_names(),
        expected.iter().map(|c| c.0.as_str()).collect::<Vec<_>>()
    );
    let md = builder.metadata();
    let codec = md.row_group(0).column(0).compression();
    assert_eq!(codec.to_string(), "ZSTD(ZstdLevel(1))");
}

#[test]
fn round_trip_preserves_every_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.parquet");
    let rows = rows();
    write_predictions(&path, &rows).unwrap();
    assert_eq!(read_predictions(&path).unwrap(), rows);
}

#[test]
fn streaming_writer_matches_one_shot_and_is_invisible_until_finished() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.parquet");
    let rows = rows();
    let mut w = PredictionsWriter::create(&path).unwrap();
    w.write(&rows[..3]).unwrap();
    assert!(!path.exists(), "destination must not appear before finish");
    w.write(&rows[3..]).unwrap();
    assert_eq!(w.rows(), 6);
    w.finish().unwrap();
    assert_eq!(read_predictions(&path).unwrap(), rows);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left"
    );
}

#[test]
fn abandoned_write_leaves_old_file_and_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.parquet");
    let rows = rows();
    write_predictions(&path, &rows[..2]).unwrap();
    {
        let mut w = PredictionsWriter::create(&path).unwrap();
        w.write(&rows).unwrap();
        // Dropped without finish: a crash mid-write.
    }
    assert_eq!(read_predictions(&path).unwrap(), rows[..2].to_vec());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// Writes a hand-built batch, replacing or dropping columns of the documented schema.
fn write_custom(path: &Path, replace: &str, with: Option<(DataType, ArrayRef)>) {
    let good = predictions::to_record_batch(&rows()).unwrap();
    let mut fields = Vec::new();
    let mut cols = Vec::new();
    for (f, c) in good.schema().fields().iter().zip(good.columns()) {
        if f.name() == replace {
            if let Some((dt, arr)) = &with {
                fields.push(Field::new(f.name(), dt.clone(), true));
                cols.push(arr.clone());
            }
        } else {
            fields.push(f.as_ref().clone());
            cols.push(c.clone());
        }
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap();
    let mut w = ArrowWriter::try_new(File::create(path).unwrap(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

#[test]
fn missing_column_is_named_with_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.parquet");
    write_custom(&path, "scores", None);
    let err = read_predictions(&path).unwrap_err();
    assert!(
        matches!(&err, CollectorError::MissingColumn { column, .. } if column == "scores"),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("bad.parquet") && msg.contains("`scores`") && msg.contains("List<Float32>"),
        "{msg}"
    );
}

#[test]
fn mistyped_column_is_named_with_both_types() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.parquet");
    let lr: ArrayRef = Arc::new(StringArray::from(vec!["2e-5"; 6]));
    write_custom(&path, "learning_rate", Some((DataType::Utf8, lr)));
    let err = read_predictions(&path).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, CollectorError::WrongColumnType { .. }));
    assert!(
        msg.contains("bad.parquet")
            && msg.contains("`learning_rate`")
            && msg.contains("Float64")
            && msg.contains("Utf8"),
        "{msg}"
    );
}

#[test]
fn null_in_a_required_column_names_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.parquet");
    let seeds: ArrayRef = Arc::new(Int64Array::from(vec![
        Some(1),
        Some(1),
        Some(1),
        Some(1),
        None,
        Some(1),
    ]));
    write_custom(&path, "finetune_seed", Some((DataType::Int64, seeds)));
    let err = read_predictions(&path).unwrap_err();
    assert!(
        matches!(&err, CollectorError::UnexpectedNull { column, row: 4, .. } if column == "finetune_seed"),
        "{err}"
    );
}

#[test]
fn large_string_and_large_list_encodings_are_accepted() {
    // polars writes large strings and large lists; the reader must take them.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.parquet");
    let ids: ArrayRef = Arc::new(LargeStringArray::from(vec![
        "a1", "a1", "a1", "b2", "b2", "b2",
    ]));
    write_custom(&path, "job_id", Some((DataType::LargeUtf8, ids)));
    let got = read_predictions(&path).unwrap();
    assert_eq!(got, rows());

    let path2 = dir.path().join("large_list.parquet");
    let mut b = arrow_array::builder::LargeListBuilder::new(Float32Builder::new());
    for r in rows() {
        b.values().append_slice(&r.scores);
        b.append(true);
    }
    let arr = b.finish();
    let dt = arr.data_type().clone();
    write_custom(&path2, "scores", Some((dt, Arc::new(arr))));
    assert_eq!(read_predictions(&path2).unwrap(), rows());
    // A list of f64 is not the schema's List<Float32>.
    let path3 = dir.path().join("f64_list.parquet");
    let mut b = ListBuilder::new(arrow_array::builder::Float64Builder::new());
    for _ in 0..6 {
        b.values().append_value(1.0);
        b.append(true);
    }
    let arr = b.finish();
    write_custom(
        &path3,
        "scores",
        Some((arr.data_type().clone(), Arc::new(arr))),
    );
    let err = read_predictions(&path3).unwrap_err();
    assert!(
        matches!(err, CollectorError::WrongColumnType { .. }),
        "{err}"
    );
}

#[test]
fn pandas_float_integers_are_read_when_integral() {
    // pandas writes nullable integer columns back as float64 with NaN for null.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pandas.parquet");
    let seeds: ArrayRef = Arc::new(Float64Array::from(vec![
        0.0,
        0.0,
        0.0,
        f64::NAN,
        f64::NAN,
        f64::NAN,
    ]));
    write_custom(&path, "pretrain_seed", Some((DataType::Float64, seeds)));
    assert_eq!(read_predictions(&path).unwrap(), rows());

    let path = dir.path().join("half.parquet");
    let steps: ArrayRef = Arc::new(Float64Array::from(vec![
        2000.0,
        2000.5,
        2000.0,
        f64::NAN,
        f64::NAN,
        f64::NAN,
    ]));
    write_custom(&path, "step", Some((DataType::Float64, steps)));
    let err = read_predictions(&path).unwrap_err();
    assert!(
        matches!(&err, CollectorError::BadValue { column, row: 1, .. } if column == "step"),
        "{err}"
    );
    assert!(
        err.to_string().contains("2000.5 is not an integer"),
        "{err}"
    );

    let path = dir.path().join("nan_index.parquet");
    let idx: ArrayRef = Arc::new(Float64Array::from(vec![0.0, 1.0, 2.0, 0.0, f64::NAN, 2.0]));
    write_custom(&path, "example_index", Some((DataType::Float64, idx)));
    let err = read_predictions(&path).unwrap_err();
    assert!(
        matches!(&err, CollectorError::UnexpectedNull { column, row: 4, .. } if column == "example_index"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn atomic_files_get_ordinary_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("plain");
    File::create(&reference).unwrap();
    let path = dir.path().join("p.parquet");
    write_predictions(&path, &rows()).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), mode(&reference));
}

/// A span task's table: the answer columns after the documented ones, read back exactly; a
/// table without answers keeps the documented schema; one table cannot mix the two.
#[test]
fn span_rows_round_trip_with_answer_columns_and_plain_tables_do_not_grow() {
    use multiberts_collector::AnswerColumns;
    let dir = tempfile::tempdir().unwrap();
    let mut span = rows();
    for (i, r) in span.iter_mut().enumerate() {
        r.answer = Some(AnswerColumns {
            text: ["", "the Normans", "Zoë's \"x\""][i % 3].into(),
            exact: (i % 2) as f64,
            f1: 1.0 / (i + 1) as f64,
        });
    }
    let path = dir.path().join("squad.parquet");
    write_predictions(&path, &span).unwrap();
    let schema = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap())
        .unwrap()
        .schema()
        .clone();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let mut want = predictions::column_names();
    want.extend(["answer", "exact", "f1"]);
    assert_eq!(names, want);
    assert_eq!(read_predictions(&path).unwrap(), span);

    let plain = dir.path().join("plain.parquet");
    write_predictions(&plain, &rows()).unwrap();
    let schema = ParquetRecordBatchReaderBuilder::try_new(File::open(&plain).unwrap())
        .unwrap()
        .schema()
        .clone();
    assert_eq!(schema.fields().len(), predictions::column_names().len());

    let mut w = PredictionsWriter::create(&dir.path().join("mixed.parquet")).unwrap();
    w.write(&rows()).unwrap();
    let err = w.write(&span).unwrap_err().to_string();
    assert!(
        err.contains("mixed.parquet") && err.contains("answers"),
        "{err}"
    );
}
