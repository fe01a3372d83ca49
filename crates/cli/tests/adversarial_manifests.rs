//! Adversarial manifests (issue 15, item 8): each bad manifest makes `plan` (and so `sweep`,
//! which checks the same way first) fail with the file and line, without a panic or an abort
//! and without writing anything outside the results folder.

mod common;

use common::adversarial::{Case, run_all};

/// A valid manifest; each case changes one thing. Line 9 is `seeds`, line 12 the task name.
const GOOD: &str = r#"name = "adv"

[defaults]
learning_rates = [1e-3]
finetune_seeds = "0..=1"

[[checkpoints]]
init = { config = "tiny" }
seeds = [0, 1]

[[tasks]]
name = "demo-sentiment"
"#;

/// `GOOD` with `from` replaced by `to` (which must change it).
fn edit(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    GOOD.replace(from, to)
}

fn plan(name: &str, manifest: impl Into<Vec<u8>>, expect: &[&str]) -> Case {
    let mut expect = expect.to_vec();
    expect.push("m.toml");
    Case::new(name, &["plan", "m.toml"], &expect).file("m.toml", manifest)
}

const ANALYSIS: &str =
    "\n[[analyses]]\nname = \"a\"\nkind = \"single\"\ntask = \"demo-sentiment\"\n";

fn with_analysis(from: &str, to: &str) -> String {
    format!("{GOOD}{}", ANALYSIS.replace(from, to))
}

fn structure_cases() -> Vec<Case> {
    vec![
        plan("empty file", "", &["m.toml:LINE"]),
        plan("not TOML", "name = \n", &["m.toml:LINE"]),
        plan("unclosed table", "[defaults\n", &["m.toml:LINE"]),
        plan(
            "invalid UTF-8",
            b"name = \"\xff\xfe\"\n".to_vec(),
            &["m.toml:LINE", "UTF-8"],
        ),
        plan("NUL bytes", "name = \"a\0b\"\n", &["m.toml:LINE"]),
        plan(
            "name missing",
            GOOD.replace("name = \"adv\"\n", ""),
            &["m.toml:LINE"],
        ),
        plan(
            "name empty",
            edit("name = \"adv\"", "name = \"\""),
            &["m.toml:1"],
        ),
        plan(
            "name escapes",
            edit("name = \"adv\"", "name = \"../../x\""),
            &["m.toml:1"],
        ),
        plan(
            "name absolute",
            edit("name = \"adv\"", "name = \"/tmp/x\""),
            &["m.toml:1"],
        ),
        plan(
            "name with slash",
            edit("name = \"adv\"", "name = \"a/b\""),
            &["m.toml:1"],
        ),
        plan(
            "name is a number",
            edit("name = \"adv\"", "name = 5"),
            &["m.toml:1"],
        ),
        plan(
            "unknown key",
            format!("foo = 1\n{GOOD}"),
            &["m.toml:1", "foo"],
        ),
        plan(
            "unknown defaults key",
            edit("[defaults]", "[defaults]\nlearning_rate = 1e-3"),
            &["m.toml:4"],
        ),
        plan(
            "no checkpoints",
            GOOD.replace(
                "[[checkpoints]]\ninit = { config = \"tiny\" }\nseeds = [0, 1]\n",
                "checkpoints = []\n",
            ),
            &["m.toml:LINE"],
        ),
        plan(
            "no tasks",
            GOOD.replace("[[tasks]]\nname = \"demo-sentiment\"\n", "tasks = []\n"),
            &["m.toml:LINE"],
        ),
        plan(
            "tasks is a string",
            GOOD.replace("[[tasks]]\nname = \"demo-sentiment\"\n", "tasks = \"x\"\n"),
            &["m.toml:LINE"],
        ),
        plan(
            "tasks_dir missing",
            format!("tasks_dir = \"nope\"\n{GOOD}"),
            &["m.toml:1", "nope"],
        ),
        plan(
            "data_dir not a string",
            format!("data_dir = 5\n{GOOD}"),
            &["m.toml:1"],
        ),
        plan(
            "results_dir not a string",
            format!("results_dir = [1]\n{GOOD}"),
            &["m.toml:1"],
        ),
        plan(
            "slurm unknown key",
            format!("{GOOD}\n[slurm]\nqueue = \"x\"\n"),
            &["m.toml:LINE"],
        ),
    ]
}

fn range_cases() -> Vec<Case> {
    let seeds = |v: &str| edit("seeds = [0, 1]", &format!("seeds = {v}"));
    let ft = |v: &str| {
        edit(
            "finetune_seeds = \"0..=1\"",
            &format!("finetune_seeds = {v}"),
        )
    };
    vec![
        plan(
            "range of 4e9 seeds",
            seeds("\"0..=4000000000\""),
            &["m.toml:9", "4000000001"],
        ),
        plan(
            "range to u64::MAX",
            seeds("\"0..=18446744073709551615\""),
            &["m.toml:9"],
        ),
        plan(
            "range of 2e6 seeds",
            seeds("\"0..=2000000\""),
            &["m.toml:9", "2000001"],
        ),
        plan(
            "range past u64",
            seeds("\"0..=99999999999999999999\""),
            &["m.toml:9"],
        ),
        plan("reversed range", seeds("\"5..=1\""), &["m.toml:9"]),
        plan("range of words", seeds("\"a..=b\""), &["m.toml:9"]),
        plan("range without end", seeds("\"0..=\""), &["m.toml:9"]),
        plan("negative seed", seeds("[-1]"), &["m.toml:9"]),
        plan("float seed", seeds("[1.5]"), &["m.toml:9"]),
        plan("string seed", seeds("[\"x\"]"), &["m.toml:9"]),
        plan("empty seeds", seeds("[]"), &["m.toml:9"]),
        plan("repeated seed", seeds("[1, 1]"), &["m.toml:9"]),
        plan(
            "huge fine-tuning range",
            ft("\"0..=4000000000\""),
            &["m.toml:5"],
        ),
        plan("negative fine-tuning seed", ft("[-3]"), &["m.toml:5"]),
        plan(
            "product past the job cap",
            seeds("\"0..=999\"").replace(
                "finetune_seeds = \"0..=1\"",
                "finetune_seeds = \"0..=9999\"",
            ),
            &["m.toml:LINE", "1000000"],
        ),
    ]
}

fn hyper_cases() -> Vec<Case> {
    let lr = |v: &str| edit("learning_rates = [1e-3]", &format!("learning_rates = {v}"));
    let task = |extra: &str| {
        edit(
            "name = \"demo-sentiment\"",
            &format!("name = \"demo-sentiment\"\n{extra}"),
        )
    };
    vec![
        plan("no learning rates", lr("[]"), &["m.toml:4"]),
        plan("negative learning rate", lr("[-1e-3]"), &["m.toml:4"]),
        plan("zero learning rate", lr("[0.0]"), &["m.toml:4"]),
        plan("NaN learning rate", lr("[nan]"), &["m.toml:4"]),
        plan("infinite learning rate", lr("[inf]"), &["m.toml:4"]),
        plan("learning rate as text", lr("[\"fast\"]"), &["m.toml:4"]),
        plan("zero batch size", task("batch_size = 0"), &["m.toml:13"]),
        plan(
            "negative batch size",
            task("batch_size = -4"),
            &["m.toml:13"],
        ),
        plan("zero epochs", task("epochs = 0"), &["m.toml:13"]),
        plan("zero max_seq_len", task("max_seq_len = 0"), &["m.toml:13"]),
        plan(
            "unknown precision",
            task("precision = \"fp8\""),
            &["m.toml:13", "fp8"],
        ),
        plan(
            "unknown augmentation",
            task("augment = \"magic\""),
            &["m.toml:13", "magic"],
        ),
        plan(
            "unknown task key",
            task("learning_rate = 1"),
            &["m.toml:13"],
        ),
        plan(
            "variant escapes",
            task("variant = \"../x\""),
            &["m.toml:LINE"],
        ),
        plan(
            "unknown task",
            edit("name = \"demo-sentiment\"", "name = \"no-such-task\""),
            &["m.toml:12", "no-such-task"],
        ),
        plan(
            "task name escapes",
            edit("name = \"demo-sentiment\"", "name = \"../../x\""),
            &["m.toml:12"],
        ),
        plan(
            "task listed twice",
            format!("{GOOD}\n[[tasks]]\nname = \"demo-sentiment\"\n"),
            &["m.toml:LINE", "demo-sentiment"],
        ),
        plan(
            "evaluation-only task",
            edit("name = \"demo-sentiment\"", "name = \"winogender\""),
            &["m.toml:12", "winogender"],
        ),
    ]
}

fn checkpoint_cases() -> Vec<Case> {
    let ckpt = |body: &str| edit("init = { config = \"tiny\" }\nseeds = [0, 1]", body);
    let tiny =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/bert-tiny");
    let read = |f: &str| std::fs::read(tiny.join(f)).expect("the bert-tiny fixture");
    vec![
        plan(
            "unknown init config",
            ckpt("init = { config = \"giant\" }\nseeds = [0]"),
            &["m.toml:8", "giant"],
        ),
        plan(
            "init and hub",
            ckpt("init = { config = \"tiny\" }\nhub = \"a/b\"\nseeds = [0]"),
            &["m.toml:LINE"],
        ),
        plan(
            "no source",
            ckpt("seeds = [0]"),
            &["m.toml:LINE", "exactly one of"],
        ),
        plan(
            "hub without owner",
            ckpt("hub = \"noslash\"\nseeds = [0]"),
            &["m.toml:LINE"],
        ),
        plan(
            "hub template without placeholder",
            ckpt("hub = \"a/b\"\nseeds = [0, 1]"),
            &["m.toml:LINE"],
        ),
        plan(
            "id escapes",
            ckpt("init = { config = \"tiny\" }\nseeds = [0]\nid = \"../x\""),
            &["m.toml:LINE"],
        ),
        plan(
            "id with slash",
            ckpt("init = { config = \"tiny\" }\nseeds = [0]\nid = \"a/b\""),
            &["m.toml:LINE"],
        ),
        plan(
            "duplicate ids",
            ckpt("init = { config = \"tiny\" }\nseeds = [0, 1]\nid = \"same\""),
            &["m.toml:LINE", "same"],
        ),
        plan(
            "unknown checkpoint key",
            ckpt("init = { config = \"tiny\" }\nseeds = [0]\nrevison = \"x\""),
            &["m.toml:LINE", "revison"],
        ),
        plan(
            "missing local checkpoint",
            ckpt("path = \"models/none\"\nseeds = [0]"),
            &["m.toml:8", "models/none"],
        ),
        plan(
            "local checkpoint without weights",
            ckpt("path = \"ckpt\"\nseeds = [0]"),
            &["m.toml:8", "model.safetensors"],
        )
        .file("ckpt/config.json", read("config.json"))
        .file("ckpt/vocab.txt", read("vocab.txt")),
        plan(
            "local checkpoint without config.json",
            ckpt("path = \"ckpt\"\nseeds = [0]"),
            &["m.toml:8", "config.json"],
        )
        .file("ckpt/model.safetensors", read("model.safetensors"))
        .file("ckpt/vocab.txt", read("vocab.txt")),
        plan(
            "local checkpoint without vocab.txt",
            ckpt("path = \"ckpt\"\nseeds = [0]"),
            &["m.toml:8", "vocab.txt"],
        )
        .file("ckpt/model.safetensors", read("model.safetensors"))
        .file("ckpt/config.json", read("config.json")),
        plan(
            "local weights file without vocab.txt",
            ckpt("path = \"ckpt/w.bin\"\nseeds = [0]"),
            &["m.toml:8", "vocab.txt"],
        )
        .file("ckpt/w.bin", read("pytorch_model.bin"))
        .file("ckpt/config.json", read("config.json")),
    ]
}

fn analysis_cases() -> Vec<Case> {
    vec![
        plan(
            "analysis name absolute",
            with_analysis("name = \"a\"", "name = \"/tmp/x/abs\""),
            &["m.toml:LINE"],
        ),
        plan(
            "analysis name escapes",
            with_analysis("name = \"a\"", "name = \"../../../x\""),
            &["m.toml:LINE"],
        ),
        plan(
            "analysis name hidden",
            with_analysis("name = \"a\"", "name = \".x\""),
            &["m.toml:LINE"],
        ),
        plan(
            "analysis name empty",
            with_analysis("name = \"a\"", "name = \"\""),
            &["m.toml:LINE"],
        ),
        plan(
            "unknown analysis kind",
            with_analysis("kind = \"single\"", "kind = \"magic\""),
            &["m.toml:LINE", "magic"],
        ),
        plan(
            "analysis of an unlisted task",
            with_analysis("task = \"demo-sentiment\"", "task = \"sst2\""),
            &["m.toml:LINE", "sst2"],
        ),
        plan(
            "analysis without task",
            with_analysis("task = \"demo-sentiment\"\n", ""),
            &["m.toml:LINE"],
        ),
        plan(
            "bad selector key",
            with_analysis(
                "kind = \"single\"",
                "kind = \"single\"\nbase = \"colour=red\"",
            ),
            &["m.toml:LINE", "colour"],
        ),
        plan(
            "duplicate analysis names",
            format!("{}{ANALYSIS}", with_analysis("x", "x")),
            &["m.toml:LINE"],
        ),
    ]
}

/// A task spec in `t/` (the manifest's `tasks_dir`) that sweeps the task `x`, with each
/// `(from, to)` edit applied: a plain classification task over TSV files.
fn spec_case(name: &str, edits: &[(&str, &str)], expect: &[&str]) -> Case {
    let mut spec = "name = \"x\"\nkind = \"classification\"\nlabels = [\"0\", \"1\"]\n\
                    metrics = [\"accuracy\"]\n\n[[sources]]\nformat = \"glue-tsv\"\n\
                    text_a = \"sentence\"\nlabel = \"label\"\n\
                    splits = { train = \"x/train.tsv\", dev = \"x/dev.tsv\" }\n"
        .to_string();
    for (from, to) in edits {
        assert!(spec.contains(from), "{from}");
        spec = spec.replace(from, to);
    }
    let manifest = format!(
        "tasks_dir = \"t\"\n{}",
        edit("name = \"demo-sentiment\"", "name = \"x\"")
    );
    let mut expect = expect.to_vec();
    expect.push("x.toml:LINE");
    Case::new(name, &["plan", "m.toml"], &expect)
        .file("m.toml", manifest)
        .file("t/x.toml", spec)
}

/// Every name that becomes a path component follows the one rule (`SafeName`), refused where
/// it is written: the cases the older, separate checks let through to run time (or further).
fn name_cases() -> Vec<Case> {
    let ckpt = |body: &str| edit("init = { config = \"tiny\" }\nseeds = [0, 1]", body);
    let tiny =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/bert-tiny");
    let read = |f: &str| std::fs::read(tiny.join(f)).expect("the bert-tiny fixture");
    let rule = "expected one file name";
    let long = "a".repeat(129);
    vec![
        plan(
            "checkpoint id hidden",
            ckpt("init = { config = \"tiny\" }\nseeds = [0]\nid = \".x\""),
            &["m.toml:10", "invalid checkpoint id \".x\"", rule],
        ),
        plan(
            "checkpoint id with a newline",
            ckpt("init = { config = \"tiny\" }\nseeds = [0]\nid = \"a\\nb\""),
            &["m.toml:10", "invalid checkpoint id \"a\\nb\""],
        ),
        plan(
            "checkpoint id with NUL",
            ckpt("init = { config = \"tiny\" }\nseeds = [0]\nid = \"a\\u0000b\""),
            &["m.toml:10", "invalid checkpoint id"],
        ),
        plan(
            "checkpoint id too long",
            ckpt(&format!(
                "init = {{ config = \"tiny\" }}\nseeds = [0]\nid = \"{long}\""
            )),
            &["m.toml:10", "129 bytes long"],
        ),
        plan(
            "local checkpoint folder that cannot be an id",
            ckpt("path = \".ckpt\"\nseeds = [0]"),
            &["m.toml:8", "invalid checkpoint id \".ckpt\"", "id = "],
        )
        .file(".ckpt/model.safetensors", read("model.safetensors"))
        .file(".ckpt/config.json", read("config.json"))
        .file(".ckpt/vocab.txt", read("vocab.txt")),
        plan(
            "variant with a tab",
            edit(
                "name = \"demo-sentiment\"",
                "name = \"demo-sentiment\"\nvariant = \"a\\tb\"",
            ),
            &["m.toml:13", "invalid variant \"a\\tb\"", rule],
        ),
        plan(
            "analysis name with a newline",
            with_analysis("name = \"a\"", "name = \"a\\nb\""),
            &["m.toml:15", "invalid analysis name \"a\\nb\"", rule],
        ),
        plan(
            "analysis name too long",
            with_analysis("name = \"a\"", &format!("name = \"{long}\"")),
            &["m.toml:15", "129 bytes long"],
        ),
        spec_case(
            "task spec name with a slash",
            &[("name = \"x\"", "name = \"../x\"")],
            &["invalid task name \"../x\"", rule],
        ),
        spec_case(
            "task spec named as a folder of the results tree",
            &[("name = \"x\"", "name = \"report\"")],
            &["invalid task name \"report\"", "folder of the results tree"],
        ),
        // The split's name is part of its cached features' file name.
        spec_case(
            "eval split that escapes the features cache",
            &[
                ("labels = ", "eval_split = \"../../../../x\"\nlabels = "),
                ("dev = ", "\"../../../../x\" = "),
            ],
            &["invalid split name \"../../../../x\""],
        ),
    ]
}

/// More than a hundred bad inputs across the families, this file holding the manifests.
#[test]
fn bad_manifests_fail_cleanly_with_file_and_line() {
    let mut cases = structure_cases();
    cases.extend(range_cases());
    cases.extend(hyper_cases());
    cases.extend(checkpoint_cases());
    cases.extend(analysis_cases());
    cases.extend(name_cases());
    assert!(cases.len() >= 70, "{}", cases.len());
    run_all(&cases);
}

/// `sweep` refuses the same manifests before anything runs (a sample: it shares the checks).
#[test]
fn sweep_refuses_bad_manifests_before_anything_runs() {
    let sweep = |name: &str, manifest: String, expect: &[&str]| {
        let mut c = plan(name, manifest, expect);
        c.args = vec!["sweep".into(), "m.toml".into()];
        c
    };
    run_all(&[
        sweep(
            "huge range",
            edit("seeds = [0, 1]", "seeds = \"0..=4000000000\""),
            &["m.toml:9"],
        ),
        sweep(
            "analysis name escapes",
            with_analysis("name = \"a\"", "name = \"../../../x\""),
            &["m.toml:LINE"],
        ),
        sweep(
            "missing local checkpoint",
            edit(
                "init = { config = \"tiny\" }\nseeds = [0, 1]",
                "path = \"gone\"\nseeds = [0]",
            ),
            &["m.toml:8", "gone"],
        ),
    ]);
}
