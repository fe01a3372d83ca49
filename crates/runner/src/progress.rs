//! Periodic progress lines in the job log (a GAP or BERT-base job runs for an hour; the
//! sweep's bar only counts whole jobs). Wall-clock driven, so it never touches the
//! computation.

use std::time::{Duration, Instant};

/// Writes a progress line at most every [`Progress::EVERY`], and at the last step.
pub(crate) struct Progress {
    started: Instant,
    first_step: u64,
    total_steps: u64,
    last_report: Instant,
}

impl Progress {
    /// How often a line is written.
    const EVERY: Duration = Duration::from_secs(30);

    /// Progress of a run from `first_step` (after a resume) to `total_steps`.
    pub(crate) fn new(first_step: u64, total_steps: u64) -> Self {
        let now = Instant::now();
        Self {
            started: now,
            first_step,
            total_steps,
            last_report: now,
        }
    }

    /// Called after every step.
    pub(crate) fn tick(&mut self, job: &str, epoch: u32, step: u64, mean_loss: f64) {
        if self.last_report.elapsed() < Self::EVERY && step != self.total_steps {
            return;
        }
        self.last_report = Instant::now();
        let done = step.saturating_sub(self.first_step).max(1);
        let per_step = self.started.elapsed().as_secs_f64() / done as f64;
        let left = self.total_steps.saturating_sub(step) as f64 * per_step;
        tracing::info!(
            job,
            epoch,
            "step {step}/{} ({:.0} %), epoch mean loss {mean_loss:.4}, {per_step:.2} s/step, \
             about {} left",
            self.total_steps,
            100.0 * step as f64 / self.total_steps.max(1) as f64,
            human_duration(left)
        );
    }
}

/// `1 h 05 min`, `12 min`, `40 s`.
fn human_duration(secs: f64) -> String {
    let s = secs.round() as u64;
    if s >= 3600 {
        format!("{} h {:02} min", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{} min", (s + 30) / 60)
    } else {
        format!("{s} s")
    }
}

#[cfg(test)]
mod tests {
    use super::human_duration;

    #[test]
    fn durations_read_like_a_person_would_say_them() {
        assert_eq!(human_duration(40.2), "40 s");
        assert_eq!(human_duration(12.0 * 60.0 + 10.0), "12 min");
        assert_eq!(human_duration(3600.0 + 5.0 * 60.0), "1 h 05 min");
    }
}
