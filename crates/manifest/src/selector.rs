//! Selectors pick runs: `task=mnli,step=2000k,lr=2e-5,variant=`. Every key must match (logical
//! AND). This is the one parser and comparison behind manifest `[[analyses]]`, `multiberts
//! collect`/`report` and `multiberts bootstrap --base/--expt` on every source.
//!
//! Values compare by the key's type: `step` in thousands of steps (`2000k`, `2M` and `2000` are
//! the same), `learning_rate` as a number (`2e-5` = `0.00002`), seeds as integers (`03` = `3`),
//! `task` case-insensitively (`MNLI` = `mnli`), every other key as a string. An empty value is
//! allowed: `variant=` selects the runs without a variant.

use std::fmt;

use serde::Serialize;

/// Keys every run answers to, with the predictions column each one reads. Manifests accept only
/// these (and their aliases); open selectors also accept a source's extra run columns.
pub const SELECTOR_KEYS: &[&str] = &[
    "task",
    "variant",
    "checkpoint",
    "pretrain_seed",
    "step",
    "learning_rate",
    "finetune_seed",
];

/// Aliases users type for the canonical keys, including the upstream layouts' column names.
const ALIASES: &[(&str, &str)] = &[
    ("seed", "pretrain_seed"),
    ("pretrain_id", "pretrain_seed"),
    ("lr", "learning_rate"),
    ("ft_seed", "finetune_seed"),
    ("n_steps", "step"),
];

/// A parsed selector: key = value pairs that must all hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Selector {
    /// The conditions, in the order written, with canonical keys (`lr` is `learning_rate`).
    pub conditions: Vec<(String, String)>,
}

/// Why a selector could not be parsed or does not fit the data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// A part without `=`.
    #[error("selector part {part:?} is not `key=value`")]
    NotKeyValue {
        /// The offending part.
        part: String,
    },
    /// A part with nothing before `=`.
    #[error("selector part {part:?} has an empty key")]
    EmptyKey {
        /// The offending part.
        part: String,
    },
    /// A key that is neither a [`SELECTOR_KEYS`] entry nor (for open selectors) a column of the
    /// data's runs.
    #[error("unknown selector key `{key}`; expected one of {expected}")]
    UnknownKey {
        /// The key.
        key: String,
        /// The known keys.
        expected: String,
    },
    /// A typed key (step, learning rate, seed) with a value of another type.
    #[error("selector `{key}={value}`: expected {expected}")]
    BadValue {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// What the key takes.
        expected: &'static str,
    },
}

/// The canonical name of a key typed by a user.
fn canonical_key(key: &str) -> &str {
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == key)
        .map_or(key, |(_, canonical)| canonical)
}

/// How values of a key compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyType {
    /// Thousands of steps: `2000k`, `2M`, `2000`.
    Steps,
    /// A floating-point number.
    Number,
    /// An integer.
    Integer,
    /// Text, ignoring ASCII case.
    CaselessText,
    /// Text.
    Text,
}

impl KeyType {
    fn of(canonical: &str) -> KeyType {
        match canonical {
            "step" => KeyType::Steps,
            "learning_rate" => KeyType::Number,
            "pretrain_seed" | "finetune_seed" => KeyType::Integer,
            "task" => KeyType::CaselessText,
            _ => KeyType::Text,
        }
    }

    fn expected(self) -> &'static str {
        match self {
            KeyType::Steps => "thousands of steps such as 2000k, 2M, 2000 or 0",
            KeyType::Number => "a number",
            KeyType::Integer => "an integer",
            KeyType::CaselessText | KeyType::Text => "text",
        }
    }

    /// Whether `value` is well-formed for this type (text always is).
    fn accepts(self, value: &str) -> bool {
        match self {
            KeyType::Steps => steps_thousands(value).is_some(),
            KeyType::Number => value.parse::<f64>().is_ok(),
            KeyType::Integer => value.parse::<i64>().is_ok(),
            KeyType::CaselessText | KeyType::Text => true,
        }
    }

    /// Whether a run's value `have` equals the wanted `want`. Values that do not parse as the
    /// type compare as written.
    fn equal(self, want: &str, have: &str) -> bool {
        let typed = match self {
            KeyType::Steps => steps_thousands(want)
                .zip(steps_thousands(have))
                .map(|(a, b)| a == b),
            KeyType::Number => want
                .parse::<f64>()
                .ok()
                .zip(have.parse::<f64>().ok())
                .map(|(a, b)| a == b),
            KeyType::Integer => want
                .parse::<i64>()
                .ok()
                .zip(have.parse::<i64>().ok())
                .map(|(a, b)| a == b),
            KeyType::CaselessText => Some(want.eq_ignore_ascii_case(have)),
            KeyType::Text => None,
        };
        typed.unwrap_or(want == have)
    }
}

/// Thousands of steps from `2000k`, `2M` or a plain `2000` (already thousands, as in the
/// predictions' `step` column and the `step_2000k` checkpoint names).
fn steps_thousands(value: &str) -> Option<i64> {
    let v = value.trim();
    if let Some(m) = v.strip_suffix(['M', 'm']) {
        m.parse::<i64>().ok()?.checked_mul(1000)
    } else {
        v.strip_suffix(['k', 'K']).unwrap_or(v).parse().ok()
    }
}

impl Selector {
    /// Parses a manifest selector `key=value[,key=value…]`: keys must be [`SELECTOR_KEYS`] (or
    /// an alias). An empty string selects everything.
    pub fn parse(text: &str) -> Result<Selector, SelectorError> {
        let selector = Selector::parse_open(text)?;
        selector.check_keys(std::iter::empty::<&str>())?;
        Ok(selector)
    }

    /// Parses a selector whose keys may also be extra columns of the data (`release`,
    /// `job_id`, …); the caller checks them with [`Selector::check_keys`] once it knows the
    /// data. Typed keys (step, learning rate, seeds) are still checked here. An empty string
    /// selects everything.
    pub fn parse_open(text: &str) -> Result<Selector, SelectorError> {
        let mut conditions = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| SelectorError::NotKeyValue {
                    part: part.to_string(),
                })?;
            let key = canonical_key(key.trim());
            let value = value.trim();
            if key.is_empty() {
                return Err(SelectorError::EmptyKey {
                    part: part.to_string(),
                });
            }
            let ty = KeyType::of(key);
            if !ty.accepts(value) {
                return Err(SelectorError::BadValue {
                    key: key.to_string(),
                    value: value.to_string(),
                    expected: ty.expected(),
                });
            }
            conditions.push((key.to_string(), value.to_string()));
        }
        Ok(Selector { conditions })
    }

    /// Checks every key is one of [`SELECTOR_KEYS`] or of `extra` (the data's other run
    /// columns); the error lists all of them.
    pub fn check_keys<'a>(
        &self,
        extra: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), SelectorError> {
        let extra: Vec<&str> = extra.into_iter().collect();
        for (key, _) in &self.conditions {
            if !SELECTOR_KEYS.contains(&key.as_str()) && !extra.contains(&key.as_str()) {
                let mut known: Vec<&str> = SELECTOR_KEYS.to_vec();
                known.extend(extra.iter().filter(|k| !SELECTOR_KEYS.contains(k)));
                return Err(SelectorError::UnknownKey {
                    key: key.clone(),
                    expected: multiberts_tasks::diag::one_of(known),
                });
            }
        }
        Ok(())
    }

    /// The wanted value of a key (canonical name), if the selector has one.
    pub fn get(&self, key: &str) -> Option<&str> {
        let key = canonical_key(key);
        self.conditions
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether a run matches. `field(key)` returns the run's value for a canonical key as text
    /// (numbers in any standard notation, steps as `2M`, `2000k` or thousands); a key the run
    /// lacks (`None`) matches nothing.
    pub fn matches(&self, field: impl Fn(&str) -> Option<String>) -> bool {
        self.conditions.iter().all(|(key, want)| {
            field(key).is_some_and(|have| KeyType::of(key).equal(want, have.trim()))
        })
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .conditions
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_parse_and_match() {
        let s = Selector::parse("task=mnli, step=2000k,lr=2e-5").unwrap();
        let run = |k: &str| match k {
            "task" => Some("MNLI".to_string()),
            "step" => Some("2000".to_string()),
            "learning_rate" => Some("0.00002".to_string()),
            _ => None,
        };
        assert!(s.matches(run));
        assert!(Selector::parse("step=2M").unwrap().matches(run));
        assert!(!Selector::parse("step=1M").unwrap().matches(run));
        assert!(!Selector::parse("task=sst2").unwrap().matches(run));
        assert!(!Selector::parse("checkpoint=x").unwrap().matches(run));
        assert!(Selector::parse("").unwrap().matches(run));
        assert_eq!(s.get("lr"), Some("2e-5"));
        assert_eq!(s.to_string(), "task=mnli,step=2000k,learning_rate=2e-5");
    }

    #[test]
    fn bad_selectors_are_explained() {
        let err = Selector::parse("color=red").unwrap_err();
        assert!(matches!(err, SelectorError::UnknownKey { .. }));
        assert!(err.to_string().contains("`finetune_seed`"), "{err}");
        assert!(matches!(
            Selector::parse("task"),
            Err(SelectorError::NotKeyValue { .. })
        ));
        assert!(matches!(
            Selector::parse_open("=x"),
            Err(SelectorError::EmptyKey { .. })
        ));
        for bad in ["step=late", "lr=fast", "seed=1.5", "n_steps=2G"] {
            assert!(
                matches!(
                    Selector::parse_open(bad),
                    Err(SelectorError::BadValue { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn open_selectors_accept_the_data_columns() {
        let s = Selector::parse_open("release=multiberts,variant=").unwrap();
        assert_eq!(s.get("variant"), Some(""));
        let err = s.check_keys(["job_id"]).unwrap_err().to_string();
        assert!(err.contains("unknown selector key `release`"), "{err}");
        assert!(err.contains("`job_id`"), "{err}");
        s.check_keys(["release", "job_id"]).unwrap();
        assert!(Selector::parse("release=multiberts").is_err());
    }
}
