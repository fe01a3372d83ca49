//! Malformed manifests: each error names the file, the line and column, and what was expected.

mod common;

use std::path::Path;

use multiberts_manifest::Manifest;

use common::{GOOD, assert_error, error, parse};

#[test]
fn the_reference_manifest_is_valid() {
    let m = parse(GOOD);
    assert_eq!(m.jobs().len(), 3 * 2 * 2);
}

#[test]
fn toml_syntax_error() {
    assert_error(
        &GOOD.replace("seeds = \"0..=2\"", "seeds = \"0..=2"),
        9,
        15,
        &["expected `\"`"],
    );
}

#[test]
fn unknown_top_level_key() {
    let text = GOOD.replace("name = \"t\"\n", "name = \"t\"\ncolour = \"blue\"\n");
    assert_error(&text, 2, 1, &["unknown field `colour`", "`checkpoints`"]);
}

#[test]
fn unknown_key_in_defaults_lists_the_valid_ones() {
    let text = GOOD.replace("learning_rates =", "learning_rate =");
    assert_error(
        &text,
        4,
        1,
        &["unknown field `learning_rate`", "`learning_rates`"],
    );
}

#[test]
fn wrong_type() {
    let text = GOOD.replace("[defaults]\n", "[defaults]\nbatch_size = \"big\"\n");
    assert_error(
        &text,
        4,
        14,
        &["invalid type: string \"big\"", "expected u32"],
    );
}

#[test]
fn negative_integer() {
    let text = GOOD.replace("[defaults]\n", "[defaults]\nepochs = -3\n");
    assert_error(&text, 4, 10, &["-3", "u32"]);
}

#[test]
fn empty_range() {
    let text = GOOD.replace("seeds = \"0..=2\"", "seeds = \"3..3\"");
    assert_error(&text, 9, 9, &["range \"3..3\" is empty"]);
}

#[test]
fn reversed_range() {
    let text = GOOD.replace("seeds = \"0..=2\"", "seeds = \"24..=0\"");
    assert_error(&text, 9, 9, &["reversed", "write \"0..=24\""]);
}

#[test]
fn bad_range_syntax() {
    let text = GOOD.replace(
        "finetune_seeds = \"0..=1\"",
        "finetune_seeds = \"zero to four\"",
    );
    assert_error(
        &text,
        5,
        18,
        &["invalid range \"zero to four\"", "\"0..=24\""],
    );
}

#[test]
fn duplicate_value_in_a_list() {
    let text = GOOD.replace("seeds = \"0..=2\"", "seeds = [0, \"0..=2\"]");
    assert_error(&text, 9, 9, &["0 appears twice"]);
}

#[test]
fn unknown_task_lists_known_tasks() {
    let text = GOOD.replace("name = \"sst2\"", "name = \"sst-2\"");
    assert_error(&text, 12, 8, &["unknown task `sst-2`", "`sst2`", "`mnli`"]);
}

#[test]
fn eval_only_task_is_refused_with_the_tasks_that_train_for_it() {
    let text = GOOD.replace("name = \"sst2\"", "name = \"winogender\"");
    assert_error(
        &text,
        12,
        8,
        &[
            "task `winogender` is evaluation-only",
            "train on `gap-winogender` or `ontonotes-winogender`, which evaluate on winogender",
        ],
    );
    // No built-in task trains elsewhere and evaluates on WinoBias: the message says how to
    // write one.
    let text = GOOD.replace("name = \"sst2\"", "name = \"winobias-anti\"");
    assert_error(
        &text,
        12,
        8,
        &[
            "task `winobias-anti` is evaluation-only",
            "evaluates on winobias-anti's `test` split",
            "`split_formats`",
        ],
    );
}

#[test]
fn duplicate_checkpoint_ids() {
    let text =
        format!("{GOOD}\n[[checkpoints]]\npath = \"/models/a\"\nid = \"multiberts-seed_1\"\n");
    assert_error(
        &text,
        14,
        1,
        &["duplicate checkpoint id `multiberts-seed_1`", "line 7"],
    );
}

#[test]
fn checkpoint_with_two_sources() {
    let text = GOOD.replace(
        "seeds = \"0..=2\"\n",
        "seeds = \"0..=2\"\npath = \"/models/x\"\n",
    );
    assert_error(&text, 7, 1, &["exactly one of `hub", "`path", "`init"]);
}

#[test]
fn template_placeholder_without_list() {
    let text = GOOD.replace("seeds = \"0..=2\"\n", "");
    assert_error(&text, 8, 7, &["uses {seed}", "no `seeds` list"]);
}

#[test]
fn several_seeds_without_placeholder() {
    let text = GOOD.replace("multiberts-seed_{seed}", "multiberts-seed_0");
    assert_error(
        &text,
        9,
        9,
        &["`seeds` lists 3 values", "no {seed} placeholder"],
    );
}

#[test]
fn unknown_placeholder() {
    let text = GOOD.replace("{seed}\"", "{seed}-{stpe}k\"");
    assert_error(&text, 8, 7, &["unknown placeholder {stpe}"]);
}

#[test]
fn invalid_learning_rate() {
    let text = GOOD.replace("[2e-5, 3e-5]", "[2e-5, -1.0]");
    assert_error(&text, 4, 18, &["learning rate -1 is invalid", "positive"]);
}

#[test]
fn missing_name() {
    let msg = error(&GOOD.replace("name = \"t\"\n", ""));
    assert!(msg.starts_with("m.toml:1:1: missing field `name`"), "{msg}");
}

#[test]
fn unknown_init_config() {
    let text = GOOD.replace(
        "hub = \"google/multiberts-seed_{seed}\"",
        "init = { config = \"huge\" }",
    );
    assert_error(&text, 8, 19, &["unknown init config \"huge\"", "`tiny`"]);
}

#[test]
fn analysis_on_a_task_not_in_the_sweep() {
    let text = format!("{GOOD}\n[[analyses]]\nname = \"a\"\nkind = \"single\"\ntask = \"rte\"\n");
    assert_error(
        &text,
        17,
        8,
        &["task `rte`, which this manifest does not run", "`sst2`"],
    );
}

#[test]
fn analysis_with_unknown_selector_key() {
    let text = format!(
        "{GOOD}\n[[analyses]]\nname = \"a\"\nkind = \"paired\"\ntask = \"sst2\"\nbase = \"colour=red\"\nexperiment = \"step=2000k\"\n"
    );
    assert_error(
        &text,
        18,
        8,
        &["unknown selector key `colour`", "`pretrain_seed`"],
    );
}

#[test]
fn comparison_without_experiment() {
    let text = format!("{GOOD}\n[[analyses]]\nname = \"a\"\nkind = \"paired\"\ntask = \"sst2\"\n");
    assert_error(&text, 14, 1, &["needs `experiment"]);
}

#[test]
fn invalid_utf8_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, b"name = \"caf\xe9\"\n").unwrap();
    let msg = Manifest::from_file(&path).unwrap_err().to_string();
    assert!(msg.contains("bad.toml:1:12: invalid UTF-8"), "{msg}");
}

#[test]
fn missing_file() {
    let msg = Manifest::from_file(Path::new("/nonexistent/m.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("cannot read manifest /nonexistent/m.toml"),
        "{msg}"
    );
}

/// An analysis name becomes `report/<name>.json`: a name that would leave the report folder
/// (absolute, `..`, a separator) or hide the file is refused where it is written.
#[test]
fn analysis_names_that_would_escape_the_report_folder() {
    for bad in ["/tmp/x/abs", "../../../x", "a/b", "..", ".hidden", ""] {
        let text =
            format!("{GOOD}\n[[analyses]]\nname = {bad:?}\nkind = \"single\"\ntask = \"sst2\"\n");
        assert_error(
            &text,
            15,
            8,
            &[
                &format!("invalid analysis name {bad:?}"),
                "it names report/<name>.json",
            ],
        );
    }
}

/// Huge ranges and products are refused with their count before anything is allocated (they
/// used to abort on a 32 GB allocation, overflow, or grind for minutes).
#[test]
fn huge_expansions_are_refused_with_their_count() {
    for (range, count) in [
        ("0..=4000000000", "4000000001"),
        ("0..=18446744073709551615", "18446744073709551616"),
        ("0..=2000000", "2000001"),
    ] {
        let text = GOOD.replace("seeds = \"0..=2\"", &format!("seeds = {range:?}"));
        let err = error(&text);
        assert!(
            err.contains(&format!("has {count} values")) && err.contains("m.toml:9:"),
            "{range}: {err}"
        );
    }
    // Each list within the cap, the product past it: the task that crosses it is named.
    let text = GOOD
        .replace("seeds = \"0..=2\"", "seeds = \"0..=999\"")
        .replace("finetune_seeds = \"0..=1\"", "finetune_seeds = \"0..=999\"");
    let err = error(&text);
    assert!(
        err.contains("expands to at least") && err.contains("at most 1000000 are allowed"),
        "{err}"
    );
}

/// Every checkpoint id names a folder of the results tree: one rule (`SafeName`), refused at
/// the key that makes it (the `id` template, else the `path` or `hub` it comes from). A
/// hidden id, or one with NUL or a newline, used to pass here and fail (or be written) at run
/// time.
#[test]
fn checkpoint_ids_that_cannot_name_a_results_folder() {
    // (as written in TOML, the first id it makes)
    for (bad, id) in [
        (".hidden", ".hidden"),
        ("a\\u0000b", "a\0b"),
        ("a\\nb", "a\nb"),
        ("x/{seed}", "x/0"),
        ("..", ".."),
        (" x", " x"),
    ] {
        let text = GOOD.replace(
            "seeds = \"0..=2\"\n",
            &format!("seeds = \"0..=2\"\nid = \"{bad}\"\n"),
        );
        let shown = format!("{id:?}");
        assert_error(
            &text,
            10,
            6,
            &[
                &format!("invalid checkpoint id {shown}"),
                "expected one file name",
            ],
        );
    }
    // A default id (a local folder's name) is refused at `path`, saying how to name it.
    let text = GOOD.replace(
        "hub = \"google/multiberts-seed_{seed}\"\nseeds = \"0..=2\"",
        "path = \"models/.my-bert\"",
    );
    assert_error(
        &text,
        8,
        8,
        &["invalid checkpoint id \".my-bert\"", "`id = \"...\"`"],
    );
    // Free text that stays one file name is a valid id.
    let text = GOOD.replace(
        "seeds = \"0..=2\"\n",
        "seeds = \"0..=2\"\nid = \"BERT base, seed {seed}\"\n",
    );
    assert_eq!(parse(&text).checkpoints[1].id, "BERT base, seed 1");
}

/// A name longer than the rule allows is refused where it is written, before a file system
/// refuses it at the end of a sweep.
#[test]
fn names_longer_than_the_rule_are_refused() {
    let long = "a".repeat(129);
    let text = GOOD.replace("name = \"t\"", &format!("name = \"{long}\""));
    assert_error(&text, 1, 8, &["invalid name", "129 bytes long"]);
    let text =
        format!("{GOOD}\n[[analyses]]\nname = \"{long}\"\nkind = \"single\"\ntask = \"sst2\"\n");
    assert_error(&text, 15, 8, &["invalid analysis name", "129 bytes long"]);
}
