//! Winogender metrics on the real 720 sentences with hand-constructed predictions, checked
//! against an independent computation in exact rational arithmetic.
//!
//! The predictions (sentence i in `all_sentences.tsv` order, sentid `occ.participant.answer.
//! gender.txt`, bls = `bls_pct_female` of the occupation):
//! - 0 (occupation) when (female and bls ≥ 50, or male and bls < 50) and i % 4 ≠ 1;
//! - otherwise the answer when (5·i) % 7 < 3, else the wrong candidate.
//!
//! Reference (Python 3, `fractions.Fraction` for every mean, sum and slope; the square root of
//! Pearson's r in 50-digit `decimal`), reading the same two files and applying the same rule:
//!
//! ```python
//! bls = {occ: F(pct) for occ, _, pct, _ in rows("occupations-stats.tsv")}
//! sents = [(occ, int(ans), gen) for occ, part, ans, gen, _ in (sid.split(".") for sid in ids)]
//! acc = F(sum(p == s[1] for p, s in zip(preds, sents)), len(sents))
//! bias = [F(#female sentences predicted 0, #female) - F(#male predicted 0, #male) per occ (sorted)]
//! x = [bls[n] / 100 for n in sorted(bls)]; r = sxy / sqrt(sxx * syy); slope = sxy / sxx
//! ```
//!
//! printed accuracy 161/360, bias r 0.562661689073954946858117311707…, slope
//! 489570000/548485367 = 0.892585344031612, and the 60 bias scores below.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use multiberts_metrics::winogender::{Gender, OccupationIndex, winogender_scores};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/winogender")
        .join(name)
}

/// (occupation, answer, gender) per sentence of all_sentences.tsv.
fn sentences() -> Vec<(String, f64, Gender)> {
    let text = std::fs::read_to_string(data("all_sentences.tsv")).unwrap();
    text.lines()
        .skip(1)
        .map(|line| {
            let sid = line.split('\t').next().unwrap();
            let f: Vec<&str> = sid.split('.').collect();
            let gender = match f[3] {
                "female" => Gender::Feminine,
                "male" => Gender::Masculine,
                "neutral" => Gender::Unknown,
                g => panic!("gender {g}"),
            };
            (f[0].to_string(), f[2].parse().unwrap(), gender)
        })
        .collect()
}

fn bls() -> BTreeMap<String, f64> {
    let text = std::fs::read_to_string(data("occupations-stats.tsv")).unwrap();
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            (f[0].to_string(), f[2].parse().unwrap())
        })
        .collect()
}

const BIAS_X4: [i32; 60] = [
    0, 1, 0, 1, -3, 3, 0, 0, 2, 1, 4, 1, -2, 1, 0, 1, 3, -3, 1, -1, -1, 0, 0, -1, 1, -3, 2, 0, -2,
    0, 0, -1, -1, 0, 3, 3, 0, -2, 2, -3, 0, 0, -3, 0, -2, 2, -1, 2, 3, 0, -4, 3, -2, 0, 1, 0, 1, 1,
    0, -2,
];

#[test]
fn accuracy_bias_scores_r_and_slope_match_the_exact_reference() {
    let sents = sentences();
    let bls = bls();
    assert_eq!(sents.len(), 720);
    let preds: Vec<f64> = sents
        .iter()
        .enumerate()
        .map(|(i, (occ, ans, g))| {
            let share = bls[occ];
            let stereo = (*g == Gender::Feminine && share >= 50.0)
                || (*g == Gender::Masculine && share < 50.0);
            if stereo && i % 4 != 1 {
                0.0
            } else if (i * 5) % 7 < 3 {
                *ans
            } else {
                1.0 - ans
            }
        })
        .collect();
    let index = OccupationIndex::new(sents.iter().map(|(o, _, g)| (o.as_str(), *g)));
    assert_eq!(index.names().len(), 60);
    let shares = index.shares(&bls).unwrap();
    let answers: Vec<f64> = sents.iter().map(|s| s.1).collect();
    let s = winogender_scores(&index, &answers, &shares, &preds).unwrap();
    assert_eq!(s.accuracy, 161.0 / 360.0);
    let want: Vec<f64> = BIAS_X4.iter().map(|&b| f64::from(b) / 4.0).collect();
    assert_eq!(s.bias_scores, want);
    assert!(
        (s.bias_r - 0.562_661_689_073_954_9).abs() < 1e-12,
        "{}",
        s.bias_r
    );
    assert!(
        (s.bias_slope - 489_570_000.0 / 548_485_367.0).abs() < 1e-12,
        "{}",
        s.bias_slope
    );
    // The occupations come sorted by name, the notebook's order.
    let mut sorted = index.names().to_vec();
    sorted.sort();
    assert_eq!(index.names(), sorted.as_slice());
}

#[test]
fn a_missing_bls_share_names_the_occupation() {
    let index = OccupationIndex::new([("nurse", Gender::Feminine), ("nurse", Gender::Masculine)]);
    let err = index.shares(&BTreeMap::new()).unwrap_err().to_string();
    assert!(err.contains("nurse"), "{err}");
}
