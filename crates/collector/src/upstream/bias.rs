//! Winogender bias inputs for the Multi-Bootstrap: per run, the bias score of every occupation,
//! and per occupation the BLS share of women. The 60 occupations are then the bootstrap's
//! "examples" (`y` = shares, `P` = bias scores, score = Pearson r), as in the paper's coref
//! notebook; accuracy instead resamples the sentences.

use std::collections::BTreeMap;
use std::path::Path;

use multiberts_metrics::winogender::{Gender, OccupationIndex};

use super::text;
use super::{CorefExample, Matrix, UpstreamPredictions};
use crate::error::{CollectorError, Result};

/// Per-run bias scores (runs × occupations) and the occupations' BLS shares (0–1).
#[derive(Debug, Clone, PartialEq)]
pub struct BiasInputs {
    /// Occupations, sorted by name (the columns of `scores`).
    pub occupations: Vec<String>,
    /// BLS share of women per occupation, `bls_pct_female / 100`.
    pub shares: Vec<f64>,
    /// Bias score of each run (rows, aligned with the data's runs) and occupation.
    pub scores: Matrix<f64>,
}

/// The bias inputs of `data` (which needs `coref_examples`), with `bls_pct_female` per
/// occupation (Winogender's `occupations-stats.tsv`, see [`read_occupation_stats`]).
pub fn bias_inputs(
    data: &UpstreamPredictions,
    bls_pct_female: &BTreeMap<String, f64>,
) -> Result<BiasInputs> {
    let invalid = |message: String| CollectorError::Invalid {
        context: format!("Winogender bias of task `{}`", data.task),
        message,
    };
    let examples = data.coref_examples.as_ref().ok_or_else(|| {
        invalid("needs per-sentence Winogender metadata (the coref layout's label_info.tsv)".into())
    })?;
    let genders: Vec<Gender> = examples
        .iter()
        .enumerate()
        .map(|(i, e)| {
            e.gender
                .parse()
                .map_err(|err| invalid(format!("sentence {i}: {err}")))
        })
        .collect::<Result<_>>()?;
    let index = OccupationIndex::new(
        examples
            .iter()
            .zip(&genders)
            .map(|(e, g)| (e.occupation.as_str(), *g)),
    );
    let shares = index
        .shares(bls_pct_female)
        .map_err(|e| invalid(e.to_string()))?;
    let k = index.names().len();
    let mut scores = Vec::with_capacity(data.runs.len() * k);
    for r in 0..data.runs.len() {
        let b = index
            .bias_scores(data.predictions.row(r))
            .map_err(|e| invalid(format!("run {r}: {e}")))?;
        scores.extend(b);
    }
    Ok(BiasInputs {
        occupations: index.names().to_vec(),
        shares,
        scores: Matrix::from_vec(data.runs.len(), k, scores)
            .ok_or_else(|| invalid("internal shape error".into()))?,
    })
}

/// occupation → `bls_pct_female` from a Winogender `occupations-stats.tsv` (columns found by
/// name; other columns ignored). Errors name the file and line.
pub fn read_occupation_stats(path: &Path) -> Result<BTreeMap<String, f64>> {
    let table = text::read_table(path)?;
    let c_occ = table.column(path, "occupation")?;
    let c_bls = table.column(path, "bls_pct_female")?;
    let mut out = BTreeMap::new();
    for (line, row) in &table.rows {
        let v = text::parse_f64(&row[c_bls]).ok_or_else(|| CollectorError::Malformed {
            path: path.to_path_buf(),
            line: *line,
            message: format!("`bls_pct_female` is `{}`, expected a number", row[c_bls]),
        })?;
        out.insert(row[c_occ].trim().to_string(), v);
    }
    Ok(out)
}

/// Writes `occupations-stats.tsv` (`occupation`, `bls_pct_female`) into `dir`, so that an
/// exported coref folder carries the shares its bias r needs.
pub fn write_occupation_stats(dir: &Path, bls_pct_female: &BTreeMap<String, f64>) -> Result<()> {
    let header = vec!["occupation".to_string(), "bls_pct_female".to_string()];
    let rows: Vec<Vec<String>> = bls_pct_female
        .iter()
        .map(|(o, p)| vec![o.clone(), super::python_float(*p)])
        .collect();
    text::write_table(&dir.join("occupations-stats.tsv"), &header, &rows)
}

impl CorefExample {
    /// The coref-layout metadata of one Winogender(-like) sentence from an example's `meta`
    /// (keys `gender`, `pronoun_type`, `answer`, `occupation`, `participant` or
    /// `other_participant`, `someone`, `template_idx`). `Err` names the missing or bad key.
    pub fn from_meta(meta: &BTreeMap<String, String>) -> std::result::Result<Self, String> {
        let get = |k: &str| meta.get(k).ok_or_else(|| format!("no `{k}` metadata"));
        let int = |k: &str| {
            let v = get(k)?;
            text::parse_int(v).ok_or_else(|| format!("`{k}` is `{v}`, expected an integer"))
        };
        let someone = match get("someone")?.as_str() {
            "True" | "true" | "1" => true,
            "False" | "false" | "0" => false,
            other => return Err(format!("`someone` is `{other}`, expected True or False")),
        };
        Ok(CorefExample {
            gender: get("gender")?.clone(),
            pronoun_type: get("pronoun_type")?.clone(),
            answer: int("answer")?,
            occupation: get("occupation")?.clone(),
            other_participant: meta
                .get("participant")
                .or_else(|| meta.get("other_participant"))
                .ok_or_else(|| "no `participant` metadata".to_string())?
                .clone(),
            someone,
            template_idx: int("template_idx")?,
        })
    }
}
