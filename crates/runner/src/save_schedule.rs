//! When a running job saves its resume state: every N optimizer steps when asked, every M
//! minutes of work, and always on a stop request ([`crate::stop`]).
//!
//! Time, not steps, is the default: a save costs the same whatever the job (weights plus two
//! AdamW moments, about 1 s for MiniLM on this project's CPU machine), so a step interval
//! that suits a BERT-base job (8 s a step) makes a short job spend a tenth of its time saving
//! (docs/bench/sweep.md). Where a save lands never changes results: a resume from any step
//! boundary is bit-identical.

use std::time::{Duration, Instant};

/// Default minutes of work between two resume states (a hard kill loses at most this much;
/// Slurm's time limits and preemptions send `USR2` first, which saves at once).
pub const DEFAULT_CHECKPOINT_MINUTES: u64 = 10;

/// How often a job saves its resume state. Both intervals may be on; a state is saved when
/// either is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaveSchedule {
    /// Save every this many optimizer steps (0: not by steps).
    pub steps: u64,
    /// Save when this many minutes have passed since the last save or the start (0: not by
    /// time).
    pub minutes: u64,
}

impl Default for SaveSchedule {
    fn default() -> Self {
        Self {
            steps: 0,
            minutes: DEFAULT_CHECKPOINT_MINUTES,
        }
    }
}

impl SaveSchedule {
    /// Only on a stop request (tests that must not save mid-run).
    pub const NEVER: Self = Self {
        steps: 0,
        minutes: 0,
    };

    /// Every `steps` optimizer steps and never by time (tests that need saves at known steps).
    pub fn every_steps(steps: u64) -> Self {
        Self { steps, minutes: 0 }
    }

    /// A clock that starts now.
    pub fn start(self) -> SaveClock {
        let interval = (self.minutes > 0).then(|| Duration::from_secs(self.minutes * 60));
        SaveClock::new(self.steps, interval)
    }
}

/// Whether a save is due at a step boundary; restarted by every save.
#[derive(Debug, Clone)]
pub struct SaveClock {
    steps: u64,
    interval: Option<Duration>,
    last: Instant,
}

impl SaveClock {
    /// A clock that saves every `steps` steps (0: never) and every `interval` (None: never),
    /// counting from now.
    pub fn new(steps: u64, interval: Option<Duration>) -> Self {
        Self {
            steps,
            interval,
            last: Instant::now(),
        }
    }

    /// Whether the state should be saved after optimizer step `step`.
    pub fn due(&self, step: u64) -> bool {
        let by_steps = self.steps > 0 && step.is_multiple_of(self.steps);
        let by_time = self.interval.is_some_and(|d| self.last.elapsed() >= d);
        by_steps || by_time
    }

    /// Records a save: the time interval counts from now.
    pub fn saved(&mut self) {
        self.last = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_alone_save_on_multiples() {
        let clock = SaveSchedule::every_steps(3).start();
        let due: Vec<u64> = (1..=10).filter(|&s| clock.due(s)).collect();
        assert_eq!(due, vec![3, 6, 9]);
    }

    #[test]
    fn never_saves_nothing() {
        let clock = SaveSchedule::NEVER.start();
        assert!((1..=1000).all(|s| !clock.due(s)));
    }

    #[test]
    fn the_default_saves_by_time_not_steps() {
        let clock = SaveSchedule::default().start();
        // Ten minutes have not passed yet: no step is due, however many.
        assert!((1..=1000).all(|s| !clock.due(s)));
        assert_eq!(SaveSchedule::default().minutes, DEFAULT_CHECKPOINT_MINUTES);
    }

    #[test]
    fn an_elapsed_interval_is_due_until_a_save_restarts_it() {
        let mut clock = SaveClock::new(0, Some(Duration::from_millis(20)));
        assert!(!clock.due(1));
        std::thread::sleep(Duration::from_millis(30));
        assert!(clock.due(2) && clock.due(7));
        clock.saved();
        assert!(!clock.due(8));
    }
}
