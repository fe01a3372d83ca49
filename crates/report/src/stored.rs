//! Multi-Bootstrap analyses of stored predictions, as `multiberts bootstrap` runs them: a
//! [`LayoutReader`] reader per side (our predictions Parquet, the upstream GLUE layout, the upstream
//! SQuAD layout scored against its dev file, the upstream coref layout: one folder, or two for
//! the two groups), `base` and `expt` selectors
//! (`key=value,…`), then the analysis engine ([`crate::engine`]).

use std::collections::BTreeMap;
use std::path::PathBuf;

use multiberts_bootstrap::{
    Design, Group, Metric, Options, Report, ReportOptions, RngSpec, Samples,
};
use multiberts_collector::upstream::{SpanScore, UpstreamPredictions, read_occupation_stats};
use multiberts_manifest::Selector;

use crate::engine::{Request, Side, analyse, bias_view, check_same_examples};
use crate::error::{ReportError, Result, WithContext};
use crate::family::Comparison;
use crate::format_ints;
use crate::layouts::LayoutReader;

/// One analysis of stored predictions: where they are, which runs form each side, and the
/// bootstrap's options. The fields are `multiberts bootstrap`'s options, one for one.
#[derive(Debug)]
pub struct StoredAnalysis {
    /// The predictions: the base group, or both groups when selectors split them.
    pub layout: Box<dyn LayoutReader>,
    /// A second source holding the experiment group (e.g. a second coref folder).
    pub expt_layout: Option<Box<dyn LayoutReader>>,
    /// The task (GLUE: as in index.tsv; Parquet: the task column).
    pub task: Option<String>,
    /// Selector of the baseline's runs; default: every run the experiment does not select.
    pub base: Option<String>,
    /// Selector of the experiment's runs; none (and no `coref_expt`): a single analysis.
    pub expt: Option<String>,
    /// The metric.
    pub metric: Metric,
    /// For span answers (the SQuAD layout, or a span task's Parquet): the per-question score
    /// whose mean is the metric (then `metric` is `mean`). `f1` on span answers always means
    /// SQuAD's token F1.
    pub span_score: Option<SpanScore>,
    /// The bootstrap's options.
    pub options: BootstrapOptions,
}

/// The options of one Multi-Bootstrap analysis of stored predictions, shared by a
/// [`StoredAnalysis`] and a `multiberts bootstrap` call ([`crate::BootstrapCall`]); the
/// default is the command's.
#[derive(Debug, Clone, PartialEq)]
pub struct BootstrapOptions {
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

impl Default for BootstrapOptions {
    fn default() -> Self {
        Self {
            paired: false,
            unpaired: false,
            seed_key: "pretrain_seed".into(),
            nboot: 1000,
            level: 0.95,
            rng: RngSpec::default(),
            no_sample_seeds: false,
            no_sample_examples: false,
            resample_runs: false,
            expect_negative_effect: false,
            abs_threshold: None,
            rel_threshold: None,
            occupation_stats: None,
        }
    }
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

/// Runs `a`: reads its predictions, picks each side's runs, and runs the engine.
pub fn run_stored(a: &StoredAnalysis) -> Result<Outcome> {
    run_comparison(a, &Comparison::of(a), &mut ReadCache::default())
}

/// The predictions read for one task (`None`: the layout's only task): the base source's, and
/// the experiment source's when there is one; read once however many analyses use them.
#[derive(Debug, Default)]
pub(crate) struct ReadCache(
    BTreeMap<Option<String>, (UpstreamPredictions, Option<UpstreamPredictions>)>,
);

impl ReadCache {
    /// The sources of `task`, read on first use.
    fn get(
        &mut self,
        a: &StoredAnalysis,
        task: Option<&str>,
    ) -> Result<(UpstreamPredictions, Option<UpstreamPredictions>)> {
        let key = task.map(str::to_string);
        if !self.0.contains_key(&key) {
            let base = a.layout.read(task)?;
            let expt = a.expt_layout.as_ref().map(|l| l.read(task)).transpose()?;
            self.0.insert(key.clone(), (base, expt));
        }
        Ok(self.0[&key].clone())
    }
}

/// The task of comparison `c` of `a`: `--task`, else a `task=` selector (both sides must agree).
fn task_of<'s>(a: &'s StoredAnalysis, sels: [&'s Option<Selector>; 2]) -> Result<Option<&'s str>> {
    let mut wanted: Vec<&str> = a.task.iter().map(String::as_str).collect();
    wanted.extend(sels.into_iter().flatten().filter_map(|s| s.get("task")));
    wanted.sort_unstable();
    wanted.dedup();
    ensure!(
        wanted.len() <= 1,
        "base and experiment must be on the same task; got {wanted:?}"
    );
    Ok(wanted.first().copied())
}

/// Runs comparison `c` with the sources and options of `a`, reading through `cache`.
pub(crate) fn run_comparison(
    a: &StoredAnalysis,
    c: &Comparison,
    cache: &mut ReadCache,
) -> Result<Outcome> {
    let base_sel = c.base.as_deref().map(parse_selector).transpose()?;
    let expt_sel = c.expt.as_deref().map(parse_selector).transpose()?;
    let task = task_of(a, [&base_sel, &expt_sel])?;
    let (data, expt_data) = cache.get(a, task)?;
    let (mut data, metric) = span_scored(a, c, data)?;
    let mut expt_data = match expt_data {
        Some(e) => Some(span_scored(a, c, e)?.0),
        None => None,
    };
    let two_sided = expt_sel.is_some() || expt_data.is_some();
    let design = match (two_sided, a.options.paired, a.options.unpaired) {
        (false, true, _) | (false, _, true) => {
            bail!("--paired/--unpaired need an experiment side (--expt or --coref-expt)")
        }
        (false, ..) => Design::Single,
        (true, true, _) => Design::Paired,
        (true, ..) => Design::Unpaired,
    };
    if let Some(e) = &expt_data {
        check_same_examples(&data, e)?;
    }
    if matches!(metric, Metric::BiasR | Metric::BiasSlope) {
        data = to_bias(a, metric, &data)?;
        expt_data = expt_data.map(|e| to_bias(a, metric, &e)).transpose()?;
    }
    let expt = match (&expt_data, &expt_sel) {
        (Some(e), sel) => Some(Side {
            data: e,
            selector: sel.as_ref(),
        }),
        (None, Some(sel)) => Some(Side {
            data: &data,
            selector: Some(sel),
        }),
        (None, None) => None,
    };
    let analysed = analyse(&Request {
        base: Side {
            data: &data,
            selector: base_sel.as_ref(),
        },
        expt,
        metric,
        seed_key: &a.options.seed_key,
        options: options(a, design),
        report: ReportOptions {
            level: a.options.level,
            abs_threshold: a.options.abs_threshold,
            rel_threshold: a.options.rel_threshold,
            expect_negative_effect: a.options.expect_negative_effect,
        },
    })?;
    let mut source = a.layout.source(task);
    if let Some(l) = &a.expt_layout {
        source += &format!(" vs {}", l.source(task));
    }
    Ok(Outcome {
        source,
        samples: analysed.samples,
        report: analysed.report,
    })
}

/// The bootstrap's options of `a` under `design`.
fn options(a: &StoredAnalysis, design: Design) -> Options {
    Options {
        design,
        nboot: a.options.nboot,
        sample_seeds: !a.options.no_sample_seeds,
        sample_examples: !a.options.no_sample_examples,
        resample_runs: a.options.resample_runs,
        rng: a.options.rng,
    }
}

/// A span task's answers scored per question (`exact` or `f1`, averaged by `mean`); other
/// data as read, with the requested metric. Span answers need a span score: `--metric f1` on
/// them is SQuAD's token F1, not the binary F1 of "answered".
fn span_scored(
    a: &StoredAnalysis,
    c: &Comparison,
    data: UpstreamPredictions,
) -> Result<(UpstreamPredictions, Metric)> {
    let score = c
        .span_score
        .or_else(|| (data.answers.is_some() && c.metric == Metric::F1).then_some(SpanScore::F1));
    match (score, data.answers.is_some()) {
        (Some(score), true) => Ok((data.with_span_score(score)?, Metric::Mean)),
        (Some(_), false) => bail!(
            "--metric exact scores span (SQuAD) answers; {} has none",
            a.layout.source(None)
        ),
        (None, true) => bail!(
            "{} holds span (SQuAD) answers: use --metric exact or --metric f1",
            a.layout.source(None)
        ),
        (None, false) => Ok((data, c.metric)),
    }
}

/// `data` as the bias metrics see it: per run the occupations' bias scores, the BLS shares of
/// `--occupation-stats` (else the layout's own) as labels.
fn to_bias(
    a: &StoredAnalysis,
    metric: Metric,
    data: &UpstreamPredictions,
) -> Result<UpstreamPredictions> {
    let stats = a
        .options
        .occupation_stats
        .clone()
        .or_else(|| a.layout.occupation_stats())
        .with_context(|| {
            format!("metric {metric} needs --occupation-stats (Winogender occupations-stats.tsv)")
        })?;
    ensure!(
        data.coref_examples.is_some(),
        "bias_r/bias_slope need Winogender sentence metadata: use a --coref layout"
    );
    let bls = read_occupation_stats(&stats)?;
    let bias = multiberts_collector::upstream::bias_inputs(data, &bls)
        .with_context(|| format!("with the BLS shares of {}", stats.display()))?;
    bias_view(data, &bias)
}

/// Parses a `--base`/`--expt` selector: any key the source's runs have (checked by [`select`]);
/// an explicitly empty one is a mistake, not "every run".
pub fn parse_selector(text: &str) -> Result<Selector> {
    let sel = Selector::parse_open(text)?;
    ensure!(!sel.conditions.is_empty(), "empty selector {text:?}");
    Ok(sel)
}
