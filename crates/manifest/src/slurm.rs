//! The optional `[slurm]` table: resources and options for `multiberts sweep --backend slurm`.
//!
//! None of it is part of a job's identity: moving a sweep from a laptop to a cluster, or to
//! another partition, keeps every job id (and so every finished result).

use serde::{Deserialize, Serialize};
use serde_spanned::Spanned;

use crate::hyper::SpanError;

/// Seconds of warning before the time limit when the manifest does not say (Hydra's default).
pub const DEFAULT_SIGNAL_SECONDS: u32 = 120;

/// Array tasks that may run at once when the manifest does not say (submitit's default).
pub const DEFAULT_ARRAY_PARALLELISM: u32 = 256;

/// The `[slurm]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSlurm {
    partition: Option<Spanned<String>>,
    time: Option<Spanned<String>>,
    cpus_per_task: Option<Spanned<u32>>,
    mem: Option<Spanned<String>>,
    gres: Option<Spanned<String>>,
    account: Option<Spanned<String>>,
    qos: Option<Spanned<String>>,
    array_parallelism: Option<Spanned<u32>>,
    signal_seconds: Option<Spanned<u32>>,
    #[serde(default)]
    extra_args: Vec<Spanned<String>>,
    #[serde(default)]
    setup: Vec<String>,
}

/// Slurm resources and options of a sweep: the `[slurm]` table, with defaults where it is
/// silent. Command-line options of `sweep --backend slurm` override it field by field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlurmConfig {
    /// `--partition` (unset: the cluster's default partition).
    pub partition: Option<String>,
    /// `--time`, in one of Slurm's formats (`MM`, `HH:MM:SS`, `D-HH:MM`, …).
    pub time: Option<String>,
    /// `--cpus-per-task`; also the threads each job uses.
    pub cpus_per_task: Option<u32>,
    /// `--mem` per node, e.g. `16G`.
    pub mem: Option<String>,
    /// `--gres`, e.g. `gpu:1`.
    pub gres: Option<String>,
    /// `--account`.
    pub account: Option<String>,
    /// `--qos`.
    pub qos: Option<String>,
    /// The `%N` throttle of each array: array tasks of one submission running at once.
    pub array_parallelism: u32,
    /// Seconds before the time limit at which a job is told (`USR2`) to save and requeue.
    pub signal_seconds: u32,
    /// Raw `sbatch` arguments appended after ours, e.g. `--constraint=a100`.
    pub extra_args: Vec<String>,
    /// Shell lines run in each job before the payload, e.g. `module load cuda`.
    pub setup: Vec<String>,
}

impl Default for SlurmConfig {
    fn default() -> Self {
        SlurmConfig {
            partition: None,
            time: None,
            cpus_per_task: None,
            mem: None,
            gres: None,
            account: None,
            qos: None,
            array_parallelism: DEFAULT_ARRAY_PARALLELISM,
            signal_seconds: DEFAULT_SIGNAL_SECONDS,
            extra_args: Vec::new(),
            setup: Vec::new(),
        }
    }
}

/// Command-line overrides of the `[slurm]` table (`sweep --backend slurm --partition …`):
/// `None` keeps the table's value; extra arguments are added after the table's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlurmOverrides {
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time`.
    pub time: Option<String>,
    /// `--cpus-per-task`.
    pub cpus_per_task: Option<u32>,
    /// `--mem`.
    pub mem: Option<String>,
    /// `--gres`.
    pub gres: Option<String>,
    /// `--account`.
    pub account: Option<String>,
    /// `--qos`.
    pub qos: Option<String>,
    /// The `%N` throttle.
    pub array_parallelism: Option<u32>,
    /// Seconds of warning before the time limit.
    pub signal_seconds: Option<u32>,
    /// Raw sbatch arguments, after the table's.
    pub extra_args: Vec<String>,
}

impl SlurmConfig {
    /// This table with `o`'s values where given (validate the result: overrides are checked
    /// like the manifest).
    pub fn with_overrides(mut self, o: &SlurmOverrides) -> SlurmConfig {
        for (field, value) in [
            (&mut self.partition, &o.partition),
            (&mut self.time, &o.time),
            (&mut self.mem, &o.mem),
            (&mut self.gres, &o.gres),
            (&mut self.account, &o.account),
            (&mut self.qos, &o.qos),
        ] {
            if value.is_some() {
                field.clone_from(value);
            }
        }
        self.cpus_per_task = o.cpus_per_task.or(self.cpus_per_task);
        self.array_parallelism = o.array_parallelism.unwrap_or(self.array_parallelism);
        self.signal_seconds = o.signal_seconds.unwrap_or(self.signal_seconds);
        self.extra_args.extend(o.extra_args.iter().cloned());
        self
    }
}

/// A key of the `[slurm]` table, naming which value a check refused (so the manifest's error
/// can point at it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Time,
    Mem,
    Word(usize),
    ExtraArg(usize),
    CpusPerTask,
    ArrayParallelism,
    SignalSeconds,
}

impl SlurmConfig {
    /// Checks the values that `sbatch` would otherwise reject only at submission time, and
    /// that the warning signal comes before the time limit.
    pub fn validate(&self) -> Result<(), String> {
        self.check().map_err(|(_, message)| message)
    }

    /// The one set of checks, for the manifest (which points at the refused key) and for the
    /// command-line overrides alike.
    fn check(&self) -> Result<(), (Key, String)> {
        let limit = match &self.time {
            Some(t) => parse_time(t).map_err(|m| (Key::Time, m))?,
            None => None,
        };
        if let Some(m) = &self.mem {
            check_mem(m).map_err(|e| (Key::Mem, e))?;
        }
        for (i, (key, value)) in self.words().into_iter().enumerate() {
            if let Some(v) = value {
                check_word(key, v).map_err(|e| (Key::Word(i), e))?;
            }
        }
        for (i, arg) in self.extra_args.iter().enumerate() {
            check_arg(arg).map_err(|e| (Key::ExtraArg(i), e))?;
        }
        if self.cpus_per_task == Some(0) {
            return Err((Key::CpusPerTask, "cpus_per_task must be at least 1".into()));
        }
        if self.array_parallelism == 0 {
            return Err((
                Key::ArrayParallelism,
                "array_parallelism must be at least 1".into(),
            ));
        }
        if let (Some(t), Some(limit)) = (&self.time, limit)
            && u64::from(self.signal_seconds) >= limit
        {
            return Err((
                Key::SignalSeconds,
                format!(
                    "signal_seconds = {} is not below the time limit {t:?} ({limit} s); the \
                     warning must come before the limit",
                    self.signal_seconds
                ),
            ));
        }
        Ok(())
    }

    /// The single-word keys, in the order [`Key::Word`] numbers them.
    fn words(&self) -> [(&'static str, Option<&String>); 4] {
        [
            ("partition", self.partition.as_ref()),
            ("gres", self.gres.as_ref()),
            ("account", self.account.as_ref()),
            ("qos", self.qos.as_ref()),
        ]
    }
}

fn check_arg(arg: &str) -> Result<(), String> {
    if !arg.starts_with('-') {
        return Err(format!(
            "extra sbatch argument {arg:?} does not start with `-`; write each as one string, \
             e.g. \"--constraint=a100\""
        ));
    }
    Ok(())
}

fn check_word(key: &str, v: &str) -> Result<(), String> {
    if v.is_empty() || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{key} = {v:?} is invalid; expected a non-empty value without spaces"
        ));
    }
    Ok(())
}

fn check_mem(m: &str) -> Result<(), String> {
    let digits = m.trim_end_matches(['K', 'M', 'G', 'T', 'k', 'm', 'g', 't']);
    let suffix = m.len() - digits.len();
    if digits.is_empty() || suffix > 1 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "mem = {m:?} is invalid; expected a size such as \"4000\" (MB), \"16G\" or \"512M\""
        ));
    }
    Ok(())
}

/// Parses a Slurm time limit into seconds; `None` for `UNLIMITED`/`INFINITE`. Accepts `MM`,
/// `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM` and `D-HH:MM:SS`.
pub fn parse_time(text: &str) -> Result<Option<u64>, String> {
    let bad = || {
        format!(
            "time = {text:?} is invalid; expected a Slurm time limit: \"MM\", \"MM:SS\", \
             \"HH:MM:SS\", \"D-HH\", \"D-HH:MM\", \"D-HH:MM:SS\" or \"UNLIMITED\""
        )
    };
    if matches!(text, "UNLIMITED" | "INFINITE" | "unlimited" | "infinite") {
        return Ok(None);
    }
    let num = |s: &str| -> Result<u64, String> {
        if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse().map_err(|_| bad())
    };
    let (days, rest) = match text.split_once('-') {
        Some((d, rest)) => (Some(num(d)?), rest),
        None => (None, text),
    };
    let parts = rest
        .split(':')
        .map(num)
        .collect::<Result<Vec<u64>, String>>()?;
    let seconds = match (days, parts.as_slice()) {
        (None, [m]) => m * 60,
        (None, [m, s]) => m * 60 + s,
        (None, [h, m, s]) => h * 3600 + m * 60 + s,
        (Some(d), [h]) => d * 86400 + h * 3600,
        (Some(d), [h, m]) => d * 86400 + h * 3600 + m * 60,
        (Some(d), [h, m, s]) => d * 86400 + h * 3600 + m * 60 + s,
        _ => return Err(bad()),
    };
    if seconds == 0 {
        return Err(format!("{}; a zero limit leaves no time to run", bad()));
    }
    Ok(Some(seconds))
}

impl RawSlurm {
    /// Validates the table ([`SlurmConfig::validate`]'s checks); errors point at the offending
    /// value.
    pub(crate) fn resolve(self, table: std::ops::Range<usize>) -> Result<SlurmConfig, SpanError> {
        let span = |v: Option<std::ops::Range<usize>>| v.unwrap_or_else(|| table.clone());
        let words = [&self.partition, &self.gres, &self.account, &self.qos]
            .map(|v| v.as_ref().map(Spanned::span));
        let spans = (
            self.time.as_ref().map(Spanned::span),
            self.mem.as_ref().map(Spanned::span),
            self.extra_args
                .iter()
                .map(Spanned::span)
                .collect::<Vec<_>>(),
            self.cpus_per_task.as_ref().map(Spanned::span),
            self.array_parallelism.as_ref().map(Spanned::span),
            self.signal_seconds.as_ref().map(Spanned::span),
        );
        let config = SlurmConfig {
            partition: self.partition.map(Spanned::into_inner),
            time: self.time.map(Spanned::into_inner),
            cpus_per_task: self.cpus_per_task.map(Spanned::into_inner),
            mem: self.mem.map(Spanned::into_inner),
            gres: self.gres.map(Spanned::into_inner),
            account: self.account.map(Spanned::into_inner),
            qos: self.qos.map(Spanned::into_inner),
            array_parallelism: self
                .array_parallelism
                .map_or(DEFAULT_ARRAY_PARALLELISM, Spanned::into_inner),
            signal_seconds: self
                .signal_seconds
                .map_or(DEFAULT_SIGNAL_SECONDS, Spanned::into_inner),
            extra_args: self
                .extra_args
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            setup: self.setup,
        };
        config.check().map_err(|(key, message)| {
            let at = match key {
                Key::Time => spans.0.clone(),
                Key::Mem => spans.1.clone(),
                Key::Word(i) => words[i].clone(),
                Key::ExtraArg(i) => spans.2.get(i).cloned(),
                Key::CpusPerTask => spans.3.clone(),
                Key::ArrayParallelism => spans.4.clone(),
                Key::SignalSeconds => spans.5.clone(),
            };
            (span(at), message)
        })?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn slurm_time_formats() {
        assert_eq!(parse_time("30"), Ok(Some(1800)));
        assert_eq!(parse_time("5:30"), Ok(Some(330)));
        assert_eq!(parse_time("01:00:00"), Ok(Some(3600)));
        assert_eq!(parse_time("2-12"), Ok(Some(2 * 86400 + 12 * 3600)));
        assert_eq!(parse_time("1-00:30"), Ok(Some(86400 + 1800)));
        assert_eq!(parse_time("1-00:00:10"), Ok(Some(86410)));
        assert_eq!(parse_time("UNLIMITED"), Ok(None));
        for bad in ["", "1h", "1:2:3:4", "-5", "1-", "0", "a-1", "1-1:1:1:1"] {
            assert!(parse_time(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
