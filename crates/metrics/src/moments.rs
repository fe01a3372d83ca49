//! Weighted second moments, for Pearson r and the least-squares slope.

/// Centred weighted moments of paired values (x, y).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    /// Total weight.
    pub n: f64,
    /// Weighted mean of x.
    pub mean_x: f64,
    /// Weighted mean of y.
    pub mean_y: f64,
    /// Σ w (x − x̄)².
    pub sxx: f64,
    /// Σ w (y − ȳ)².
    pub syy: f64,
    /// Σ w (x − x̄)(y − ȳ).
    pub sxy: f64,
}

impl Moments {
    /// Two-pass weighted moments (the second pass centres, avoiding cancellation).
    /// `weight(i)` gives the multiplicity of pair i.
    pub fn compute(x: &[f64], y: &[f64], weight: impl Fn(usize) -> f64) -> Self {
        let (mut n, mut sx, mut sy) = (0.0, 0.0, 0.0);
        for i in 0..x.len() {
            let w = weight(i);
            n += w;
            sx += w * x[i];
            sy += w * y[i];
        }
        let (mean_x, mean_y) = (sx / n, sy / n);
        let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
        for i in 0..x.len() {
            let w = weight(i);
            let dx = x[i] - mean_x;
            let dy = y[i] - mean_y;
            sxx += w * dx * dx;
            syy += w * dy * dy;
            sxy += w * dx * dy;
        }
        Self {
            n,
            mean_x,
            mean_y,
            sxx,
            syy,
            sxy,
        }
    }

    /// Pearson r, clamped to [−1, 1]; NaN when either variance is zero or nothing is weighted
    /// (current SciPy returns NaN for a constant input too).
    pub fn pearson(&self) -> f64 {
        if self.n <= 0.0 || self.sxx <= 0.0 || self.syy <= 0.0 {
            return f64::NAN;
        }
        (self.sxy / (self.sxx * self.syy).sqrt()).clamp(-1.0, 1.0)
    }

    /// Least-squares slope of y on x; NaN when x has zero variance.
    pub fn slope(&self) -> f64 {
        if self.n <= 0.0 || self.sxx <= 0.0 {
            return f64::NAN;
        }
        self.sxy / self.sxx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pearson_and_slope_of_a_line() {
        let x = [0.0, 1.0, 2.0, 3.0];
        let y: Vec<f64> = x.iter().map(|v| 2.5 * v - 1.0).collect();
        let m = Moments::compute(&x, &y, |_| 1.0);
        assert!((m.pearson() - 1.0).abs() < 1e-15);
        assert!((m.slope() - 2.5).abs() < 1e-14);
    }

    #[test]
    fn weights_equal_replication() {
        let x = [1.0, 2.0, 4.0, 7.0];
        let y = [0.3, 0.1, 0.9, 0.5];
        let w = [2.0, 0.0, 1.0, 3.0];
        let m = Moments::compute(&x, &y, |i| w[i]);
        let xr = [1.0, 1.0, 4.0, 7.0, 7.0, 7.0];
        let yr = [0.3, 0.3, 0.9, 0.5, 0.5, 0.5];
        let r = Moments::compute(&xr, &yr, |_| 1.0);
        assert!((m.pearson() - r.pearson()).abs() < 1e-14);
        assert!((m.slope() - r.slope()).abs() < 1e-14);
    }

    #[test]
    fn constant_input_is_nan() {
        let m = Moments::compute(&[1.0, 1.0], &[0.0, 3.0], |_| 1.0);
        assert!(m.pearson().is_nan());
        assert!(m.slope().is_nan());
    }
}
