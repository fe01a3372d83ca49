//! Holm–Bonferroni adjustment for a family of analyses (e.g. the eight GLUE tasks).

/// Holm's step-down adjusted p-values, in the input order: sort ascending, multiply the i-th
/// smallest (0-based) by (m − i), enforce monotonicity, cap at 1. NaN p-values stay NaN and
/// do not count towards m.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let m = idx.len();
    let mut out = vec![f64::NAN; p.len()];
    let mut running: f64 = 0.0;
    for (rank, &i) in idx.iter().enumerate() {
        let adj = ((m - rank) as f64 * p[i]).min(1.0);
        running = running.max(adj);
        out[i] = running;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_statsmodels_holm() {
        // statsmodels.stats.multitest.multipletests([0.01, 0.04, 0.03, 0.005], method="holm")
        // -> [0.03, 0.06, 0.06, 0.02]
        let adj = holm(&[0.01, 0.04, 0.03, 0.005]);
        let want = [0.03, 0.06, 0.06, 0.02];
        for (a, w) in adj.iter().zip(want) {
            assert!((a - w).abs() < 1e-15, "{adj:?}");
        }
    }

    #[test]
    fn caps_at_one_and_keeps_nan() {
        let adj = holm(&[0.6, f64::NAN, 0.5]);
        assert_eq!(adj[0], 1.0);
        assert!(adj[1].is_nan());
        assert_eq!(adj[2], 1.0);
    }
}
