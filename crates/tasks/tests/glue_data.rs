//! The real GLUE files in ../shared/data/glue: every split the project ships specs for reads
//! with the documented counts and label balance.

use std::path::PathBuf;

use multiberts_tasks::{DataFormat, Label, TaskRegistry};

fn glue_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/glue")
}

fn count(task: &str, split: &str) -> (usize, Vec<usize>) {
    let registry = TaskRegistry::builtin().unwrap();
    let spec = registry.get(task).unwrap();
    let data = spec.load_split(&glue_root(), split).unwrap();
    let mut per_label = vec![0; spec.labels.len()];
    for e in &data.examples {
        if let Label::Class(c) = e.label {
            per_label[c] += 1;
        }
    }
    (data.examples.len(), per_label)
}

#[test]
fn sst2_dev_and_train() {
    assert_eq!(count("sst2", "dev"), (872, vec![428, 444]));
    assert_eq!(count("sst2", "train"), (67_349, vec![29_780, 37_569]));
}

#[test]
fn cola_has_no_header() {
    assert_eq!(count("cola", "dev"), (1043, vec![322, 721]));
    assert_eq!(count("cola", "train"), (8551, vec![2528, 6023]));
}

#[test]
fn mrpc_with_byte_order_mark_and_unbalanced_quotes() {
    assert_eq!(count("mrpc", "dev"), (408, vec![129, 279]));
    assert_eq!(count("mrpc", "train"), (3668, vec![1194, 2474]));
    // A field that opens a quote it never closes must stay one field.
    let registry = TaskRegistry::builtin().unwrap();
    let dev = registry
        .get("mrpc")
        .unwrap()
        .load_split(&glue_root(), "dev")
        .unwrap();
    let first = &dev.examples[0];
    assert_eq!(first.id, "1355540");
    assert!(
        first
            .text_b
            .as_deref()
            .unwrap()
            .starts_with("\"The foodservice pie business")
    );
}

#[test]
fn stsb_labels_are_real_values() {
    let registry = TaskRegistry::builtin().unwrap();
    let spec = registry.get("stsb").unwrap();
    let dev = spec.load_split(&glue_root(), "dev").unwrap();
    assert_eq!(dev.examples.len(), 1500);
    assert_eq!(dev.examples[0].label, Label::Value(5.0));
    let mean = dev.examples.iter().map(|e| e.label.as_f64()).sum::<f64>() / 1500.0;
    assert!((mean - 2.364).abs() < 0.001, "mean {mean}");
    assert_eq!(
        spec.load_split(&glue_root(), "train")
            .unwrap()
            .examples
            .len(),
        5749
    );
}

#[test]
fn qnli_dev() {
    assert_eq!(count("qnli", "dev"), (5463, vec![2702, 2761]));
}

#[test]
fn rte_falls_back_to_the_superglue_jsonl_files() {
    let registry = TaskRegistry::builtin().unwrap();
    let spec = registry.get("rte").unwrap();
    let source = spec.resolve_source(&glue_root()).unwrap();
    assert_eq!(source.format, DataFormat::Jsonl);
    assert_eq!(count("rte", "dev"), (277, vec![146, 131]));
    assert_eq!(count("rte", "train"), (2490, vec![1249, 1241]));
}

#[test]
fn files_are_hashed_for_provenance() {
    let registry = TaskRegistry::builtin().unwrap();
    let dev = registry
        .get("sst2")
        .unwrap()
        .load_split(&glue_root(), "dev")
        .unwrap();
    assert_eq!(dev.files.len(), 1);
    assert_eq!(
        dev.files[0].sha256,
        "54a9c12c77e402fc14d6a66a506f24d999f596b0176eb777c972cccc2f9cc4b0"
    );
}

#[test]
fn absent_tasks_say_where_they_looked() {
    let registry = TaskRegistry::builtin().unwrap();
    let err = registry
        .get("mnli")
        .unwrap()
        .load_split(&glue_root(), "dev_matched")
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("MNLI/dev_matched.tsv"), "{msg}");
    assert!(msg.contains("--data-dir"), "{msg}");
}
