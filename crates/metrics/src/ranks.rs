//! Average ranks under integer multiplicities, for Spearman's correlation.

/// Ascending average ranks (1-based, ties share the mean of their ranks, as
/// `scipy.stats.rankdata(method="average")`) of `values` where value i occurs `weights[i]`
/// times. Zero-weight values get the rank they would share with their tie group.
pub fn weighted_ranks(values: &[f64], weights: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut out = vec![0.0; values.len()];
    weighted_ranks_in_order(values, &order, |i| weights[i], &mut out);
    out
}

/// Like [`weighted_ranks`] with `order` the precomputed ascending order of `values`, writing
/// into `out`: O(n) per call, so a bootstrap sorts once and ranks every draw cheaply.
pub fn weighted_ranks_in_order(
    values: &[f64],
    order: &[usize],
    weight: impl Fn(usize) -> f64,
    out: &mut [f64],
) {
    let mut before = 0.0;
    let mut start = 0;
    while start < order.len() {
        let v = values[order[start]];
        let mut end = start;
        let mut group = 0.0;
        while end < order.len() && values[order[end]] == v {
            group += weight(order[end]);
            end += 1;
        }
        let rank = before + (group + 1.0) / 2.0;
        for &i in &order[start..end] {
            out[i] = rank;
        }
        before += group;
        start = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_average_rank_like_scipy() {
        // scipy.stats.rankdata([3, 1, 3, 2]) = [3.5, 1, 3.5, 2]
        let r = weighted_ranks(&[3.0, 1.0, 3.0, 2.0], &[1.0; 4]);
        assert_eq!(r, vec![3.5, 1.0, 3.5, 2.0]);
    }

    #[test]
    fn multiplicities_act_as_copies() {
        // [1, 1, 2, 5, 5, 5] -> ranks 1.5, 3, 5
        let r = weighted_ranks(&[5.0, 1.0, 2.0], &[3.0, 2.0, 1.0]);
        assert_eq!(r, vec![5.0, 1.5, 3.0]);
    }
}
