//! Per-seed sufficient statistics, prepared once, and their evaluation under a draw's
//! example counts.
//!
//! Three strategies, chosen per metric and mode:
//! - `Averaged` (accuracy and mean, default RNG, no run resampling): averaging a seed's runs
//!   commutes with the example weights, so each seed keeps one per-example vector and a draw
//!   costs one dot product per seed instead of one per run.
//! - `Patterns` (classification): examples whose (label, prediction of every run of the seed)
//!   tuple is equal contribute identically; a draw adds counts into pattern buckets, then each
//!   run's confusion matrix is a small sum over patterns. Integer, so bit-identical to scoring
//!   every run on the resampled arrays (needed for numpy compatibility).
//! - `PerRun` (correlations, and `mean` when exactness or run resampling needs it): each run's
//!   weighted moments (of ranks for Spearman, with each run's order sorted once).

use std::collections::HashMap;

use multiberts_metrics::{Confusion, Metric, MetricFamily, Moments, weighted_ranks_in_order};

use crate::{BootstrapError, Problem};

/// The statistics of one (side, seed).
pub(crate) enum SeedData {
    Averaged {
        ubar: Vec<f64>,
    },
    Patterns {
        pattern_of: Vec<u32>,
        codes: Vec<u16>,
        n_patterns: usize,
    },
    PerRun,
}

/// The runs of one side, grouped by seed (seeds in analysis order).
pub(crate) struct SideData {
    pub seeds: Vec<u64>,
    pub rows: Vec<Vec<usize>>,
    pub data: Vec<SeedData>,
}

/// Scratch buffers one worker reuses across draws.
pub(crate) struct Scratch {
    buckets: Vec<u64>,
    confs: Vec<Confusion>,
    label_ranks: Vec<f64>,
    label_ranks_ok: bool,
    pred_ranks: Vec<f64>,
}

impl Scratch {
    pub fn new(n: usize) -> Self {
        Self {
            buckets: Vec::new(),
            confs: Vec::new(),
            label_ranks: vec![0.0; n],
            label_ranks_ok: false,
            pred_ranks: vec![0.0; n],
        }
    }

    /// Forgets per-draw caches.
    pub fn new_draw(&mut self) {
        self.label_ranks_ok = false;
    }
}

/// Everything the draw loop needs to score seeds.
pub(crate) struct Scorer<'a> {
    problem: &'a Problem,
    metric: Metric,
    k: usize,
    label_order: Vec<usize>,
    pred_orders: Vec<Vec<usize>>,
}

impl<'a> Scorer<'a> {
    /// Validates the data for `metric` and sorts what Spearman needs.
    pub fn new(problem: &'a Problem, metric: Metric) -> Result<Self, BootstrapError> {
        let n = problem.n_examples();
        let mut k = 2usize;
        let mut label_order = Vec::new();
        let mut pred_orders = Vec::new();
        let err = |run: usize, source| BootstrapError::Metric { run, source };
        match metric.family() {
            MetricFamily::Classification => {
                for (j, &y) in problem.labels().iter().enumerate() {
                    let c = Metric::class_id(y, j, "label").map_err(|e| err(0, e))?;
                    k = k.max(usize::from(c) + 1);
                }
                for r in 0..problem.runs().len() {
                    for (j, &p) in problem.row(r).iter().enumerate() {
                        let c = Metric::class_id(p, j, "prediction").map_err(|e| err(r, e))?;
                        k = k.max(usize::from(c) + 1);
                    }
                }
                if k * k > usize::from(u16::MAX) {
                    return Err(BootstrapError::InvalidOption(format!(
                        "{k} classes is too many for a confusion-matrix metric (at most 255)"
                    )));
                }
            }
            MetricFamily::Mean | MetricFamily::Correlation => {
                let check = |v: &[f64], what, run| match v.iter().position(|x| !x.is_finite()) {
                    Some(index) => Err(err(
                        run,
                        multiberts_metrics::MetricError::NonFinite {
                            what,
                            index,
                            value: v[index],
                        },
                    )),
                    None => Ok(()),
                };
                if metric.family() == MetricFamily::Correlation {
                    check(problem.labels(), "label", 0)?;
                }
                for r in 0..problem.runs().len() {
                    check(problem.row(r), "prediction", r)?;
                }
                if metric == Metric::Spearman {
                    let sort = |v: &[f64]| {
                        let mut o: Vec<usize> = (0..n).collect();
                        o.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
                        o
                    };
                    label_order = sort(problem.labels());
                    pred_orders = (0..problem.runs().len())
                        .map(|r| sort(problem.row(r)))
                        .collect();
                }
            }
        }
        Ok(Self {
            problem,
            metric,
            k,
            label_order,
            pred_orders,
        })
    }

    fn code(&self, r: usize, j: usize) -> u16 {
        // Validated in `new`: both are class ids below k.
        let y = self.problem.labels()[j] as usize;
        let p = self.problem.row(r)[j] as usize;
        (y * self.k + p) as u16
    }

    /// Prepares one seed's statistics; `averaged` selects the run-averaged fast path.
    pub fn prepare(&self, rows: &[usize], averaged: bool) -> SeedData {
        let n = self.problem.n_examples();
        if averaged && self.metric.is_example_mean() {
            let mut ubar = vec![0.0; n];
            for &r in rows {
                let row = self.problem.row(r);
                if self.metric == Metric::Accuracy {
                    let labels = self.problem.labels();
                    for j in 0..n {
                        ubar[j] += f64::from(u8::from(row[j] == labels[j]));
                    }
                } else {
                    for j in 0..n {
                        ubar[j] += row[j];
                    }
                }
            }
            let inv = 1.0 / rows.len() as f64;
            ubar.iter_mut().for_each(|u| *u *= inv);
            return SeedData::Averaged { ubar };
        }
        if self.metric.family() != MetricFamily::Classification {
            return SeedData::PerRun;
        }
        let r_len = rows.len();
        let mut ids: HashMap<Vec<u16>, u32> = HashMap::new();
        let mut codes = Vec::new();
        let mut pattern_of = Vec::with_capacity(n);
        let mut key = Vec::with_capacity(r_len);
        for j in 0..n {
            key.clear();
            key.extend(rows.iter().map(|&r| self.code(r, j)));
            let next = ids.len() as u32;
            let id = *ids.entry(key.clone()).or_insert_with(|| {
                codes.extend_from_slice(&key);
                next
            });
            pattern_of.push(id);
        }
        SeedData::Patterns {
            pattern_of,
            codes,
            n_patterns: ids.len(),
        }
    }

    /// Scores every run of a `Patterns` or `PerRun` seed under `counts`, in row order.
    pub fn run_scores(
        &self,
        rows: &[usize],
        data: &SeedData,
        counts: &[u32],
        scratch: &mut Scratch,
        out: &mut Vec<f64>,
    ) {
        out.clear();
        match data {
            SeedData::Averaged { .. } => unreachable!("averaged seeds have no run scores"),
            SeedData::Patterns {
                pattern_of,
                codes,
                n_patterns,
            } => {
                let r_len = rows.len();
                scratch.buckets.clear();
                scratch.buckets.resize(*n_patterns, 0);
                for (&p, &c) in pattern_of.iter().zip(counts) {
                    scratch.buckets[p as usize] += u64::from(c);
                }
                if scratch.confs.len() < r_len || scratch.confs[0].classes() != self.k {
                    scratch.confs = vec![Confusion::new(self.k); r_len];
                }
                for m in &mut scratch.confs[..r_len] {
                    m.clear();
                }
                for (p, &w) in scratch.buckets.iter().enumerate() {
                    if w == 0 {
                        continue;
                    }
                    let pc = &codes[p * r_len..(p + 1) * r_len];
                    for (m, &code) in scratch.confs[..r_len].iter_mut().zip(pc) {
                        m.add_code(usize::from(code), w);
                    }
                }
                for m in &scratch.confs[..r_len] {
                    out.push(self.metric.from_confusion(m).unwrap_or(f64::NAN));
                }
            }
            SeedData::PerRun => {
                let labels = self.problem.labels();
                let w = |j: usize| f64::from(counts[j]);
                if self.metric == Metric::Spearman && !scratch.label_ranks_ok {
                    weighted_ranks_in_order(labels, &self.label_order, w, &mut scratch.label_ranks);
                    scratch.label_ranks_ok = true;
                }
                for &r in rows {
                    let row = self.problem.row(r);
                    let score = match self.metric {
                        Metric::Mean => {
                            let (mut s, mut t) = (0.0, 0.0);
                            for (&p, &c) in row.iter().zip(counts) {
                                s += f64::from(c) * p;
                                t += f64::from(c);
                            }
                            if t == 0.0 { f64::NAN } else { s / t }
                        }
                        Metric::Spearman => {
                            weighted_ranks_in_order(
                                row,
                                &self.pred_orders[r],
                                w,
                                &mut scratch.pred_ranks,
                            );
                            let m = Moments::compute(&scratch.label_ranks, &scratch.pred_ranks, w);
                            self.metric.from_moments(&m).unwrap_or(f64::NAN)
                        }
                        _ => {
                            let m = Moments::compute(labels, row, w);
                            self.metric.from_moments(&m).unwrap_or(f64::NAN)
                        }
                    };
                    out.push(score);
                }
            }
        }
    }
}
