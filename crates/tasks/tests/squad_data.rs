//! The SQuAD reader on the real samples in ../shared/data/squad (counts from its SOURCES.md,
//! checked there with python3), on a v1.1-shaped file, and on malformed files.

use std::path::{Path, PathBuf};

use multiberts_tasks::TaskError;
use multiberts_tasks::squad::{parse_squad, read_squad};
use serde_json::Value;

fn squad(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/squad")
        .join(name)
}

#[test]
fn dev_sample_has_706_questions_386_answerable_320_unanswerable() {
    let d = read_squad(&squad("dev-v2.0.sample.json")).unwrap();
    assert_eq!(d.version.as_deref(), Some("v2.0"));
    assert_eq!(d.paragraphs.len(), 83);
    assert_eq!(d.questions.len(), 706);
    assert_eq!(d.answerable(), 386);
    assert_eq!(d.unanswerable(), 320);
    let gold: usize = d.questions.iter().map(|q| q.answers.len()).sum();
    assert_eq!(gold, 1252);
    let first = &d.questions[0];
    assert_eq!(first.id, "56ddde6b9a695914005b9628");
    assert_eq!(first.question, "In what country is Normandy located?");
    assert_eq!(&*first.title, "Normans");
    assert_eq!(first.answers[0].text, "France");
    assert_eq!(first.answers[0].answer_start, 159);
    let titles: Vec<&str> = d.paragraphs.iter().map(|p| &*p.title).collect();
    assert_eq!(titles.first(), Some(&"Normans"));
    assert_eq!(titles.last(), Some(&"Rhine"));
    // Unanswerable ⇔ no gold answers (plausible_answers are not answers).
    assert!(
        d.questions
            .iter()
            .all(|q| q.is_impossible != q.has_answer())
    );
}

#[test]
fn train_sample_has_2442_questions_160_unanswerable() {
    let d = read_squad(&squad("train-v2.0.sample.json")).unwrap();
    assert_eq!(d.paragraphs.len(), 312);
    assert_eq!(d.questions.len(), 2442);
    assert_eq!(d.answerable(), 2282);
    assert_eq!(d.unanswerable(), 160);
    // Train has exactly one gold answer per answerable question.
    assert!(d.questions.iter().all(|q| q.answers.len() <= 1));
    let zelda = "The_Legend_of_Zelda:_Twilight_Princess";
    assert!(
        d.questions
            .iter()
            .filter(|q| q.is_impossible)
            .all(|q| &*q.title == zelda)
    );
    // Non-ASCII contexts (Beyoncé, Chopin): every answer's char span holds its text.
    let non_ascii = d.questions.iter().filter(|q| !q.context.is_ascii()).count();
    assert!(non_ascii > 1000, "{non_ascii}");
    for q in &d.questions {
        for a in &q.answers {
            assert_eq!(a.char_span().text(&q.context).as_deref(), Some(&*a.text));
            assert!(q.context[a.byte_start..].starts_with(&a.text));
        }
    }
}

#[test]
fn questions_share_their_paragraphs_context() {
    let d = read_squad(&squad("dev-v2.0.sample.json")).unwrap();
    for q in &d.questions {
        let p = &d.paragraphs[q.paragraph];
        assert!(std::sync::Arc::ptr_eq(&q.context, &p.context));
    }
}

/// The dev sample as a v1.1 file: answerable questions only, no `is_impossible` key.
#[test]
fn v1_1_files_read_without_is_impossible() {
    let text = std::fs::read_to_string(squad("dev-v2.0.sample.json")).unwrap();
    let mut json: Value = serde_json::from_str(&text).unwrap();
    json["version"] = Value::from("1.1");
    for article in json["data"].as_array_mut().unwrap() {
        for p in article["paragraphs"].as_array_mut().unwrap() {
            let qas = p["qas"].as_array_mut().unwrap();
            qas.retain(|q| !q["is_impossible"].as_bool().unwrap());
            for q in qas {
                q.as_object_mut().unwrap().remove("is_impossible");
            }
        }
    }
    let bytes = serde_json::to_vec(&json).unwrap();
    let d = parse_squad(Path::new("dev-v1.1.json"), &bytes).unwrap();
    assert_eq!(d.version.as_deref(), Some("1.1"));
    assert_eq!(d.questions.len(), 386);
    assert_eq!(d.unanswerable(), 0);
}

#[test]
fn a_truncated_file_is_an_error_at_its_line_and_column() {
    let text = std::fs::read_to_string(squad("dev-v2.0.sample.json")).unwrap();
    let cut = &text[..1000];
    let err = parse_squad(Path::new("dev.json"), cut.as_bytes()).unwrap_err();
    assert!(matches!(err, TaskError::Data(_)));
    let msg = err.to_string();
    assert!(
        msg.starts_with("dev.json:1:1000: EOF while parsing"),
        "{msg}"
    );
    assert!(msg.contains("near"), "{msg}");
}

#[test]
fn a_wrong_type_names_what_was_expected() {
    let text = "{\"data\": [{\"title\": \"T\", \"paragraphs\": [{\"context\": \"abc\",\n\
                \"qas\": [{\"id\": \"q\", \"question\": \"?\", \"answers\": [{\"text\": \"b\", \"answer_start\": \"1\"}]}]}]}]}";
    let msg = parse_squad(Path::new("x.json"), text.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(msg.starts_with("x.json:2:"), "{msg}");
    assert!(
        msg.contains("invalid type: string \"1\", expected usize"),
        "{msg}"
    );
}

/// Shifting one real answer's `answer_start` by one is caught and names the file and the id.
#[test]
fn a_misplaced_answer_start_names_the_file_and_question() {
    let text = std::fs::read_to_string(squad("dev-v2.0.sample.json")).unwrap();
    let needle = "\"answer_start\": 159}";
    assert!(text.contains(needle));
    let broken = text.replacen(needle, "\"answer_start\": 160}", 1);
    let err = parse_squad(Path::new("dev.json"), broken.as_bytes()).unwrap_err();
    let TaskError::SquadQuestion {
        path,
        question_id,
        message,
    } = &err
    else {
        panic!("expected SquadQuestion, got {err}");
    };
    assert_eq!(path, Path::new("dev.json"));
    assert_eq!(question_id, "56ddde6b9a695914005b9628");
    assert!(
        message.contains("does not point at the answer \"France\""),
        "{message}"
    );
    assert!(
        err.to_string()
            .starts_with("dev.json: question 56ddde6b9a695914005b9628: ")
    );
}

#[test]
fn duplicate_ids_and_inconsistent_impossible_flags_are_errors() {
    let dup = r#"{"data":[{"title":"T","paragraphs":[{"context":"ab","qas":[
        {"id":"q","question":"?","answers":[{"text":"a","answer_start":0}]},
        {"id":"q","question":"?","answers":[{"text":"b","answer_start":1}]}]}]}]}"#;
    let msg = parse_squad(Path::new("d.json"), dup.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("question q: the id occurs twice"), "{msg}");
    let odd = r#"{"data":[{"title":"T","paragraphs":[{"context":"ab","qas":[
        {"id":"q","question":"?","answers":[{"text":"a","answer_start":0}],"is_impossible":true}]}]}]}"#;
    let msg = parse_squad(Path::new("d.json"), odd.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("is_impossible is true but it has 1 answer(s)"),
        "{msg}"
    );
}

/// The built-in `squad2` task reads the samples under the data root as one example per
/// question (label 1 = has an answer), with the dataset kept for the QA features.
#[test]
fn the_squad2_task_reads_the_samples_one_example_per_question() {
    let registry = multiberts_tasks::TaskRegistry::builtin().unwrap();
    let spec = registry.get("squad2").unwrap();
    assert_eq!(spec.kind, multiberts_tasks::TaskKind::Span);
    assert_eq!(spec.metrics, ["exact", "f1"]);
    let root = squad("..");
    let dev = spec.load_split(&root, "dev").unwrap();
    assert_eq!(dev.examples.len(), 706);
    let answerable = dev
        .examples
        .iter()
        .filter(|e| e.label.as_f64() == 1.0)
        .count();
    assert_eq!(answerable, 386);
    let data = dev.squad.as_ref().unwrap();
    assert_eq!(dev.examples[5].id, data.questions[5].id);
    assert_eq!(
        dev.examples[5].text_b.as_deref(),
        Some(&*data.questions[5].context)
    );
    let mut train = spec.load_split(&root, "train").unwrap();
    assert_eq!(train.examples.len(), 2442);
    train.truncate(10);
    assert_eq!(train.squad.as_ref().unwrap().questions.len(), 10);
}

/// Span tasks and SQuAD data go together, and are scored by exact and f1 only.
#[test]
fn span_task_specs_are_checked() {
    use multiberts_tasks::TaskSpec;
    let spec = |kind: &str, metrics: &str, format: &str| {
        format!(
            "name = \"q\"\nkind = \"{kind}\"\nmetrics = [{metrics}]\n{}[[sources]]\nformat = \"{format}\"\n\
             text_a = \"a\"\nlabel = \"b\"\nsplits = {{ train = \"t.json\", dev = \"d.json\" }}\n",
            if kind == "span" {
                ""
            } else {
                "labels = [\"0\", \"1\"]\n"
            }
        )
    };
    let path = Path::new("q.toml");
    let err = |text: String| TaskSpec::from_toml(path, &text).unwrap_err().to_string();
    assert!(TaskSpec::from_toml(path, &spec("span", "\"exact\", \"f1\"", "squad")).is_ok());
    let e = err(spec("classification", "\"accuracy\"", "squad"));
    assert!(e.contains("q.toml") && e.contains("kind = \"span\""), "{e}");
    let e = err(spec("span", "\"exact\"", "jsonl"));
    assert!(e.contains("format = \"squad\""), "{e}");
    let e = err(spec("span", "\"accuracy\"", "squad"));
    assert!(e.contains("scored by") && e.contains("accuracy"), "{e}");
    let e = err(spec("classification", "\"exact\"", "jsonl"));
    assert!(e.contains("span (extractive QA) tasks only"), "{e}");
}
