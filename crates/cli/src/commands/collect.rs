//! `multiberts collect`: consolidate each task's done jobs into one predictions table (best-LR
//! rule or keep-all), run the manifest's analyses and write `report/summary.md`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::Context;

use multiberts_bootstrap::{
    Design, Group, Metric, Options, Problem, Report, ReportOptions, RngSpec, Run, multibootstrap,
    report_ci,
};
use multiberts_collector::upstream::{
    CorefExample, RunInfo, UpstreamPredictions, bias_inputs, export_coref,
    export_glue_from_parquet, write_occupation_stats,
};
use multiberts_collector::{
    ConsolidateOptions, Consolidation, LrGroup, LrRule, PredictionRow, ResultsTree,
    consolidate_task_of,
};
use multiberts_manifest::{Analysis, AnalysisKind, Manifest, Selector};
use multiberts_tasks::TaskKind;

use super::load_manifest;
use super::run_job::output_dir;

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
/// `report/<analysis>.json` and `report/summary.md` under `results/<name>/`.
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
    let out = output_dir(&manifest, args.results_dir.as_deref());
    let group = match args.group_by {
        GroupChoice::Step => LrGroup::Step,
        GroupChoice::Checkpoint => LrGroup::Checkpoint,
    };
    let summary =
        collect_and_report_with(&manifest, &out, args.rule, group, args.data_dir.as_deref())?;
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
    out: &Path,
    choice: RuleChoice,
    group: LrGroup,
    data_dir: Option<&Path>,
) -> anyhow::Result<PathBuf> {
    let (results, name) = split_output(out)?;
    let tree = ResultsTree::new(&results, &name)?;
    let mut collected = Vec::new();
    let mut coref: BTreeMap<String, CorefData> = BTreeMap::new();
    // A task listed once per variant is consolidated once (its table holds every variant).
    let mut task_names: Vec<&str> = Vec::new();
    for t in &manifest.tasks {
        if !task_names.contains(&t.name.as_str()) {
            task_names.push(&t.name);
        }
    }
    // Only this manifest's jobs: folders of jobs from an earlier version of the manifest stay on
    // disk (their results are not lost) but do not enter its tables.
    let job_ids: std::collections::HashSet<String> =
        manifest.jobs().into_iter().map(|j| j.id).collect();
    let include = |id: &str| job_ids.contains(id);
    for task_name in task_names {
        let rule = rule_for(manifest, task_name, choice);
        let c = consolidate_task_of(
            &tree,
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
    let report_dir = out.join("report");
    std::fs::create_dir_all(&report_dir)
        .with_context(|| format!("cannot create {}", report_dir.display()))?;
    let mut md = String::new();
    let _ = writeln!(md, "# {}: results\n", manifest.name);
    if !manifest.description.is_empty() {
        let _ = writeln!(md, "{}\n", manifest.description);
    }
    let _ = writeln!(
        md,
        "Per task and learning rate: the primary dev metric of each run, mean ± sd across runs \
         (pre-training × fine-tuning seeds), and a {}% Multi-Bootstrap interval that resamples \
         pre-training seeds and dev examples ({} draws).\n",
        95, SUMMARY_NBOOT
    );
    let _ = writeln!(
        md,
        "| task | metric | learning rate | runs | seeds | mean ± sd | bootstrap 95% CI |\n|---|---|---|---|---|---|---|"
    );
    for c in &collected {
        for line in task_rows(&tree, c, coref.get(&c.task))? {
            md.push_str(&line);
            md.push('\n');
        }
    }
    if !manifest.analyses.is_empty() {
        let _ = writeln!(md, "\n## Analyses\n");
        let _ = writeln!(
            md,
            "| analysis | kind | task | metric | base | experiment | delta (CI) | p |\n|---|---|---|---|---|---|---|---|"
        );
        for a in &manifest.analyses {
            let report = run_analysis(&tree, a, coref.get(&a.task))
                .with_context(|| format!("analysis `{}` failed", a.name))?;
            let path = report_dir.join(format!("{}.json", a.name));
            multiberts_collector::atomic::write_json(&path, &report)?;
            let iv = |i: &multiberts_bootstrap::Interval| {
                format!("{:.4} [{:.4}, {:.4}]", i.mean, i.low, i.high)
            };
            let _ = writeln!(
                md,
                "| {} | {:?} | {} | {} | {} | {} | {} | {} |",
                a.name,
                a.kind,
                a.task,
                a.metric,
                iv(&report.base),
                report.expt.as_ref().map_or("".into(), iv),
                report.delta.map_or("".into(), |d| format!(
                    "{:+.4} [{:+.4}, {:+.4}]",
                    d.mean, d.low, d.high
                )),
                report.delta.map_or("".into(), |d| format!("{:.3}", d.p)),
            );
            println!(
                "analysis {} ({:?}, {}):\n{}",
                a.name,
                a.kind,
                a.task,
                report.render()
            );
        }
    }
    let summary = report_dir.join("summary.md");
    multiberts_collector::atomic::write_bytes(&summary, md.as_bytes())?;
    Ok(summary)
}

/// Draws of the per-task intervals in the summary.
const SUMMARY_NBOOT: usize = 1000;

fn split_output(out: &Path) -> anyhow::Result<(PathBuf, String)> {
    match (out.parent(), out.file_name()) {
        (Some(p), Some(n)) => Ok((p.to_path_buf(), n.to_string_lossy().into_owned())),
        _ => anyhow::bail!("bad results directory {}", out.display()),
    }
}

/// The runs of a consolidated table: (first row of the run, predictions), in table order.
struct Runs {
    labels: Vec<f64>,
    runs: Vec<(PredictionRow, Vec<f64>)>,
}

fn read_runs(path: &Path) -> anyhow::Result<Runs> {
    let rows = multiberts_collector::read_predictions(path)?;
    let mut runs: Vec<(PredictionRow, Vec<f64>)> = Vec::new();
    let mut labels: Vec<f64> = Vec::new();
    for r in rows {
        if runs
            .last()
            .is_none_or(|(first, _)| first.job_id != r.job_id)
        {
            runs.push((r.clone(), Vec::new()));
        }
        let (first, preds) = runs.last_mut().context("no run")?;
        let i = usize::try_from(r.example_index)?;
        if i != preds.len() {
            anyhow::bail!(
                "{}: job {} lists example {} out of order",
                path.display(),
                first.job_id,
                i
            );
        }
        preds.push(r.prediction);
        if runs.len() == 1 {
            labels.push(r.label);
        }
    }
    for (first, preds) in &runs {
        if preds.len() != labels.len() {
            anyhow::bail!(
                "{}: job {} has {} predictions, the first job {}",
                path.display(),
                first.job_id,
                preds.len(),
                labels.len()
            );
        }
    }
    Ok(Runs { labels, runs })
}

fn field(row: &PredictionRow, key: &str) -> Option<String> {
    Some(match key {
        "task" => row.task.clone(),
        "variant" => row.variant.clone(),
        "checkpoint" => row.checkpoint.clone(),
        "pretrain_seed" => row.pretrain_seed?.to_string(),
        "step" => row.step?.to_string(),
        "learning_rate" => row.learning_rate.to_string(),
        "finetune_seed" => row.finetune_seed.to_string(),
        _ => return None,
    })
}

/// The pre-training seed the bootstrap resamples: the recorded one, else one per checkpoint.
fn seed_of(row: &PredictionRow, checkpoints: &mut Vec<String>) -> u64 {
    match row.pretrain_seed.and_then(|s| u64::try_from(s).ok()) {
        Some(s) => s,
        None => {
            let pos = checkpoints.iter().position(|c| *c == row.checkpoint);
            let k = pos.unwrap_or_else(|| {
                checkpoints.push(row.checkpoint.clone());
                checkpoints.len() - 1
            });
            1_000_000_000 + k as u64
        }
    }
}

fn problem(runs: &Runs, sides: &[(Group, &Selector)]) -> anyhow::Result<Problem> {
    let mut preds = Vec::new();
    let mut meta = Vec::new();
    let mut checkpoints = Vec::new();
    for (first, p) in &runs.runs {
        for (group, sel) in sides {
            if sel.matches(|k| field(first, k)) {
                preds.extend_from_slice(p);
                meta.push(Run {
                    seed: seed_of(first, &mut checkpoints),
                    group: *group,
                });
            }
        }
    }
    Ok(Problem::new(runs.labels.clone(), preds, meta)?)
}

fn run_analysis(
    tree: &ResultsTree,
    a: &Analysis,
    coref: Option<&CorefData>,
) -> anyhow::Result<Report> {
    let path = multiberts_collector::consolidate::table_path(tree, &a.task);
    let metric = Metric::from_str(&a.metric)?;
    let design = match a.kind {
        AnalysisKind::Single => Design::Single,
        AnalysisKind::Paired => Design::Paired,
        AnalysisKind::Unpaired => Design::Unpaired,
    };
    let mut sides = vec![(Group::Base, &a.base)];
    if let Some(e) = &a.experiment {
        sides.push((Group::Expt, e));
    }
    let problem = if is_bias(metric) {
        let data = coref.with_context(|| {
            format!(
                "metric {metric} needs Winogender metadata, and task `{}` has none (its \
                 evaluation examples carry no choice items with occupation and gender, or its \
                 data was not found: pass --data-dir or set MULTIBERTS_DATA)",
                a.task
            )
        })?;
        bias_problem(data, &sides)?
    } else {
        problem(&read_runs(&path)?, &sides)?
    };
    let options = Options {
        design,
        nboot: a.nboot as usize,
        sample_seeds: a.sample_seeds,
        sample_examples: a.sample_examples,
        resample_runs: false,
        rng: RngSpec::from_str(&a.rng).map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    let samples = multibootstrap(&problem, metric, &options)?;
    Ok(report_ci(
        &samples,
        &ReportOptions {
            level: a.level,
            abs_threshold: a.abs_threshold,
            rel_threshold: a.rel_threshold,
            expect_negative_effect: a.expect_negative_effect,
        },
    )?)
}

fn is_bias(metric: Metric) -> bool {
    matches!(metric, Metric::BiasR | Metric::BiasSlope)
}

/// A Winogender-evaluated task's consolidated runs with the per-sentence metadata, the BLS
/// shares and the per-run bias scores.
pub(crate) struct CorefData {
    predictions: UpstreamPredictions,
    bls_pct_female: BTreeMap<String, f64>,
    bias: multiberts_collector::upstream::BiasInputs,
}

/// The coref data of `task` when its evaluation split is made of Winogender-like choice items
/// (span-pair examples with `choice` and `occupation`/`gender` metadata); `None` otherwise.
fn coref_data(
    manifest: &Manifest,
    task: &str,
    table: &Path,
    data_dir: Option<&Path>,
) -> anyhow::Result<Option<CorefData>> {
    let spec = manifest.registry.get(task)?;
    if spec.kind != TaskKind::SpanPair {
        return Ok(None);
    }
    let root = multiberts_tasks::data_root(data_dir, manifest.data_dir.as_deref())
        .unwrap_or_else(|| PathBuf::from("."));
    // Without its data the export is skipped, not the whole collection: the tables and the
    // other analyses stand, and an analysis needing the metadata says so.
    let eval = match spec.load_split(&root, &spec.eval_split) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(
                task,
                error = %e,
                "cannot read the evaluation split for the coref export; pass --data-dir or set \
                 MULTIBERTS_DATA"
            );
            return Ok(None);
        }
    };
    let mut by_group: BTreeMap<String, CorefExample> = BTreeMap::new();
    let mut bls: BTreeMap<String, f64> = BTreeMap::new();
    for e in &eval.examples {
        let Some(choice) = e.choice.as_ref().filter(|c| c.candidate == 0) else {
            continue;
        };
        if !(e.meta.contains_key("occupation") && e.meta.contains_key("gender")) {
            return Ok(None);
        }
        let ex = CorefExample::from_meta(&e.meta)
            .map_err(|m| anyhow::anyhow!("example `{}` of task `{task}`: {m}", e.id))?;
        if let Some(p) = e.meta.get("bls_pct_female") {
            let v: f64 = p.parse().with_context(|| {
                format!("example `{}`: bls_pct_female {p:?} is not a number", e.id)
            })?;
            bls.insert(ex.occupation.clone(), v);
        }
        by_group.insert(choice.group.clone(), ex);
    }
    if by_group.is_empty() {
        return Ok(None);
    }
    let mut predictions = UpstreamPredictions::from_parquet(table, |_| true)?;
    let rows = multiberts_collector::read_predictions(table)?;
    let first = rows.first().map(|r| r.job_id.clone()).unwrap_or_default();
    let mut ids: Vec<(i64, &str)> = rows
        .iter()
        .filter(|r| r.job_id == first)
        .map(|r| (r.example_index, r.example_id.as_str()))
        .collect();
    ids.sort_unstable();
    let examples = ids
        .iter()
        .map(|(_, id)| {
            by_group.get(*id).cloned().with_context(|| {
                format!(
                    "{}: row `{id}` is not a sentence of the evaluation split of `{task}`",
                    table.display()
                )
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    predictions.coref_examples = Some(examples);
    let bias = bias_inputs(&predictions, &bls)?;
    Ok(Some(CorefData {
        predictions,
        bls_pct_female: bls,
        bias,
    }))
}

/// A run's value for a manifest selector key.
fn run_field(task: &str, run: &RunInfo, key: &str) -> Option<String> {
    Some(match key {
        "task" => task.to_string(),
        "variant" => run.keys.get("variant").cloned().unwrap_or_default(),
        "checkpoint" => run.keys.get("checkpoint")?.clone(),
        "pretrain_seed" => run.pretrain_seed?.to_string(),
        "step" => run.step_thousands()?.to_string(),
        "learning_rate" => run.learning_rate?.to_string(),
        "finetune_seed" => run.finetune_seed?.to_string(),
        _ => return None,
    })
}

/// The bootstrap problem of a bias metric: per run, the occupations' bias scores; the
/// examples are the occupations, their labels the BLS shares.
fn bias_problem(data: &CorefData, sides: &[(Group, &Selector)]) -> anyhow::Result<Problem> {
    let mut preds = Vec::new();
    let mut meta = Vec::new();
    let mut checkpoints: Vec<String> = Vec::new();
    let task = data.predictions.task.as_str();
    for (r, run) in data.predictions.runs.iter().enumerate() {
        for (group, sel) in sides {
            if sel.matches(|k| run_field(task, run, k)) {
                preds.extend_from_slice(data.bias.scores.row(r));
                let seed = match run.pretrain_seed.and_then(|s| u64::try_from(s).ok()) {
                    Some(s) => s,
                    None => {
                        let id = run.keys.get("checkpoint").cloned().unwrap_or_default();
                        let k = checkpoints
                            .iter()
                            .position(|c| *c == id)
                            .unwrap_or_else(|| {
                                checkpoints.push(id);
                                checkpoints.len() - 1
                            });
                        1_000_000_000 + k as u64
                    }
                };
                meta.push(Run {
                    seed,
                    group: *group,
                });
            }
        }
    }
    Ok(Problem::new(data.bias.shares.clone(), preds, meta)?)
}

/// Mean ± sd of per-run scores and a single-procedure bootstrap interval, as one summary row.
fn summary_row(
    label: &str,
    metric: Metric,
    lr: f64,
    scores: &[f64],
    problem: &Problem,
) -> anyhow::Result<String> {
    // Runs whose metric is undefined (e.g. bias r of a run whose bias scores are all equal)
    // are left out of the mean and sd, as pandas' mean does.
    let defined: Vec<f64> = scores.iter().copied().filter(|s| !s.is_nan()).collect();
    let n = defined.len() as f64;
    let mean = defined.iter().sum::<f64>() / n;
    let sd = if defined.len() > 1 {
        (defined.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        f64::NAN
    };
    let seeds = {
        let mut s: Vec<u64> = problem.runs().iter().map(|r| r.seed).collect();
        s.sort_unstable();
        s.dedup();
        s.len()
    };
    let options = Options {
        design: Design::Single,
        nboot: SUMMARY_NBOOT,
        ..Options::default()
    };
    let samples = multibootstrap(problem, metric, &options)?;
    let report = report_ci(&samples, &ReportOptions::default())?;
    let interval = if report.base.low.is_finite() && report.base.high.is_finite() {
        format!("[{:.4}, {:.4}]", report.base.low, report.base.high)
    } else {
        // A draw's estimate averages every run it holds, so one run with an undefined metric
        // (bias r of constant bias scores) makes every draw undefined.
        "undefined (a run's metric is undefined)".to_string()
    };
    Ok(format!(
        "| {label} | {metric} | {lr:e} | {} | {seeds} | {mean:.4} ± {sd:.4} | {interval} |",
        scores.len(),
    ))
}

/// Summary rows of one task: one per (variant, learning rate) in its table, plus bias r for a
/// Winogender-evaluated task.
fn task_rows(
    tree: &ResultsTree,
    c: &Consolidation,
    coref: Option<&CorefData>,
) -> anyhow::Result<Vec<String>> {
    let path = multiberts_collector::consolidate::table_path(tree, &c.task);
    let runs = read_runs(&path)?;
    let metric = Metric::from_str(&c.primary_metric)?;
    let mut groups: BTreeMap<(String, u64), Vec<usize>> = BTreeMap::new();
    for (i, (first, _)) in runs.runs.iter().enumerate() {
        groups
            .entry((first.variant.clone(), first.learning_rate.to_bits()))
            .or_default()
            .push(i);
    }
    let mut lines = Vec::new();
    for ((variant, bits), idx) in groups {
        let lr = f64::from_bits(bits);
        let label = if variant.is_empty() {
            c.task.clone()
        } else {
            format!("{}[{variant}]", c.task)
        };
        let sel = Selector {
            conditions: vec![
                ("variant".into(), variant.clone()),
                ("learning_rate".into(), lr.to_string()),
            ],
        };
        let side = [(Group::Base, &sel)];
        if !is_bias(metric) {
            let scores: Vec<f64> = idx
                .iter()
                .map(|&i| metric.compute(&runs.labels, &runs.runs[i].1, None))
                .collect::<Result<_, _>>()?;
            lines.push(summary_row(
                &label,
                metric,
                lr,
                &scores,
                &problem(&runs, &side)?,
            )?);
        }
        if let Some(data) = coref {
            let task = data.predictions.task.as_str();
            let rows: Vec<usize> = (0..data.predictions.runs.len())
                .filter(|&r| sel.matches(|k| run_field(task, &data.predictions.runs[r], k)))
                .collect();
            let bias = bias_problem(data, &side)?;
            for m in [Metric::BiasR, Metric::BiasSlope] {
                let scores: Vec<f64> = rows
                    .iter()
                    .map(|&r| m.compute(&data.bias.shares, data.bias.scores.row(r), None))
                    .collect::<Result<_, _>>()?;
                lines.push(summary_row(&label, m, lr, &scores, &bias)?);
            }
        }
    }
    Ok(lines)
}
