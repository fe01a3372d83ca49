//! From per-example model outputs to the rows of `predictions.parquet` and the dev metrics.
//!
//! Most tasks have one row per evaluation example. A **choice** task (examples carrying
//! `choice`, e.g. Winogender) has one row per item instead: the item's candidates are the
//! examples sharing its `group`; `prediction` is the candidate with the highest score (the first
//! on ties, as numpy's argmax), `label` the index of the candidate labelled 1, and `scores` the
//! candidates' scores (the span-pair probability of coreference) in candidate order — for
//! Winogender `[occupation, participant]`, so the prediction is 0 = occupation, 1 = participant
//! as in the upstream coref layout. Items with fewer candidates than the largest item are padded
//! with NaN scores. Row ids are the groups (Winogender's sentid).
//!
//! A **span** task (SQuAD) has one row per question, decoded from all its windows
//! ([`crate::qa::SpanLayout`]).
//!
//! Metrics are computed on the rows; `bias_r` and `bias_slope` additionally need per-item
//! Winogender metadata (`occupation`, `gender`, `bls_pct_female`, from the item's first
//! candidate) and are the paper's Pearson r / slope of per-occupation bias scores on the BLS
//! share of women.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use multiberts_metrics::Metric;
use multiberts_metrics::winogender::{Gender, OccupationIndex, winogender_scores};
use multiberts_tasks::Example;

use crate::error::{Result, RunnerError};

/// One row of the predictions table (before the job's identity columns are added).
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// The example id, or the item's group for choice tasks.
    pub id: String,
    /// Gold class index / regression target / correct candidate.
    pub label: f64,
    /// Predicted class / value / candidate.
    pub prediction: f64,
    /// Class scores, or the candidates' scores.
    pub scores: Vec<f32>,
    /// Span tasks: the decoded answer and its official scores.
    pub answer: Option<multiberts_collector::AnswerColumns>,
}

/// One multiple-choice item: its group and the example index of each candidate.
#[derive(Debug, Clone)]
struct Item {
    group: String,
    members: Vec<usize>,
    answer: usize,
}

/// Winogender inputs for `bias_r`/`bias_slope`: the items' occupations and the BLS shares.
#[derive(Debug, Clone)]
struct Bias {
    index: OccupationIndex,
    shares: Vec<f64>,
}

/// How the evaluation split's outputs become rows.
#[derive(Debug, Clone)]
pub struct EvalLayout {
    items: Option<Vec<Item>>,
    width: usize,
    bias: Option<Result<Bias, String>>,
    span: Option<crate::qa::SpanLayout>,
    task: String,
    split: String,
}

impl EvalLayout {
    /// The layout of `examples` (the evaluation split `split` of `task`): per example, or per
    /// choice item when the examples carry `choice`. `labels[i]` is example i's label as a
    /// number. Errors name the example when the items are malformed.
    pub fn new(task: &str, split: &str, examples: &[Example], labels: &[f64]) -> Result<Self> {
        let bad = |i: usize, message: String| RunnerError::data(task, split, examples, i, message);
        let with_choice = examples.iter().filter(|e| e.choice.is_some()).count();
        if with_choice == 0 {
            return Ok(Self {
                items: None,
                width: 0,
                bias: None,
                span: None,
                task: task.into(),
                split: split.into(),
            });
        }
        if with_choice != examples.len() {
            let i = examples
                .iter()
                .position(|e| e.choice.is_none())
                .unwrap_or(0);
            return Err(bad(
                i,
                "some examples of this split are choice candidates and this one is not".into(),
            ));
        }
        let mut items: Vec<Item> = Vec::new();
        let mut by_group: HashMap<&str, usize> = HashMap::new();
        for (i, e) in examples.iter().enumerate() {
            let Some(c) = &e.choice else { continue };
            let k = *by_group.entry(c.group.as_str()).or_insert_with(|| {
                items.push(Item {
                    group: c.group.clone(),
                    members: Vec::new(),
                    answer: usize::MAX,
                });
                items.len() - 1
            });
            let item = &mut items[k];
            if c.candidate != item.members.len() {
                return Err(bad(
                    i,
                    format!(
                        "candidate {} of item `{}` follows {} candidates; candidates must be \
                         listed as 0, 1, … in order",
                        c.candidate,
                        c.group,
                        item.members.len()
                    ),
                ));
            }
            if labels[i] == 1.0 {
                if item.answer != usize::MAX {
                    return Err(bad(
                        i,
                        format!("item `{}` has two candidates labelled 1", c.group),
                    ));
                }
                item.answer = c.candidate;
            }
            item.members.push(i);
        }
        if let Some(item) = items.iter().find(|it| it.answer == usize::MAX) {
            return Err(bad(
                item.members[0],
                format!("item `{}` has no candidate labelled 1", item.group),
            ));
        }
        let width = items.iter().map(|it| it.members.len()).max().unwrap_or(0);
        let bias = Some(bias_inputs(examples, &items));
        Ok(Self {
            items: Some(items),
            width,
            bias,
            span: None,
            task: task.into(),
            split: split.into(),
        })
    }

    /// The layout of a span task's evaluation split: one row per question.
    pub(crate) fn span(task: &str, split: &str, layout: crate::qa::SpanLayout) -> Self {
        Self {
            items: None,
            width: 0,
            bias: None,
            span: Some(layout),
            task: task.into(),
            split: split.into(),
        }
    }

    /// Whether rows are choice items.
    pub fn is_choice(&self) -> bool {
        self.items.is_some()
    }

    /// The rows, from each example's class scores and prediction (span-pair: scores
    /// `[1 − p, p]` with p the probability of coreference; span tasks: each window's logits,
    /// decoded per question).
    pub fn outputs(
        &self,
        examples: &[Example],
        labels: &[f64],
        scores: Vec<Vec<f32>>,
        preds: &[f64],
    ) -> Result<Vec<Output>> {
        if let Some(span) = &self.span {
            return span.outputs(&scores);
        }
        let Some(items) = &self.items else {
            return Ok(examples
                .iter()
                .zip(scores)
                .enumerate()
                .map(|(i, (e, s))| Output {
                    id: e.id.clone(),
                    label: labels[i],
                    prediction: preds[i],
                    scores: s,
                    answer: None,
                })
                .collect());
        };
        Ok(items
            .iter()
            .map(|it| {
                let mut s: Vec<f32> = it
                    .members
                    .iter()
                    .map(|&m| scores[m].last().copied().unwrap_or(f32::NAN))
                    .collect();
                let mut best = 0;
                for (k, &v) in s.iter().enumerate() {
                    if v > s[best] {
                        best = k;
                    }
                }
                s.resize(self.width, f32::NAN);
                Output {
                    id: it.group.clone(),
                    label: it.answer as f64,
                    prediction: best as f64,
                    scores: s,
                    answer: None,
                }
            })
            .collect())
    }

    /// The named metrics on `rows`.
    pub fn metrics(&self, names: &[String], rows: &[Output]) -> Result<BTreeMap<String, f64>> {
        if let Some(span) = &self.span {
            return span.metrics(names, rows);
        }
        let labels: Vec<f64> = rows.iter().map(|r| r.label).collect();
        let preds: Vec<f64> = rows.iter().map(|r| r.prediction).collect();
        let mut out = BTreeMap::new();
        let mut wino = None;
        for name in names {
            let metric = Metric::from_str(name).map_err(|source| RunnerError::Metric {
                metric: name.clone(),
                source,
            })?;
            let value =
                match metric {
                    Metric::BiasR | Metric::BiasSlope => {
                        let bias = match &self.bias {
                            Some(Ok(b)) => b,
                            Some(Err(why)) => return Err(self.invalid(name, why.clone())),
                            None => {
                                return Err(self.invalid(
                                    name,
                                    "needs Winogender choice items (examples with `choice`)".into(),
                                ));
                            }
                        };
                        if wino.is_none() {
                            wino = Some(
                                winogender_scores(&bias.index, &labels, &bias.shares, &preds)
                                    .map_err(|source| RunnerError::Metric {
                                        metric: name.clone(),
                                        source,
                                    })?,
                            );
                        }
                        wino.as_ref().map_or(f64::NAN, |w| {
                            if metric == Metric::BiasR {
                                w.bias_r
                            } else {
                                w.bias_slope
                            }
                        })
                    }
                    _ => metric.compute(&labels, &preds, None).map_err(|source| {
                        RunnerError::Metric {
                            metric: name.clone(),
                            source,
                        }
                    })?,
                };
            out.insert(name.clone(), value);
        }
        Ok(out)
    }

    fn invalid(&self, metric: &str, why: String) -> RunnerError {
        RunnerError::Metric {
            metric: metric.to_string(),
            source: multiberts_metrics::MetricError::Invalid(format!(
                "task `{}`, split `{}`: {why}",
                self.task, self.split
            )),
        }
    }
}

/// The occupation, gender and BLS share of every item (from its first candidate's metadata).
fn bias_inputs(examples: &[Example], items: &[Item]) -> std::result::Result<Bias, String> {
    let mut occ = Vec::with_capacity(items.len());
    let mut bls: BTreeMap<String, f64> = BTreeMap::new();
    for it in items {
        let e = &examples[it.members[0]];
        let get = |key: &str| {
            e.meta.get(key).ok_or_else(|| {
                format!(
                    "example `{}` has no `{key}` metadata (bias r needs occupation, gender, \
                     bls_pct_female)",
                    e.id
                )
            })
        };
        let occupation = get("occupation")?;
        let gender: Gender = get("gender")?
            .parse()
            .map_err(|err| format!("example `{}`: {err}", e.id))?;
        let pct: f64 = get("bls_pct_female")?.parse().map_err(|_| {
            format!(
                "example `{}`: bls_pct_female {:?} is not a number",
                e.id, e.meta["bls_pct_female"]
            )
        })?;
        bls.insert(occupation.clone(), pct);
        occ.push((occupation.as_str(), gender));
    }
    let index = OccupationIndex::new(occ);
    let shares = index.shares(&bls).map_err(|e| e.to_string())?;
    Ok(Bias { index, shares })
}
