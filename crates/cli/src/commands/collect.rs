//! `multiberts collect`: consolidate each task's done jobs into one predictions table (best-LR
//! rule or keep-all) and export the upstream layouts; then the report (the manifest's analyses,
//! `report/summary.md`, `summary.csv` and `summary.tex`) comes from `multiberts_report`, as for
//! `multiberts report`.

use std::path::{Path, PathBuf};

use multiberts_collector::{LrGroup, ResultsTree};
use multiberts_manifest::Manifest;
use multiberts_sweep::manifest_and_tree;

/// Which runs a consolidated table keeps (`--rule`; see `multiberts_report::RuleChoice`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RuleChoice {
    /// keep-all for tasks whose analyses compare learning rates, best-lr for the others.
    Auto,
    /// The paper's rule: per checkpoint group, the learning rate with the best mean dev score.
    BestLr,
    /// Every done run.
    KeepAll,
}

impl From<RuleChoice> for multiberts_report::RuleChoice {
    fn from(c: RuleChoice) -> Self {
        match c {
            RuleChoice::Auto => Self::Auto,
            RuleChoice::BestLr => Self::BestLr,
            RuleChoice::KeepAll => Self::KeepAll,
        }
    }
}

/// Consolidate the done jobs of every task, run the manifest's analyses, write the report.
///
/// Writes `predictions/<task>.parquet` + `<task>.selection.json` (the rule and its choices),
/// the upstream GLUE layout under `upstream/glue/` (index.tsv, one score file per run, labels),
/// for Winogender-evaluated tasks the upstream coref layout under `upstream/coref/<task>/`
/// (run_info.tsv, label_info.tsv, preds.tsv, occupations-stats.tsv),
/// `report/<analysis>.json`, `report/summary.md`, `report/summary.csv`, `report/summary.tex`
/// and `report/index.html` (every table and figure on one offline page) under
/// `results/<name>/`.
#[derive(Debug, clap::Args)]
pub struct CollectArgs {
    /// The manifest (default: the embedded demo).
    pub manifest: Option<PathBuf>,
    /// Results directory (default: the manifest's `results_dir`, else `results`).
    #[arg(long, env = "MULTIBERTS_RESULTS")]
    pub results_dir: Option<PathBuf>,
    /// Learning-rate rule.
    #[arg(long, value_enum, default_value_t = RuleChoice::Auto)]
    pub rule: RuleChoice,
    /// Which checkpoints share a learning-rate choice under best-lr.
    #[arg(long, value_enum, default_value_t = GroupChoice::Step)]
    pub group_by: GroupChoice,
    /// Data root, for the Winogender metadata of coref tasks (default: MULTIBERTS_DATA, then
    /// the manifest's `data_dir`).
    #[arg(long, env = "MULTIBERTS_DATA")]
    pub data_dir: Option<PathBuf>,
}

/// `--group-by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GroupChoice {
    /// All checkpoints at one pre-training step (the paper's notebooks).
    Step,
    /// Each checkpoint on its own.
    Checkpoint,
}

/// Runs `multiberts collect`.
pub fn run(args: CollectArgs) -> anyhow::Result<()> {
    let (manifest, tree) =
        manifest_and_tree(args.manifest.as_deref(), args.results_dir.as_deref())?;
    let group = match args.group_by {
        GroupChoice::Step => LrGroup::Step,
        GroupChoice::Checkpoint => LrGroup::Checkpoint,
    };
    let summary =
        collect_and_report_with(&manifest, &tree, args.rule, group, args.data_dir.as_deref())?;
    println!("summary table: {}", summary.display());
    Ok(())
}

/// Consolidates every task, runs the analyses and writes the report
/// ([`multiberts_report::collect_current`]), printing what it did; returns `summary.md`'s path.
pub(crate) fn collect_and_report_with(
    manifest: &Manifest,
    tree: &ResultsTree,
    choice: RuleChoice,
    group: LrGroup,
    data_dir: Option<&Path>,
) -> anyhow::Result<PathBuf> {
    // Shared with `report`, exclusive of a sweep: never a table of a half-run sweep.
    let _lock = multiberts_sweep::SweepLock::acquire_shared(tree.root())?;
    let collected =
        multiberts_report::collect_current(manifest, tree, choice.into(), group, data_dir)?;
    print!("{}", collected.text(manifest, tree));
    Ok(collected.written.summary_md)
}
