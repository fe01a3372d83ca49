//! The Hugging Face Parquet layout (`nyu-mll/glue`): integer `ClassLabel`s in HF's own order,
//! mapped through `label_names` to ours. The files are written here with arrow, as HF does.

use std::sync::Arc;

use arrow_array::{Int32Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use multiberts_tasks::{DataFormat, Label, TaskRegistry};
use parquet::arrow::ArrowWriter;

fn write_mnli_validation(path: &std::path::Path, labels: Vec<i64>) {
    let n = labels.len();
    let schema = Arc::new(Schema::new(vec![
        Field::new("premise", DataType::Utf8, false),
        Field::new("hypothesis", DataType::Utf8, false),
        Field::new("label", DataType::Int64, false),
        Field::new("idx", DataType::Int32, false),
    ]));
    let premises: Vec<String> = (0..n).map(|i| format!("premise {i}")).collect();
    let hypotheses: Vec<String> = (0..n).map(|i| format!("hypothesis {i}")).collect();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(premises)),
            Arc::new(StringArray::from(hypotheses)),
            Arc::new(Int64Array::from(labels)),
            Arc::new(Int32Array::from((0..n as i32).collect::<Vec<_>>())),
        ],
    )
    .unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

#[test]
fn hf_class_labels_map_to_bert_order() {
    let dir = tempfile::tempdir().unwrap();
    // HF: entailment=0, neutral=1, contradiction=2. Ours: contradiction, entailment, neutral.
    write_mnli_validation(
        &dir.path()
            .join("mnli/validation_matched-00000-of-00001.parquet"),
        vec![0, 1, 2, 2],
    );
    let registry = TaskRegistry::builtin().unwrap();
    let spec = registry.get("mnli").unwrap();
    let data = spec.load_split(dir.path(), "dev_matched").unwrap();
    assert_eq!(data.format, DataFormat::Parquet);
    let labels: Vec<Label> = data.examples.iter().map(|e| e.label).collect();
    assert_eq!(
        labels,
        vec![
            Label::Class(1),
            Label::Class(2),
            Label::Class(0),
            Label::Class(0)
        ]
    );
    assert_eq!(data.examples[3].id, "3");
    assert_eq!(data.examples[2].text_b.as_deref(), Some("hypothesis 2"));
}

#[test]
fn unlabelled_test_rows_are_refused_with_the_row() {
    let dir = tempfile::tempdir().unwrap();
    write_mnli_validation(
        &dir.path()
            .join("mnli/validation_matched-00000-of-00001.parquet"),
        vec![0, -1],
    );
    let registry = TaskRegistry::builtin().unwrap();
    let err = registry
        .get("mnli")
        .unwrap()
        .load_split(dir.path(), "dev_matched")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("validation_matched-00000-of-00001.parquet: row 1"),
        "{err}"
    );
    assert!(err.contains("unlabelled"), "{err}");
}
