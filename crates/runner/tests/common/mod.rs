//! Helpers shared by the runner's end-to-end tests (`mod common;` in a test file): a manifest
//! named `t` written into a temporary folder, run options, and where a job's outputs land.

use std::path::{Path, PathBuf};

use multiberts_collector::ResultsTree;
use multiberts_manifest::{Job, Manifest};
use multiberts_runner::RunOptions;

/// Writes `text` (a manifest whose `name` is `t`) to `dir/m.toml` and loads it, so relative
/// paths and generated checkpoints resolve against `dir`.
pub fn write_manifest(dir: &Path, text: &str) -> Manifest {
    let path = dir.join("m.toml");
    std::fs::write(&path, text).unwrap();
    Manifest::from_file(&path).unwrap()
}

/// Options that write the sweep `t` under `out`, on one thread, with no mid-epoch states.
pub fn options(out: &Path) -> RunOptions {
    RunOptions {
        output_dir: out.join("t"),
        manifest_dir: out.to_path_buf(),
        data_root: None,
        checkpoint_every: 0,
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
