//! The learning-rate schedule: linear warm-up, then linear decay.

/// HF's `get_linear_schedule_with_warmup`: the LR rises linearly from 0 over `warmup_steps`,
/// then falls linearly to 0 at `total_steps`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearSchedule {
    /// Peak learning rate.
    pub base_lr: f64,
    /// Steps of linear warm-up.
    pub warmup_steps: u64,
    /// Total training steps.
    pub total_steps: u64,
}

impl LinearSchedule {
    /// The learning rate at scheduler step `s` (0-based: optimizer step `s + 1` uses it).
    pub fn lr(&self, s: u64) -> f64 {
        let factor = if s < self.warmup_steps {
            s as f64 / self.warmup_steps.max(1) as f64
        } else {
            let remaining = self.total_steps.saturating_sub(s) as f64;
            (remaining / self.total_steps.saturating_sub(self.warmup_steps).max(1) as f64).max(0.0)
        };
        self.base_lr * factor
    }

    /// Warm-up steps as HF computes them from a ratio: `ceil(total · ratio)`.
    pub fn warmup_from_ratio(total_steps: u64, ratio: f64) -> u64 {
        (total_steps as f64 * ratio).ceil() as u64
    }
}
