//! Span (extractive QA) tasks in the report. Their tables carry each question's official exact
//! match and F1 (`exact`/`f1` columns, computed by the runner with the official script's rules);
//! a report metric `exact` or `f1` on such a table is the mean of that column over questions,
//! so the summary, the figures and the analyses resample questions with the `mean` metric over
//! those per-question values (`multiberts bootstrap --squad` builds the same values from the
//! upstream layout and the dev file's gold answers).

use std::borrow::Cow;
use std::str::FromStr;

use multiberts_bootstrap::Metric;
use multiberts_collector::upstream::SpanScore;

use crate::error::Result;
use crate::runs::Runs;

/// The bootstrap metric of the report metric `name` on `runs`, with the runs it applies to: for
/// a span task's table and `exact`/`f1`, `mean` over the runs with that per-question score as
/// their predictions; otherwise the named metric on the runs as they are.
pub fn scoring<'a>(runs: &'a Runs, name: &str) -> Result<(Metric, Cow<'a, Runs>)> {
    match (&runs.set.answers, SpanScore::from_str(name)) {
        (Some(_), Ok(score)) => {
            let set = runs.set.clone().with_span_score(score)?;
            let first = runs.first.clone();
            Ok((Metric::Mean, Cow::Owned(Runs { first, set })))
        }
        _ => Ok((Metric::from_str(name)?, Cow::Borrowed(runs))),
    }
}

/// The bootstrap metric a `--metric` name asks for, and for span answers the per-question
/// score it averages: with `squad` (the SQuAD layout) or the name `exact`, `exact`/`f1` → `mean`
/// over that score (default `exact` for SQuAD, else `accuracy`). `f1` on a span task's Parquet
/// is resolved when the data is read ([`crate::run_stored`]).
pub fn requested_metric(name: Option<&str>, squad: bool) -> Result<(Metric, Option<SpanScore>)> {
    let name = name.unwrap_or(if squad { "exact" } else { "accuracy" });
    if squad || name == "exact" {
        let score = SpanScore::from_str(name).map_err(crate::ReportError::Request)?;
        return Ok((Metric::Mean, Some(score)));
    }
    Ok((Metric::from_str(name)?, None))
}

/// The name of a span task's upstream layout task: SQuAD's versions as the upstream index
/// names them (`v2.0`, `v1.1`), else our task name.
pub fn upstream_squad_task(task: &str) -> &str {
    match task {
        "squad2" => "v2.0",
        "squad1" => "v1.1",
        other => other,
    }
}
