//! One module per verb. Each defines its clap arguments and a `run` function.

pub mod bootstrap;
pub mod collect;
pub mod data;
pub mod device_check;
pub mod encode;
pub mod plan;
pub mod pretrain;
pub mod report;
pub mod run_job;
pub mod status;
pub mod sweep;
pub mod tasks;
pub mod vocab;

use std::path::Path;

use anyhow::Context;
use multiberts_manifest::{DEMO_PATH, Manifest};

/// A clap value parser for counts that must be at least 1 (jobs, threads, steps): 0 would
/// otherwise be read as 1 or as "never" without a word.
pub(crate) fn at_least_one<T>(s: &str) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + From<u8>,
{
    let n: T = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number"))?;
    if n < T::from(1) {
        return Err(format!("{s} is too small; expected 1 or more"));
    }
    Ok(n)
}

/// The results tree of `manifest`: under `results_dir` when given (`--results-dir`,
/// `MULTIBERTS_RESULTS`), else under the manifest's `results_dir`. Built once per command and
/// passed down.
pub(crate) fn results_tree(
    manifest: &Manifest,
    results_dir: Option<&Path>,
) -> anyhow::Result<multiberts_collector::ResultsTree> {
    let dir = results_dir.unwrap_or(&manifest.results_dir);
    Ok(multiberts_collector::ResultsTree::new(dir, &manifest.name)?)
}

/// Loads the manifest at `path`, or the embedded demo when none is given.
pub(crate) fn load_manifest(path: Option<&Path>) -> anyhow::Result<Manifest> {
    match path {
        Some(path) => Manifest::from_file(path)
            .with_context(|| format!("invalid manifest {}", path.display())),
        None => {
            tracing::debug!("no manifest given: using the embedded {DEMO_PATH}");
            Manifest::demo().context("the embedded demo manifest is invalid (a bug)")
        }
    }
}
