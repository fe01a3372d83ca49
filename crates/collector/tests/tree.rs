//! The results tree: layout, DONE last, unfinished jobs never read as results, safe clearing.

mod common;

use std::fs;

use common::{Spec, metrics, record, rows, write_job};
use multiberts_collector::{ClearMode, CollectorError, JobState, ResultsTree};

fn spec<'a>(job_id: &'a str) -> Spec<'a> {
    Spec {
        task: "sst2",
        checkpoint: "seed_1-step_0k",
        job_id,
        variant: "",
        lr: 2e-5,
        ft_seed: 0,
        final_score: 0.5,
    }
}

#[test]
fn job_files_land_in_the_documented_places_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let tree = ResultsTree::new(dir.path(), "demo").unwrap();
    let s = spec("abc123");
    let job = write_job(&tree, &s, true);
    let base = dir.path().join("demo/sst2/seed_1-step_0k/abc123");
    assert_eq!(job.path(), base);
    for f in ["job.json", "metrics.json", "predictions.parquet", "DONE"] {
        assert!(base.join(f).is_file(), "{f}");
    }
    assert_eq!(job.read_job().unwrap(), record(&s));
    let m = job.read_metrics().unwrap();
    assert_eq!(m.final_primary(), Some(0.5));
    assert!(
        m.epochs[1].dev["f1"].is_nan(),
        "NaN survives as null in JSON"
    );
    assert_eq!(job.read_predictions().unwrap(), rows(&s, 4));
    let done = job.read_done().unwrap();
    assert_eq!(
        (done.rows, done.learning_rate, done.finetune_seed),
        (4, 2e-5, 0)
    );
    let raw: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(base.join("job.json")).unwrap()).unwrap();
    assert_eq!(raw["provenance"]["threads"], 2);
    assert_eq!(raw["provenance"]["data_sha256"]["dev.tsv"], "cd".repeat(32));
}

#[test]
fn a_job_killed_before_done_is_not_done_and_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let tree = ResultsTree::new(dir.path(), "demo").unwrap();
    write_job(&tree, &spec("finished"), true);
    // Everything written but DONE: the process died between the last write and the marker.
    let killed = write_job(&tree, &spec("killed"), false);
    // A kill during a write leaves a temporary file next to the others.
    fs::write(
        killed.path().join(".predictions.parquet.x1y2.tmp"),
        b"partial",
    )
    .unwrap();
    fs::create_dir_all(killed.state_dir()).unwrap();
    fs::write(killed.state_dir().join("step-10.bin"), b"resume").unwrap();

    let listed = tree.list_jobs().unwrap();
    let states: Vec<(&str, JobState)> = listed.iter().map(|j| (j.dir.job_id(), j.state)).collect();
    assert_eq!(
        states,
        vec![
            ("finished", JobState::Done),
            ("killed", JobState::Incomplete)
        ]
    );
    assert_eq!(tree.summary().unwrap()["sst2"], (1, 1));

    for err in [
        killed.read_predictions().map(|_| ()).unwrap_err(),
        killed.read_metrics().map(|_| ()).unwrap_err(),
        killed.read_job().map(|_| ()).unwrap_err(),
    ] {
        assert!(matches!(err, CollectorError::NotDone { .. }), "{err}");
        assert!(err.to_string().contains("killed"), "{err}");
    }

    // An unfinished job's resume state is what it resumes from: it cannot be deleted as a
    // done job's can.
    assert!(matches!(
        killed.remove_state(),
        Err(CollectorError::NotDone { .. })
    ));

    // Re-run: prepare clears the half-written files, keeps the resume state and the job file
    // (the job as the sweep handed it over).
    killed.prepare().unwrap();
    let mut left: Vec<String> = fs::read_dir(killed.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, vec!["job.json".to_string(), "state".to_string()]);
    assert!(killed.state_dir().join("step-10.bin").is_file());
    assert!(killed.clear_incomplete(ClearMode::Everything).unwrap());
    assert!(!killed.path().exists());
}

#[test]
fn done_jobs_are_immutable_and_never_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let tree = ResultsTree::new(dir.path(), "demo").unwrap();
    let s = spec("abc");
    let job = write_job(&tree, &s, true);
    assert!(matches!(
        job.prepare(),
        Err(CollectorError::AlreadyDone { .. })
    ));
    assert!(matches!(
        job.clear_incomplete(ClearMode::Everything),
        Err(CollectorError::AlreadyDone { .. })
    ));
    assert!(matches!(
        job.write_metrics(&metrics(0.1)),
        Err(CollectorError::AlreadyDone { .. })
    ));
    assert!(matches!(
        job.mark_done(),
        Err(CollectorError::AlreadyDone { .. })
    ));
    assert_eq!(job.read_metrics().unwrap().final_primary(), Some(0.5));
}

#[test]
fn mark_done_refuses_incomplete_or_foreign_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let tree = ResultsTree::new(dir.path(), "demo").unwrap();
    let s = spec("j1");
    let job = tree.job(s.task, s.checkpoint, s.job_id).unwrap();
    job.prepare().unwrap();
    job.write_job(&record(&s)).unwrap();
    job.write_metrics(&metrics(0.5)).unwrap();
    let err = job.mark_done().unwrap_err();
    assert!(err.to_string().contains("predictions.parquet"), "{err}");
    assert!(!job.is_done());

    // Rows of another job written into this directory.
    let other = Spec {
        job_id: "j2",
        ..spec("j2")
    };
    job.write_predictions(&rows(&other, 3)).unwrap();
    let err = job.mark_done().unwrap_err();
    assert!(
        err.to_string()
            .contains("does not belong to this job directory"),
        "{err}"
    );

    // A repeated example index.
    let mut r = rows(&s, 3);
    r[2].example_index = 1;
    job.write_predictions(&r).unwrap();
    let err = job.mark_done().unwrap_err();
    assert!(err.to_string().contains("example_index 1"), "{err}");
    assert!(!job.is_done());

    job.write_predictions(&rows(&s, 3)).unwrap();
    assert_eq!(job.mark_done().unwrap().rows, 3);
}

#[test]
fn names_that_are_not_one_safe_component_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let tree = ResultsTree::new(dir.path(), "demo").unwrap();
    for (task, ckpt, id) in [
        ("sst2", "google/multiberts-seed_0", "j"),
        ("..", "c", "j"),
        ("sst2", "c", ""),
        ("predictions", "c", "j"),
        ("sst2", ".hidden", "j"),
        ("sst2", "a\tb", "j"),
        ("sst2", "c", "x\0y"),
    ] {
        let err = tree.job(task, ckpt, id).unwrap_err();
        assert!(matches!(err, CollectorError::InvalidName { .. }), "{err}");
    }
    assert!(ResultsTree::new(dir.path(), "a/b").is_err());
    // The consolidated tables' directory is not mistaken for a task, and folders no manifest
    // can name (a stray copy, a hidden one) are left alone, not errors.
    fs::create_dir_all(dir.path().join("demo/predictions/x/y")).unwrap();
    fs::create_dir_all(dir.path().join("demo/old\ncopy/x/y")).unwrap();
    fs::create_dir_all(dir.path().join("demo/sst2/ c/y")).unwrap();
    fs::create_dir_all(dir.path().join("demo/.cache/x/y")).unwrap();
    assert!(tree.list_jobs().unwrap().is_empty());
}

#[test]
fn a_job_file_survives_clearing_and_a_job_dir_opens_from_its_path() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = ResultsTree::new(&tmp.path().join("results"), "demo").unwrap();
    let job = tree.job("sst2", "seed_0", "0123456789ab").unwrap();
    let handed_over = serde_json::json!({"job": {"task": "sst2"}, "spec": {"id": "0123456789ab"}});
    job.write_job_file(&handed_over).unwrap();
    std::fs::write(job.path().join("metrics.json"), "{}").unwrap();
    job.prepare().unwrap();
    assert!(
        !job.path().join("metrics.json").exists(),
        "a stale attempt's file goes"
    );
    let back: serde_json::Value = job.read_job_file().unwrap();
    assert_eq!(back, handed_over, "the job file the sweep wrote stays");

    let (opened_tree, opened) = ResultsTree::open_job(job.path()).unwrap();
    assert_eq!(opened_tree, tree);
    assert_eq!(opened, job);
    let err = ResultsTree::open_job(tree.root()).unwrap_err().to_string();
    assert!(err.contains("not a job directory"), "{err}");
}
