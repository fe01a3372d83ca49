//! The analysis engine: the one route from runs + selectors (+ metric, design, options) to a
//! Multi-Bootstrap problem and its report.
//!
//! Every caller reads its runs into the collector's neutral form, [`UpstreamPredictions`] (runs
//! × examples, a [`RunInfo`] per run), and hands the engine a [`Request`]:
//!
//! - `multiberts bootstrap` ([`crate::run_stored`]) through a [`crate::LayoutReader`] of our
//!   Parquet or of an upstream layout;
//! - the manifest's `[[analyses]]` and the summary's intervals ([`crate::run_analysis`],
//!   [`crate::task_rows`]) from a consolidated table ([`crate::Runs::set`]);
//! - bias metrics from [`bias_view`], whose examples are the occupations.
//!
//! The engine knows no layout and no metric beyond [`Metric`]: what an example is (a sentence,
//! an occupation, a question) is decided by the reader that fills the neutral form.
//!
//! # Rules
//!
//! - **Sides.** A side is a data set and an optional selector. On one data set a missing base
//!   selector means every run the experiment does not select; a run selected by both sides is
//!   an error. Two data sets (e.g. two coref folders) must hold the same examples and labels.
//!   An empty side is an error.
//! - **Seeds** ([`SeedRule`]). A run's pre-training identity is the value of the seed key
//!   (`pretrain_seed` by default, whose upstream alias is `pretrain_id`), else its `checkpoint`.
//!   A non-negative integer is the seed itself; any other identity (a checkpoint name, a local
//!   checkpoint without a seed) gets a stand-in seed `1_000_000_000 + k`, one per distinct
//!   identity, numbered in order of first appearance among the runs of the sides' data sets.
//!   A run with neither is an error naming it.

use std::collections::BTreeSet;

use multiberts_bootstrap::{
    Design, Group, Metric, Options, Problem, Report, ReportOptions, Run, Samples, multibootstrap,
    report_ci,
};
use multiberts_collector::upstream::{BiasInputs, Matrix, RunInfo, UpstreamPredictions};
use multiberts_manifest::Selector;

use crate::error::{ReportError, Result};

/// The first stand-in seed; real seeds must stay below it.
pub const STAND_IN_SEED: u64 = 1_000_000_000;

/// `return Err(ReportError::Request(format!(…)))`.
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err(ReportError::Request(format!($($arg)*)))
    };
}

/// One side of an analysis: the runs of `data` that `selector` picks.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    /// The runs.
    pub data: &'a UpstreamPredictions,
    /// Which of them; `None`: every run (for the base beside an experiment on the same data:
    /// every run the experiment does not select).
    pub selector: Option<&'a Selector>,
}

/// An analysis as the engine runs it.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The baseline L.
    pub base: Side<'a>,
    /// The experiment L' (paired and unpaired designs only).
    pub expt: Option<Side<'a>>,
    /// The metric, computed on the data's labels and predictions.
    pub metric: Metric,
    /// The run key holding the pre-training seed (see [`SeedRule`]).
    pub seed_key: &'a str,
    /// The bootstrap's options (design, draws, random numbers, axes).
    pub options: Options,
    /// The report's options (level, thresholds, direction).
    pub report: ReportOptions,
}

/// What the engine computed.
#[derive(Debug, Clone)]
pub struct Analysed {
    /// The bootstrap draws and the runs and seeds behind them.
    pub samples: Samples,
    /// Intervals and p-values (`report_ci`).
    pub report: Report,
}

/// Runs `req`: builds its problem ([`problem`]), draws the samples and reports them.
pub fn analyse(req: &Request<'_>) -> Result<Analysed> {
    let problem = problem(req)?;
    let samples = multibootstrap(&problem, req.metric, &req.options)?;
    let report = report_ci(&samples, &req.report)?;
    Ok(Analysed { samples, report })
}

/// The Multi-Bootstrap problem of `req`: the selected runs of each side with their seeds.
pub fn problem(req: &Request<'_>) -> Result<Problem> {
    match (req.options.design, &req.expt) {
        (Design::Single, Some(_)) => bail!("a single-procedure analysis has no experiment side"),
        (Design::Paired | Design::Unpaired, None) => {
            bail!("a paired or unpaired analysis needs an experiment side")
        }
        _ => {}
    }
    let sides = select_sides(req)?;
    let mut seeds = SeedRule::new(req.seed_key);
    for (data, _, _) in &sides {
        seeds.learn(data);
    }
    seeds.check()?;
    let labels = sides[0].0.labels.clone();
    let mut preds = Vec::new();
    let mut runs = Vec::new();
    for (data, rows, group) in &sides {
        for &r in rows {
            preds.extend_from_slice(data.predictions.row(r));
            runs.push(Run {
                seed: seeds.seed(&data.runs[r], r)?,
                group: *group,
            });
        }
    }
    Ok(Problem::new(labels, preds, runs)?)
}

/// The data, selected run indices and group of each side.
type Selected<'a> = Vec<(&'a UpstreamPredictions, Vec<usize>, Group)>;

fn select_sides<'a>(req: &Request<'a>) -> Result<Selected<'a>> {
    let base = req.base;
    let mut sides = Vec::new();
    match req.expt {
        None => sides.push((base.data, select(base.data, base.selector)?, Group::Base)),
        Some(expt) if !std::ptr::eq(base.data, expt.data) => {
            check_same_examples(base.data, expt.data)?;
            sides.push((base.data, select(base.data, base.selector)?, Group::Base));
            sides.push((expt.data, select(expt.data, expt.selector)?, Group::Expt));
        }
        Some(expt) => {
            let expt_rows = select(expt.data, expt.selector)?;
            let base_rows = match base.selector {
                Some(_) => select(base.data, base.selector)?,
                None => (0..base.data.runs.len())
                    .filter(|r| !expt_rows.contains(r))
                    .collect(),
            };
            if let Some(r) = base_rows.iter().find(|r| expt_rows.contains(r)) {
                bail!(
                    "run {r} matches both the base and the experiment selector; make the \
                     selectors exclusive (e.g. add step=… or release=…)"
                );
            }
            sides.push((base.data, base_rows, Group::Base));
            sides.push((expt.data, expt_rows, Group::Expt));
        }
    }
    for (_, rows, group) in &sides {
        if rows.is_empty() {
            let (name, sel) = match group {
                Group::Base => ("base", base.selector),
                Group::Expt => ("experiment", req.expt.and_then(|e| e.selector)),
            };
            let sel = sel.map_or_else(|| "<all>".to_string(), |s| format!("{:?}", s.to_string()));
            bail!("no runs selected for the {name} side (selector {sel})");
        }
    }
    Ok(sides)
}

/// Indices of the runs of `data` that `sel` picks (all of them when `None`). A key that is
/// neither a typed selector key nor a column of the runs is an error.
pub fn select(data: &UpstreamPredictions, sel: Option<&Selector>) -> Result<Vec<usize>> {
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

/// Checks two data sets hold the same examples: as many, with the same labels (and the same
/// Winogender sentences when both have them).
pub fn check_same_examples(a: &UpstreamPredictions, b: &UpstreamPredictions) -> Result<()> {
    if a.labels.len() != b.labels.len() {
        bail!(
            "base has {} examples but experiment has {}: both sides must be evaluated on the same \
             examples",
            a.labels.len(),
            b.labels.len()
        );
    }
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

/// The one rule for pre-training seeds (see the module's documentation): the integer in the
/// seed key, else a stand-in per distinct pre-training identity (the seed key's other values,
/// else the `checkpoint`).
#[derive(Debug)]
pub struct SeedRule<'k> {
    key: &'k str,
    /// Identities without an integer seed, in order of first appearance.
    stand_ins: Vec<String>,
    /// The largest recorded integer seed.
    max_seed: Option<u64>,
}

/// A run's pre-training identity under a seed key.
enum Identity {
    Seed(u64),
    Named(String),
    Missing,
}

impl<'k> SeedRule<'k> {
    /// The rule for seed key `key` (`seed` is read as `pretrain_seed`).
    pub fn new(key: &'k str) -> Self {
        Self {
            key: if key == "seed" { "pretrain_seed" } else { key },
            stand_ins: Vec::new(),
            max_seed: None,
        }
    }

    fn identity(&self, run: &RunInfo) -> Identity {
        match run.get(self.key).filter(|v| !v.is_empty()) {
            Some(v) => match v.trim().parse::<u64>() {
                Ok(s) => Identity::Seed(s),
                Err(_) => Identity::Named(v),
            },
            None => match run.keys.get("checkpoint").filter(|c| !c.is_empty()) {
                Some(c) => Identity::Named(c.clone()),
                None => Identity::Missing,
            },
        }
    }

    /// Numbers the stand-ins of `data`'s runs (all of them, in order), once per identity.
    pub fn learn(&mut self, data: &UpstreamPredictions) {
        for run in &data.runs {
            match self.identity(run) {
                Identity::Seed(s) => self.max_seed = self.max_seed.max(Some(s)),
                Identity::Named(name) if !self.stand_ins.contains(&name) => {
                    self.stand_ins.push(name)
                }
                _ => {}
            }
        }
    }

    /// Refuses a recorded seed that could collide with a stand-in.
    pub fn check(&self) -> Result<()> {
        if let Some(s) = self.max_seed.filter(|&s| s >= STAND_IN_SEED)
            && !self.stand_ins.is_empty()
        {
            bail!(
                "pre-training seed {s} is at least {STAND_IN_SEED}, where the stand-in seeds of \
                 runs without a seed ({}) begin",
                self.stand_ins.join(", ")
            );
        }
        Ok(())
    }

    /// The seed of `run` (index `index`, named in errors); its data must have been learnt.
    pub fn seed(&self, run: &RunInfo, index: usize) -> Result<u64> {
        match self.identity(run) {
            Identity::Seed(s) => Ok(s),
            Identity::Named(name) => match self.stand_ins.iter().position(|n| *n == name) {
                Some(k) => Ok(STAND_IN_SEED + k as u64),
                None => bail!("run {index}: pre-training identity `{name}` was not numbered"),
            },
            Identity::Missing => bail!(
                "run {index} has no `{}` (the seed key, see --seed-key) and no checkpoint",
                self.key
            ),
        }
    }
}

/// `data` with the bias metrics' examples: per run, the occupations' bias scores as the
/// predictions and the BLS shares as the labels (`bias` from
/// [`multiberts_collector::upstream::bias_inputs`] on `data`). The runs are `data`'s.
pub fn bias_view(data: &UpstreamPredictions, bias: &BiasInputs) -> Result<UpstreamPredictions> {
    let (rows, cols) = (bias.scores.rows(), bias.scores.cols());
    let predictions = Matrix::from_vec(rows, cols, bias.scores.as_slice().to_vec())
        .filter(|_| rows == data.runs.len())
        .ok_or_else(|| {
            ReportError::Request(format!(
                "{} runs but bias scores for {rows}",
                data.runs.len()
            ))
        })?;
    Ok(UpstreamPredictions {
        task: data.task.clone(),
        runs: data.runs.clone(),
        labels: bias.shares.clone(),
        predictions,
        scores: None,
        coref_examples: None,
        answers: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Runs with these (seed, checkpoint) pairs on 4 examples.
    fn data(runs: &[(Option<i64>, &str)]) -> UpstreamPredictions {
        let labels = vec![0.0, 1.0, 1.0, 0.0];
        let mut preds = Vec::new();
        let mut infos = Vec::new();
        for (i, (seed, checkpoint)) in runs.iter().enumerate() {
            let mut keys = BTreeMap::new();
            if !checkpoint.is_empty() {
                keys.insert("checkpoint".to_string(), checkpoint.to_string());
            }
            infos.push(RunInfo {
                pretrain_seed: *seed,
                finetune_seed: Some(i as i64 % 2),
                keys,
                ..RunInfo::default()
            });
            preds.extend((0..4).map(|j| ((i + j) % 2) as f64));
        }
        UpstreamPredictions {
            task: "t".into(),
            labels,
            predictions: Matrix::from_vec(runs.len(), 4, preds).unwrap(),
            runs: infos,
            scores: None,
            coref_examples: None,
            answers: None,
        }
    }

    fn single(d: &UpstreamPredictions) -> Request<'_> {
        Request {
            base: Side {
                data: d,
                selector: None,
            },
            expt: None,
            metric: Metric::Accuracy,
            seed_key: "pretrain_seed",
            options: Options {
                design: Design::Single,
                nboot: 10,
                ..Options::default()
            },
            report: ReportOptions::default(),
        }
    }

    fn seeds(p: &Problem) -> Vec<u64> {
        p.runs().iter().map(|r| r.seed).collect()
    }

    #[test]
    fn runs_without_a_seed_share_a_stand_in_per_checkpoint() {
        let d = data(&[
            (None, "local-a"),
            (Some(3), "s3"),
            (None, "local-b"),
            (None, "local-a"),
        ]);
        let p = problem(&single(&d)).unwrap();
        assert_eq!(
            seeds(&p),
            vec![STAND_IN_SEED, 3, STAND_IN_SEED + 1, STAND_IN_SEED]
        );
    }

    #[test]
    fn a_run_with_neither_seed_nor_checkpoint_is_an_error() {
        let d = data(&[(Some(0), "a"), (None, "")]);
        let err = problem(&single(&d)).unwrap_err().to_string();
        assert!(err.contains("run 1 has no `pretrain_seed`"), "{err}");
    }

    #[test]
    fn stand_ins_do_not_collide_with_recorded_seeds() {
        let d = data(&[(Some(STAND_IN_SEED as i64), "a"), (None, "b")]);
        let err = problem(&single(&d)).unwrap_err().to_string();
        assert!(err.contains("stand-in seeds"), "{err}");
    }

    #[test]
    fn stand_ins_are_shared_across_two_data_sets() {
        let (a, b) = (data(&[(None, "x"), (None, "y")]), data(&[(None, "y")]));
        let mut req = single(&a);
        req.expt = Some(Side {
            data: &b,
            selector: None,
        });
        req.options.design = Design::Paired;
        let p = problem(&req).unwrap();
        // `y` is the same pre-trained model on both sides: it pairs.
        assert_eq!(
            seeds(&p),
            vec![STAND_IN_SEED, STAND_IN_SEED + 1, STAND_IN_SEED + 1]
        );
    }

    #[test]
    fn one_data_set_splits_into_exclusive_sides() {
        let d = data(&[
            (Some(0), "a"),
            (Some(0), "a"),
            (Some(1), "b"),
            (Some(1), "b"),
        ]);
        let ft1 = Selector::parse("finetune_seed=1").unwrap();
        let mut req = single(&d);
        req.expt = Some(Side {
            data: &d,
            selector: Some(&ft1),
        });
        req.options.design = Design::Unpaired;
        let p = problem(&req).unwrap();
        let groups: Vec<Group> = p.runs().iter().map(|r| r.group).collect();
        assert_eq!(
            groups,
            vec![Group::Base, Group::Base, Group::Expt, Group::Expt]
        );
        let all = Selector::parse("task=t").unwrap();
        req.base.selector = Some(&all);
        let err = problem(&req).unwrap_err().to_string();
        assert!(err.contains("matches both"), "{err}");
        let none = Selector::parse("finetune_seed=7").unwrap();
        req.base.selector = Some(&none);
        let err = problem(&req).unwrap_err().to_string();
        assert!(err.contains("no runs selected for the base side"), "{err}");
    }
}
