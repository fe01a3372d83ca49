//! The draw loop: seeds, then examples (then, optionally, runs within each drawn seed), in the
//! reference's order; parallel over draws with rayon.

use std::collections::BTreeMap;
use std::fmt;

use multiberts_metrics::Metric;
use rayon::prelude::*;

use crate::numpy::mean as np_mean;
use crate::rng::{Mt19937, U32Source, chacha_stream};
use crate::scorer::{Scorer, Scratch, SeedData, SideData};
use crate::{BootstrapError, Group, Problem, RngSpec, VERSION};

/// Single procedure, paired comparison (common seeds, one seed draw for both sides) or
/// unpaired comparison (independent seed draws). Examples are always paired across sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Design {
    /// Only the base runs: an estimate with its interval.
    Single,
    /// Base and experiment share seeds; seeds on one side only are dropped with a warning.
    Paired,
    /// Base and experiment seeds are drawn independently.
    Unpaired,
}

impl fmt::Display for Design {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Design::Single => "single",
            Design::Paired => "paired",
            Design::Unpaired => "unpaired",
        })
    }
}

/// How to resample.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Options {
    /// Single, paired or unpaired.
    pub design: Design,
    /// Number of bootstrap draws.
    pub nboot: usize,
    /// Resample pre-training seeds (the reference's `sample_seeds`).
    pub sample_seeds: bool,
    /// Resample examples (the reference's `sample_examples`).
    pub sample_examples: bool,
    /// Beyond the reference: also resample fine-tuning runs within each drawn seed.
    pub resample_runs: bool,
    /// Random-number scheme and seed.
    pub rng: RngSpec,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            design: Design::Paired,
            nboot: 1000,
            sample_seeds: true,
            sample_examples: true,
            resample_runs: false,
            rng: RngSpec::default(),
        }
    }
}

/// A one-line description of the procedure, printed with every result (sacrebleu style).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Signature {
    /// Number of draws.
    pub nboot: usize,
    /// Confidence level, once a report has been made.
    pub level: Option<f64>,
    /// `chacha8` or `numpy`.
    pub rng: String,
    /// RNG seed.
    pub seed: u64,
    /// Resampled axes, e.g. `seeds+examples`.
    pub axes: String,
    /// single, paired or unpaired.
    pub design: Design,
    /// Metric name.
    pub metric: Metric,
    /// multiberts-bootstrap version.
    pub version: String,
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "nboot:{}", self.nboot)?;
        if let Some(level) = self.level {
            write!(f, "|level:{level}")?;
        }
        write!(
            f,
            "|rng:{}|seed:{}|axes:{}|design:{}|metric:{}|version:{}",
            self.rng, self.seed, self.axes, self.design, self.metric, self.version
        )
    }
}

/// A seed left out of a paired analysis because only one side has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DroppedSeed {
    /// The seed.
    pub seed: u64,
    /// The side that has it.
    pub group: Group,
}

/// The bootstrap draws, one (L, L') value per draw, plus what was analysed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Samples {
    /// How they were drawn.
    pub signature: Signature,
    /// L for each draw (NaN where the metric is undefined on that resample).
    pub base: Vec<f64>,
    /// L' for each draw; None for a single-procedure analysis.
    pub expt: Option<Vec<f64>>,
    /// Seeds of the base side, in analysis order.
    pub base_seeds: Vec<u64>,
    /// Seeds of the experiment side (empty for single).
    pub expt_seeds: Vec<u64>,
    /// Seeds dropped from a paired analysis.
    pub dropped_seeds: Vec<DroppedSeed>,
    /// Base runs used.
    pub base_runs: usize,
    /// Experiment runs used.
    pub expt_runs: usize,
    /// Number of examples.
    pub n_examples: usize,
}

impl Samples {
    /// The draws as CSV (`draw,base,expt`), for plots.
    pub fn to_csv(&self) -> String {
        let mut s = String::from("draw,base,expt\n");
        for (i, b) in self.base.iter().enumerate() {
            let e = self
                .expt
                .as_ref()
                .map_or(String::new(), |e| e[i].to_string());
            s.push_str(&format!("{i},{b},{e}\n"));
        }
        s
    }
}

/// One draw: the seed sequences of both sides, example counts and (optionally) the runs drawn
/// for every seed occurrence.
#[derive(Clone, Default)]
struct Draw {
    seq: [Vec<u32>; 2],
    occ_runs: Vec<Vec<u32>>,
    counts: Vec<u32>,
}

struct Plan<'a> {
    scorer: Scorer<'a>,
    sides: Vec<SideData>,
    opts: Options,
    n: usize,
    /// Some seed uses the run-averaged path (then all do).
    averaged: bool,
}

impl Plan<'_> {
    fn generate(&self, src: &mut impl U32Source, d: &mut Draw) {
        let kb = self.sides[0].seeds.len() as u64;
        let fill_all = |v: &mut Vec<u32>, k: u64| {
            v.clear();
            v.extend(0..k as u32);
        };
        if self.opts.sample_seeds {
            d.seq[0].clear();
            for _ in 0..kb {
                d.seq[0].push(src.index(kb) as u32);
            }
            match self.opts.design {
                Design::Single => d.seq[1].clear(),
                Design::Paired => {
                    let [a, b] = &mut d.seq;
                    b.clone_from(a);
                }
                Design::Unpaired => {
                    let ke = self.sides[1].seeds.len() as u64;
                    d.seq[1].clear();
                    for _ in 0..ke {
                        d.seq[1].push(src.index(ke) as u32);
                    }
                }
            }
        } else {
            fill_all(&mut d.seq[0], kb);
            match self.opts.design {
                Design::Single => d.seq[1].clear(),
                _ => fill_all(&mut d.seq[1], self.sides[1].seeds.len() as u64),
            }
        }
        d.counts.clear();
        if self.opts.sample_examples {
            d.counts.resize(self.n, 0);
            for _ in 0..self.n {
                d.counts[src.index(self.n as u64) as usize] += 1;
            }
        } else {
            d.counts.resize(self.n, 1);
        }
        if self.opts.resample_runs {
            let mut o = 0;
            for (side, seq) in d.seq.iter().enumerate() {
                for &s in seq {
                    let rl = self.sides[side].rows[s as usize].len() as u64;
                    if d.occ_runs.len() <= o {
                        d.occ_runs.push(Vec::new());
                    }
                    let runs = &mut d.occ_runs[o];
                    runs.clear();
                    for _ in 0..rl {
                        runs.push(src.index(rl) as u32);
                    }
                    o += 1;
                }
            }
        }
    }

    fn evaluate(&self, d: &Draw, w: &mut Worker) -> (f64, f64) {
        w.scratch.new_draw();
        let total = self.n as f64;
        let mut values = [f64::NAN; 2];
        let mut occ = 0;
        for ok in &mut w.seed_ok {
            ok.iter_mut().for_each(|b| *b = false);
        }
        if self.averaged {
            // One conversion per draw; every averaged seed is then a plain f64 dot product.
            w.counts_f.clear();
            w.counts_f.extend(d.counts.iter().map(|&c| f64::from(c)));
        }
        for (side, sd) in self.sides.iter().enumerate() {
            let seq = &d.seq[side];
            w.seed_vals.clear();
            for &s in seq {
                let s = s as usize;
                let v = if self.opts.resample_runs {
                    if !w.seed_ok[side][s] {
                        let mut out = std::mem::take(&mut w.run_cache[side][s]);
                        self.scorer.run_scores(
                            &sd.rows[s],
                            &sd.data[s],
                            &d.counts,
                            &mut w.scratch,
                            &mut out,
                        );
                        w.run_cache[side][s] = out;
                        w.seed_ok[side][s] = true;
                    }
                    let scores = &w.run_cache[side][s];
                    w.tmp.clear();
                    w.tmp
                        .extend(d.occ_runs[occ].iter().map(|&r| scores[r as usize]));
                    occ += 1;
                    np_mean(&w.tmp)
                } else {
                    if !w.seed_ok[side][s] {
                        w.seed_cache[side][s] = match &sd.data[s] {
                            SeedData::Averaged { ubar } => dot(&w.counts_f, ubar) / total,
                            data => {
                                let mut out = std::mem::take(&mut w.tmp);
                                self.scorer.run_scores(
                                    &sd.rows[s],
                                    data,
                                    &d.counts,
                                    &mut w.scratch,
                                    &mut out,
                                );
                                let m = np_mean(&out);
                                w.tmp = out;
                                m
                            }
                        };
                        w.seed_ok[side][s] = true;
                    }
                    w.seed_cache[side][s]
                };
                w.seed_vals.push(v);
            }
            values[side] = np_mean(&w.seed_vals);
        }
        (values[0], values[1])
    }
}

/// Per-thread buffers.
struct Worker {
    scratch: Scratch,
    seed_cache: [Vec<f64>; 2],
    seed_ok: [Vec<bool>; 2],
    run_cache: [Vec<Vec<f64>>; 2],
    seed_vals: Vec<f64>,
    tmp: Vec<f64>,
    counts_f: Vec<f64>,
    draw: Draw,
}

impl Worker {
    fn new(plan: &Plan<'_>) -> Self {
        let k = |i: usize| plan.sides.get(i).map_or(0, |s| s.seeds.len());
        Self {
            scratch: Scratch::new(plan.n),
            seed_cache: [vec![f64::NAN; k(0)], vec![f64::NAN; k(1)]],
            seed_ok: [vec![false; k(0)], vec![false; k(1)]],
            run_cache: [vec![Vec::new(); k(0)], vec![Vec::new(); k(1)]],
            seed_vals: Vec::new(),
            tmp: Vec::new(),
            counts_f: Vec::new(),
            draw: Draw::default(),
        }
    }
}

/// Dot product with eight independent accumulators, so it vectorises (a single running sum
/// cannot be reordered by the compiler). This loop is most of a draw's cost.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// numpy mode generates draws sequentially in chunks of this many, then scores them in
/// parallel: memory stays O(chunk × examples).
const NUMPY_CHUNK: usize = 128;

/// Runs the Multi-Bootstrap of `metric` on `problem`.
///
/// Seeds are grouped per side (ascending; a paired design keeps the seeds common to both sides
/// and reports the others as dropped). Each draw resamples seeds (one draw shared by both sides
/// when paired), then examples (shared by both sides), then optionally runs within each drawn
/// seed; a side's value is the mean over drawn seeds of the mean over the seed's runs.
pub fn multibootstrap(
    problem: &Problem,
    metric: Metric,
    opts: &Options,
) -> Result<Samples, BootstrapError> {
    if opts.nboot == 0 {
        return Err(BootstrapError::InvalidOption(
            "nboot must be at least 1".into(),
        ));
    }
    let mut by_group: [BTreeMap<u64, Vec<usize>>; 2] = [BTreeMap::new(), BTreeMap::new()];
    for (r, run) in problem.runs().iter().enumerate() {
        let g = usize::from(run.group == Group::Expt);
        by_group[g].entry(run.seed).or_default().push(r);
    }
    let mut dropped = Vec::new();
    let [base, expt] = by_group;
    let (base, expt) = match opts.design {
        Design::Single => (base, BTreeMap::new()),
        Design::Unpaired => (base, expt),
        Design::Paired => {
            for (&seed, group, other) in base
                .keys()
                .map(|s| (s, Group::Base, &expt))
                .chain(expt.keys().map(|s| (s, Group::Expt, &base)))
            {
                if !other.contains_key(&seed) {
                    dropped.push(crate::engine::DroppedSeed { seed, group });
                }
            }
            let keep = |m: BTreeMap<u64, Vec<usize>>, o: &BTreeMap<u64, Vec<usize>>| {
                m.into_iter()
                    .filter(|(s, _)| o.contains_key(s))
                    .collect::<BTreeMap<_, _>>()
            };
            let b = keep(base, &expt);
            let e = keep(expt, &b);
            if b.is_empty() {
                return Err(BootstrapError::NoCommonSeeds);
            }
            (b, e)
        }
    };
    // Once per analysis, naming every seed (it used to be once per seed).
    if !dropped.is_empty() {
        let side = |g: Group| -> String {
            let seeds: Vec<String> = dropped
                .iter()
                .filter(|d| d.group == g)
                .map(|d| d.seed.to_string())
                .collect();
            seeds.join(", ")
        };
        tracing::warn!(
            base_only = %side(Group::Base),
            expt_only = %side(Group::Expt),
            "{} seed(s) found on one side only; omitted from the paired analysis",
            dropped.len()
        );
    }
    if base.is_empty() {
        return Err(BootstrapError::NoSeeds("base"));
    }
    if opts.design != Design::Single && expt.is_empty() {
        return Err(BootstrapError::NoSeeds("experiment"));
    }
    let scorer = Scorer::new(problem, metric)?;
    let averaged = matches!(opts.rng, RngSpec::Chacha8(_)) && !opts.resample_runs;
    let side_data = |m: &BTreeMap<u64, Vec<usize>>| {
        let seeds: Vec<u64> = m.keys().copied().collect();
        let rows: Vec<Vec<usize>> = m.values().cloned().collect();
        let data = rows.iter().map(|r| scorer.prepare(r, averaged)).collect();
        SideData { seeds, rows, data }
    };
    let mut sides = vec![side_data(&base)];
    if opts.design != Design::Single {
        sides.push(side_data(&expt));
    }
    let n = problem.n_examples();
    let averaged = sides
        .iter()
        .flat_map(|s| &s.data)
        .any(|d| matches!(d, SeedData::Averaged { .. }));
    let plan = Plan {
        scorer,
        sides,
        opts: *opts,
        n,
        averaged,
    };

    let pairs: Vec<(f64, f64)> = match opts.rng {
        RngSpec::Chacha8(seed) => (0..opts.nboot)
            .into_par_iter()
            .map_init(
                || Worker::new(&plan),
                |w, i| {
                    let mut rng = chacha_stream(seed, i as u64);
                    let mut d = std::mem::take(&mut w.draw);
                    plan.generate(&mut rng, &mut d);
                    let v = plan.evaluate(&d, w);
                    w.draw = d;
                    v
                },
            )
            .collect(),
        RngSpec::Numpy(seed) => {
            let mut mt = Mt19937::new(seed);
            let mut draws: Vec<Draw> = Vec::new();
            let mut out = Vec::with_capacity(opts.nboot);
            let mut start = 0;
            while start < opts.nboot {
                let m = NUMPY_CHUNK.min(opts.nboot - start);
                draws.resize_with(m.max(draws.len()), Draw::default);
                for d in &mut draws[..m] {
                    plan.generate(&mut mt, d);
                }
                let vals: Vec<(f64, f64)> = draws[..m]
                    .par_iter()
                    .map_init(|| Worker::new(&plan), |w, d| plan.evaluate(d, w))
                    .collect();
                out.extend(vals);
                start += m;
            }
            out
        }
    };

    let axes = match (opts.sample_seeds, opts.sample_examples, opts.resample_runs) {
        (true, true, false) => "seeds+examples",
        (true, false, false) => "seeds",
        (false, true, false) => "examples",
        (false, false, false) => "none",
        (true, true, true) => "seeds+examples+runs",
        (true, false, true) => "seeds+runs",
        (false, true, true) => "examples+runs",
        (false, false, true) => "runs",
    };
    let count_runs = |m: &BTreeMap<u64, Vec<usize>>| m.values().map(Vec::len).sum();
    let single = opts.design == Design::Single;
    Ok(Samples {
        signature: Signature {
            nboot: opts.nboot,
            level: None,
            rng: opts.rng.kind().to_string(),
            seed: opts.rng.seed(),
            axes: axes.to_string(),
            design: opts.design,
            metric,
            version: VERSION.to_string(),
        },
        base: pairs.iter().map(|p| p.0).collect(),
        expt: (!single).then(|| pairs.iter().map(|p| p.1).collect()),
        base_seeds: plan.sides[0].seeds.clone(),
        expt_seeds: plan.sides.get(1).map_or_else(Vec::new, |s| s.seeds.clone()),
        dropped_seeds: dropped,
        base_runs: count_runs(&base),
        expt_runs: count_runs(&expt),
        n_examples: n,
    })
}
