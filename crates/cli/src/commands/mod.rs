//! One module per verb. Each defines its clap arguments and a `run` function.

pub mod bootstrap;
pub mod collect;
pub mod data;
pub mod device_check;
pub mod encode;
pub mod plan;
pub mod pretrain;
pub mod report;
pub mod run_job;
pub mod status;
pub mod sweep;
pub mod tasks;
pub mod vocab;

/// A clap value parser for counts that must be at least 1 (jobs, threads, steps): 0 would
/// otherwise be read as 1 or as "never" without a word.
pub(crate) fn at_least_one<T>(s: &str) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + From<u8>,
{
    let n: T = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number"))?;
    if n < T::from(1) {
        return Err(format!("{s} is too small; expected 1 or more"));
    }
    Ok(n)
}
