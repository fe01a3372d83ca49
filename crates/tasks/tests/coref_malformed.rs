//! The span-pair readers on small hand-written files: edge-probing token spans, and malformed
//! input of every coreference format reported as `file:line:column: what was expected`.

use std::path::Path;

use multiberts_tasks::{Example, Label, TaskRegistry, TaskSpec};

/// Writes `files` under a fresh data root and loads `split` of `spec`.
fn load_with(spec: &TaskSpec, files: &[(&str, &str)], split: &str) -> Result<Vec<Example>, String> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
    }
    spec.load_split(dir.path(), split)
        .map(|d| d.examples)
        .map_err(|e| e.to_string())
}

fn builtin(task: &str) -> TaskSpec {
    TaskRegistry::builtin().unwrap().get(task).unwrap().clone()
}

const TEMPLATES: &str = "occupation(0)\tother-participant(1)\tanswer\tsentence\n\
technician\tcustomer\t1\tThe $OCCUPATION told the $PARTICIPANT that $NOM_PRONOUN could pay with cash.\n";
const STATS: &str =
    "occupation\tbergsma_pct_female\tbls_pct_female\tbls_year\ntechnician\t9.42\t40.34\t2015\n";

fn winogender(sentences: &str) -> Result<Vec<Example>, String> {
    load_with(
        &builtin("winogender"),
        &[
            ("winogender/templates.tsv", TEMPLATES),
            ("winogender/occupations-stats.tsv", STATS),
            ("winogender/all_sentences.tsv", sentences),
        ],
        "test",
    )
}

#[test]
fn edge_probing_token_spans_become_character_spans() {
    let file = concat!(
        r#"{"text": "Zoë said that she left .", "targets": [{"span1": [0, 1], "span2": [3, 4], "label": "1"}, {"span1": [4, 5], "span2": [3, 4], "label": ["0"]}]}"#,
        "\n",
        r#"{"text": "The old man and his dog", "targets": [{"span1": [0, 3], "span2": [4, 5], "label": true}]}"#,
        "\n"
    );
    let examples = load_with(
        &builtin("ontonotes-coref"),
        &[("ontonotes/coref/train.json", file)],
        "train",
    )
    .unwrap();
    assert_eq!(examples.len(), 3);
    let texts: Vec<(String, String, Label)> = examples
        .iter()
        .map(|e| {
            let s = e.spans.unwrap();
            (
                e.span_text(s.span1).unwrap(),
                e.span_text(s.span2).unwrap(),
                e.label,
            )
        })
        .collect();
    assert_eq!(
        texts,
        [
            ("Zoë".into(), "she".into(), Label::Class(1)),
            ("left".into(), "she".into(), Label::Class(0)),
            ("The old man".into(), "his".into(), Label::Class(1)),
        ]
    );
    assert_eq!(examples[2].id, "1-0");
}

#[test]
fn edge_probing_span_outside_the_text_names_line() {
    let file = "{\"text\": \"a b\", \"targets\": [{\"span1\": [0, 1], \"span2\": [1, 2], \"label\": \"1\"}]}\n\
                {\"text\": \"a b\", \"targets\": [{\"span1\": [0, 1], \"span2\": [1, 3], \"label\": \"1\"}]}\n";
    let err = load_with(
        &builtin("ontonotes-coref"),
        &[("ontonotes/coref/train.json", file)],
        "train",
    )
    .unwrap_err();
    assert!(err.contains("train.json:2:1:"), "{err}");
    assert!(err.contains("targets[0].span2 = [1, 3]"), "{err}");
}

#[test]
fn winogender_sentence_without_its_pronoun_names_line() {
    let ok = "sentid\tsentence\n\
              technician.customer.1.female.txt\tThe technician told the customer that she could pay with cash.\n";
    let examples = winogender(ok).unwrap();
    assert_eq!(examples.len(), 2);
    assert_eq!(examples[0].meta["bls_pct_female"], "40.34");
    let bad = format!(
        "{ok}technician.customer.1.male.txt\tThe technician told the customer that she could pay with cash.\n"
    );
    let err = winogender(&bad).unwrap_err();
    assert!(err.contains("all_sentences.tsv:3:"), "{err}");
    assert!(err.contains("cannot find the pronoun"), "{err}");
}

#[test]
fn winogender_unknown_template_and_bad_id_name_line() {
    let err = winogender("sentid\tsentence\nplumber.customer.1.male.txt\tThe plumber left.\n")
        .unwrap_err();
    assert!(err.contains("all_sentences.tsv:2:1:"), "{err}");
    assert!(err.contains("no template"), "{err}");
    let err = winogender("sentid\tsentence\ntechnician.txt\tx\n").unwrap_err();
    assert!(err.contains("all_sentences.tsv:2:1:"), "{err}");
}

#[test]
fn winogender_bad_template_names_line_and_column() {
    let templates = "occupation(0)\tother-participant(1)\tanswer\tsentence\n\
                     technician\tcustomer\t2\tThe $OCCUPATION told the $PARTICIPANT that $NOM_PRONOUN left.\n";
    let err = load_with(
        &builtin("winogender"),
        &[
            ("winogender/templates.tsv", templates),
            ("winogender/occupations-stats.tsv", STATS),
            ("winogender/all_sentences.tsv", "sentid\tsentence\n"),
        ],
        "test",
    )
    .unwrap_err();
    assert!(err.contains("templates.tsv:2:21:"), "{err}");
    assert!(
        err.contains("expected 0 (occupation) or 1 (participant)"),
        "{err}"
    );
}

#[test]
fn gap_offset_that_misses_the_mention_names_line_and_column() {
    let header =
        "ID\tText\tPronoun\tPronoun-offset\tA\tA-offset\tA-coref\tB\tB-offset\tB-coref\tURL\n";
    let good = "d-1\tAnn met Bob; she left.\tshe\t13\tAnn\t0\tTRUE\tBob\t8\tFALSE\thttp://x\n";
    let bad = "d-2\tAnn met Bob; she left.\tshe\t13\tAnn\t0\tTRUE\tBob\t9\tFALSE\thttp://x\n";
    let spec = builtin("gap");
    let examples = load_with(
        &spec,
        &[("gap/gap-development.tsv", &format!("{header}{good}"))],
        "train",
    )
    .unwrap();
    assert_eq!(examples.len(), 2);
    assert_eq!(examples[1].id, "d-1-B");
    assert_eq!(examples[1].label, Label::Class(0));
    let err = load_with(
        &spec,
        &[("gap/gap-development.tsv", &format!("{header}{good}{bad}"))],
        "train",
    )
    .unwrap_err();
    assert!(err.contains("gap-development.tsv:3:"), "{err}");
    assert!(err.contains("\"Bob\" is not at offset 9"), "{err}");
    assert!(err.contains("column B)"), "{err}");
}

#[test]
fn gap_bad_label_names_its_column() {
    let file = "ID\tText\tPronoun\tPronoun-offset\tA\tA-offset\tA-coref\tB\tB-offset\tB-coref\tURL\n\
                d-1\tAnn met Bob; she left.\tshe\t13\tAnn\t0\tyes\tBob\t8\tFALSE\thttp://x\n";
    let err = load_with(
        &builtin("gap"),
        &[("gap/gap-development.tsv", file)],
        "train",
    )
    .unwrap_err();
    assert!(err.contains("gap-development.tsv:2:"), "{err}");
    assert!(
        err.contains("expected TRUE or FALSE (column A-coref)"),
        "{err}"
    );
}

#[test]
fn wsc_without_label_or_span_names_line() {
    let good = r#"{"text": "Ann thanked Bo because he helped .", "target": {"span1_index": 2, "span1_text": "Bo", "span2_index": 4, "span2_text": "he"}, "idx": 0, "label": true}"#;
    let unlabelled = r#"{"text": "Ann thanked Bo because he helped .", "target": {"span1_index": 2, "span1_text": "Bo", "span2_index": 4, "span2_text": "he"}, "idx": 1}"#;
    let missing = r#"{"text": "Ann thanked Bo .", "target": {"span1_index": 2, "span1_text": "Cy", "span2_index": 0, "span2_text": "Ann"}, "idx": 2, "label": false}"#;
    let spec = builtin("wsc");
    let examples = load_with(
        &spec,
        &[("WSC/train.jsonl", good), ("WSC/val.jsonl", good)],
        "train",
    )
    .unwrap();
    assert_eq!(examples.len(), 1);
    let err = load_with(
        &spec,
        &[("WSC/train.jsonl", &format!("{good}\n{unlabelled}\n"))],
        "train",
    )
    .unwrap_err();
    assert!(err.contains("train.jsonl:2:1:"), "{err}");
    assert!(err.contains("unlabelled"), "{err}");
    let err = load_with(&spec, &[("WSC/train.jsonl", missing)], "train").unwrap_err();
    assert!(err.contains("train.jsonl:1:1:"), "{err}");
    assert!(err.contains("\"Cy\""), "{err}");
}

#[test]
fn winobias_unbalanced_bracket_names_line_and_column() {
    let files = [
        ("winobias/male_occupations.txt", "developer\n"),
        ("winobias/female_occupations.txt", "designer"),
        (
            "winobias/pro_stereotyped_type1.txt.dev",
            "1 [The developer] argued with the designer because [he] left.\n2 [The developer argued with the designer because [he] left.\n",
        ),
        (
            "winobias/pro_stereotyped_type2.txt.dev",
            "1 [The designer] met [her].\n",
        ),
    ];
    let err = load_with(&builtin("winobias-pro"), &files, "dev").unwrap_err();
    assert!(err.contains("pro_stereotyped_type1.txt.dev:2:"), "{err}");
    assert!(err.contains("nested `[`"), "{err}");
}

#[test]
fn span_pair_specs_are_validated() {
    let spec =
        |body: &str| TaskSpec::from_toml(Path::new("t.toml"), body).map_err(|e| e.to_string());
    let err = spec(
        "name = \"x\"\nkind = \"classification\"\nlabels = [\"0\", \"1\"]\nmetrics = [\"accuracy\"]\n\
         [[sources]]\nformat = \"gap\"\nsplits = { train = \"a\", dev = \"b\" }\n",
    )
    .unwrap_err();
    assert!(err.contains("t.toml:5:1:"), "{err}");
    assert!(err.contains("use kind = \"span-pair\""), "{err}");
    let err = spec(
        "name = \"x\"\nkind = \"span-pair\"\nlabels = [\"0\", \"1\"]\nmetrics = [\"accuracy\"]\n\
         [[sources]]\nformat = \"gap\"\nsplits = { train = \"a\", dev = \"b\" }\nsplit_formats = { dev = \"winogender\" }\n",
    )
    .unwrap_err();
    assert!(err.contains("needs `templates"), "{err}");
    let err = spec(
        "name = \"x\"\nkind = \"span-pair\"\nlabels = [\"no\", \"yes\"]\nmetrics = [\"accuracy\"]\n\
         [[sources]]\nformat = \"wsc\"\nsplits = { train = \"a\", dev = \"b\" }\n",
    )
    .unwrap_err();
    assert!(err.contains("labels = [\"0\", \"1\"]"), "{err}");
}
