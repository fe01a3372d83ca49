//! `multiberts collect`: consolidate each task's done jobs into one predictions table (best-LR
//! rule or keep-all) and export the upstream layouts; then the report (the manifest's analyses,
//! `report/summary.md`, `summary.csv` and `summary.tex`) comes from `multiberts_report`, as for
//! `multiberts report`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;

use multiberts_collector::upstream::{
    export_coref, export_glue_from_parquet, write_occupation_stats,
};
use multiberts_collector::{ConsolidateOptions, LrGroup, LrRule, ResultsTree, consolidate_task_of};
use multiberts_manifest::{Analysis, Manifest};
use multiberts_report::{CorefData, Written, coref_data};

use super::{load_manifest, results_tree};

/// Which runs a consolidated table keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RuleChoice {
    /// keep-all for tasks whose analyses compare learning rates, best-lr for the others.
    Auto,
    /// The paper's rule: per checkpoint group, the learning rate with the best mean dev score.
    BestLr,
    /// Every done run.
    KeepAll,
}

/// Consolidate the done jobs of every task, run the manifest's analyses, write the report.
///
/// Writes `predictions/<task>.parquet` + `<task>.selection.json` (the rule and its choices),
/// the upstream GLUE layout under `upstream/glue/` (index.tsv, one score file per run, labels),
/// for Winogender-evaluated tasks the upstream coref layout under `upstream/coref/<task>/`
/// (run_info.tsv, label_info.tsv, preds.tsv, occupations-stats.tsv),
/// `report/<analysis>.json`, `report/summary.md`, `report/summary.csv` and `report/summary.tex`
/// under `results/<name>/`.
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
    let manifest = load_manifest(args.manifest.as_deref())?;
    let tree = results_tree(&manifest, args.results_dir.as_deref())?;
    let group = match args.group_by {
        GroupChoice::Step => LrGroup::Step,
        GroupChoice::Checkpoint => LrGroup::Checkpoint,
    };
    let summary =
        collect_and_report_with(&manifest, &tree, args.rule, group, args.data_dir.as_deref())?;
    println!("summary table: {}", summary.display());
    Ok(())
}

/// Whether an analysis tells learning rates apart (then its task must keep every rate).
fn compares_learning_rates(a: &Analysis) -> bool {
    std::iter::once(&a.base)
        .chain(a.experiment.as_ref())
        .any(|s| s.conditions.iter().any(|(k, _)| k == "learning_rate"))
}

/// The rule applied to `task`.
pub(crate) fn rule_for(manifest: &Manifest, task: &str, choice: RuleChoice) -> LrRule {
    match choice {
        RuleChoice::BestLr => LrRule::BestMeanDev,
        RuleChoice::KeepAll => LrRule::KeepAll,
        RuleChoice::Auto => {
            if manifest
                .analyses
                .iter()
                .any(|a| a.task == task && compares_learning_rates(a))
            {
                LrRule::KeepAll
            } else {
                LrRule::BestMeanDev
            }
        }
    }
}

/// Consolidates every task, runs the analyses and writes `report/summary.md`; returns its path.
/// The data root for coref metadata is `data_dir` (`--data-dir`), else MULTIBERTS_DATA or the
/// manifest's `data_dir`.
pub(crate) fn collect_and_report_with(
    manifest: &Manifest,
    tree: &ResultsTree,
    choice: RuleChoice,
    group: LrGroup,
    data_dir: Option<&Path>,
) -> anyhow::Result<PathBuf> {
    let out = tree.root();
    let mut collected = Vec::new();
    let mut coref: BTreeMap<String, CorefData> = BTreeMap::new();
    // Only this manifest's jobs: folders of jobs from an earlier version of the manifest stay on
    // disk (their results are not lost) but do not enter its tables.
    let job_ids: std::collections::HashSet<String> =
        manifest.jobs().into_iter().map(|j| j.id).collect();
    let include = |id: &str| job_ids.contains(id);
    // A task listed once per variant is consolidated once (its table holds every variant).
    for task_name in multiberts_report::task_names(manifest) {
        let rule = rule_for(manifest, task_name, choice);
        let c = consolidate_task_of(
            tree,
            task_name,
            ConsolidateOptions { rule, group },
            &include,
        )
        .with_context(|| format!("cannot consolidate task `{task_name}`"))?;
        println!(
            "{}: {} of {} done runs kept ({}), {} rows -> {}",
            task_name,
            c.jobs_kept,
            c.jobs_done,
            match rule {
                LrRule::BestMeanDev => "best mean dev learning rate",
                LrRule::KeepAll => "keep all",
            },
            c.rows,
            out.join(&c.table).display()
        );
        if c.rows > 0 {
            // The upstream GLUE layout (index.tsv + one score file per run + labels), so the
            // original notebooks and `multiberts bootstrap --glue` read our runs unchanged.
            let upstream = out.join("upstream").join("glue");
            export_glue_from_parquet(&out.join(&c.table), &upstream, None).with_context(|| {
                format!(
                    "cannot export task `{task_name}` to the upstream GLUE layout in {}",
                    upstream.display()
                )
            })?;
            if let Some(data) = coref_data(manifest, task_name, &out.join(&c.table), data_dir)
                .with_context(|| format!("cannot read the Winogender metadata of `{task_name}`"))?
            {
                let dir = out.join("upstream").join("coref").join(task_name);
                export_coref(&dir, &data.predictions)
                    .and_then(|()| write_occupation_stats(&dir, &data.bls_pct_female))
                    .with_context(|| {
                        format!("cannot export task `{task_name}` to the coref layout")
                    })?;
                println!("upstream coref layout -> {}", dir.display());
                coref.insert(task_name.to_string(), data);
            }
        }
        collected.push(c);
    }
    if collected.iter().any(|c| c.rows > 0) {
        println!(
            "upstream GLUE layout -> {}",
            out.join("upstream").join("glue").display()
        );
    }
    let written = multiberts_report::write_report(manifest, tree, &collected, &coref)?;
    print_analyses(manifest, &written);
    println!("summary CSV: {}", written.summary_csv.display());
    println!("summary LaTeX: {}", written.summary_tex.display());
    for figure in &written.figures {
        println!("figure: {}", figure.display());
    }
    Ok(written.summary_md)
}

/// Prints each analysis' report, as `collect` and `report` show them.
pub(crate) fn print_analyses(manifest: &Manifest, written: &Written) {
    for (a, out) in manifest.analyses.iter().zip(&written.analyses) {
        println!(
            "analysis {} ({:?}, {}):\n{}",
            a.name,
            a.kind,
            a.task,
            out.report.render()
        );
    }
}
