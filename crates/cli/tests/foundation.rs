//! The foundation verbs as a user runs them: `plan`, `tasks`, `data check`, `--help`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The binary run from the repository root, where `manifests/` is.
fn multiberts(args: &[&str]) -> Output {
    common::multiberts(&repo(), args)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn plan_reports_4000_jobs_for_the_glue_protocol_with_stable_ids() {
    let out = multiberts(&["plan", "manifests/multiberts-glue.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("4000 jobs: 8 tasks x 25 checkpoints"),
        "{text}"
    );
    assert!(text.contains("mnli total"), "{text}");

    let json = |args: &[&str]| -> serde_json::Value {
        let out = multiberts(args);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice(&out.stdout).expect("--json prints JSON")
    };
    let a = json(&["plan", "manifests/multiberts-glue.toml", "--json"]);
    let b = json(&["plan", "manifests/multiberts-glue.toml", "--json"]);
    assert_eq!(a["total_jobs"], 4000);
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&a), ids(&b));
    assert_eq!(ids(&a).len(), 4000);
}

#[test]
fn plan_without_a_manifest_uses_the_embedded_demo() {
    let out = multiberts(&["plan"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("demo (manifests/demo.toml)"), "{text}");
    assert!(text.contains("60 jobs"), "{text}");
    assert!(text.contains("init-tiny-seed_4"), "{text}");
}

#[test]
fn plan_errors_name_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "name = \"x\"\n[[checkpoints]]\nhub = \"a/b-{seed}\"\nseeds = \"24..=0\"\n[[tasks]]\nname = \"sst2\"\n").unwrap();
    let out = multiberts(&["plan", path.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("bad.toml:4:9: range \"24..=0\" is reversed"),
        "{err}"
    );
    assert!(err.contains("4 | seeds = \"24..=0\""), "{err}");
}

#[test]
fn an_eval_only_task_is_refused_before_any_job_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("coref.toml");
    std::fs::write(
        &path,
        "name = \"x\"\nresults_dir = \"out\"\n[[checkpoints]]\ninit = { config = \"tiny\" }\nseeds = [0]\n[[tasks]]\nname = \"winogender\"\n",
    )
    .unwrap();
    let manifest = path.to_str().unwrap();
    for args in [
        &["plan", manifest][..],
        &["sweep", manifest],
        &["plan", manifest, "--write-jobs"],
    ] {
        let out = multiberts(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = stderr(&out);
        assert!(
            err.contains(
                "coref.toml:7:8: task `winogender` is evaluation-only (it has no training split) and cannot be fine-tuned; train on `gap-winogender` or `ontonotes-winogender`, which evaluate on winogender"
            ),
            "{args:?}: {err}"
        );
        assert!(err.contains("7 | name = \"winogender\""), "{args:?}: {err}");
    }
    assert!(
        !dir.path().join("out").exists(),
        "a refused manifest writes no results"
    );
}

#[test]
fn data_check_reads_the_real_glue_files() {
    let data = repo().join("../shared/data/glue");
    let out = multiberts(&[
        "data",
        "check",
        "--data-dir",
        data.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let examples = |task: &str, split: &str| -> u64 {
        reports
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["task"] == task && r["split"] == split)
            .and_then(|r| r["examples"].as_u64())
            .unwrap_or_else(|| panic!("no count for {task}/{split}"))
    };
    assert_eq!(examples("sst2", "dev"), 872);
    assert_eq!(examples("sst2", "train"), 67_349);
    assert_eq!(examples("cola", "dev"), 1043);
    assert_eq!(examples("cola", "train"), 8551);
    assert_eq!(examples("mrpc", "dev"), 408);
    assert_eq!(examples("mrpc", "train"), 3668);
    assert_eq!(examples("stsb", "dev"), 1500);
    assert_eq!(examples("stsb", "train"), 5749);
    assert_eq!(examples("qnli", "dev"), 5463);
    assert_eq!(examples("rte", "dev"), 277);
    assert_eq!(examples("rte", "train"), 2490);
    // MNLI and QQP are not in the reference data: reported missing, not an error.
    let mnli = reports
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["task"] == "mnli")
        .unwrap();
    assert_eq!(mnli["status"], "missing");
}

#[test]
fn data_check_fails_on_a_malformed_file_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("SST-2")).unwrap();
    std::fs::write(
        dir.path().join("SST-2/dev.tsv"),
        "sentence\tlabel\nfine\t1\nodd\tx\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("SST-2/train.tsv"),
        "sentence\tlabel\nfine\t1\n",
    )
    .unwrap();
    let out = multiberts(&[
        "data",
        "check",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--task",
        "sst2",
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("SST-2/dev.tsv:3:5: unknown label \"x\""),
        "{err}"
    );
    assert!(
        stdout(&out).contains("1 split(s) read, 0 missing, 1 malformed"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn tasks_list_and_show() {
    let out = multiberts(&["tasks", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for task in [
        "cola",
        "mnli",
        "mrpc",
        "qnli",
        "qqp",
        "rte",
        "sst2",
        "stsb",
        "demo-sentiment",
    ] {
        assert!(text.contains(task), "{task} missing from:\n{text}");
    }
    let out = multiberts(&["tasks", "show", "mnli"]);
    let text = stdout(&out);
    assert!(
        text.contains("0=contradiction, 1=entailment, 2=neutral"),
        "{text}"
    );
    let out = multiberts(&["tasks", "show", "nope"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("unknown task `nope`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn tasks_show_says_which_format_reads_each_split_and_what_is_eval_only() {
    let out = multiberts(&["tasks", "show", "gap-winogender"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let line = |start: &str| -> String {
        text.lines()
            .find(|l| l.trim_start().starts_with(start))
            .unwrap_or_else(|| panic!("no line starting {start:?} in:\n{text}"))
            .to_string()
    };
    assert_eq!(line("1. "), "    1. gap (split formats: test = winogender)");
    assert!(
        line("test ").ends_with("winogender/all_sentences.tsv (read as winogender)"),
        "{text}"
    );
    assert!(
        line("train   ").ends_with("gap/gap-development.tsv, gap/gap-test.tsv (read as gap)"),
        "{text}"
    );
    assert!(
        line("templates ").ends_with("winogender/templates.tsv"),
        "{text}"
    );
    assert!(line("train on:").contains("evaluate on: test"), "{text}");
    assert!(!text.contains("eval only"), "{text}");

    let out = multiberts(&["tasks", "show", "winogender"]);
    let text = stdout(&out);
    assert!(
        text.contains("  eval only: yes (no training split); evaluate on: test\n"),
        "{text}"
    );
    assert!(
        text.contains("  fine-tune with: gap-winogender, ontonotes-winogender"),
        "{text}"
    );
    assert!(!text.contains("train on:"), "{text}");
    // A source without split_formats keeps the plain listing.
    assert!(!text.contains("read as"), "{text}");

    let out = multiberts(&["tasks", "show", "gap-winogender", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["sources"][0]["split_formats"]["test"], "winogender");
    let out = multiberts(&["tasks", "show", "winogender", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["eval_only"], true);
}

#[test]
fn every_verb_has_help_with_an_example() {
    for verb in [
        &["plan"][..],
        &["tasks", "list"],
        &["tasks", "show"],
        &["data", "check"],
    ] {
        let mut args = verb.to_vec();
        args.push("--help");
        let out = multiberts(&args);
        assert!(out.status.success(), "{verb:?}: {}", stderr(&out));
        assert!(
            stdout(&out).contains("multiberts "),
            "{verb:?} help lacks an example"
        );
    }
    assert!(Path::new(env!("CARGO_BIN_EXE_multiberts")).exists());
}
