//! The upstream GLUE and coref layouts: exact file names and contents, round trips through the
//! neutral form, files as the original release writes them, and errors naming file and line.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use multiberts_collector::upstream::{
    self, CorefExample, Matrix, RunInfo, UpstreamPredictions, export_coref, export_glue,
    import_coref, import_glue, import_glue_where, python_float,
};
use multiberts_collector::{CollectorError, PredictionRow};
use multiberts_manifest::Selector;

/// 2 pre-training seeds × 2 learning rates × 2 fine-tuning seeds, plus a CDA variant run and a
/// local checkpoint without a seed; 3 classes, 4 examples.
fn rows(task: &str, classes: usize) -> Vec<PredictionRow> {
    let mut out = Vec::new();
    let mut runs = Vec::new();
    for seed in 0..2 {
        for lr in [2e-5, 3e-5] {
            for ft in 0..2 {
                runs.push((
                    format!("j{seed}{lr}{ft}"),
                    "",
                    Some(seed),
                    Some(2000),
                    format!("seed_{seed}"),
                    lr,
                    ft,
                ));
            }
        }
    }
    runs.push((
        "jcda".into(),
        "cda",
        Some(0),
        Some(2000),
        "seed_0".into(),
        2e-5,
        0,
    ));
    runs.push(("jlocal".into(), "", None, None, "my-bert".into(), 5e-5, 1));
    for (k, (job, variant, seed, step, ckpt, lr, ft)) in runs.into_iter().enumerate() {
        for i in 0..4i64 {
            let scores: Vec<f32> = (0..classes)
                .map(|c| ((k as i64 * 13 + i * 7 + c as i64 * 3) % 11) as f32 * 0.37 - 0.5)
                .collect();
            let prediction = if classes == 1 {
                scores[0] as f64
            } else {
                let mut best = 0;
                for c in 1..classes {
                    if scores[c] > scores[best] {
                        best = c;
                    }
                }
                best as f64
            };
            out.push(PredictionRow {
                job_id: job.clone(),
                task: task.into(),
                variant: variant.into(),
                split: "dev".into(),
                checkpoint: ckpt.clone(),
                pretrain_seed: seed,
                step,
                learning_rate: lr,
                finetune_seed: ft,
                example_index: i,
                example_id: format!("dev-{i}"),
                label: if classes == 1 {
                    i as f64 * 1.25
                } else {
                    (i % classes as i64) as f64
                },
                prediction,
                scores,
                answer: None,
            });
        }
    }
    out
}

#[test]
fn python_float_matches_python_repr() {
    for (x, s) in [
        (2e-5, "2e-05"),
        (3e-5, "3e-05"),
        (5e-5, "5e-05"),
        (1e-4, "0.0001"),
        (1.5e-7, "1.5e-07"),
        (1.0, "1.0"),
        (0.5, "0.5"),
        (1e16, "1e+16"),
        (123.25, "123.25"),
    ] {
        assert_eq!(python_float(x), s);
    }
    assert_eq!(upstream::format_steps(2000), "2M");
    assert_eq!(upstream::format_steps(20), "20k");
    assert_eq!(upstream::format_steps(0), "0");
    assert_eq!(upstream::parse_steps("1M"), Some(1000));
    assert_eq!(upstream::parse_steps("20k"), Some(20));
}

#[test]
fn glue_export_writes_the_upstream_names_and_reads_back_identically() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let data = UpstreamPredictions::from_prediction_rows(&rows("MNLI", 3)).unwrap();
    assert_eq!(data.runs.len(), 10);
    export_glue(root, &data).unwrap();

    let f = root.join("MNLI/release=multiberts,pretrain_id=1,n_steps=2M,lr=3e-05,ft_seed=0.tsv");
    assert!(f.is_file(), "upstream file name");
    assert!(
        root.join("MNLI/release=multiberts-cda,pretrain_id=0,n_steps=2M,lr=2e-05,ft_seed=0.tsv")
            .is_file()
    );
    assert!(
        root.join("MNLI/release=multiberts,pretrain_id=my-bert,n_steps=NA,lr=5e-05,ft_seed=1.tsv")
            .is_file()
    );
    let text = fs::read_to_string(&f).unwrap();
    assert_eq!(text.lines().count(), 4);
    assert_eq!(text.lines().next().unwrap().split('\t').count(), 3);
    assert_eq!(
        fs::read_to_string(root.join("MNLI_dev_labels")).unwrap(),
        "0\n1\n2\n0\n"
    );
    let index = fs::read_to_string(root.join("index.tsv")).unwrap();
    let header = index.lines().next().unwrap();
    assert!(
        header.starts_with("file\ttask\tpretrain_id\tn_steps\tlr\tft_seed\trelease\t"),
        "{header}"
    );
    assert_eq!(index.lines().count(), 11);

    let back = import_glue(root, "MNLI").unwrap();
    assert_eq!(back, data);
    // Predictions are the argmax of the scores read back.
    let scores = back.scores.as_ref().unwrap();
    for r in 0..back.runs.len() {
        for e in 0..4 {
            let s = scores.get(r, e);
            let arg = (0..3).fold(0, |b, c| if s[c] > s[b] { c } else { b });
            assert_eq!(back.predictions.row(r)[e], arg as f64);
        }
    }
    let only_multiberts = import_glue_where(root, "MNLI", |r| {
        r.get("release").as_deref() == Some("multiberts")
    })
    .unwrap();
    assert_eq!(only_multiberts.runs.len(), 9);
    assert_eq!(only_multiberts.predictions.rows(), 9);
}

#[test]
fn glue_regression_round_trip_and_index_keeps_other_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mnli = UpstreamPredictions::from_prediction_rows(&rows("MNLI", 3)).unwrap();
    let stsb = UpstreamPredictions::from_prediction_rows(&rows("STS-B", 1)).unwrap();
    export_glue(root, &mnli).unwrap();
    export_glue(root, &stsb).unwrap();
    // Re-exporting one task replaces its rows only.
    export_glue(root, &stsb).unwrap();
    assert_eq!(import_glue(root, "MNLI").unwrap(), mnli);
    let back = import_glue(root, "STS-B").unwrap();
    assert_eq!(back, stsb);
    assert_eq!(back.scores.as_ref().unwrap().classes(), 1);
    assert_eq!(
        fs::read_to_string(root.join("STS-B_dev_labels")).unwrap(),
        "0\n1.25\n2.5\n3.75\n"
    );
    let index = fs::read_to_string(root.join("index.tsv")).unwrap();
    assert_eq!(index.lines().count(), 21);
}

#[test]
fn glue_files_as_the_release_writes_them_are_read() {
    // The shape of storage.googleapis.com/multiberts/public/example-predictions/GLUE.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(
        root.join("index.tsv"),
        "file\ttask\tpretrain_id\tn_steps\tlr\tft_seed\trelease\n\
         RTE/release=multiberts,pretrain_id=0,n_steps=1M,lr=2e-05,ft_seed=0.tsv\tRTE\t0\t1M\t2e-05\t0\tmultiberts\n\
         RTE/release=public,pretrain_id=0,n_steps=0,lr=3e-05,ft_seed=4.tsv\tRTE\t0\t0\t3e-05\t4\tpublic\n\
         MNLI/x.tsv\tMNLI\t0\t1M\t2e-05\t0\tmultiberts\n",
    )
    .unwrap();
    fs::create_dir(root.join("RTE")).unwrap();
    fs::write(
        root.join("RTE/release=multiberts,pretrain_id=0,n_steps=1M,lr=2e-05,ft_seed=0.tsv"),
        "-1.25\t2.5\n3.0\t-0.75\n0.1\t0.2\n",
    )
    .unwrap();
    fs::write(
        root.join("RTE/release=public,pretrain_id=0,n_steps=0,lr=3e-05,ft_seed=4.tsv"),
        "1\t0\n0\t1\n1\t1\n",
    )
    .unwrap();
    fs::write(root.join("RTE_dev_labels"), "1\n0\n1\n").unwrap();
    let got = import_glue(root, "RTE").unwrap();
    assert_eq!(got.labels, vec![1.0, 0.0, 1.0]);
    assert_eq!(got.predictions.row(0), &[1.0, 0.0, 1.0]);
    assert_eq!(
        got.predictions.row(1),
        &[0.0, 1.0, 0.0],
        "ties go to the first class, as np.argmax"
    );
    assert_eq!(got.runs[0].pretrain_seed, Some(0));
    assert_eq!(got.runs[0].step_thousands(), Some(1000));
    assert_eq!(got.runs[1].learning_rate, Some(3e-5));
    assert_eq!(got.runs[1].finetune_seed, Some(4));
    assert_eq!(
        got.runs[1].keys.get("release").map(String::as_str),
        Some("public")
    );
    assert_eq!(got.scores.as_ref().unwrap().get(0, 0), &[-1.25, 2.5]);
}

/// Issue 15 item 7: scores that differ only past f32's precision are told apart as the
/// reference's float64 reading tells them apart.
#[test]
fn glue_argmax_is_taken_at_full_precision() {
    let dir = tempfile::tempdir().unwrap();
    // Both round to 1.0 in f32 (where the first class would win the tie); in f64 the second
    // is larger, so np.argmax on the notebook's float64 frame picks class 1.
    glue_fixture(
        dir.path(),
        "1.0000000001\t1.0000000002\n0.5\t0.25\n",
        "1\n0\n",
    );
    let got = import_glue(dir.path(), "RTE").unwrap();
    assert_eq!(got.predictions.row(0), &[1.0, 0.0]);
    // The stored scores keep our Parquet's f32 precision.
    assert_eq!(got.scores.as_ref().unwrap().get(0, 0), &[1.0f32, 1.0f32]);
}

fn glue_fixture(root: &Path, run_text: &str, labels: &str) {
    fs::write(
        root.join("index.tsv"),
        "file\ttask\tpretrain_id\tn_steps\tlr\tft_seed\trelease\nRTE/a.tsv\tRTE\t0\t1M\t2e-05\t0\tmultiberts\n",
    )
    .unwrap();
    fs::create_dir_all(root.join("RTE")).unwrap();
    fs::write(root.join("RTE/a.tsv"), run_text).unwrap();
    fs::write(root.join("RTE_dev_labels"), labels).unwrap();
}

#[test]
fn glue_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();

    glue_fixture(root, "0.1\t0.9\n0.3\n", "1\n0\n");
    let err = import_glue(root, "RTE").unwrap_err();
    assert!(
        matches!(err, CollectorError::Malformed { line: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("a.tsv:2: ragged row"), "{err}");

    glue_fixture(root, "0.1\t0.9\n0.3\t0.7\n", "1\n0\n1\n");
    let err = import_glue(root, "RTE").unwrap_err();
    assert!(matches!(err, CollectorError::Mismatch { .. }), "{err}");
    assert!(
        err.to_string().contains("a.tsv: 2 prediction rows, but")
            && err.to_string().contains("3 labels"),
        "{err}"
    );

    glue_fixture(root, "0.1\tx\n", "1\n");
    let err = import_glue(root, "RTE").unwrap_err();
    assert!(
        err.to_string().contains("a.tsv:1: `x` is not a number"),
        "{err}"
    );

    glue_fixture(root, "0.1\t0.9\n", "1\n");
    fs::remove_file(root.join("RTE/a.tsv")).unwrap();
    let err = import_glue(root, "RTE").unwrap_err();
    assert!(
        err.to_string().contains("index.tsv:2: run file")
            && err.to_string().contains("does not exist"),
        "{err}"
    );

    glue_fixture(root, "0.1\t0.9\n", "1\n");
    fs::remove_file(root.join("RTE_dev_labels")).unwrap();
    let err = import_glue(root, "RTE").unwrap_err();
    assert!(
        matches!(err, CollectorError::Io { .. }) && err.to_string().contains("RTE_dev_labels"),
        "{err}"
    );

    fs::write(
        root.join("index.tsv"),
        "file\ttask\tpretrain_id\tn_steps\tlr\tft_seed\trelease\nRTE/a.tsv\tRTE\t0\n",
    )
    .unwrap();
    let err = import_glue(root, "RTE").unwrap_err();
    assert!(
        err.to_string()
            .contains("index.tsv:2: ragged row: 3 fields, but the header has 7"),
        "{err}"
    );

    fs::write(
        root.join("index.tsv"),
        "file\ttask\tpretrain_id\tlr\tft_seed\n",
    )
    .unwrap();
    let err = import_glue(root, "RTE").unwrap_err();
    assert!(
        err.to_string()
            .contains("index.tsv:1: missing column `n_steps`"),
        "{err}"
    );

    glue_fixture(root, "0.1\t0.9\n", "1\n");
    let err = import_glue(root, "CoLA").unwrap_err();
    assert!(
        err.to_string()
            .contains("no runs of task `CoLA` (tasks listed: RTE)"),
        "{err}"
    );
}

#[test]
fn glue_export_refuses_colliding_file_names() {
    let mut data = UpstreamPredictions::from_prediction_rows(&rows("RTE", 2)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let first = data.runs[0].clone();
    data.runs[1] = first;
    let err = export_glue(dir.path(), &data).unwrap_err();
    assert!(
        err.to_string().contains("runs 0 and 1 both map to"),
        "{err}"
    );
    assert!(!dir.path().join("index.tsv").exists());
}

fn coref_data() -> UpstreamPredictions {
    let genders = ["UNKNOWN", "MASCULINE", "FEMININE"];
    let examples: Vec<CorefExample> = (0..12)
        .map(|i| CorefExample {
            gender: genders[i % 3].into(),
            pronoun_type: if i % 2 == 0 {
                "NOM".into()
            } else {
                "POSS".into()
            },
            answer: (i / 6) as i64,
            occupation: if i < 6 {
                "technician".into()
            } else {
                "nurse".into()
            },
            other_participant: "customer".into(),
            someone: (i / 3) % 2 == 1,
            template_idx: (i / 6) as i64,
        })
        .collect();
    let runs: Vec<RunInfo> = (0..6)
        .map(|r| RunInfo {
            pretrain_seed: Some(r / 2),
            finetune_seed: Some(r % 2),
            learning_rate: Some(1e-4),
            step: Some("2M".into()),
            keys: BTreeMap::from([("group".to_string(), "base".to_string())]),
        })
        .collect();
    let preds: Vec<f64> = (0..6 * 12).map(|k| ((k * 5 + k / 7) % 2) as f64).collect();
    UpstreamPredictions {
        task: "coref".into(),
        runs,
        labels: examples.iter().map(|e| e.answer as f64).collect(),
        predictions: Matrix::from_vec(6, 12, preds).unwrap(),
        scores: None,
        coref_examples: Some(examples),
        answers: None,
    }
}

#[test]
fn coref_round_trip_and_layout() {
    let dir = tempfile::tempdir().unwrap();
    let data = coref_data();
    export_coref(dir.path(), &data).unwrap();
    let run_info = fs::read_to_string(dir.path().join("run_info.tsv")).unwrap();
    assert_eq!(
        run_info.lines().next().unwrap(),
        "\tpretrain_seed\tfinetune_seed\tlearning_rate\tstep\tgroup"
    );
    assert_eq!(
        run_info.lines().nth(1).unwrap(),
        "0\t0\t0\t0.0001\t2M\tbase"
    );
    let label_info = fs::read_to_string(dir.path().join("label_info.tsv")).unwrap();
    assert_eq!(
        label_info.lines().next().unwrap(),
        "\tgender\tpronoun_type\tanswer\toccupation\tother_participant\tsomeone\ttemplate_idx"
    );
    assert_eq!(
        label_info.lines().nth(4).unwrap(),
        "3\tUNKNOWN\tPOSS\t0\ttechnician\tcustomer\tTrue\t0"
    );
    let preds = fs::read_to_string(dir.path().join("preds.tsv")).unwrap();
    assert_eq!(preds.lines().count(), 6);
    assert_eq!(preds.lines().next().unwrap().split_whitespace().count(), 12);
    assert_eq!(import_coref(dir.path()).unwrap(), data);
}

#[test]
fn coref_files_as_the_release_writes_them_are_read() {
    // np.savetxt-style floats, space separated; pandas index column.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join("run_info.tsv"),
        "\tpretrain_seed\tfinetune_seed\n0\t0\t0\n1\t0\t1\n2\t9\t0\n",
    )
    .unwrap();
    fs::write(
        d.join("label_info.tsv"),
        "\tgender\tpronoun_type\tanswer\toccupation\tother_participant\tsomeone\ttemplate_idx\n\
         0\tUNKNOWN\tNOM\t1\ttechnician\tcustomer\tFalse\t0\n\
         1\tMASCULINE\tNOM\t1\ttechnician\tcustomer\tFalse\t0\n",
    )
    .unwrap();
    fs::write(
        d.join("preds.tsv"),
        "0.000000000000000000e+00 1.000000000000000000e+00\n1.0 1.0\n0 0\n",
    )
    .unwrap();
    let got = import_coref(d).unwrap();
    assert_eq!(got.runs.len(), 3);
    assert_eq!(got.runs[2].pretrain_seed, Some(9));
    assert!(got.runs[0].keys.is_empty(), "the index column is not a key");
    assert_eq!(got.labels, vec![1.0, 1.0]);
    assert_eq!(got.predictions.row(0), &[0.0, 1.0]);
    let ex = &got.coref_examples.as_ref().unwrap()[1];
    assert_eq!(
        (ex.gender.as_str(), ex.someone, ex.template_idx),
        ("MASCULINE", false, 0)
    );
}

#[test]
fn coref_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    export_coref(d, &coref_data()).unwrap();

    let good_preds = fs::read_to_string(d.join("preds.tsv")).unwrap();
    let mut lines: Vec<&str> = good_preds.lines().collect();
    lines.pop();
    fs::write(d.join("preds.tsv"), lines.join("\n")).unwrap();
    let err = import_coref(d).unwrap_err();
    assert!(
        err.to_string()
            .contains("preds.tsv: 5 rows of predictions, but run_info.tsv lists 6 runs"),
        "{err}"
    );

    fs::write(d.join("preds.tsv"), "0 1 0 1 0 1 0 1 0 1 0\n".repeat(6)).unwrap();
    let err = import_coref(d).unwrap_err();
    assert!(
        err.to_string()
            .contains("11 predictions per row, but label_info.tsv has 12 examples"),
        "{err}"
    );

    fs::write(d.join("preds.tsv"), format!("{}0 1\n", good_preds)).unwrap();
    let err = import_coref(d).unwrap_err();
    assert!(err.to_string().contains("preds.tsv:7: ragged row"), "{err}");

    fs::write(d.join("preds.tsv"), &good_preds).unwrap();
    let label_info = fs::read_to_string(d.join("label_info.tsv")).unwrap();
    fs::write(
        d.join("label_info.tsv"),
        label_info.replacen("\tTrue\t", "\tmaybe\t", 1),
    )
    .unwrap();
    let err = import_coref(d).unwrap_err();
    assert!(
        err.to_string()
            .contains("label_info.tsv:5: `someone` is `maybe`, expected True or False"),
        "{err}"
    );

    fs::remove_file(d.join("run_info.tsv")).unwrap();
    let err = import_coref(d).unwrap_err();
    assert!(err.to_string().contains("run_info.tsv"), "{err}");
}

#[test]
fn from_prediction_rows_rejects_misaligned_runs() {
    let mut r = rows("RTE", 2);
    r.retain(|x| !(x.job_id == "jcda" && x.example_index == 3));
    let err = UpstreamPredictions::from_prediction_rows(&r).unwrap_err();
    assert!(err.to_string().contains("job jcda: 3 examples"), "{err}");

    let mut r = rows("RTE", 2);
    r[5].label = 7.0;
    let err = UpstreamPredictions::from_prediction_rows(&r).unwrap_err();
    assert!(err.to_string().contains("example 1"), "{err}");
}

#[test]
fn consolidated_parquet_exports_to_glue_under_the_upstream_task_name() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("mnli.parquet");
    let r = rows("mnli", 3);
    multiberts_collector::write_predictions(&table, &r).unwrap();
    let root = dir.path().join("GLUE");
    let written = upstream::export_glue_from_parquet(&table, &root, Some("MNLI")).unwrap();
    let back = import_glue(&root, "MNLI").unwrap();
    assert_eq!(back, written);
    assert_eq!(back.runs.len(), 10);
    // Variant selection: base runs have variant "".
    let base = back
        .runs
        .iter()
        .filter(|r| r.get("variant").as_deref() == Some(""))
        .count();
    assert_eq!(base, 9);
    // Every row of the table is in the matrix, at its run and example.
    for row in &r {
        let run = back
            .runs
            .iter()
            .position(|x| x.get("job_id").as_deref() == Some(row.job_id.as_str()))
            .unwrap();
        let e = row.example_index as usize;
        assert_eq!(back.predictions.row(run)[e], row.prediction);
        assert_eq!(
            back.scores.as_ref().unwrap().get(run, e),
            row.scores.as_slice()
        );
        assert_eq!(back.labels[e], row.label);
    }
}

#[test]
fn from_parquet_streams_batches_and_filters_rows() {
    // 3 jobs × 3000 examples = 9000 rows: more than one read batch.
    let n = 3000i64;
    let mut all = Vec::new();
    for (j, lr) in [("x", 2e-5), ("y", 3e-5), ("z", 2e-5)] {
        for i in 0..n {
            all.push(PredictionRow {
                job_id: j.into(),
                task: "sst2".into(),
                variant: String::new(),
                split: "dev".into(),
                checkpoint: "c".into(),
                pretrain_seed: Some(0),
                step: Some(20),
                learning_rate: lr,
                finetune_seed: (j.as_bytes()[0] - b'x') as i64,
                example_index: i,
                example_id: format!("id{i}"),
                label: (i % 2) as f64,
                prediction: ((i / 3 + j.len() as i64) % 2) as f64,
                scores: vec![i as f32, -(i as f32)],
                answer: None,
            });
        }
    }
    // Stored in a scrambled order: the conversion must not depend on it.
    let mut stored = all.clone();
    stored.reverse();
    stored.swap(10, 5000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    multiberts_collector::write_predictions(&path, &stored).unwrap();

    let full = UpstreamPredictions::from_parquet(&path, |_| true).unwrap();
    assert_eq!(
        full,
        UpstreamPredictions::from_prediction_rows(&all).unwrap()
    );
    assert_eq!(
        (full.predictions.rows(), full.predictions.cols()),
        (3, 3000)
    );
    assert_eq!(
        full.runs[2].get("ft_seed").as_deref(),
        Some("1"),
        "ordered by lr then seed"
    );
    assert_eq!(
        full.scores.as_ref().unwrap().get(1, 2999),
        &[2999.0, -2999.0]
    );

    let lr2 = UpstreamPredictions::from_parquet(&path, |r| r.learning_rate == 2e-5).unwrap();
    let jobs: Vec<String> = lr2.runs.iter().map(|r| r.get("job_id").unwrap()).collect();
    assert_eq!(jobs, vec!["x", "z"]);

    let err =
        UpstreamPredictions::from_parquet(&path, |r| !(r.job_id == "y" && r.example_index == 7))
            .unwrap_err();
    assert!(
        err.to_string()
            .contains("t.parquet: job y: 2999 examples, but job"),
        "{err}"
    );
}

#[test]
fn run_selectors_compare_by_type() {
    let run = RunInfo {
        pretrain_seed: Some(3),
        finetune_seed: Some(1),
        learning_rate: Some(2e-5),
        step: Some("2M".into()),
        keys: BTreeMap::from([("release".to_string(), "multiberts".to_string())]),
    };
    // The one selector of the workspace, fed by `RunInfo::get` as `multiberts bootstrap` does.
    let matches = |key: &str, value: &str| {
        let sel = Selector::parse_open(&format!("{key}={value}")).unwrap();
        sel.matches(|k| run.get(k))
    };
    assert!(matches("step", "2000k") && matches("n_steps", "2M") && !matches("step", "1M"));
    assert!(matches("step", "2000"));
    assert!(matches("lr", "0.00002") && matches("learning_rate", "2e-5") && !matches("lr", "3e-5"));
    assert!(
        matches("pretrain_seed", "3") && matches("pretrain_id", "03") && !matches("ft_seed", "0")
    );
    assert!(matches("release", "multiberts") && matches("variant", ""));
    assert!(!matches("checkpoint", "x"));
}
