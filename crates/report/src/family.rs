//! Many analyses at once: a family of Multi-Bootstrap analyses whose one-sided p-values are
//! adjusted together for multiple comparisons by Holm–Bonferroni
//! ([`multiberts_bootstrap::holm`]).
//!
//! - A manifest's `[[analyses]]`: the family is every analysis of the manifest with an
//!   experiment side (a single-procedure analysis has no p-value); the report adds the adjusted
//!   p-values when the family has at least two members ([`holm_adjusted`]).
//! - `multiberts bootstrap` with several `--base`/`--expt` pairs or metrics
//!   ([`comparisons`], [`run_family`]): the family is every analysis of the call, adjusted with
//!   `--correct holm`.

use std::fmt;
use std::str::FromStr;

use multiberts_bootstrap::{Metric, Report, holm};
use multiberts_collector::upstream::SpanScore;

use crate::error::{ReportError, Result};
use crate::stored::{Outcome, ReadCache, StoredAnalysis, run_comparison};

/// How the p-values of a family of analyses are corrected for multiple comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Correction {
    /// None: each p-value as computed.
    #[default]
    None,
    /// Holm–Bonferroni step-down adjustment.
    Holm,
}

impl FromStr for Correction {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "none" => Ok(Self::None),
            "holm" => Ok(Self::Holm),
            other => Err(format!(
                "unknown correction `{other}`: use `holm` (or `none`)"
            )),
        }
    }
}

impl fmt::Display for Correction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "none",
            Self::Holm => "holm",
        })
    }
}

/// The Holm-adjusted p-value of each report, in order, across the family of the reports that
/// have a difference (and so a p-value); `None` for the others (single-procedure analyses).
pub fn holm_adjusted(reports: &[&Report]) -> Vec<Option<f64>> {
    let p: Vec<f64> = reports
        .iter()
        .map(|r| r.delta.map_or(f64::NAN, |d| d.p))
        .collect();
    holm(&p)
        .into_iter()
        .zip(reports)
        .map(|(adjusted, r)| r.delta.map(|_| adjusted))
        .collect()
}

/// How many of `reports` have a p-value: the size of their family.
pub fn family_size(reports: &[&Report]) -> usize {
    reports.iter().filter(|r| r.delta.is_some()).count()
}

/// The sentence under an analyses table that says which family was corrected: `members` are the
/// names of the analyses with a p-value.
pub fn family_note(members: &[&str]) -> String {
    format!(
        "p (Holm): the p-value adjusted by Holm–Bonferroni across the family of the {} analyses \
         with a p-value ({}); single-procedure analyses have none.",
        members.len(),
        members.join(", ")
    )
}

/// One analysis of a family: its two sides and its metric; everything else (sources, design,
/// draws, random numbers) is the family's [`StoredAnalysis`].
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Selector of the baseline's runs (`None`: every run the experiment does not select).
    pub base: Option<String>,
    /// Selector of the experiment's runs (`None`: a single-procedure estimate, unless the
    /// family has a second source).
    pub expt: Option<String>,
    /// The metric.
    pub metric: Metric,
    /// For span answers: the per-question score whose mean is the metric.
    pub span_score: Option<SpanScore>,
}

impl Comparison {
    /// The one comparison `a` names.
    pub fn of(a: &StoredAnalysis) -> Self {
        Self {
            base: a.base.clone(),
            expt: a.expt.clone(),
            metric: a.metric,
            span_score: a.span_score,
        }
    }

    /// The metric's name as the user gave it (`exact`/`f1` for span answers).
    pub fn metric_name(&self) -> String {
        match self.span_score {
            Some(SpanScore::Exact) => "exact".into(),
            Some(SpanScore::F1) => "f1".into(),
            None => self.metric.to_string(),
        }
    }

    /// A short label: `<base> vs <expt>, <metric>`.
    pub fn label(&self) -> String {
        let side = |s: &Option<String>, none: &str| s.clone().unwrap_or_else(|| none.into());
        match &self.expt {
            Some(_) => format!(
                "{} vs {}, {}",
                side(&self.base, "<rest>"),
                side(&self.expt, ""),
                self.metric_name()
            ),
            None => format!("{}, {}", side(&self.base, "<all>"), self.metric_name()),
        }
    }
}

/// The comparisons of `multiberts bootstrap`'s repeated `--base` and `--expt` selectors,
/// each with every metric of `metrics` (selector pairs outer, metrics inner):
///
/// - as many `--base` as `--expt`: paired by position;
/// - one `--base` (or none) and several `--expt`: each experiment against that base (none:
///   against the runs it does not select);
/// - several `--base` and one `--expt`: each base against that experiment;
/// - several `--base` and no `--expt`: one single-procedure estimate each.
///
/// Any other count is an error.
pub fn comparisons(
    bases: &[String],
    expts: &[String],
    metrics: &[(Metric, Option<SpanScore>)],
) -> Result<Vec<Comparison>> {
    let some = |s: &String| Some(s.clone());
    let pairs: Vec<(Option<String>, Option<String>)> = match (bases.len(), expts.len()) {
        (b, e) if b == e => bases.iter().map(some).zip(expts.iter().map(some)).collect(),
        (_, 0) => bases.iter().map(|b| (some(b), None)).collect(),
        (0 | 1, _) => expts
            .iter()
            .map(|e| (bases.first().cloned(), some(e)))
            .collect(),
        (_, 1) => bases
            .iter()
            .map(|b| (some(b), expts.first().cloned()))
            .collect(),
        (b, e) => {
            return Err(ReportError::Request(format!(
                "{b} --base and {e} --expt selectors: give as many of each (paired by \
                 position), or one of either side"
            )));
        }
    };
    let pairs = if pairs.is_empty() {
        vec![(None, None)]
    } else {
        pairs
    };
    if metrics.is_empty() {
        return Err(ReportError::Request("no metric given".into()));
    }
    Ok(pairs
        .into_iter()
        .flat_map(|(base, expt)| {
            metrics.iter().map(move |&(metric, span_score)| Comparison {
                base: base.clone(),
                expt: expt.clone(),
                metric,
                span_score,
            })
        })
        .collect())
}

/// One analysis of a family and its result.
#[derive(Debug)]
pub struct Member {
    /// What was compared.
    pub comparison: Comparison,
    /// The result, as a single `multiberts bootstrap` call gives it.
    pub outcome: Outcome,
    /// The p-value adjusted across the family (with a correction, for analyses with a
    /// p-value).
    pub p_adjusted: Option<f64>,
}

/// What [`run_family`] computed.
#[derive(Debug)]
pub struct FamilyOutcome {
    /// The correction applied.
    pub correction: Correction,
    /// Each analysis, in the order asked.
    pub members: Vec<Member>,
}

/// Runs every comparison of `comparisons` with the sources and options of `a` (each source read
/// once per task) and adjusts their p-values by `correction`.
pub fn run_family(
    a: &StoredAnalysis,
    comparisons: &[Comparison],
    correction: Correction,
) -> Result<FamilyOutcome> {
    let mut cache = ReadCache::default();
    let mut members = Vec::with_capacity(comparisons.len());
    for c in comparisons {
        let outcome = run_comparison(a, c, &mut cache).map_err(|e| ReportError::Analysis {
            name: c.label(),
            source: Box::new(e),
        })?;
        members.push(Member {
            comparison: c.clone(),
            outcome,
            p_adjusted: None,
        });
    }
    if correction == Correction::Holm {
        let reports: Vec<&Report> = members.iter().map(|m| &m.outcome.report).collect();
        let adjusted = holm_adjusted(&reports);
        for (m, p) in members.iter_mut().zip(adjusted) {
            m.p_adjusted = p;
        }
    }
    Ok(FamilyOutcome {
        correction,
        members,
    })
}

impl FamilyOutcome {
    /// The analyses with a p-value: the family.
    fn family(&self) -> Vec<&Member> {
        self.members
            .iter()
            .filter(|m| m.outcome.report.delta.is_some())
            .collect()
    }

    /// Each analysis as a single call prints it, under a numbered heading, then the table of
    /// p-values (adjusted ones with a correction) and which family was corrected.
    pub fn text(&self) -> String {
        let n = self.members.len();
        let mut t = String::new();
        for (i, m) in self.members.iter().enumerate() {
            t += &format!("== analysis {}/{n}: {}\n", i + 1, m.comparison.label());
            t += &m.outcome.text();
            t.push('\n');
        }
        let family = self.family();
        t += &match self.correction {
            Correction::Holm => format!(
                "Holm-Bonferroni adjusted p-values across the family of the {} analyses with a \
                 p-value (every analysis of this call but single-procedure estimates):\n",
                family.len()
            ),
            Correction::None => "p-values (uncorrected; --correct holm adjusts them):\n".into(),
        };
        for (i, m) in self.members.iter().enumerate() {
            let Some(d) = m.outcome.report.delta else {
                continue;
            };
            let p = multiberts_bootstrap::pyfmt::g(d.p, 3);
            let adjusted = m.p_adjusted.map_or(String::new(), |q| {
                format!("  p_holm = {}", multiberts_bootstrap::pyfmt::g(q, 3))
            });
            t += &format!("  {}. {}: p = {p}{adjusted}\n", i + 1, m.comparison.label());
        }
        t
    }

    /// The family as JSON: the correction, the family's size and each analysis as a single
    /// call's JSON with its label and adjusted p-value.
    pub fn json(&self) -> serde_json::Value {
        let analyses: Vec<serde_json::Value> = self
            .members
            .iter()
            .map(|m| {
                let mut v = m.outcome.json();
                if let Some(obj) = v.as_object_mut() {
                    obj.insert("label".into(), m.comparison.label().into());
                    obj.insert("base_selector".into(), m.comparison.base.clone().into());
                    obj.insert("expt_selector".into(), m.comparison.expt.clone().into());
                    obj.insert("metric".into(), m.comparison.metric_name().into());
                    obj.insert("p_adjusted".into(), m.p_adjusted.into());
                }
                v
            })
            .collect();
        serde_json::json!({
            "correction": self.correction.to_string(),
            "family_size": self.family().len(),
            "analyses": analyses,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn selectors_pair_by_position_or_against_the_one_side() {
        let acc = [(Metric::Accuracy, None)];
        let pairs = |b: &[&str], e: &[&str]| -> Vec<(Option<String>, Option<String>)> {
            comparisons(&s(b), &s(e), &acc)
                .unwrap()
                .into_iter()
                .map(|c| (c.base, c.expt))
                .collect()
        };
        let o = |x: &str| Some(x.to_string());
        assert_eq!(pairs(&[], &[]), vec![(None, None)]);
        assert_eq!(pairs(&["a"], &["b"]), vec![(o("a"), o("b"))]);
        assert_eq!(
            pairs(&["a", "c"], &["b", "d"]),
            vec![(o("a"), o("b")), (o("c"), o("d"))]
        );
        assert_eq!(
            pairs(&["a"], &["b", "d"]),
            vec![(o("a"), o("b")), (o("a"), o("d"))]
        );
        assert_eq!(
            pairs(&[], &["b", "d"]),
            vec![(None, o("b")), (None, o("d"))]
        );
        assert_eq!(
            pairs(&["a", "c"], &["b"]),
            vec![(o("a"), o("b")), (o("c"), o("b"))]
        );
        assert_eq!(
            pairs(&["a", "c"], &[]),
            vec![(o("a"), None), (o("c"), None)]
        );
        let err = comparisons(&s(&["a", "b", "c"]), &s(&["x", "y"]), &acc).unwrap_err();
        assert!(err.to_string().contains("3 --base and 2 --expt"), "{err}");
    }

    #[test]
    fn metrics_multiply_the_pairs() {
        let metrics = [(Metric::Accuracy, None), (Metric::Mcc, None)];
        let c = comparisons(&s(&["a"]), &s(&["b", "d"]), &metrics).unwrap();
        let labels: Vec<String> = c.iter().map(Comparison::label).collect();
        assert_eq!(
            labels,
            [
                "a vs b, accuracy",
                "a vs b, mcc",
                "a vs d, accuracy",
                "a vs d, mcc"
            ]
        );
    }

    #[test]
    fn corrections_parse() {
        assert_eq!("holm".parse::<Correction>(), Ok(Correction::Holm));
        assert_eq!("none".parse::<Correction>(), Ok(Correction::None));
        assert!("bonferroni".parse::<Correction>().is_err());
    }
}
