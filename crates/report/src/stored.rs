//! Multi-Bootstrap analyses of stored predictions, as `multiberts bootstrap` runs them: our
//! predictions Parquet, the upstream GLUE layout, the upstream SQuAD layout (scored against
//! the dev file) or the upstream coref layout (one folder, or two for the two groups). Every source is read into the collector's neutral
//! `UpstreamPredictions`; `base` and `expt` selectors (`key=value,…`) pick each side's runs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use multiberts_bootstrap::{
    Design, Group, Metric, Options, Problem, Report, ReportOptions, RngSpec, Run, Samples,
    multibootstrap, report_ci,
};
use multiberts_collector::upstream::{
    GoldQuestion, RunInfo, SpanScore, UpstreamPredictions, import_coref, import_glue, import_squad,
    read_occupation_stats,
};
use multiberts_manifest::Selector;

use crate::error::{ReportError, Result, WithContext};
use crate::format_ints;

/// One analysis of stored predictions: where they are, which runs form each side, and the
/// bootstrap's options. The fields are `multiberts bootstrap`'s options, one for one.
#[derive(Debug, Clone)]
pub struct StoredAnalysis {
    /// Our predictions Parquet (one row per run × example).
    pub predictions: Option<PathBuf>,
    /// Upstream GLUE layout root (with `task`).
    pub glue: Option<PathBuf>,
    /// Upstream SQuAD layout root (with `task`, default `v2.0`, and `squad_data`).
    pub squad: Option<PathBuf>,
    /// The SQuAD dev file whose gold answers score the SQuAD layout's answers.
    pub squad_data: Option<PathBuf>,
    /// For span predictions (SQuAD layout, or a span task's Parquet): the per-question score
    /// whose mean is the metric (then `metric` is `mean`).
    pub span_score: Option<SpanScore>,
    /// Upstream coref folder: the base group, or both groups when selectors split it.
    pub coref: Option<PathBuf>,
    /// A second upstream coref folder holding the experiment group.
    pub coref_expt: Option<PathBuf>,
    /// The task (GLUE: as in index.tsv; Parquet: the task column).
    pub task: Option<String>,
    /// Selector of the baseline's runs; default: every run the experiment does not select.
    pub base: Option<String>,
    /// Selector of the experiment's runs; none (and no `coref_expt`): a single analysis.
    pub expt: Option<String>,
    /// The metric.
    pub metric: Metric,
    /// Paired seeds (one seed draw for both sides).
    pub paired: bool,
    /// Unpaired seeds (independent draws per side).
    pub unpaired: bool,
    /// Run key holding the pre-training seed.
    pub seed_key: String,
    /// Bootstrap draws.
    pub nboot: usize,
    /// Confidence level.
    pub level: f64,
    /// Random numbers.
    pub rng: RngSpec,
    /// Do not resample pre-training seeds.
    pub no_sample_seeds: bool,
    /// Do not resample examples.
    pub no_sample_examples: bool,
    /// Also resample fine-tuning runs within each drawn seed.
    pub resample_runs: bool,
    /// Test for a negative effect.
    pub expect_negative_effect: bool,
    /// Also report P(L' - L >= A).
    pub abs_threshold: Option<f64>,
    /// Also report P((L' - L)/L >= R).
    pub rel_threshold: Option<f64>,
    /// Winogender occupations-stats.tsv, for `bias_r`/`bias_slope`.
    pub occupation_stats: Option<PathBuf>,
}

/// `return Err(ReportError::Request(format!(…)))`.
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err(ReportError::Request(format!($($arg)*)))
    };
}

/// `bail!` unless the condition holds.
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            bail!($($arg)*);
        }
    };
}

/// What one analysis produced.
#[derive(Debug)]
pub struct Outcome {
    /// Where the predictions came from, for the heading.
    pub source: String,
    /// The bootstrap draws and the runs and seeds behind them.
    pub samples: Samples,
    /// Intervals and p-values (`report_ci`).
    pub report: Report,
}

impl Outcome {
    /// The result as text: heading, runs and seeds per side, warnings, the report and the
    /// procedure's signature.
    pub fn text(&self) -> String {
        let s = &self.samples;
        let sig = &self.report.signature;
        let mut t = format!(
            "Multibootstrap ({}) of {} on {} examples from {}\n",
            sig.design, sig.metric, s.n_examples, self.source
        );
        t += &format!(
            "  Base: {} runs, {} seeds ({})\n",
            s.base_runs,
            s.base_seeds.len(),
            format_ints(&s.base_seeds)
        );
        if s.expt.is_some() {
            t += &format!(
                "  Expt: {} runs, {} seeds ({})\n",
                s.expt_runs,
                s.expt_seeds.len(),
                format_ints(&s.expt_seeds)
            );
        }
        for g in [Group::Base, Group::Expt] {
            let seeds: Vec<u64> = s
                .dropped_seeds
                .iter()
                .filter(|d| d.group == g)
                .map(|d| d.seed)
                .collect();
            if !seeds.is_empty() {
                let side = if g == Group::Base { "base" } else { "expt" };
                t += &format!(
                    "  Warning: {} seeds found on {side} side only; omitted from the paired analysis: {}\n",
                    seeds.len(),
                    format_ints(&seeds)
                );
            }
        }
        t += &self.report.render();
        t += &format!("signature: {}\n", self.report.signature);
        t
    }

    /// The result as JSON.
    pub fn json(&self) -> serde_json::Value {
        let s = &self.samples;
        serde_json::json!({
            "signature": self.report.signature.to_string(),
            "source": self.source,
            "n_examples": s.n_examples,
            "base_runs": s.base_runs,
            "expt_runs": s.expt_runs,
            "base_seeds": s.base_seeds,
            "expt_seeds": s.expt_seeds,
            "dropped_seeds": s.dropped_seeds,
            "report": self.report,
        })
    }
}

/// Runs `a`: reads its predictions, picks each side's runs, and runs the Multi-Bootstrap.
pub fn run_stored(a: &StoredAnalysis) -> Result<Outcome> {
    let base_sel = a.base.as_deref().map(parse_selector).transpose()?;
    let expt_sel = a.expt.as_deref().map(parse_selector).transpose()?;
    let (data, expt_data, source) = load(a, [&base_sel, &expt_sel])?;
    // A span task's runs are scored per question (exact or F1, averaged by `mean`); `f1` on
    // them is SQuAD's token F1, not the binary F1 of "answered".
    let span_score = a
        .span_score
        .or_else(|| (data.answers.is_some() && a.metric == Metric::F1).then_some(SpanScore::F1));
    ensure!(
        data.answers.is_none() || span_score.is_some(),
        "{source} holds a span task's answers: use --metric exact or --metric f1"
    );
    let (data, metric) = match span_score {
        Some(score) => (
            data.with_span_score(score)
                .with_context(|| format!("cannot score the answers of {source}"))?,
            Metric::Mean,
        ),
        None => (data, a.metric),
    };
    let two_sided = expt_sel.is_some() || expt_data.is_some();
    let design = match (two_sided, a.paired, a.unpaired) {
        (false, true, _) | (false, _, true) => {
            bail!("--paired/--unpaired need an experiment side (--expt or --coref-expt)")
        }
        (false, ..) => Design::Single,
        (true, true, _) => Design::Paired,
        (true, ..) => Design::Unpaired,
    };

    // Each side: (data, row indices).
    let mut sides: Vec<(&UpstreamPredictions, Vec<usize>, Group)> = Vec::new();
    match &expt_data {
        Some(e) => {
            sides.push((&data, select(&data, base_sel.as_ref())?, Group::Base));
            sides.push((e, select(e, expt_sel.as_ref())?, Group::Expt));
        }
        None => {
            let expt_rows = match &expt_sel {
                Some(sel) => select(&data, Some(sel))?,
                None => Vec::new(),
            };
            let base_rows = match &base_sel {
                Some(sel) => select(&data, Some(sel))?,
                None => (0..data.runs.len())
                    .filter(|r| !expt_rows.contains(r))
                    .collect(),
            };
            if let Some(r) = base_rows.iter().find(|r| expt_rows.contains(r)) {
                bail!(
                    "run {r} matches both --base and --expt; make the selectors exclusive \
                     (e.g. add step=… or release=…)"
                );
            }
            sides.push((&data, base_rows, Group::Base));
            if expt_sel.is_some() {
                sides.push((&data, expt_rows, Group::Expt));
            }
        }
    }
    for (_, rows, g) in &sides {
        ensure!(
            !rows.is_empty(),
            "no runs selected for the {} side (selector {:?})",
            if *g == Group::Base {
                "base"
            } else {
                "experiment"
            },
            if *g == Group::Base {
                a.base.as_deref()
            } else {
                a.expt.as_deref()
            }
            .unwrap_or("<all>")
        );
    }
    if let (Some(e), true) = (&expt_data, sides.len() == 2) {
        check_same_examples(&data, e)?;
    }

    let (labels, matrices) = match metric {
        Metric::BiasR | Metric::BiasSlope => {
            // An exported coref folder carries its own occupations-stats.tsv.
            let beside = a
                .coref
                .as_ref()
                .map(|d| d.join("occupations-stats.tsv"))
                .filter(|p| p.is_file());
            let stats = a.occupation_stats.clone().or(beside).with_context(|| {
                format!(
                    "metric {} needs --occupation-stats (Winogender occupations-stats.tsv)",
                    a.metric
                )
            })?;
            bias_inputs(&sides, &stats)?
        }
        _ => (
            data.labels.clone(),
            sides
                .iter()
                .map(|(d, rows, _)| {
                    rows.iter()
                        .map(|&r| d.predictions.row(r).to_vec())
                        .collect()
                })
                .collect(),
        ),
    };

    let mut runs = Vec::new();
    let mut preds = Vec::new();
    for ((d, rows, group), rows_preds) in sides.iter().zip(matrices) {
        for (&r, p) in rows.iter().zip(rows_preds) {
            runs.push(Run {
                seed: seed_of(&d.runs[r], &a.seed_key, r)?,
                group: *group,
            });
            preds.extend(p);
        }
    }
    let problem = Problem::new(labels, preds, runs)?;
    let opts = Options {
        design,
        nboot: a.nboot,
        sample_seeds: !a.no_sample_seeds,
        sample_examples: !a.no_sample_examples,
        resample_runs: a.resample_runs,
        rng: a.rng,
    };
    let samples = multibootstrap(&problem, metric, &opts)?;
    let report = report_ci(
        &samples,
        &ReportOptions {
            level: a.level,
            abs_threshold: a.abs_threshold,
            rel_threshold: a.rel_threshold,
            expect_negative_effect: a.expect_negative_effect,
        },
    )?;
    Ok(Outcome {
        source,
        samples,
        report,
    })
}

type Loaded = (UpstreamPredictions, Option<UpstreamPredictions>, String);

fn load(a: &StoredAnalysis, sels: [&Option<Selector>; 2]) -> Result<Loaded> {
    if let Some(path) = &a.predictions {
        let rows = multiberts_collector::read_predictions(path)
            .with_context(|| format!("cannot read predictions {}", path.display()))?;
        // The task: --task, else a task= selector, else the only task in the file.
        let mut wanted: BTreeSet<String> = a.task.iter().cloned().collect();
        for sel in sels.into_iter().flatten() {
            wanted.extend(sel.get("task").map(str::to_string));
        }
        let tasks: BTreeSet<String> = rows.iter().map(|r| r.task.clone()).collect();
        let task = match wanted.len() {
            0 if tasks.len() == 1 => tasks.iter().next().cloned(),
            0 => None,
            1 => wanted.into_iter().next(),
            _ => bail!("base and experiment must be on the same task; got {wanted:?}"),
        };
        let Some(task) = task else {
            bail!(
                "{} holds several tasks ({}); choose one with --task or task=… in a selector",
                path.display(),
                tasks.iter().cloned().collect::<Vec<_>>().join(", ")
            );
        };
        let rows: Vec<_> = rows
            .into_iter()
            .filter(|r| r.task.eq_ignore_ascii_case(&task))
            .collect();
        ensure!(
            !rows.is_empty(),
            "{} has no rows of task {task:?} (tasks: {})",
            path.display(),
            tasks.iter().cloned().collect::<Vec<_>>().join(", ")
        );
        let data = UpstreamPredictions::from_prediction_rows(&rows)
            .with_context(|| format!("in {}", path.display()))?;
        return Ok((data, None, path.display().to_string()));
    }
    if let Some(root) = &a.glue {
        let task = a.task.as_deref().unwrap_or_default();
        let data = import_glue(root, task)
            .with_context(|| format!("cannot read the GLUE layout under {}", root.display()))?;
        return Ok((data, None, format!("{} ({task})", root.display())));
    }
    if let Some(root) = &a.squad {
        let task = a.task.as_deref().unwrap_or("v2.0");
        let Some(dev) = &a.squad_data else {
            bail!("--squad needs --data DEV.json: the dev file whose gold answers score the runs")
        };
        let golds = squad_golds(dev)?;
        let data = import_squad(root, task, &golds)
            .with_context(|| format!("cannot read the SQuAD layout under {}", root.display()))?;
        return Ok((data, None, format!("{} ({task})", root.display())));
    }
    if let Some(dir) = &a.coref {
        let base = import_coref(dir)
            .with_context(|| format!("cannot read the coref layout in {}", dir.display()))?;
        let expt = match &a.coref_expt {
            Some(e) => Some(
                import_coref(e)
                    .with_context(|| format!("cannot read the coref layout in {}", e.display()))?,
            ),
            None => None,
        };
        let source = match &a.coref_expt {
            Some(e) => format!("{} vs {}", dir.display(), e.display()),
            None => dir.display().to_string(),
        };
        return Ok((base, expt, source));
    }
    bail!(
        "no predictions given: pass --predictions FILE, --glue DIR --task T, --squad DIR --data \
         DEV.json, or --coref DIR"
    )
}

/// The questions of a SQuAD dev file with their gold answers, in file order.
fn squad_golds(dev: &Path) -> Result<Vec<GoldQuestion>> {
    let data = multiberts_tasks::squad::read_squad(dev)?;
    Ok(data
        .questions
        .into_iter()
        .map(|q| GoldQuestion {
            id: q.id,
            answers: q.answers.into_iter().map(|a| a.text).collect(),
        })
        .collect())
}

/// Parses a `--base`/`--expt` selector: any key the source's runs have (checked by [`select`]);
/// an explicitly empty one is a mistake, not "every run".
pub fn parse_selector(text: &str) -> Result<Selector> {
    let sel = Selector::parse_open(text)?;
    ensure!(!sel.conditions.is_empty(), "empty selector {text:?}");
    Ok(sel)
}

/// Rows of `data` matching `sel` (all rows when None). Keys neither typed nor a column of the
/// runs are errors.
fn select(data: &UpstreamPredictions, sel: Option<&Selector>) -> Result<Vec<usize>> {
    let Some(sel) = sel else {
        return Ok((0..data.runs.len()).collect());
    };
    let extra: BTreeSet<&str> = data
        .runs
        .iter()
        .flat_map(|r| r.keys.keys().map(String::as_str))
        .collect();
    sel.check_keys(extra)?;
    Ok(data
        .runs
        .iter()
        .enumerate()
        .filter(|(_, run)| {
            sel.matches(|k| match k {
                "task" => Some(data.task.clone()),
                _ => run.get(k),
            })
        })
        .map(|(r, _)| r)
        .collect())
}

fn seed_of(run: &RunInfo, key: &str, row: usize) -> Result<u64> {
    let key = if key == "seed" { "pretrain_seed" } else { key };
    let value = run
        .get(key)
        .with_context(|| format!("run {row} has no `{key}` (the seed key, see --seed-key)"))?;
    value.parse::<u64>().ok().with_context(|| {
        format!("run {row}: seed `{key}` = {value:?} is not a non-negative integer")
    })
}

fn check_same_examples(a: &UpstreamPredictions, b: &UpstreamPredictions) -> Result<()> {
    ensure!(
        a.labels.len() == b.labels.len(),
        "base has {} examples but experiment has {}: both sides must be evaluated on the same examples",
        a.labels.len(),
        b.labels.len()
    );
    if let Some(i) = (0..a.labels.len()).find(|&i| a.labels[i] != b.labels[i]) {
        bail!(
            "example {i} has label {} on the base side but {} on the experiment side",
            a.labels[i],
            b.labels[i]
        );
    }
    if let (Some(x), Some(y)) = (&a.coref_examples, &b.coref_examples)
        && let Some(i) = (0..x.len()).find(|&i| x[i] != y[i])
    {
        bail!("sentence {i} differs between the base and experiment label_info.tsv");
    }
    Ok(())
}

/// The prediction rows of one side (runs × examples).
type SideRows = Vec<Vec<f64>>;

/// Per-run Winogender bias scores (runs × occupations, occupations sorted by name) and the BLS
/// share of women per occupation: the bootstrap's examples are then the occupations.
fn bias_inputs(
    sides: &[(&UpstreamPredictions, Vec<usize>, Group)],
    stats: &Path,
) -> Result<(Vec<f64>, Vec<SideRows>)> {
    let bls = read_occupation_stats(stats)?;
    let mut matrices = Vec::new();
    let mut labels = Vec::new();
    for (d, rows, _) in sides {
        ensure!(
            d.coref_examples.is_some(),
            "bias_r/bias_slope need Winogender sentence metadata: use a --coref layout"
        );
        let b = multiberts_collector::upstream::bias_inputs(d, &bls)
            .with_context(|| format!("with the BLS shares of {}", stats.display()))?;
        labels = b.shares;
        matrices.push(rows.iter().map(|&r| b.scores.row(r).to_vec()).collect());
    }
    Ok((labels, matrices))
}
