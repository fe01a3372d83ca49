//! `collect`: consolidate every task's done jobs into one table (the learning-rate rule),
//! export the upstream layouts (SQuAD for span tasks, GLUE for the others, coref for
//! Winogender-evaluated ones), then write the report. `multiberts collect` and the end of `multiberts sweep` call [`collect`].

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use multiberts_collector::upstream::{
    export_coref, export_glue_from_parquet, export_squad_from_parquet, write_occupation_stats,
};
use multiberts_collector::{ConsolidateOptions, Consolidation, LrGroup, LrRule, ResultsTree};
use multiberts_manifest::{Analysis, Manifest};

use crate::coref::{CorefData, coref_data};
use crate::error::{ReportError, Result, WithContext};
use crate::{Written, task_names, write_report};

/// Which runs a consolidated table keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleChoice {
    /// keep-all for tasks whose analyses compare learning rates, best-lr for the others.
    Auto,
    /// The paper's rule: per checkpoint group, the learning rate with the best mean dev score.
    BestLr,
    /// Every done run.
    KeepAll,
}

/// What collecting one task did.
#[derive(Debug, Clone)]
pub struct TaskCollected {
    /// The consolidation (rule, counts, table).
    pub consolidation: Consolidation,
    /// Where its upstream coref layout went, for Winogender-evaluated tasks with runs.
    pub coref_layout: Option<PathBuf>,
}

/// What [`collect`] did.
#[derive(Debug, Clone)]
pub struct Collected {
    /// Each task, in manifest order.
    pub tasks: Vec<TaskCollected>,
    /// The upstream GLUE layout, when any task other than a span task had runs.
    pub glue_layout: Option<PathBuf>,
    /// The upstream SQuAD layout, when a span task had runs.
    pub squad_layout: Option<PathBuf>,
    /// The report's files.
    pub written: Written,
}

/// Whether an analysis tells learning rates apart (then its task must keep every rate).
fn compares_learning_rates(a: &Analysis) -> bool {
    std::iter::once(&a.base)
        .chain(a.experiment.as_ref())
        .any(|s| s.conditions.iter().any(|(k, _)| k == "learning_rate"))
}

/// The rule applied to `task`.
pub fn rule_for(manifest: &Manifest, task: &str, choice: RuleChoice) -> LrRule {
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

/// [`collect`], refused while a done job's input files have changed since it ran (its results
/// would be reported as if they were current; `multiberts sweep --rerun-stale` runs it again).
/// `multiberts collect` and the end of `multiberts sweep` call it holding the results
/// directory's lock shared.
pub fn collect_current(
    manifest: &Manifest,
    tree: &ResultsTree,
    choice: RuleChoice,
    group: LrGroup,
    data_dir: Option<&Path>,
) -> Result<Collected> {
    let stale = multiberts_collector::inputs::stale_jobs(tree)?;
    if !stale.is_empty() {
        return Err(ReportError::Stale {
            count: stale.len(),
            jobs: multiberts_collector::inputs::describe_stale(&stale),
        });
    }
    collect(manifest, tree, choice, group, data_dir)
}

/// Consolidates every task of `manifest` in `tree` (only this manifest's jobs: folders of jobs
/// from an earlier version of the manifest stay on disk but do not enter its tables), exports
/// the upstream layouts, runs the analyses and writes the report. The data root for coref
/// metadata is `data_dir`, else MULTIBERTS_DATA or the manifest's `data_dir`.
pub fn collect(
    manifest: &Manifest,
    tree: &ResultsTree,
    choice: RuleChoice,
    group: LrGroup,
    data_dir: Option<&Path>,
) -> Result<Collected> {
    let out = tree.root();
    let job_ids: HashSet<String> = manifest.jobs().into_iter().map(|j| j.id).collect();
    let include = |id: &str| job_ids.contains(id);
    let mut tasks = Vec::new();
    let step_unit = crate::figure::step_unit(manifest);
    let mut coref: BTreeMap<String, CorefData> = BTreeMap::new();
    let (mut glue_layout, mut squad_layout) = (None, None);
    // A task listed once per variant is consolidated once (its table holds every variant).
    for task in task_names(manifest) {
        let rule = rule_for(manifest, task, choice);
        let c = multiberts_collector::consolidate_task_of(
            tree,
            task,
            ConsolidateOptions {
                rule,
                group,
                step_unit,
            },
            &include,
        )
        .with_context(|| format!("cannot consolidate task `{task}`"))?;
        let mut coref_layout = None;
        let span = manifest
            .registry
            .get(task)
            .is_ok_and(|s| s.kind == multiberts_tasks::TaskKind::Span);
        if c.rows > 0 && span {
            // The upstream SQuAD layout (index.tsv + one JSON of answers per run), which
            // `multiberts bootstrap --squad` reads with the dev file.
            let upstream = out.join("upstream").join("squad");
            let name = crate::span::upstream_squad_task(task);
            export_squad_from_parquet(&out.join(&c.table), &upstream, name).with_context(|| {
                format!(
                    "cannot export task `{task}` to the upstream SQuAD layout in {}",
                    upstream.display()
                )
            })?;
            squad_layout = Some(upstream);
        } else if c.rows > 0 {
            let table = out.join(&c.table);
            // The upstream GLUE layout (index.tsv + one score file per run + labels), so the
            // original notebooks and `multiberts bootstrap --glue` read our runs unchanged.
            let upstream = out.join("upstream").join("glue");
            export_glue_from_parquet(&table, &upstream, None).with_context(|| {
                format!(
                    "cannot export task `{task}` to the upstream GLUE layout in {}",
                    upstream.display()
                )
            })?;
            glue_layout = Some(upstream);
            let data = coref_data(manifest, task, &table, data_dir)
                .with_context(|| format!("cannot read the Winogender metadata of `{task}`"))?;
            if let Some(data) = data {
                let dir = out.join("upstream").join("coref").join(task);
                export_coref(&dir, &data.predictions)
                    .and_then(|()| write_occupation_stats(&dir, &data.bls_pct_female))
                    .with_context(|| format!("cannot export task `{task}` to the coref layout"))?;
                coref_layout = Some(dir);
                coref.insert(task.to_string(), data);
            }
        }
        tasks.push(TaskCollected {
            consolidation: c,
            coref_layout,
        });
    }
    let consolidations: Vec<Consolidation> =
        tasks.iter().map(|t| t.consolidation.clone()).collect();
    let written = write_report(manifest, tree, &consolidations, &coref)?;
    Ok(Collected {
        glue_layout,
        squad_layout,
        tasks,
        written,
    })
}

impl Collected {
    /// What [`collect`] did, as `multiberts collect` and `sweep` print it: per task the runs
    /// kept and the table, the upstream layouts, the analyses and the report's other files.
    /// Every line ends in a newline.
    pub fn text(&self, manifest: &Manifest, tree: &ResultsTree) -> String {
        let mut t = String::new();
        for task in &self.tasks {
            let c = &task.consolidation;
            let _ = writeln!(
                t,
                "{}: {} of {} done runs kept ({}), {} rows -> {}",
                c.task,
                c.jobs_kept,
                c.jobs_done,
                match c.rule {
                    LrRule::BestMeanDev => "best mean dev learning rate",
                    LrRule::KeepAll => "keep all",
                },
                c.rows,
                tree.root().join(&c.table).display()
            );
            if let Some(dir) = &task.coref_layout {
                let _ = writeln!(t, "upstream coref layout -> {}", dir.display());
            }
        }
        if let Some(glue) = &self.glue_layout {
            let _ = writeln!(t, "upstream GLUE layout -> {}", glue.display());
        }
        if let Some(squad) = &self.squad_layout {
            let _ = writeln!(t, "upstream SQuAD layout -> {}", squad.display());
        }
        t += &self.written.analyses_text(manifest);
        t += &self.written.files_text();
        t
    }
}

impl Written {
    /// Each analysis' report with its name, kind and task, as `collect` and `report` print
    /// them.
    pub fn analyses_text(&self, manifest: &Manifest) -> String {
        let mut t = String::new();
        for (a, out) in manifest.analyses.iter().zip(&self.analyses) {
            let _ = writeln!(
                t,
                "analysis {} ({:?}, {}):\n{}",
                a.name,
                a.kind,
                a.task,
                out.report.render()
            );
        }
        t
    }

    /// The summary's CSV and LaTeX files, the figures and the report page, one line each.
    pub fn files_text(&self) -> String {
        let mut t = format!(
            "summary CSV: {}\nsummary LaTeX: {}\n",
            self.summary_csv.display(),
            self.summary_tex.display()
        );
        for figure in &self.figures {
            let _ = writeln!(t, "figure: {}", figure.display());
        }
        let _ = writeln!(t, "report page: {}", self.index_html.display());
        t
    }
}
