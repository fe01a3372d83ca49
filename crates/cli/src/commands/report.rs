//! `multiberts report`: regenerate `results/<name>/report/` from the consolidated tables.

use std::path::PathBuf;

use super::{load_manifest, results_tree};

/// Regenerate the report from the already consolidated predictions tables.
///
/// Reads `predictions/<task>.parquet` and `<task>.selection.json` of every task of the manifest
/// (as `multiberts collect` wrote them) and writes `report/<analysis>.json`, `report/summary.md`,
/// `report/summary.csv`, `report/summary.tex` and `report/index.html`, exactly as `collect` does, without reading or
/// re-consolidating the job directories: it works on a results folder copied without them.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  # after editing the manifest's [[analyses]], or on a results folder copied from the cluster
  multiberts report manifests/glue.toml --results-dir ~/copied-results")]
pub struct ReportArgs {
    /// The manifest (default: the embedded demo).
    pub manifest: Option<PathBuf>,
    /// Results directory (default: the manifest's `results_dir`, else `results`).
    #[arg(long, env = "MULTIBERTS_RESULTS")]
    pub results_dir: Option<PathBuf>,
    /// Data root, for the Winogender metadata of coref tasks (default: MULTIBERTS_DATA, then
    /// the manifest's `data_dir`).
    #[arg(long, env = "MULTIBERTS_DATA")]
    pub data_dir: Option<PathBuf>,
}

/// Runs `multiberts report`.
pub fn run(args: ReportArgs) -> anyhow::Result<()> {
    let manifest = load_manifest(args.manifest.as_deref())?;
    let tree = results_tree(&manifest, args.results_dir.as_deref())?;
    let _lock = multiberts_sweep::SweepLock::acquire_shared(tree.root())?;
    let written =
        multiberts_report::report_from_tables(&manifest, &tree, args.data_dir.as_deref())?;
    print!("{}", written.analyses_text(&manifest));
    println!("summary table: {}", written.summary_md.display());
    print!("{}", written.files_text());
    Ok(())
}
