//! Selectors pick runs out of a predictions table: `task=mnli,step=2000k`, `checkpoint=seed_3`.
//! Every key must match (logical AND); values compare as written, except `step`, which accepts
//! `2000k` and `2000` alike, and numeric keys, which compare as numbers.

use std::fmt;

use serde::Serialize;

/// Keys a selector may use, with the predictions column each one reads.
pub const SELECTOR_KEYS: &[&str] = &[
    "task",
    "variant",
    "checkpoint",
    "pretrain_seed",
    "step",
    "learning_rate",
    "finetune_seed",
];

/// A parsed selector: key = value pairs that must all hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Selector {
    /// The conditions, in the order written.
    pub conditions: Vec<(String, String)>,
}

/// Why a selector could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// A part without `=`.
    #[error("selector part {part:?} is not `key=value`")]
    NotKeyValue {
        /// The offending part.
        part: String,
    },
    /// A key outside [`SELECTOR_KEYS`].
    #[error("unknown selector key `{key}`; expected one of {expected}")]
    UnknownKey {
        /// The key.
        key: String,
        /// The known keys.
        expected: String,
    },
    /// A numeric key with a non-numeric value.
    #[error("selector `{key}={value}`: expected a number")]
    NotANumber {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
}

/// Aliases users type for the canonical keys.
fn canonical_key(key: &str) -> &str {
    match key {
        "seed" => "pretrain_seed",
        "lr" => "learning_rate",
        "ft_seed" => "finetune_seed",
        other => other,
    }
}

impl Selector {
    /// Parses `key=value[,key=value…]`. An empty string selects everything.
    pub fn parse(text: &str) -> Result<Selector, SelectorError> {
        let mut conditions = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| SelectorError::NotKeyValue {
                    part: part.to_string(),
                })?;
            let key = canonical_key(key.trim());
            let value = value.trim();
            if !SELECTOR_KEYS.contains(&key) {
                return Err(SelectorError::UnknownKey {
                    key: key.to_string(),
                    expected: multiberts_tasks::diag::one_of(SELECTOR_KEYS),
                });
            }
            if matches!(
                key,
                "pretrain_seed" | "step" | "learning_rate" | "finetune_seed"
            ) && parse_number(key, value).is_none()
            {
                return Err(SelectorError::NotANumber {
                    key: key.to_string(),
                    value: value.to_string(),
                });
            }
            conditions.push((key.to_string(), value.to_string()));
        }
        Ok(Selector { conditions })
    }

    /// Whether a run with the given field lookup matches. `field(key)` returns the run's value
    /// for a key in [`SELECTOR_KEYS`] as text (numbers in any standard notation).
    pub fn matches(&self, field: impl Fn(&str) -> Option<String>) -> bool {
        self.conditions.iter().all(|(key, want)| {
            let Some(have) = field(key) else {
                return false;
            };
            match (parse_number(key, want), parse_number(key, &have)) {
                (Some(a), Some(b)) => a == b,
                _ => have == *want,
            }
        })
    }
}

fn parse_number(key: &str, value: &str) -> Option<f64> {
    let value = if key == "step" {
        value.strip_suffix('k').unwrap_or(value)
    } else {
        value
    };
    value.parse::<f64>().ok()
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
            "task" => Some("mnli".to_string()),
            "step" => Some("2000".to_string()),
            "learning_rate" => Some("0.00002".to_string()),
            _ => None,
        };
        assert!(s.matches(run));
        assert!(!Selector::parse("task=sst2").unwrap().matches(run));
        assert!(Selector::parse("").unwrap().matches(run));
    }

    #[test]
    fn bad_selectors_are_explained() {
        assert!(matches!(
            Selector::parse("color=red"),
            Err(SelectorError::UnknownKey { .. })
        ));
        assert!(matches!(
            Selector::parse("task"),
            Err(SelectorError::NotKeyValue { .. })
        ));
        assert!(matches!(
            Selector::parse("step=late"),
            Err(SelectorError::NotANumber { .. })
        ));
    }
}
