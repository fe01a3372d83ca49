//! Adversarial inputs other than manifests (issue 15, item 8): command-line values, data files,
//! checkpoints and predictions. Each fails cleanly: no panic or abort, an error naming the file
//! (and line where there is one) or the bad value, nothing written outside the results folder.

mod common;

use std::path::{Path, PathBuf};

use common::adversarial::{Case, run_all};

const MANIFEST: &str = r#"name = "adv"
[defaults]
learning_rates = [1e-3]
finetune_seeds = [0]
[[checkpoints]]
init = { config = "tiny" }
seeds = [0]
[[tasks]]
name = "demo-sentiment"
"#;

fn tiny(file: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/bert-tiny");
    std::fs::read(dir.join(file)).expect("the bert-tiny fixture")
}

fn cli(name: &str, args: &[&str], expect: &[&str]) -> Case {
    Case::new(name, args, expect).file("m.toml", MANIFEST)
}

#[test]
fn bad_command_line_values_are_refused_naming_them() {
    let sweep = |flag: &str, value: &str, expect: &[&str]| {
        cli(
            &format!("sweep {flag} {value}"),
            &["sweep", "m.toml", flag, value],
            expect,
        )
    };
    run_all(&[
        sweep("--jobs", "0", &["--jobs", "1 or more"]),
        sweep("--jobs", "-1", &["-1"]),
        sweep("--jobs", "many", &["--jobs", "many"]),
        sweep("--jobs", "99999999999999999999999", &["--jobs"]),
        sweep(
            "--threads-per-job",
            "0",
            &["--threads-per-job", "1 or more"],
        ),
        sweep(
            "--checkpoint-every",
            "0",
            &["--checkpoint-every", "1 or more"],
        ),
        sweep("--checkpoint-every", "1.5", &["--checkpoint-every"]),
        sweep("--retries", "-1", &["-1"]),
        sweep("--device", "tpu", &["tpu"]),
        sweep("--device", "cuda:x", &["cuda:x"]),
        sweep("--gpus", "a,b", &["--gpus"]),
        sweep("--jobs-per-gpu", "0", &["--jobs-per-gpu"]),
        sweep("--rule", "worst", &["--rule", "worst"]),
        sweep("--backend", "kubernetes", &["--backend", "kubernetes"]),
        cli(
            "run-job --threads 0",
            &["run-job", "x", "--threads", "0"],
            &["--threads", "1 or more"],
        ),
        cli(
            "run-job bad settings",
            &["run-job", "x", "--settings", "{bad"],
            &["--settings"],
        ),
        cli(
            "run-job misspelt setting",
            &["run-job", "x", "--settings", "{\"devcie\":\"cpu\"}"],
            &["devcie"],
        ),
        cli(
            "run-job outside a results tree",
            &["run-job", "{dir}/nowhere"],
            &["nowhere"],
        ),
        cli(
            "plan of a missing manifest",
            &["plan", "missing.toml"],
            &["missing.toml"],
        ),
        cli("plan of a folder", &["plan", "."], &["."]),
        cli(
            "status --results-dir is a file",
            &["status", "m.toml", "--results-dir", "m.toml"],
            &["m.toml"],
        ),
        cli(
            "bootstrap --nboot x",
            &["bootstrap", "--predictions", "p.parquet", "--nboot", "x"],
            &["--nboot"],
        ),
        cli(
            "bootstrap --rng unknown",
            &["bootstrap", "--predictions", "p.parquet", "--rng", "mt:1"],
            &["mt:1"],
        ),
        cli(
            "bootstrap --rng bad seed",
            &[
                "bootstrap",
                "--predictions",
                "p.parquet",
                "--rng",
                "numpy:x",
            ],
            &["numpy:x"],
        ),
        cli(
            "bootstrap --level 2",
            &["bootstrap", "--predictions", "p.parquet", "--level", "2"],
            &["level"],
        )
        .file("p.parquet", good_predictions()),
        cli(
            "bootstrap --metric unknown",
            &[
                "bootstrap",
                "--predictions",
                "p.parquet",
                "--metric",
                "luck",
            ],
            &["luck"],
        ),
        cli(
            "tasks show unknown",
            &["tasks", "show", "no-such-task"],
            &["no-such-task"],
        ),
    ]);
}

/// SST-2's dev file with `dev` as its content (train is fine).
fn sst2(name: &str, dev: impl Into<Vec<u8>>, expect: &[&str]) -> Case {
    let mut expect = expect.to_vec();
    expect.push("SST-2/dev.tsv");
    Case::new(
        name,
        &["data", "check", "--data-dir", "data", "--task", "sst2"],
        &expect,
    )
    .file(
        "data/SST-2/train.tsv",
        "sentence\tlabel\ngood film\t1\nbad film\t0\n",
    )
    .file("data/SST-2/dev.tsv", dev)
}

#[test]
fn bad_data_files_are_errors_naming_file_and_line() {
    run_all(&[
        sst2("empty file", "", &[]),
        sst2("header only", "sentence\tlabel\n", &[]),
        sst2("no header", "good film\t1\n", &["dev.tsv:LINE"]),
        sst2("missing label column", "sentence\nok\n", &["dev.tsv:LINE", "label"]),
        sst2("unknown label", "sentence\tlabel\nok\t7\n", &["dev.tsv:LINE", "7"]),
        sst2("text label", "sentence\tlabel\nok\tpositive\n", &["dev.tsv:LINE", "positive"]),
        sst2("short row", "sentence\tlabel\nok\n", &["dev.tsv:LINE"]),
        sst2("invalid UTF-8", b"sentence\tlabel\n\xff\xfe\t1\n".to_vec(), &["dev.tsv:LINE"]),
        sst2("binary garbage", vec![0u8, 159, 146, 150, 0, 0, 1, 2, 3, 255], &[]),
        sst2("bad row in the middle", "sentence\tlabel\na\t1\nb\t0\nc\tx\nd\t1\n", &["dev.tsv:4"]),
        Case::new(
            "a data root that is a file",
            &["data", "check", "--data-dir", "m.toml", "--task", "sst2"],
            &["m.toml"],
        )
        .file("m.toml", MANIFEST),
        Case::new(
            "a malformed task spec in tasks_dir",
            &["plan", "m.toml"],
            &["specs/bad.toml:LINE"],
        )
        .file("m.toml", format!("tasks_dir = \"specs\"\n{MANIFEST}"))
        .file("specs/bad.toml", "name = \"bad\"\nkind = \"classification\"\nlabels = 5\n"),
        Case::new(
            "a task spec with an unknown metric",
            &["plan", "m.toml"],
            &["specs/bad.toml:LINE", "luck"],
        )
        .file("m.toml", format!("tasks_dir = \"specs\"\n{MANIFEST}"))
        .file(
            "specs/bad.toml",
            "name = \"bad\"\nkind = \"classification\"\nlabels = [\"0\", \"1\"]\nmetrics = [\"luck\"]\n\
             [[sources]]\nformat = \"glue-tsv\"\ntext_a = \"s\"\nlabel = \"l\"\n\
             splits = { train = \"B/train.tsv\", dev = \"B/dev.tsv\" }\n",
        ),
    ]);
}

/// `encode` on a checkpoint folder whose `file` holds `bytes` (the rest is bert-tiny).
fn encode(name: &str, file: &str, bytes: impl Into<Vec<u8>>, expect: &[&str]) -> Case {
    let mut case = Case::new(
        name,
        &[
            "encode",
            "--checkpoint",
            "ckpt",
            "--input",
            "in.json",
            "--out",
            "results/x.safetensors",
        ],
        expect,
    )
    .file("in.json", "{\"input_ids\": [[2, 5, 3]]}")
    .file("results/.keep", "");
    for f in ["config.json", "vocab.txt", "model.safetensors"] {
        if f != file {
            case = case.file(&format!("ckpt/{f}"), tiny(f));
        }
    }
    case.file(&format!("ckpt/{file}"), bytes)
}

#[test]
fn bad_checkpoints_are_errors_naming_the_file() {
    let st = tiny("model.safetensors");
    let zip = tiny("pytorch_model.bin");
    let mut flipped_header = st.clone();
    flipped_header[0] ^= 0xff;
    let config = String::from_utf8(tiny("config.json")).unwrap();
    run_all(&[
        encode(
            "empty weights",
            "model.safetensors",
            Vec::new(),
            &["model.safetensors"],
        ),
        encode(
            "text weights",
            "model.safetensors",
            "not a checkpoint",
            &["model.safetensors", "not a checkpoint"],
        ),
        encode(
            "truncated safetensors",
            "model.safetensors",
            st[..st.len() / 2].to_vec(),
            &["model.safetensors"],
        ),
        encode(
            "safetensors header length flipped",
            "model.safetensors",
            flipped_header,
            &["model.safetensors"],
        ),
        encode(
            "torch zip cut short",
            "model.safetensors",
            zip[..zip.len() / 3].to_vec(),
            &["model.safetensors"],
        ),
        encode(
            "a zip with no pickle",
            "model.safetensors",
            b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0".to_vec(),
            &["model.safetensors"],
        ),
        encode(
            "config not JSON",
            "config.json",
            "{hidden_size: }",
            &["config.json"],
        ),
        encode(
            "config of another size (shape mismatch)",
            "config.json",
            config.replace("\"hidden_size\": 32", "\"hidden_size\": 48"),
            &["model.safetensors", "config.json", "and 3", "more"],
        ),
        encode(
            "config of another model",
            "config.json",
            "{\"model_type\": \"gpt2\"}",
            &["config.json"],
        ),
        Case::new(
            "a missing checkpoint folder",
            &[
                "encode",
                "--checkpoint",
                "nowhere",
                "--input",
                "in.json",
                "--out",
                "results/x.safetensors",
            ],
            &["nowhere"],
        )
        .file("in.json", "{\"input_ids\": [[2, 5, 3]]}"),
        Case::new(
            "an output folder that does not exist",
            &[
                "encode",
                "--checkpoint",
                "ckpt",
                "--input",
                "in.json",
                "--out",
                "results/missing/x.safetensors",
            ],
            &["results/missing", "does not exist"],
        )
        .file("in.json", "{\"input_ids\": [[2, 5, 3]]}")
        .file("ckpt/config.json", tiny("config.json"))
        .file("ckpt/vocab.txt", tiny("vocab.txt"))
        .file("ckpt/model.safetensors", st),
    ]);
}

/// A valid predictions Parquet (one task, two seeds × two runs × 6 examples).
fn good_predictions() -> Vec<u8> {
    use multiberts_collector::{PredictionRow, write_predictions};
    let tmp = tempfile::tempdir().unwrap();
    let path: PathBuf = tmp.path().join("p.parquet");
    let mut rows = Vec::new();
    for seed in 0..2i64 {
        for ft in 0..2i64 {
            for i in 0..6i64 {
                rows.push(PredictionRow {
                    job_id: format!("job{seed}{ft}"),
                    task: "t".into(),
                    variant: String::new(),
                    split: "dev".into(),
                    checkpoint: format!("seed_{seed}"),
                    pretrain_seed: Some(seed),
                    step: None,
                    learning_rate: 1e-3,
                    finetune_seed: ft,
                    example_index: i,
                    example_id: format!("e{i}"),
                    label: (i % 2) as f64,
                    prediction: ((i + ft) % 2) as f64,
                    scores: vec![0.5, 0.5],
                    answer: None,
                });
            }
        }
    }
    write_predictions(&path, &rows).unwrap();
    std::fs::read(&path).unwrap()
}

fn bootstrap(name: &str, bytes: impl Into<Vec<u8>>, expect: &[&str]) -> Case {
    let mut expect = expect.to_vec();
    expect.push("p.parquet");
    Case::new(name, &["bootstrap", "--predictions", "p.parquet"], &expect).file("p.parquet", bytes)
}

#[test]
fn bad_predictions_are_errors_naming_the_file() {
    let good = good_predictions();
    assert!(
        common::adversarial::run_case(&bootstrap("good", good.clone(), &[])).is_err(),
        "the harness treats success as a failure"
    );
    let n = good.len();
    let mut bad_magic = good.clone();
    bad_magic[n - 1] ^= 0xff;
    let mut bad_footer_len = good.clone();
    bad_footer_len[n - 6] ^= 0x7f;
    let mut bad_start = good.clone();
    bad_start[1] ^= 0xff;
    let glue = |name: &str, index: &str, expect: &[&str]| {
        Case::new(
            name,
            &["bootstrap", "--glue", "g", "--task", "SST-2"],
            expect,
        )
        .file("g/index.tsv", index)
    };
    run_all(&[
        bootstrap("empty file", Vec::new(), &[]),
        bootstrap("magic only", "PAR1", &[]),
        bootstrap("text file", "task,label\nt,1\n", &[]),
        bootstrap("cut in half", good[..n / 2].to_vec(), &[]),
        bootstrap("last byte cut", good[..n - 1].to_vec(), &[]),
        bootstrap("footer magic flipped", bad_magic, &[]),
        bootstrap("footer length flipped", bad_footer_len, &[]),
        bootstrap("header magic flipped", bad_start, &[]),
        Case::new(
            "a task not in the file",
            &["bootstrap", "--predictions", "p.parquet", "--task", "nope"],
            &["nope"],
        )
        .file("p.parquet", good.clone()),
        Case::new(
            "a missing file",
            &["bootstrap", "--predictions", "nope.parquet"],
            &["nope.parquet"],
        ),
        Case::new("a folder", &["bootstrap", "--predictions", "d"], &["d"]).file("d/x", "x"),
        glue("GLUE index missing", "", &["index.tsv"]),
        glue("GLUE index without header", "a\tb\n", &["index.tsv"]),
        glue(
            "GLUE layout without its labels file",
            "file\ttask\tpretrain_id\tn_steps\tlr\tft_seed\trelease\nrun0.tsv\tSST-2\t0\t0\t2e-5\t0\tmultiberts\n",
            &["SST-2_dev_labels"],
        ),
        Case::new(
            "a coref folder without files",
            &["bootstrap", "--coref", "c"],
            &["c"],
        )
        .file("c/x", "x"),
    ]);
}
