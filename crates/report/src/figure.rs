//! The report's figures: per consolidated task and variant, the primary dev metric of every kept
//! run, as the MultiBERTs paper plots them (the spread across pre-training seeds, or the metric
//! against pre-training step). [`crate::figure_svg`] draws them; [`crate::write_report`] writes
//! them to `report/<task>.svg` (`report/<task>.<variant>.svg` for a variant).

use std::collections::BTreeMap;
use std::fmt;

use multiberts_collector::Consolidation;

use crate::analysis::is_bias;
use crate::coref::CorefData;
use crate::error::Result;
use crate::runs::Runs;

/// One kept fine-tuning run of a figure.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureRun {
    /// The pre-training seed, when recorded (local checkpoints carry none).
    pub pretrain_seed: Option<i64>,
    /// The checkpoint id.
    pub checkpoint: String,
    /// Pre-training steps in thousands, when known.
    pub step: Option<i64>,
    /// The fine-tuning learning rate (NaN when unknown).
    pub learning_rate: f64,
    /// The run's primary dev metric; NaN when undefined (the run is then left out and counted).
    pub value: f64,
}

impl FigureRun {
    /// The pre-training seed, else the checkpoint: a column, or a line of the step layout.
    pub fn seed_key(&self) -> SeedKey {
        match self.pretrain_seed {
            Some(s) => SeedKey::Seed(s),
            None => SeedKey::Checkpoint(self.checkpoint.clone()),
        }
    }

    /// Whether the run is drawn (its metric is defined).
    pub fn is_defined(&self) -> bool {
        self.value.is_finite()
    }
}

/// What identifies a pre-trained model in a figure: its seed, else its checkpoint id. Seeds sort
/// first, numerically; checkpoints after them, by id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SeedKey {
    /// A recorded pre-training seed.
    Seed(i64),
    /// A checkpoint without a recorded seed.
    Checkpoint(String),
}

impl fmt::Display for SeedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeedKey::Seed(s) => write!(f, "{s}"),
            SeedKey::Checkpoint(c) => f.write_str(c),
        }
    }
}

pub use multiberts_collector::StepUnit;

/// What the steps of `manifest` count: optimizer steps when every checkpoint that has a step is
/// one of its own pre-training runs' (and there is one), else thousands.
pub fn step_unit(manifest: &multiberts_manifest::Manifest) -> StepUnit {
    use multiberts_manifest::CheckpointSource;
    let mut stepped = manifest.checkpoints.iter().filter(|c| c.step.is_some());
    let mut any = false;
    let all_own = stepped.all(|c| {
        any = true;
        matches!(c.source, CheckpointSource::Pretrain { .. })
    });
    if any && all_own {
        StepUnit::Optimizer
    } else {
        StepUnit::Thousands
    }
}

/// Where a figure puts its runs along x.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// The drawn runs span more than one pre-training step: x is the step (thousands), one line
    /// per pre-training seed through its per-step means, each run a dot.
    Steps,
    /// One column per pre-training seed (else checkpoint), each run a dot, a bar at the mean.
    Checkpoints,
}

/// The figure of one task variant.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// The task.
    pub task: String,
    /// The variant (empty for the plain task).
    pub variant: String,
    /// The metric on y (the task's primary dev metric).
    pub metric: String,
    /// Every kept run of the variant, in table order (the dots are drawn in this order).
    pub runs: Vec<FigureRun>,
    /// What the runs' steps count.
    pub step_unit: StepUnit,
}

impl Figure {
    /// The file name under `report/`: `<task>.svg`, or `<task>.<variant>.svg`; characters other
    /// than letters, digits, `-`, `_` and `.` become `_`.
    pub fn file_name(&self) -> String {
        let clean = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        if self.variant.is_empty() {
            format!("{}.svg", clean(&self.task))
        } else {
            format!("{}.{}.svg", clean(&self.task), clean(&self.variant))
        }
    }

    /// The title: the task, and the variant in brackets as in the summary table.
    pub fn title(&self) -> String {
        if self.variant.is_empty() {
            self.task.clone()
        } else {
            format!("{} [{}]", self.task, self.variant)
        }
    }

    /// The runs that are drawn: those with a defined metric.
    pub fn defined(&self) -> impl Iterator<Item = &FigureRun> {
        self.runs.iter().filter(|r| r.is_defined())
    }

    /// [`Layout::Steps`] when the drawn runs span more than one known pre-training step.
    pub fn layout(&self) -> Layout {
        let mut steps: Vec<i64> = self.defined().filter_map(|r| r.step).collect();
        steps.sort_unstable();
        steps.dedup();
        if steps.len() > 1 {
            Layout::Steps
        } else {
            Layout::Checkpoints
        }
    }

    /// The runs drawn in this figure's layout (the step layout also leaves out runs without a
    /// known step).
    pub fn drawn(&self) -> Vec<&FigureRun> {
        let layout = self.layout();
        self.defined()
            .filter(|r| layout == Layout::Checkpoints || r.step.is_some())
            .collect()
    }

    /// The distinct learning rates of the drawn runs, ascending; more than one colours the runs
    /// by learning rate.
    pub fn learning_rates(&self) -> Vec<f64> {
        let mut lrs: Vec<f64> = self.drawn().iter().map(|r| r.learning_rate).collect();
        lrs.sort_by(f64::total_cmp);
        lrs.dedup_by(|a, b| a.to_bits() == b.to_bits());
        lrs
    }

    /// The note under the title: how many runs are drawn over how many seeds (or checkpoints),
    /// and how many are left out and why.
    pub fn note(&self) -> String {
        let drawn = self.drawn();
        let mut keys: Vec<SeedKey> = drawn.iter().map(|r| r.seed_key()).collect();
        keys.sort();
        keys.dedup();
        let seeds = keys
            .iter()
            .filter(|k| matches!(k, SeedKey::Seed(_)))
            .count();
        let what = match (seeds, keys.len() - seeds) {
            (s, 0) => plural(s, "pre-training seed"),
            (0, c) => plural(c, "checkpoint"),
            (s, c) => format!(
                "{} and {}",
                plural(s, "pre-training seed"),
                plural(c, "checkpoint")
            ),
        };
        let mut note = format!("{} over {what}", plural(drawn.len(), "run"));
        let undefined = self.runs.len() - self.defined().count();
        if undefined > 0 {
            note.push_str(&format!(
                "; {} left out ({} undefined)",
                plural(undefined, "run"),
                self.metric
            ));
        }
        let no_step = self.defined().count() - drawn.len();
        if no_step > 0 {
            note.push_str(&format!(
                "; {} left out (pre-training step unknown)",
                plural(no_step, "run")
            ));
        }
        note
    }

    /// The figure as an SVG document; the same figure always gives the same bytes.
    pub fn svg(&self) -> Result<String> {
        crate::figure_svg::render(self)
    }
}

/// `n thing` or `n things`.
fn plural(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

/// The figures of one consolidated task from its table `runs`, one per variant (the plain task
/// first, then variants by name), with the per-run values of the summary's mean: the primary
/// metric of each table run, or for a bias primary metric the runs' bias metric from `coref`
/// (without coref data such a task has no figure, and a warning says so).
pub fn task_figures(
    runs: &Runs,
    c: &Consolidation,
    coref: Option<&CorefData>,
    step_unit: StepUnit,
) -> Result<Vec<Figure>> {
    let (metric, runs) = crate::span::scoring(runs, &c.primary_metric)?;
    let runs = runs.as_ref();
    let mut by_variant: BTreeMap<String, Vec<FigureRun>> = BTreeMap::new();
    if is_bias(metric) {
        let Some(data) = coref else {
            tracing::warn!(
                task = c.task,
                metric = %metric,
                "no figure: the primary metric needs Winogender metadata, which was not found"
            );
            return Ok(Vec::new());
        };
        let all: Vec<usize> = (0..data.predictions.runs.len()).collect();
        let values = data.scores(&all, metric)?;
        for (run, value) in data.predictions.runs.iter().zip(values) {
            let key = |k: &str| run.keys.get(k).cloned().unwrap_or_default();
            by_variant
                .entry(key("variant"))
                .or_default()
                .push(FigureRun {
                    pretrain_seed: run.pretrain_seed,
                    checkpoint: key("checkpoint"),
                    step: run.step_thousands(),
                    learning_rate: run.learning_rate.unwrap_or(f64::NAN),
                    value,
                });
        }
    } else {
        let all: Vec<usize> = (0..runs.first.len()).collect();
        let values = runs.scores(&all, metric)?;
        for (first, value) in runs.first.iter().zip(values) {
            by_variant
                .entry(first.variant.clone())
                .or_default()
                .push(FigureRun {
                    pretrain_seed: first.pretrain_seed,
                    checkpoint: first.checkpoint.clone(),
                    step: first.step,
                    learning_rate: first.learning_rate,
                    value,
                });
        }
    }
    Ok(by_variant
        .into_iter()
        .map(|(variant, runs)| Figure {
            task: c.task.clone(),
            variant,
            metric: metric.to_string(),
            runs,
            step_unit,
        })
        .collect())
}
