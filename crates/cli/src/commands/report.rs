//! `multiberts report`: regenerate `results/<name>/report/` from the consolidated tables.

use std::path::{Path, PathBuf};

use multiberts_report::{PaperOptions, paper_report};
use multiberts_sweep::manifest_and_tree;

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
  multiberts report manifests/glue.toml --results-dir ~/copied-results

  # the paper's Tables 1-2 and GLUE/SQuAD figures from the released predictions
  # (docs/bootstrap.md says where to download them), into results/paper/report/
  multiberts report --paper example-predictions --data-dir ../shared/data")]
pub struct ReportArgs {
    /// The manifest (default: the embedded demo).
    #[arg(conflicts_with = "paper")]
    pub manifest: Option<PathBuf>,
    /// Instead of a manifest's report: the MultiBERTs paper's tables and figures from the
    /// released predictions in DIR (GLUE/, SQuAD/, coref/), as the authors' notebooks ran them
    /// (1000 draws, numpy RandomState(42)), into <results-dir>/paper/report/.
    #[arg(long, value_name = "DIR")]
    pub paper: Option<PathBuf>,
    /// With --paper: Winogender occupations-stats.tsv for bias r (default:
    /// DIR/coref/occupations-stats.tsv, else winogender/occupations-stats.tsv under --data-dir).
    #[arg(long, value_name = "FILE", requires = "paper")]
    pub occupation_stats: Option<PathBuf>,
    /// With --paper: the SQuAD dev file scoring the answers (default: DIR/SQuAD/dev-v2.0.json).
    #[arg(long, value_name = "FILE", requires = "paper")]
    pub squad_data: Option<PathBuf>,
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
    if let Some(dir) = &args.paper {
        let results = args.results_dir.as_deref().unwrap_or(Path::new("results"));
        let mut options = PaperOptions::new(dir, &results.join("paper").join("report"));
        options.occupation_stats = args.occupation_stats.clone();
        options.squad_data = args.squad_data.clone();
        options.data_dir = args.data_dir.clone();
        print!("{}", paper_report(&options)?.text());
        return Ok(());
    }
    let (manifest, tree) =
        manifest_and_tree(args.manifest.as_deref(), args.results_dir.as_deref())?;
    let _lock = multiberts_sweep::SweepLock::acquire_shared(tree.root())?;
    let written =
        multiberts_report::report_from_tables(&manifest, &tree, args.data_dir.as_deref())?;
    print!("{}", written.analyses_text(&manifest));
    println!("summary table: {}", written.summary_md.display());
    print!("{}", written.files_text());
    Ok(())
}
