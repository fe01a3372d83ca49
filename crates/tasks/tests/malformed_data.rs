//! Malformed data files: each error names the file, the line and column, and what was expected.

use std::path::Path;

use multiberts_tasks::{TaskRegistry, TaskSpec};

/// Writes `files` under a fresh data root and loads `split` of the built-in `task`.
fn load(task: &str, files: &[(&str, &[u8])], split: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
    }
    let registry = TaskRegistry::builtin().unwrap();
    let err = registry
        .get(task)
        .unwrap()
        .load_split(dir.path(), split)
        .expect_err("malformed data must be an error");
    err.to_string()
}

#[test]
fn wrong_field_count_names_line() {
    let msg = load(
        "sst2",
        &[(
            "SST-2/dev.tsv",
            b"sentence\tlabel\ngood film\t1\nbad\tfilm\t0\n",
        )],
        "dev",
    );
    assert!(msg.contains("SST-2/dev.tsv:3:1:"), "{msg}");
    assert!(
        msg.contains("expected 2 tab-separated fields, found 3"),
        "{msg}"
    );
}

#[test]
fn unknown_label_names_line_column_and_choices() {
    let msg = load(
        "sst2",
        &[("SST-2/dev.tsv", b"sentence\tlabel\ngood film\t1\nmeh\t2\n")],
        "dev",
    );
    assert!(msg.contains("SST-2/dev.tsv:3:5:"), "{msg}");
    assert!(msg.contains("unknown label \"2\""), "{msg}");
    assert!(msg.contains("`0`, `1`"), "{msg}");
}

#[test]
fn invalid_utf8_points_at_the_byte() {
    let msg = load(
        "sst2",
        &[("SST-2/dev.tsv", b"sentence\tlabel\nna\xefve\t1\n")],
        "dev",
    );
    assert!(msg.contains("SST-2/dev.tsv:2:3:"), "{msg}");
    assert!(msg.contains("invalid UTF-8"), "{msg}");
}

#[test]
fn empty_file_says_what_was_expected() {
    let msg = load("sst2", &[("SST-2/dev.tsv", b"")], "dev");
    assert!(
        msg.contains("SST-2/dev.tsv: empty file; expected a header line"),
        "{msg}"
    );
    let msg = load("cola", &[("CoLA/dev.tsv", b"\n\n")], "dev");
    assert!(
        msg.contains("CoLA/dev.tsv: empty file; expected at least one example"),
        "{msg}"
    );
}

#[test]
fn missing_header_column_lists_the_header() {
    let msg = load(
        "sst2",
        &[("SST-2/dev.tsv", b"text\tlabel\ngood\t1\n")],
        "dev",
    );
    assert!(
        msg.contains("SST-2/dev.tsv:1:1: no column `sentence`"),
        "{msg}"
    );
    assert!(msg.contains("`text`, `label`"), "{msg}");
}

#[test]
fn regression_label_must_be_a_number() {
    let msg = load(
        "stsb",
        &[(
            "STS-B/dev.tsv",
            b"index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n0\tg\tf\ty\to\ts\ts\ta\tb\tfive\n",
        )],
        "dev",
    );
    assert!(msg.contains("STS-B/dev.tsv:2:"), "{msg}");
    assert!(
        msg.contains("expected a number as label, found \"five\""),
        "{msg}"
    );
}

#[test]
fn bad_json_line_names_line_and_column() {
    let msg = load(
        "rte",
        &[
            ("RTE/train.jsonl", b"{\"premise\": \"a\", \"hypothesis\": \"b\", \"label\": \"entailment\", \"idx\": 0}\n"),
            ("RTE/val.jsonl", b"{\"premise\": \"a\", \"hypothesis\": \"b\", \"label\": \"entailment\", \"idx\": 0}\n{\"premise\": \"a\" \"hypothesis\": 1}\n"),
        ],
        "dev",
    );
    assert!(msg.contains("RTE/val.jsonl:2:"), "{msg}");
    assert!(msg.contains("expected one JSON object per line"), "{msg}");
}

#[test]
fn json_missing_key_and_unknown_label() {
    let msg = load(
        "rte",
        &[(
            "RTE/val.jsonl",
            b"{\"premise\": \"a\", \"label\": \"entailment\", \"idx\": 0}\n",
        )],
        "dev",
    );
    assert!(
        msg.contains("RTE/val.jsonl:1:1: missing key \"hypothesis\""),
        "{msg}"
    );
    let msg = load(
        "rte",
        &[(
            "RTE/val.jsonl",
            b"{\"premise\": \"a\", \"hypothesis\": \"b\", \"label\": \"maybe\", \"idx\": 0}\n",
        )],
        "dev",
    );
    assert!(msg.contains("unknown label \"maybe\""), "{msg}");
}

#[test]
fn corrupt_parquet_names_the_file() {
    let msg = load(
        "sst2",
        &[(
            "sst2/validation-00000-of-00001.parquet",
            b"PAR1 this is not parquet",
        )],
        "dev",
    );
    assert!(
        msg.contains("sst2/validation-00000-of-00001.parquet"),
        "{msg}"
    );
    assert!(msg.contains("not a readable Parquet file"), "{msg}");
}

#[test]
fn malformed_spec_points_into_the_toml() {
    let text = "name = \"x\"\nkind = \"classification\"\nlabels = [\"a\", \"b\"]\nmetrics = [\"acc\"]\n[[sources]]\nformat = \"jsonl\"\ntext_a = \"t\"\nlabel = \"l\"\nsplits = { train = \"a\", dev = \"b\" }\n";
    let err = TaskSpec::from_toml(Path::new("tasks/x.toml"), text).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("tasks/x.toml:4:12: unknown metric \"acc\""),
        "{msg}"
    );
    let text = text.replace("kind = \"classification\"", "kind = \"ranking\"");
    let msg = TaskSpec::from_toml(Path::new("tasks/x.toml"), &text)
        .unwrap_err()
        .to_string();
    assert!(msg.starts_with("tasks/x.toml:2:8:"), "{msg}");
    assert!(msg.contains("classification"), "{msg}");
}
