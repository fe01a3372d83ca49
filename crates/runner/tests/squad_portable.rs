//! The span head on the GPU's op path, run on the CPU (`force_portable`): a SQuAD job trains
//! and decodes through the composite candle ops a CUDA device runs, records that path, and
//! answers as the torch-order CPU kernels do (the same maths, rounded differently).

mod common;

use multiberts_collector::read_predictions;
use multiberts_model::kernel_path::{force_portable, kernel_path};

use common::{job_dir, options};

#[test]
fn a_squad_job_on_the_portable_path_answers_like_the_cpu_kernels() {
    let mut answers = Vec::new();
    for portable in [true, false] {
        force_portable(portable);
        let tmp = tempfile::tempdir().unwrap();
        let m = common::squad_manifest(tmp.path());
        let job = &m.jobs()[0];
        let summary = common::run(&m, job, tmp.path(), &options(tmp.path())).unwrap();
        assert!(summary.dev["f1"].is_finite());
        let dir = job_dir(tmp.path(), job);
        let record: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("job.json")).unwrap()).unwrap();
        assert_eq!(
            record["provenance"]["kernels"],
            kernel_path().name(),
            "the job records the path it ran"
        );
        let rows = read_predictions(&dir.join("predictions.parquet")).unwrap();
        answers.push(
            rows.into_iter()
                .map(|r| r.answer.unwrap().text)
                .collect::<Vec<_>>(),
        );
    }
    let same = answers[0]
        .iter()
        .zip(&answers[1])
        .filter(|(a, b)| a == b)
        .count();
    assert!(
        same * 100 >= 95 * answers[0].len(),
        "{same} of {} answers agree",
        answers[0].len()
    );
}
