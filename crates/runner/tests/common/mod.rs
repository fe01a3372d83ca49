//! Helpers shared by the runner's end-to-end tests (`mod common;` in a test file): a manifest
//! named `t` written into a temporary folder, run options, where a job's outputs land, and a
//! job run as the sweep runs it (its job file written into its directory first).

// Each test file compiles this module and uses a subset of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use multiberts_collector::ResultsTree;
use multiberts_manifest::{Job, Manifest};
use multiberts_runner::{RunOptions, RunSummary, RunnerError};

/// Writes `text` (a manifest whose `name` is `t`) to `dir/m.toml` and loads it, so relative
/// paths and generated checkpoints resolve against `dir`.
pub fn write_manifest(dir: &Path, text: &str) -> Manifest {
    let path = dir.join("m.toml");
    std::fs::write(&path, text).unwrap();
    Manifest::from_file(&path).unwrap()
}

/// Options for the sweep `t` under `out` (its cache in `out/t/.cache`), on one thread, with
/// no resume states unless a stop is requested.
pub fn options(out: &Path) -> RunOptions {
    RunOptions {
        cache_dir: out.join("t").join(".cache"),
        save: multiberts_runner::SaveSchedule::NEVER,
        keep_state: false,
        abort_after_step: None,
        threads: 1,
        device: candle_core::Device::Cpu,
    }
}

/// The folder of `job`'s outputs under `out` (sweep `t`).
pub fn job_dir(out: &Path, job: &Job) -> PathBuf {
    ResultsTree::new(out, "t")
        .unwrap()
        .job(&job.task, &job.checkpoint.id, &job.id)
        .unwrap()
        .path()
        .to_path_buf()
}

/// Runs `job` of `m` as a sweep does: writes its job file into its directory under `out`
/// (sweep `t`, unless the job is done), then runs the job from that directory.
pub fn run(
    m: &Manifest,
    job: &Job,
    out: &Path,
    opts: &RunOptions,
) -> Result<RunSummary, RunnerError> {
    let dir = ResultsTree::new(out, "t")
        .unwrap()
        .job(&job.task, &job.checkpoint.id, &job.id)
        .unwrap();
    if !dir.is_done() {
        dir.write_job_file(
            &m.job_file(job, m.data_dir.as_deref(), &out.join("t"))
                .unwrap(),
        )
        .unwrap();
    }
    run_dir(dir.path(), opts)
}

/// Runs the job of a job directory, as `multiberts run-job <dir>` does (cache of the tree the
/// directory lies in).
pub fn run_dir(path: &Path, opts: &RunOptions) -> Result<RunSummary, RunnerError> {
    let (dir, file, cache) = multiberts_runner::open_job_dir(path)?;
    let opts = RunOptions {
        cache_dir: cache,
        ..opts.clone()
    };
    multiberts_runner::run_job(&file, &dir, &opts)
}

/// A path under `../shared` (reference data and fixtures beside the checkout).
pub fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(rel)
}

/// A one-job manifest: a tiny random-init BERT on the first 400 training questions of the
/// SQuAD 2.0 sample, one epoch, windows of 64 tokens.
pub fn squad_manifest(dir: &Path) -> Manifest {
    let text = format!(
        r#"
name = "t"
data_dir = "{}"
[defaults]
max_seq_len = 64
batch_size = 32
eval_batch_size = 128
epochs = 1
learning_rates = [1e-3]
finetune_seeds = [0]
max_train_examples = 400

[[checkpoints]]
init = {{ config = "tiny" }}
seeds = [0]

[[tasks]]
name = "squad2"
"#,
        shared("data").display()
    );
    write_manifest(dir, &text)
}
