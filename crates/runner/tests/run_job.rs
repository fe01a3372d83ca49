//! End-to-end runs of small jobs: a finished job's outputs, bit-identical resume after a
//! simulated kill (at an epoch end and mid-epoch, from the every-N-steps state), the generated
//! checkpoint's digest in `job.json`, a non-finite loss, and a done job left alone.

mod common;

use std::path::Path;

use multiberts_collector::{ResultsTree, read_predictions};
use multiberts_manifest::{Job, Manifest};
use multiberts_runner::{RunOptions, RunnerError};

use common::job_dir;

fn manifest(dir: &Path, checkpoint: &str, epochs: u32) -> Manifest {
    let text = format!(
        r#"
name = "t"
[defaults]
max_seq_len = 32
batch_size = 16
eval_batch_size = 64
epochs = {epochs}
learning_rates = [1e-3]
finetune_seeds = [0]
max_train_examples = 64

[[checkpoints]]
{checkpoint}

[[tasks]]
name = "demo-sentiment"
"#
    );
    common::write_manifest(dir, &text)
}

/// A resume state every 2 steps (4 per epoch, so one falls on the epoch's end); `abort`
/// simulates a kill after that step.
fn options(out: &Path, abort: Option<u64>) -> RunOptions {
    RunOptions {
        save: multiberts_runner::SaveSchedule::every_steps(2),
        abort_after_step: abort,
        ..common::options(out)
    }
}

fn only_job(m: &Manifest) -> Job {
    let jobs = m.jobs();
    assert_eq!(jobs.len(), 1);
    jobs.into_iter().next().unwrap()
}

const INIT: &str = "init = { config = \"tiny\" }\nseeds = [3]";

#[test]
fn killed_and_resumed_job_gives_bit_identical_predictions() {
    let tmp = tempfile::tempdir().unwrap();
    let m = manifest(tmp.path(), INIT, 2);
    let job = only_job(&m);

    let a = tmp.path().join("a");
    let full = common::run(&m, &job, &a, &options(&a, None)).unwrap();
    assert_eq!(full.steps, 8, "64 examples / 16 per batch x 2 epochs");
    assert_eq!(full.resumed_from, None);
    let acc = full.dev["accuracy"];
    assert!((0.0..=1.0).contains(&acc));

    let b = tmp.path().join("b");
    match common::run(&m, &job, &b, &options(&b, Some(5))) {
        Err(RunnerError::Aborted { step: 5, .. }) => {}
        other => panic!("expected an abort after step 5, got {other:?}"),
    }
    let dir_b = job_dir(&b, &job);
    assert!(!dir_b.join("DONE").exists());
    assert!(!dir_b.join("predictions.parquet").exists());
    let resumed = common::run(&m, &job, &b, &options(&b, None)).unwrap();
    assert_eq!(
        resumed.resumed_from,
        Some(4),
        "the last state before the kill is the one saved at step 4, the end of epoch 1"
    );
    assert_eq!(resumed.steps, 8);

    let dir_a = job_dir(&a, &job);
    let pa = std::fs::read(dir_a.join("predictions.parquet")).unwrap();
    let pb = std::fs::read(dir_b.join("predictions.parquet")).unwrap();
    assert_eq!(pa, pb, "predictions differ after resume");
    let ra = read_predictions(&dir_a.join("predictions.parquet")).unwrap();
    assert_eq!(ra.len(), 400);
    assert!(ra.iter().all(|r| r.scores.len() == 2));
    let ma = std::fs::read_to_string(dir_a.join("metrics.json")).unwrap();
    let mb = std::fs::read_to_string(dir_b.join("metrics.json")).unwrap();
    assert_eq!(ma, mb);
    assert!(dir_b.join("DONE").is_file());

    // Killed after the last step, predictions not yet written. The last step's state is not
    // saved (the job would delete it at once), so the job resumes from step 6 ...
    let c = tmp.path().join("c");
    match common::run(&m, &job, &c, &options(&c, Some(8))) {
        Err(RunnerError::Aborted { step: 8, .. }) => {}
        other => panic!("expected an abort after step 8, got {other:?}"),
    }
    let resumed = common::run(&m, &job, &c, &options(&c, None)).unwrap();
    assert_eq!(resumed.resumed_from, Some(6));
    let pc = std::fs::read(job_dir(&c, &job).join("predictions.parquet")).unwrap();
    assert_eq!(pa, pc, "predictions differ after redoing the last steps");
    // ... unless states are kept: then it was saved, and the final predictions come from a
    // fresh evaluation instead of the last epoch's, bit for bit the same.
    let e = tmp.path().join("e");
    let keep = |abort| RunOptions {
        keep_state: true,
        ..options(&e, abort)
    };
    match common::run(&m, &job, &e, &keep(Some(8))) {
        Err(RunnerError::Aborted { step: 8, .. }) => {}
        other => panic!("expected an abort after step 8, got {other:?}"),
    }
    let resumed = common::run(&m, &job, &e, &keep(None)).unwrap();
    assert_eq!(resumed.resumed_from, Some(8));
    let pe = std::fs::read(job_dir(&e, &job).join("predictions.parquet")).unwrap();
    assert_eq!(
        pa, pe,
        "predictions differ when only the final evaluation is redone"
    );

    // A job directory is self-contained: killed mid-epoch in one results root, moved (the
    // manifest deleted too) to another, it resumes there from its own job.json and state.
    let d = tmp.path().join("d");
    match common::run(&m, &job, &d, &options(&d, Some(6))) {
        Err(RunnerError::Aborted { step: 6, .. }) => {}
        other => panic!("expected an abort after step 6, got {other:?}"),
    }
    let moved_root = tmp.path().join("elsewhere").join("results");
    let moved = job_dir(&moved_root, &job);
    std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
    std::fs::rename(job_dir(&d, &job), &moved).unwrap();
    std::fs::remove_dir_all(&d).unwrap();
    std::fs::remove_file(tmp.path().join("m.toml")).unwrap();
    let resumed = common::run_dir(&moved, &options(&moved_root, None)).unwrap();
    assert_eq!(resumed.resumed_from, Some(6), "resumed from its own state");
    assert_eq!(resumed.dir, moved);
    let pd = std::fs::read(moved.join("predictions.parquet")).unwrap();
    assert_eq!(pa, pd, "predictions differ after the move and resume");
    assert!(
        moved_root.join("t").join(".cache").is_dir(),
        "the moved job uses the cache of the tree it now lies in"
    );
}

#[test]
fn a_job_file_edited_or_put_in_another_job_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let m = manifest(tmp.path(), INIT, 1);
    let job = only_job(&m);
    let dir = job_dir(tmp.path(), &job);
    std::fs::create_dir_all(&dir).unwrap();
    let mut file = m.job_file(&job, None, &m.output_dir()).unwrap();
    file.spec.learning_rate = 0.5;
    file.job["learning_rate"] = serde_json::json!(0.5);
    std::fs::write(dir.join("job.json"), serde_json::to_vec(&file).unwrap()).unwrap();
    let err = common::run_dir(&dir, &options(tmp.path(), None)).unwrap_err();
    assert!(err.to_string().contains("was edited"), "{err}");

    let other = dir.with_file_name("0123456789ab");
    std::fs::create_dir_all(&other).unwrap();
    let file = m.job_file(&job, None, &m.output_dir()).unwrap();
    std::fs::write(other.join("job.json"), serde_json::to_vec(&file).unwrap()).unwrap();
    let err = common::run_dir(&other, &options(tmp.path(), None)).unwrap_err();
    assert!(err.to_string().contains("but lies in"), "{err}");

    let err = common::run_dir(tmp.path(), &options(tmp.path(), None)).unwrap_err();
    assert!(err.to_string().contains("not a job directory"), "{err}");
}

#[test]
fn a_done_job_deletes_its_resume_state_unless_told_to_keep_it() {
    let tmp = tempfile::tempdir().unwrap();
    let m = manifest(tmp.path(), INIT, 1);
    let job = only_job(&m);

    let a = tmp.path().join("a");
    common::run(&m, &job, &a, &options(&a, None)).unwrap();
    let dir_a = job_dir(&a, &job);
    assert!(dir_a.join("DONE").is_file());
    assert!(
        !dir_a.join("state").exists(),
        "a done job never resumes: its weights and optimizer moments should be gone"
    );

    let b = tmp.path().join("b");
    let keep = RunOptions {
        keep_state: true,
        ..options(&b, None)
    };
    common::run(&m, &job, &b, &keep).unwrap();
    let dir_b = job_dir(&b, &job);
    let state = multiberts_runner::state::load(&dir_b.join("state"), &job.id)
        .unwrap()
        .expect("the kept resume state");
    assert_eq!(
        state.step, 4,
        "the state after the last step (64 / 16 per batch)"
    );
    assert!(dir_b.join("state").join(&state.model_file).is_file());
    assert_eq!(
        std::fs::read(dir_a.join("predictions.parquet")).unwrap(),
        std::fs::read(dir_b.join("predictions.parquet")).unwrap(),
        "keeping the state changes no result"
    );
}

#[test]
fn resume_state_is_saved_every_n_steps_inside_an_epoch() {
    // 4 steps per epoch, a state every 3 steps: saved after steps 3, 4 (epoch end), 6 and 8.
    // Killed after step 7, the job must restart from step 6, in the middle of epoch 2, and
    // still give the uninterrupted run's predictions bit for bit.
    let tmp = tempfile::tempdir().unwrap();
    let m = manifest(tmp.path(), INIT, 2);
    let job = only_job(&m);
    let a = tmp.path().join("a");
    common::run(&m, &job, &a, &options(&a, None)).unwrap();

    let b = tmp.path().join("b");
    match common::run(&m, &job, &b, &options(&b, Some(7))) {
        Err(RunnerError::Aborted { step: 7, .. }) => {}
        other => panic!("expected an abort after step 7, got {other:?}"),
    }
    let dir_b = job_dir(&b, &job);
    let state = multiberts_runner::state::load(&dir_b.join("state"), &job.id)
        .unwrap()
        .expect("a resume state");
    assert_eq!((state.step, state.epoch, state.batch), (6, 1, 2));
    let resumed = common::run(&m, &job, &b, &options(&b, None)).unwrap();
    assert_eq!(resumed.resumed_from, Some(6));
    assert_eq!(resumed.steps, 8);
    assert_eq!(
        std::fs::read(job_dir(&a, &job).join("predictions.parquet")).unwrap(),
        std::fs::read(dir_b.join("predictions.parquet")).unwrap(),
        "predictions differ after a mid-epoch resume"
    );
}

#[test]
fn job_json_records_the_digest_of_a_generated_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let m = manifest(tmp.path(), INIT, 1);
    let job = only_job(&m);
    common::run(&m, &job, tmp.path(), &options(tmp.path(), None)).unwrap();
    let weights = tmp
        .path()
        .join("t/.cache/checkpoints/init-tiny-seed_3/model.safetensors");
    let expected = multiberts_runner::features::file_sha256(&weights).unwrap();
    let record = ResultsTree::new(tmp.path(), "t")
        .unwrap()
        .job(&job.task, &job.checkpoint.id, &job.id)
        .unwrap()
        .read_job()
        .unwrap();
    assert_eq!(record.provenance.checkpoint_sha256, Some(expected));
    assert_eq!(record.provenance.device, "cpu");
    // Where the time went: every phase is recorded, training took time and the phases fit in
    // the job's wall time.
    let phases = &record.provenance.extra["phases_s"];
    let seconds = |k: &str| {
        phases[k]
            .as_f64()
            .unwrap_or_else(|| panic!("{k} in {phases}"))
    };
    let keys = ["data", "model", "train", "eval", "state", "write"];
    let sum: f64 = keys.iter().map(|k| seconds(k)).sum();
    assert!(seconds("train") > 0.0 && seconds("eval") > 0.0, "{phases}");
    assert!(
        sum <= record.provenance.wall_time_s + 0.01,
        "{phases} vs {}",
        record.provenance.wall_time_s
    );

    // The generated file is a pure function of (config, seed): another run generates the same.
    let again = multiberts_runner::checkpoint::materialise_init("tiny", 3, &tmp.path().join("c"))
        .unwrap()
        .join("model.safetensors");
    assert_eq!(
        std::fs::read(&weights).unwrap(),
        std::fs::read(&again).unwrap()
    );
}

#[test]
fn a_done_job_is_not_run_again() {
    let tmp = tempfile::tempdir().unwrap();
    let m = manifest(tmp.path(), INIT, 1);
    let job = only_job(&m);
    let first = common::run(&m, &job, tmp.path(), &options(tmp.path(), None)).unwrap();
    assert!(!first.already_done);
    let done = job_dir(tmp.path(), &job).join("DONE");
    let before = std::fs::read(&done).unwrap();
    let second = common::run(&m, &job, tmp.path(), &options(tmp.path(), None)).unwrap();
    assert!(second.already_done);
    assert_eq!(second.dev, first.dev);
    assert_eq!(std::fs::read(&done).unwrap(), before);
}

#[test]
fn a_non_finite_loss_names_the_step_and_nothing_is_done() {
    let tmp = tempfile::tempdir().unwrap();
    let ckpt =
        multiberts_runner::checkpoint::materialise_init("tiny", 1, &tmp.path().join("c")).unwrap();
    // Poison one weight: every forward pass then yields NaN.
    let weights = ckpt.join("model.safetensors");
    let mut tensors = candle_core::safetensors::load(&weights, &candle_core::Device::Cpu).unwrap();
    let name = "embeddings.LayerNorm.weight";
    let nan = (tensors[name].ones_like().unwrap() * f64::NAN).unwrap();
    tensors.insert(name.to_string(), nan);
    candle_core::safetensors::save(&tensors, &weights).unwrap();

    let m = manifest(
        tmp.path(),
        &format!("path = {:?}", ckpt.display().to_string()),
        1,
    );
    let job = only_job(&m);
    let err = common::run(&m, &job, tmp.path(), &options(tmp.path(), None)).unwrap_err();
    match &err {
        RunnerError::NonFiniteLoss { step: 1, .. } => {}
        other => panic!("expected a non-finite loss at step 1, got {other:?}"),
    }
    assert!(err.to_string().contains("step 1"), "{err}");
    assert!(!job_dir(tmp.path(), &job).join("DONE").exists());
}

/// `eval_order = "length"` batches the dev examples by length yet writes the predictions in
/// file order: row for row the same examples, labels and predicted classes as the file-order
/// job, with scores equal up to the last bits that another padding can change.
#[test]
fn length_ordered_evaluation_writes_the_file_order_predictions() {
    let tmp = tempfile::tempdir().unwrap();
    let file_order = manifest(tmp.path(), INIT, 1);
    let text = std::fs::read_to_string(tmp.path().join("m.toml")).unwrap();
    let by_length = common::write_manifest(
        tmp.path(),
        &text.replace("[defaults]\n", "[defaults]\neval_order = \"length\"\n"),
    );
    let (a, b) = (only_job(&file_order), only_job(&by_length));
    assert_ne!(a.id, b.id, "the batch order is part of the job");
    let out = tmp.path().join("out");
    common::run(&file_order, &a, &out, &options(&out, None)).unwrap();
    common::run(&by_length, &b, &out, &options(&out, None)).unwrap();
    let ra = read_predictions(&job_dir(&out, &a).join("predictions.parquet")).unwrap();
    let rb = read_predictions(&job_dir(&out, &b).join("predictions.parquet")).unwrap();
    assert_eq!(ra.len(), 400);
    assert_eq!(ra.len(), rb.len());
    for (x, y) in ra.iter().zip(&rb) {
        assert_eq!(
            (&x.example_id, x.label, x.prediction),
            (&y.example_id, y.label, y.prediction)
        );
        for (s, t) in x.scores.iter().zip(&y.scores) {
            assert!((s - t).abs() <= 1e-5, "{}: {s} vs {t}", x.example_id);
        }
    }
}
