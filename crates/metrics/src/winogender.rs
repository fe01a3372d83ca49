//! Winogender per-occupation bias scores (Rudinger et al. 2018, as used in the MultiBERTs
//! coreference case study).

use std::str::FromStr;

use crate::MetricError;

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
