//! Consolidation: all done jobs of a task into `predictions/<task>.parquet`, after the paper's
//! best-learning-rate rule, with the rule and its choices in `predictions/<task>.selection.json`.
//!
//! The rule (MultiBERTs `2m_vs_1m.ipynb`, `find_best_lr`): within each checkpoint group and
//! task variant, compute, for every learning rate, the mean over its runs of the primary dev
//! metric after the final epoch; keep all runs of the learning rate with the highest mean.
//!
//! - Checkpoint group ([`LrGroup`]): by default all checkpoints at the same pre-training step,
//!   as the notebook's `groupby(['release', 'n_steps', 'task'])` — one learning rate for the
//!   whole procedure at that step, across pre-training seeds; or each checkpoint id alone.
//! - Runs whose score is NaN are left out of the mean (as pandas' `mean` does); a rate with no
//!   scored run cannot be chosen.
//! - Ties (equal means, compared exactly) go to the smallest learning rate — the first in
//!   pandas' sorted `groupby('lr')`, which `idxmax` returns.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic;
use crate::error::{CollectorError, Result, io_err};
use crate::predictions::PredictionsWriter;
use crate::records::DoneMarker;
use crate::steps::StepUnit;
use crate::tree::{JobDir, JobState, ResultsTree};

/// How runs are selected for the consolidated table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LrRule {
    /// The paper's rule: per checkpoint group, the learning rate with the best mean dev score.
    #[default]
    BestMeanDev,
    /// Every done run, whatever its learning rate.
    KeepAll,
}

/// Which checkpoints share one learning-rate choice under [`LrRule::BestMeanDev`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LrGroup {
    /// All checkpoints at the same pre-training step (unknown steps form one group): the
    /// paper's `(release, n_steps, task)`, learning-rate choice as part of the procedure.
    #[default]
    Step,
    /// Each checkpoint id on its own.
    Checkpoint,
}

impl LrGroup {
    /// The group a run belongs to, named as a selector would pick it (`step=20k` for the
    /// hub's step_20k, `step=300` for step 300 of a manifest's own pre-training run).
    pub fn key(self, checkpoint: &str, step: Option<i64>, unit: StepUnit) -> String {
        match (self, step) {
            (LrGroup::Step, Some(s)) => format!("step={}", unit.selector(s)),
            (LrGroup::Step, None) => "step=unknown".into(),
            (LrGroup::Checkpoint, _) => format!("checkpoint={checkpoint}"),
        }
    }
}

/// The options of [`consolidate_task`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ConsolidateOptions {
    /// Which runs are kept.
    pub rule: LrRule,
    /// Which checkpoints share a learning-rate choice.
    pub group: LrGroup,
    /// What the `step` column counts (names the step groups).
    #[serde(default)]
    pub step_unit: StepUnit,
}

impl ConsolidateOptions {
    /// A sentence describing the selection, recorded next to the table.
    pub fn describe(self) -> String {
        match self.rule {
            LrRule::BestMeanDev => {
                let group = match self.group {
                    LrGroup::Step => "pre-training step (all checkpoints at that step)",
                    LrGroup::Checkpoint => "checkpoint id",
                };
                format!(
                    "per ({group}, task, variant): the learning rate with the highest mean of \
                     the primary dev metric after the final epoch over its runs (NaN scores \
                     left out); ties go to the smallest learning rate; all runs of that rate \
                     are kept"
                )
            }
            LrRule::KeepAll => "all done runs are kept, whatever their learning rate".into(),
        }
    }
}

/// One done run's score, the input of [`select_best_lr`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunScore {
    /// The job id.
    pub job_id: String,
    /// Checkpoint id.
    pub checkpoint: String,
    /// The checkpoint group (see [`LrGroup::key`]); runs of one group and variant share a
    /// learning-rate choice.
    pub group: String,
    /// Task variant.
    pub variant: String,
    /// Fine-tuning learning rate.
    pub learning_rate: f64,
    /// Fine-tuning seed (orders the runs; not part of the rule).
    pub finetune_seed: i64,
    /// Primary dev metric after the final epoch (NaN when undefined).
    pub score: f64,
}

/// One learning rate of a group, as the rule saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LrCandidate {
    /// The learning rate.
    pub learning_rate: f64,
    /// Mean score over its scored runs; `None` when none is scored.
    pub mean: Option<f64>,
    /// Done runs at this rate.
    pub runs: usize,
    /// Runs left out of the mean because their score is NaN.
    pub nan_runs: usize,
}

/// The rule's decision for one checkpoint group and variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSelection {
    /// The checkpoint group (see [`LrGroup::key`]).
    pub group: String,
    /// Task variant.
    pub variant: String,
    /// The checkpoint ids in the group, sorted.
    pub checkpoints: Vec<String>,
    /// Every learning rate of the group, ascending.
    pub candidates: Vec<LrCandidate>,
    /// The chosen learning rate.
    pub chosen_learning_rate: f64,
    /// The kept runs, ordered by checkpoint, fine-tuning seed, job id.
    pub jobs: Vec<String>,
}

/// Applies the paper's best-learning-rate rule (see the module documentation) to runs whose
/// `group` is set. Groups come out sorted by (group, variant).
pub fn select_best_lr(runs: &[RunScore]) -> Result<Vec<GroupSelection>> {
    let mut groups: BTreeMap<(&str, &str), Vec<&RunScore>> = BTreeMap::new();
    for r in runs {
        groups
            .entry((r.group.as_str(), r.variant.as_str()))
            .or_default()
            .push(r);
    }
    let mut out = Vec::with_capacity(groups.len());
    for ((group, variant), mut members) in groups {
        // This order fixes the summation order, so means are reproducible to the bit.
        members.sort_by(|a, b| {
            a.learning_rate
                .total_cmp(&b.learning_rate)
                .then(a.checkpoint.cmp(&b.checkpoint))
                .then(a.finetune_seed.cmp(&b.finetune_seed))
                .then(a.job_id.cmp(&b.job_id))
        });
        let mut checkpoints: Vec<String> = members.iter().map(|r| r.checkpoint.clone()).collect();
        checkpoints.sort();
        checkpoints.dedup();
        let mut candidates: Vec<(LrCandidate, Vec<&RunScore>)> = Vec::new();
        for r in members {
            match candidates.last_mut() {
                Some((c, list)) if c.learning_rate.to_bits() == r.learning_rate.to_bits() => {
                    c.runs += 1;
                    list.push(r);
                }
                _ => candidates.push((
                    LrCandidate {
                        learning_rate: r.learning_rate,
                        mean: None,
                        runs: 1,
                        nan_runs: 0,
                    },
                    vec![r],
                )),
            }
        }
        for (c, list) in candidates.iter_mut() {
            let scored: Vec<f64> = list
                .iter()
                .map(|r| r.score)
                .filter(|s| !s.is_nan())
                .collect();
            c.nan_runs = list.len() - scored.len();
            if !scored.is_empty() {
                c.mean = Some(scored.iter().sum::<f64>() / scored.len() as f64);
            }
        }
        let mut best: Option<(usize, f64)> = None;
        for (i, (c, _)) in candidates.iter().enumerate() {
            if let Some(m) = c.mean {
                // Strictly greater: on a tie the earlier (smaller) learning rate stays.
                if best.is_none_or(|(_, bm)| m > bm) {
                    best = Some((i, m));
                }
            }
        }
        let (i, _) = best.ok_or_else(|| CollectorError::Invalid {
            context: format!("group `{group}`, variant `{variant}`"),
            message: "no learning rate has a scored run (every primary dev score is NaN)".into(),
        })?;
        out.push(GroupSelection {
            group: group.to_string(),
            variant: variant.to_string(),
            checkpoints,
            chosen_learning_rate: candidates[i].0.learning_rate,
            jobs: candidates[i].1.iter().map(|r| r.job_id.clone()).collect(),
            candidates: candidates.into_iter().map(|(c, _)| c).collect(),
        });
    }
    Ok(out)
}

/// What [`consolidate_task`] did; also the content of `predictions/<task>.selection.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Consolidation {
    /// The task.
    pub task: String,
    /// The selection rule applied.
    pub rule: LrRule,
    /// Which checkpoints shared a learning-rate choice.
    pub group_by: LrGroup,
    /// The rule in words.
    pub rule_description: String,
    /// The primary dev metric the rule compared (from the jobs' `metrics.json`).
    pub primary_metric: String,
    /// The consolidated table, relative to the manifest's results directory.
    pub table: String,
    /// The sha256 of the table as written, checked whenever it is read back
    /// ([`check_table`]); `None` in records written before it was kept (read unchecked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_sha256: Option<String>,
    /// Done jobs found.
    pub jobs_done: usize,
    /// Job directories without `DONE` (skipped), as `<checkpoint>/<job id>`.
    pub jobs_not_done: Vec<String>,
    /// Jobs whose rows are in the table.
    pub jobs_kept: usize,
    /// Rows in the table.
    pub rows: usize,
    /// The rule's decision per checkpoint group (empty for [`LrRule::KeepAll`]).
    pub groups: Vec<GroupSelection>,
}

/// The done jobs of a task with their dev scores, as the learning-rate rule sees them.
#[derive(Debug, Clone)]
pub struct TaskScores {
    /// The primary dev metric, the same in every job's `metrics.json`.
    pub primary_metric: String,
    /// Done jobs, sorted by (checkpoint, job id).
    pub done: Vec<DoneJob>,
    /// Job directories without `DONE`, as `<checkpoint>/<job id>`.
    pub not_done: Vec<String>,
}

/// One done job: its directory, `DONE` marker and final dev score.
#[derive(Debug, Clone)]
pub struct DoneJob {
    /// The job directory.
    pub dir: JobDir,
    /// Its `DONE` marker.
    pub marker: DoneMarker,
    /// Its identity and final primary dev score (NaN when undefined or missing).
    pub score: RunScore,
}

/// Reads the `DONE` marker and `metrics.json` of every done job of `task`, placing each in its
/// checkpoint group; errors when no job is done or the jobs disagree on the primary metric.
/// `options` name the groups (the rule is not used here).
pub fn task_scores(
    tree: &ResultsTree,
    task: &str,
    options: ConsolidateOptions,
) -> Result<TaskScores> {
    task_scores_of(tree, task, options, &|_: &str| true)
}

/// [`task_scores`] over the jobs whose id `include` accepts. A sweep passes its manifest's job
/// ids, so jobs left in the tree by an earlier version of the manifest (say, before an epochs
/// change) are not mixed into its tables.
pub fn task_scores_of(
    tree: &ResultsTree,
    task: &str,
    options: ConsolidateOptions,
    include: &dyn Fn(&str) -> bool,
) -> Result<TaskScores> {
    let invalid = |message: String| CollectorError::Invalid {
        context: format!("{}/{task}", tree.root().display()),
        message,
    };
    let mut not_done = Vec::new();
    let mut done = Vec::new();
    let mut primary: Option<(String, PathBuf)> = None;
    let mut foreign = 0usize;
    for job in tree.list_task_jobs(task)? {
        let dir = job.dir;
        if !include(dir.job_id()) {
            foreign += 1;
            continue;
        }
        if job.state == JobState::Incomplete {
            tracing::warn!(job = %dir.path().display(), "job not done; left out");
            not_done.push(format!("{}/{}", dir.checkpoint(), dir.job_id()));
            continue;
        }
        let marker = dir.read_done()?;
        let metrics = dir.read_metrics()?;
        match &primary {
            None => primary = Some((metrics.primary_metric.clone(), dir.path().to_path_buf())),
            Some((name, first)) if *name != metrics.primary_metric => {
                return Err(invalid(format!(
                    "jobs disagree on the primary metric: `{name}` in {} but `{}` in {}",
                    first.display(),
                    metrics.primary_metric,
                    dir.path().display()
                )));
            }
            Some(_) => {}
        }
        let score = RunScore {
            job_id: dir.job_id().to_string(),
            checkpoint: dir.checkpoint().to_string(),
            group: options
                .group
                .key(dir.checkpoint(), marker.step, options.step_unit),
            variant: marker.variant.clone(),
            learning_rate: marker.learning_rate,
            finetune_seed: marker.finetune_seed,
            score: metrics.final_primary().unwrap_or(f64::NAN),
        };
        done.push(DoneJob { dir, marker, score });
    }
    if foreign > 0 {
        tracing::info!(
            task,
            jobs = foreign,
            "job folders not in this manifest (an earlier version of it?) left out"
        );
    }
    let Some((primary_metric, _)) = primary else {
        return Err(invalid(format!(
            "no done jobs ({} unfinished)",
            not_done.len()
        )));
    };
    Ok(TaskScores {
        primary_metric,
        done,
        not_done,
    })
}

/// `predictions/<task>.parquet`.
pub fn table_path(tree: &ResultsTree, task: &str) -> PathBuf {
    tree.predictions_dir().join(format!("{task}.parquet"))
}

/// `predictions/<task>.selection.json`.
pub fn selection_path(tree: &ResultsTree, task: &str) -> PathBuf {
    tree.predictions_dir()
        .join(format!("{task}.selection.json"))
}

/// The digest part of a `<task>.selection.json` (other keys ignored).
#[derive(Deserialize)]
struct TableDigest {
    #[serde(default)]
    table_sha256: Option<String>,
}

/// Checks a consolidated table (`…/predictions/<task>.parquet`) against the sha256 that
/// `collect` recorded beside it in `<task>.selection.json`: a damaged or edited table is a
/// [`CollectorError::CorruptTable`] naming it and how to write it again, never results read
/// from its bytes. A file without such a record (a Parquet file of one's own, a table
/// collected before digests were kept) is not checked.
pub fn check_table(table: &Path) -> Result<()> {
    let Some(stem) = table
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".parquet"))
    else {
        return Ok(());
    };
    let selection = table.with_file_name(format!("{stem}.selection.json"));
    if !selection.is_file() {
        return Ok(());
    }
    let record: TableDigest = atomic::read_json(&selection)?;
    let Some(expected) = record.table_sha256 else {
        return Ok(());
    };
    let found = crate::inputs::sha256_file(table)?;
    if found != expected {
        return Err(CollectorError::CorruptTable {
            path: table.to_path_buf(),
            expected,
            found,
            selection,
        });
    }
    Ok(())
}

/// Reads `predictions/<task>.selection.json` written by [`consolidate_task`].
pub fn read_selection(tree: &ResultsTree, task: &str) -> Result<Consolidation> {
    atomic::read_json(&selection_path(tree, task))
}

/// Gathers the done jobs of `task` into `predictions/<task>.parquet` (rows ordered by
/// checkpoint, variant, learning rate, fine-tuning seed, job id, then as each job wrote them),
/// keeping the runs `options` select, then writes `predictions/<task>.selection.json`.
/// Unfinished jobs are skipped and listed. Both files are written atomically.
pub fn consolidate_task(
    tree: &ResultsTree,
    task: &str,
    options: ConsolidateOptions,
) -> Result<Consolidation> {
    consolidate_task_of(tree, task, options, &|_: &str| true)
}

/// [`consolidate_task`] over the jobs whose id `include` accepts (see [`task_scores_of`]).
pub fn consolidate_task_of(
    tree: &ResultsTree,
    task: &str,
    options: ConsolidateOptions,
    include: &dyn Fn(&str) -> bool,
) -> Result<Consolidation> {
    let rule = options.rule;
    let TaskScores {
        primary_metric,
        done,
        not_done,
    } = task_scores_of(tree, task, options, include)?;
    let done: Vec<(RunScore, usize, JobDir)> = done
        .into_iter()
        .map(|d| (d.score, d.marker.rows, d.dir))
        .collect();
    let runs: Vec<RunScore> = done.iter().map(|d| d.0.clone()).collect();
    let groups = match rule {
        LrRule::BestMeanDev => select_best_lr(&runs)?,
        LrRule::KeepAll => Vec::new(),
    };
    let kept: std::collections::HashSet<&str> = match rule {
        LrRule::BestMeanDev => groups
            .iter()
            .flat_map(|g| g.jobs.iter().map(String::as_str))
            .collect(),
        LrRule::KeepAll => runs.iter().map(|r| r.job_id.as_str()).collect(),
    };
    let mut selected: Vec<_> = done
        .iter()
        .filter(|d| kept.contains(d.0.job_id.as_str()))
        .collect();
    selected.sort_by(|a, b| {
        let (a, b) = (&a.0, &b.0);
        a.checkpoint
            .cmp(&b.checkpoint)
            .then(a.variant.cmp(&b.variant))
            .then(a.learning_rate.total_cmp(&b.learning_rate))
            .then(a.finetune_seed.cmp(&b.finetune_seed))
            .then(a.job_id.cmp(&b.job_id))
    });

    let out_dir = tree.predictions_dir();
    std::fs::create_dir_all(&out_dir).map_err(io_err(&out_dir))?;
    let table = table_path(tree, task);
    let mut writer = PredictionsWriter::create(&table)?;
    for (run, expected_rows, dir) in &selected {
        let rows = dir.read_predictions()?;
        if rows.len() != *expected_rows {
            return Err(CollectorError::Mismatch {
                path: dir.path().join(crate::tree::PREDICTIONS_FILE),
                message: format!(
                    "{} rows, but DONE recorded {expected_rows} (job {})",
                    rows.len(),
                    run.job_id
                ),
            });
        }
        writer.write(&rows)?;
    }
    let rows = writer.rows();
    writer.finish()?;
    let table_sha256 = crate::inputs::sha256_file(&table)?;

    let result = Consolidation {
        task: task.to_string(),
        rule,
        group_by: options.group,
        rule_description: options.describe(),
        primary_metric,
        table: format!("predictions/{task}.parquet"),
        table_sha256: Some(table_sha256),
        jobs_done: done.len(),
        jobs_not_done: not_done,
        jobs_kept: selected.len(),
        rows,
        groups,
    };
    atomic::write_json(&selection_path(tree, task), &result)?;
    tracing::info!(
        task,
        rows,
        kept = result.jobs_kept,
        done = result.jobs_done,
        "consolidated"
    );
    Ok(result)
}
