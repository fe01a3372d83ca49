//! Weighted confusion matrices and the classification metrics computed from them.

/// A K×K confusion matrix of integer weights, rows = true label, columns = prediction.
///
/// Integer cells keep every derived metric bit-identical however the counts were gathered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confusion {
    k: usize,
    cells: Vec<u64>,
}

impl Confusion {
    /// An all-zero matrix over `k` classes.
    pub fn new(k: usize) -> Self {
        Self {
            k,
            cells: vec![0; k * k],
        }
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.k
    }

    /// Sets every cell to zero, keeping the allocation.
    pub fn clear(&mut self) {
        self.cells.iter_mut().for_each(|c| *c = 0);
    }

    /// Adds `weight` examples with true class `label` predicted as `pred` (both `< k`).
    #[inline]
    pub fn add(&mut self, label: usize, pred: usize, weight: u64) {
        self.cells[label * self.k + pred] += weight;
    }

    /// Adds `weight` to a cell given by its flat code `label * k + pred`.
    #[inline]
    pub fn add_code(&mut self, code: usize, weight: u64) {
        self.cells[code] += weight;
    }

    /// The weight in cell (label, pred).
    pub fn get(&self, label: usize, pred: usize) -> u64 {
        self.cells[label * self.k + pred]
    }

    /// Total weight.
    pub fn total(&self) -> u64 {
        self.cells.iter().sum()
    }

    fn row_sum(&self, c: usize) -> u64 {
        self.cells[c * self.k..(c + 1) * self.k].iter().sum()
    }

    fn col_sum(&self, c: usize) -> u64 {
        (0..self.k).map(|r| self.cells[r * self.k + c]).sum()
    }

    /// Fraction of weight on the diagonal; NaN when empty.
    pub fn accuracy(&self) -> f64 {
        let total = self.total();
        if total == 0 {
            return f64::NAN;
        }
        let diag: u64 = (0..self.k).map(|c| self.get(c, c)).sum();
        diag as f64 / total as f64
    }

    /// F1 of one class: 2tp / (2tp + fp + fn); NaN when the class never occurs in labels or
    /// predictions (scikit-learn would report 0 with a warning).
    pub fn f1_of(&self, class: usize) -> f64 {
        if class >= self.k {
            return f64::NAN;
        }
        let tp = self.get(class, class);
        let fp = self.col_sum(class) - tp;
        let fn_ = self.row_sum(class) - tp;
        let denom = 2 * tp + fp + fn_;
        if denom == 0 {
            f64::NAN
        } else {
            (2 * tp) as f64 / denom as f64
        }
    }

    /// Binary F1 with class 1 as the positive class (GLUE's MRPC and QQP convention).
    pub fn f1_binary(&self) -> f64 {
        self.f1_of(1)
    }

    /// Unweighted mean of per-class F1 over the classes that occur in labels or predictions
    /// (scikit-learn's `average="macro"`); NaN when empty.
    pub fn macro_f1(&self) -> f64 {
        let mut sum = 0.0;
        let mut n = 0usize;
        for c in 0..self.k {
            if self.row_sum(c) + self.col_sum(c) > 0 {
                sum += self.f1_of(c);
                n += 1;
            }
        }
        if n == 0 { f64::NAN } else { sum / n as f64 }
    }

    /// Matthews correlation (Gorodkin's multi-class form, equal to the binary formula for
    /// K = 2). NaN when a marginal is constant (scikit-learn would report 0).
    pub fn mcc(&self) -> f64 {
        let s = self.total() as f64;
        let c: f64 = (0..self.k).map(|i| self.get(i, i) as f64).sum();
        let mut tp_sum = 0.0; // Σ t_k p_k
        let mut pp = 0.0; // Σ p_k²
        let mut tt = 0.0; // Σ t_k²
        for i in 0..self.k {
            let t = self.row_sum(i) as f64;
            let p = self.col_sum(i) as f64;
            tp_sum += t * p;
            pp += p * p;
            tt += t * t;
        }
        let denom = ((s * s - pp) * (s * s - tt)).sqrt();
        if denom == 0.0 || !denom.is_finite() {
            f64::NAN
        } else {
            (c * s - tp_sum) / denom
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binary(tp: u64, fp: u64, fn_: u64, tn: u64) -> Confusion {
        let mut m = Confusion::new(2);
        m.add(1, 1, tp);
        m.add(0, 1, fp);
        m.add(1, 0, fn_);
        m.add(0, 0, tn);
        m
    }

    #[test]
    fn binary_metrics_match_textbook_formulas() {
        let m = binary(5, 2, 3, 10);
        assert_eq!(m.accuracy(), 15.0 / 20.0);
        assert_eq!(m.f1_binary(), 10.0 / 15.0);
        let mcc = (5.0 * 10.0 - 2.0 * 3.0) / ((7.0f64) * 8.0 * 12.0 * 13.0).sqrt();
        assert!((m.mcc() - mcc).abs() < 1e-15);
        // class 0: tp 10, fp 3, fn 2
        let f0 = 20.0 / 25.0;
        assert!((m.macro_f1() - (f0 + 10.0 / 15.0) / 2.0).abs() < 1e-15);
    }

    #[test]
    fn degenerate_matrices_are_nan() {
        assert!(Confusion::new(2).accuracy().is_nan());
        // Every prediction is class 0: MCC undefined, positive-class F1 undefined.
        let m = binary(0, 0, 0, 7);
        assert!(m.mcc().is_nan());
        assert!(m.f1_binary().is_nan());
        assert_eq!(m.macro_f1(), 1.0);
    }

    #[test]
    fn multiclass_mcc_perfect_and_inverted() {
        let mut m = Confusion::new(3);
        for c in 0..3 {
            m.add(c, c, 4);
        }
        assert!((m.mcc() - 1.0).abs() < 1e-15);
        let mut w = Confusion::new(2);
        w.add(0, 1, 3);
        w.add(1, 0, 3);
        assert!((w.mcc() + 1.0).abs() < 1e-15);
    }
}
