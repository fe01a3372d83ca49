//! Where a job's time went, recorded in `job.json` (`provenance.phases_s`) so that a sweep's
//! time can be broken down without a profiler: reading data and features, loading the model,
//! training steps, evaluation, resume-state saves and writing the predictions. The phases
//! cover this attempt only (a resumed job counts from its restart).

use std::time::{Duration, Instant};

/// Seconds spent in each phase of one job attempt.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Phases {
    /// Reading the data files, tokenizing or loading cached features, resolving the checkpoint.
    pub(crate) data: f64,
    /// Loading the weights and building the model and head.
    pub(crate) model: f64,
    /// Training steps (forward, backward, clipping, optimizer), evaluation and saves excluded.
    pub(crate) train: f64,
    /// Evaluation passes over the evaluation split (one per epoch).
    pub(crate) eval: f64,
    /// Saving and restoring resume states.
    pub(crate) state: f64,
    /// Writing `predictions.parquet`.
    pub(crate) write: f64,
}

impl Phases {
    /// As a JSON object with the seconds rounded to milliseconds (what `job.json` records).
    pub(crate) fn to_json(self) -> serde_json::Value {
        let ms = |s: f64| (s * 1000.0).round() / 1000.0;
        serde_json::json!({
            "data": ms(self.data),
            "model": ms(self.model),
            "train": ms(self.train),
            "eval": ms(self.eval),
            "state": ms(self.state),
            "write": ms(self.write),
        })
    }
}

/// `data 1.2 s, model 0.3 s, train 80.1 s, ...` for the job's log.
impl std::fmt::Display for Phases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "data {:.1} s, model {:.1} s, train {:.1} s, eval {:.1} s, state {:.1} s, write {:.1} s",
            self.data, self.model, self.train, self.eval, self.state, self.write
        )
    }
}

/// A stopwatch that adds the time of one call to a running total.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Tally(Duration);

impl Tally {
    /// Runs `f` and adds its wall time to the total.
    pub(crate) fn time<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        self.0 += start.elapsed();
        out
    }

    /// The total in seconds.
    pub(crate) fn seconds(self) -> f64 {
        self.0.as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_rounds_to_milliseconds_and_names_every_phase() {
        let p = Phases {
            data: 1.23456,
            train: 2.0,
            ..Phases::default()
        };
        let v = p.to_json();
        assert_eq!(v["data"], serde_json::json!(1.235));
        assert_eq!(v["train"], serde_json::json!(2.0));
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["data", "model", "train", "eval", "state", "write"]);
    }

    #[test]
    fn a_tally_adds_up_its_calls() {
        let mut t = Tally::default();
        let x = t.time(|| {
            std::thread::sleep(Duration::from_millis(5));
            7
        });
        t.time(|| std::thread::sleep(Duration::from_millis(5)));
        assert_eq!(x, 7);
        assert!(t.seconds() >= 0.010, "{}", t.seconds());
    }
}
