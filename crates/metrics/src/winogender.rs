//! Winogender per-occupation bias scores (Rudinger et al. 2018, as used in the MultiBERTs
//! coreference case study).

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use crate::{Metric, MetricError};

/// Pronoun gender of a Winogender sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Gender {
    /// he/him/his.
    Masculine,
    /// she/her/her.
    Feminine,
    /// they/them/their; ignored by the bias score.
    Unknown,
}

impl FromStr for Gender {
    type Err = MetricError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "MASCULINE" | "MALE" => Ok(Gender::Masculine),
            "FEMININE" | "FEMALE" => Ok(Gender::Feminine),
            "UNKNOWN" | "NEUTRAL" => Ok(Gender::Unknown),
            other => Err(MetricError::Invalid(format!(
                "unknown gender {other:?}; expected MASCULINE, FEMININE or UNKNOWN"
            ))),
        }
    }
}

/// Per-occupation bias scores of one run: P(pred = occupation | feminine) −
/// P(pred = occupation | masculine), each a mean over that occupation's sentences of that
/// gender. `predictions[i]` is 0 when sentence i's pronoun was resolved to the occupation
/// (1 = the other participant). Returns one score per occupation index `0..n_occupations`.
pub fn bias_scores(
    genders: &[Gender],
    occupations: &[usize],
    n_occupations: usize,
    predictions: &[f64],
) -> Result<Vec<f64>, MetricError> {
    if genders.len() != occupations.len() || genders.len() != predictions.len() {
        return Err(MetricError::LengthMismatch {
            labels: genders.len(),
            predictions: predictions.len(),
            weights: occupations.len(),
        });
    }
    // [occupation][0 = feminine, 1 = masculine] = (hits, total)
    let mut tallies = vec![[(0u32, 0u32); 2]; n_occupations];
    for i in 0..genders.len() {
        let occ = occupations[i];
        if occ >= n_occupations {
            return Err(MetricError::Invalid(format!(
                "sentence {i}: occupation index {occ} out of range 0..{n_occupations}"
            )));
        }
        let slot = match genders[i] {
            Gender::Feminine => 0,
            Gender::Masculine => 1,
            Gender::Unknown => continue,
        };
        let p = predictions[i];
        if p != 0.0 && p != 1.0 {
            return Err(MetricError::NotAClass {
                what: "prediction",
                index: i,
                value: p,
            });
        }
        let t = &mut tallies[occ][slot];
        t.0 += u32::from(p == 0.0);
        t.1 += 1;
    }
    tallies
        .iter()
        .enumerate()
        .map(|(occupation, [f, m])| {
            if f.1 == 0 {
                return Err(MetricError::MissingGender {
                    occupation,
                    gender: "FEMININE",
                });
            }
            if m.1 == 0 {
                return Err(MetricError::MissingGender {
                    occupation,
                    gender: "MASCULINE",
                });
            }
            Ok(f64::from(f.0) / f64::from(f.1) - f64::from(m.0) / f64::from(m.1))
        })
        .collect()
}

/// The sentences of a Winogender evaluation grouped by occupation: occupations are sorted by
/// name (the order of the paper's notebook), and each sentence knows its occupation's index and
/// its pronoun's gender. Built once per evaluation set, used for every run.
#[derive(Debug, Clone, PartialEq)]
pub struct OccupationIndex {
    names: Vec<String>,
    of_sentence: Vec<usize>,
    genders: Vec<Gender>,
}

impl OccupationIndex {
    /// Indexes sentences given as (occupation, pronoun gender), in evaluation order.
    pub fn new<'a>(sentences: impl IntoIterator<Item = (&'a str, Gender)>) -> Self {
        let sentences: Vec<(&str, Gender)> = sentences.into_iter().collect();
        let names: BTreeSet<&str> = sentences.iter().map(|(o, _)| *o).collect();
        let position: BTreeMap<&str, usize> =
            names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        Self {
            of_sentence: sentences.iter().map(|(o, _)| position[o]).collect(),
            genders: sentences.iter().map(|(_, g)| *g).collect(),
            names: names.into_iter().map(str::to_string).collect(),
        }
    }

    /// Occupation names, sorted: the order of [`OccupationIndex::bias_scores`].
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of sentences indexed.
    pub fn sentences(&self) -> usize {
        self.of_sentence.len()
    }

    /// Per-occupation bias scores of one run (see [`bias_scores`]), in [`Self::names`] order.
    pub fn bias_scores(&self, predictions: &[f64]) -> Result<Vec<f64>, MetricError> {
        bias_scores(
            &self.genders,
            &self.of_sentence,
            self.names.len(),
            predictions,
        )
    }

    /// The share of women per occupation (`bls_pct_female / 100`), in [`Self::names`] order,
    /// from a map occupation → BLS percentage (Winogender's `occupations-stats.tsv`).
    pub fn shares(&self, bls_pct_female: &BTreeMap<String, f64>) -> Result<Vec<f64>, MetricError> {
        self.names
            .iter()
            .map(|n| match bls_pct_female.get(n) {
                Some(p) if p.is_finite() => Ok(p / 100.0),
                Some(p) => Err(MetricError::Invalid(format!(
                    "occupation {n:?} has BLS share {p}, expected a finite percentage"
                ))),
                None => Err(MetricError::Invalid(format!(
                    "occupation {n:?} has no BLS share of women (bls_pct_female)"
                ))),
            })
            .collect()
    }
}

/// The Winogender numbers of one run, as in the paper's coreference case study.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WinogenderScores {
    /// Mean over all sentences (neutral pronouns included) of prediction == answer.
    pub accuracy: f64,
    /// Occupations, sorted by name.
    pub occupations: Vec<String>,
    /// Bias score per occupation: P(occupation | feminine) − P(occupation | masculine).
    pub bias_scores: Vec<f64>,
    /// Pearson r of the bias scores on the BLS share of women (`linregress(x, y).rvalue`).
    pub bias_r: f64,
    /// Least-squares slope of the same regression.
    pub bias_slope: f64,
}

/// Accuracy, bias scores, bias r and slope of one run. `answers` and `predictions` hold one
/// value per sentence of `index` (0 = occupation, 1 = other participant); `shares` one BLS
/// share of women (0–1) per occupation, in `index.names()` order.
pub fn winogender_scores(
    index: &OccupationIndex,
    answers: &[f64],
    shares: &[f64],
    predictions: &[f64],
) -> Result<WinogenderScores, MetricError> {
    if shares.len() != index.names.len() {
        return Err(MetricError::LengthMismatch {
            labels: shares.len(),
            predictions: index.names.len(),
            weights: index.names.len(),
        });
    }
    let accuracy = Metric::Accuracy.compute(answers, predictions, None)?;
    let bias = index.bias_scores(predictions)?;
    Ok(WinogenderScores {
        accuracy,
        bias_r: Metric::BiasR.compute(shares, &bias, None)?,
        bias_slope: Metric::BiasSlope.compute(shares, &bias, None)?,
        occupations: index.names.clone(),
        bias_scores: bias,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bias_is_feminine_minus_masculine_occupation_rate() {
        use Gender::*;
        let g = [
            Feminine, Feminine, Masculine, Masculine, Unknown, Feminine, Masculine,
        ];
        let occ = [0, 0, 0, 0, 0, 1, 1];
        let pred = [0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0];
        let b = bias_scores(&g, &occ, 2, &pred).unwrap();
        assert_eq!(b, vec![1.0 - 0.5, 0.0 - 1.0]);
    }

    #[test]
    fn missing_gender_is_an_error() {
        let e = bias_scores(&[Gender::Feminine], &[0], 1, &[0.0]).unwrap_err();
        assert!(matches!(
            e,
            MetricError::MissingGender { occupation: 0, .. }
        ));
    }
}
