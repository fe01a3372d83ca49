//! [`SafeName`]: the one type for a user-controlled string that becomes one component of a
//! path (a manifest's name, task names, variants, checkpoint ids, analysis names, the task
//! folders of the upstream layouts).
//!
//! Every such string is checked by the same rule, once, where it is read (a manifest key, a
//! task spec, a folder of the results tree, a column of an upstream index): one file name —
//! not empty, not starting with `.`, without `/`, `\\` or control characters (NUL, tab,
//! newline, …), without white space at either end, at most [`MAX_NAME_LEN`] bytes. So a name
//! can never be absolute, hold a separator, be `.` or `..`, hide a file or break the
//! line-based files (TSV) it is written into. Anything else is allowed: an analysis name is
//! text the report shows as written (`lr 2e-5 vs 3e-5: 100%`), escaped where it is shown. It
//! lives in this crate because every crate that turns a name into a path (manifest, collector
//! and those above them) depends on it.

use std::borrow::Borrow;
use std::ffi::OsStr;
use std::fmt;
use std::ops::Deref;
use std::path::Path;
use std::str::FromStr;

/// The longest name, in bytes: a file name with its suffixes (`<task>.selection.json`,
/// temporary names) stays under the usual 255-byte limit of file systems.
pub const MAX_NAME_LEN: usize = 128;

/// The rule in words, for error messages.
pub const NAME_RULE: &str = "expected one file name: not empty, not starting with `.`, without \
     `/`, `\\` or control characters, no space at either end, at most 128 bytes";

/// Names under `results/<manifest name>/` that are the tree's own folders, so no task may be
/// called so.
pub const RESERVED_NAMES: [&str; 6] = [
    "predictions",
    "report",
    "logs",
    "upstream",
    "slurm",
    PRETRAIN_DIR,
];

/// The folder of a sweep's pre-training jobs under `results/<manifest name>/`.
pub const PRETRAIN_DIR: &str = "pretrain";

/// A string that is safe as one path component: see the [module docs](self) for the rule.
///
/// It derefs to `str` and is `AsRef<Path>`, so it joins onto a path as is; it serialises as
/// the plain string and deserialising checks the rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SafeName(String);

/// Why a string is not a [`SafeName`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameProblem {
    /// The string is empty.
    Empty,
    /// It starts with `.` (`.`, `..`, hidden and temporary files).
    LeadingDot,
    /// It holds a character outside the rule (a separator, NUL, a newline, …).
    Char(char),
    /// It starts or ends with white space.
    OuterSpace,
    /// It is longer than [`MAX_NAME_LEN`] bytes (the length it has).
    TooLong(usize),
}

impl fmt::Display for NameProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameProblem::Empty => write!(f, "it is empty"),
            NameProblem::LeadingDot => write!(f, "it starts with `.`"),
            NameProblem::OuterSpace => write!(f, "it starts or ends with a space"),
            NameProblem::Char(c) if c.is_ascii_graphic() => write!(f, "it contains `{c}`"),
            NameProblem::Char(c) => write!(f, "it contains {c:?}"),
            NameProblem::TooLong(n) => write!(f, "it is {n} bytes long"),
        }
    }
}

/// A string refused as a [`SafeName`]: the string and why. Its message is
/// `"<value>": <problem>; expected …`, to be prefixed with what the name is
/// (`invalid checkpoint id …`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?}: {problem}; {NAME_RULE}")]
pub struct NameError {
    /// The refused string.
    pub value: String,
    /// Why it was refused.
    pub problem: NameProblem,
}

impl SafeName {
    /// Checks `value` against the rule and wraps it.
    pub fn new(value: impl Into<String>) -> Result<SafeName, NameError> {
        let value = value.into();
        match problem(&value) {
            Some(problem) => Err(NameError { value, problem }),
            None => Ok(SafeName(value)),
        }
    }

    /// Checks `value` against the rule without keeping it.
    pub fn check(value: &str) -> Result<(), NameError> {
        match problem(value) {
            Some(problem) => Err(NameError {
                value: value.to_string(),
                problem,
            }),
            None => Ok(()),
        }
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// The first thing wrong with `value`, if any.
fn problem(value: &str) -> Option<NameProblem> {
    if value.is_empty() {
        return Some(NameProblem::Empty);
    }
    if let Some(c) = value
        .chars()
        .find(|&c| matches!(c, '/' | '\\') || c.is_control())
    {
        return Some(NameProblem::Char(c));
    }
    if value.starts_with('.') {
        return Some(NameProblem::LeadingDot);
    }
    if value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace) {
        return Some(NameProblem::OuterSpace);
    }
    if value.len() > MAX_NAME_LEN {
        return Some(NameProblem::TooLong(value.len()));
    }
    None
}

impl Deref for SafeName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SafeName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl AsRef<Path> for SafeName {
    fn as_ref(&self) -> &Path {
        Path::new(&self.0)
    }
}

impl AsRef<OsStr> for SafeName {
    fn as_ref(&self) -> &OsStr {
        OsStr::new(&self.0)
    }
}

impl Borrow<str> for SafeName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SafeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for SafeName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<SafeName, NameError> {
        SafeName::new(s)
    }
}

impl TryFrom<&str> for SafeName {
    type Error = NameError;
    fn try_from(s: &str) -> Result<SafeName, NameError> {
        SafeName::new(s)
    }
}

impl TryFrom<String> for SafeName {
    type Error = NameError;
    fn try_from(s: String) -> Result<SafeName, NameError> {
        SafeName::new(s)
    }
}

impl From<SafeName> for String {
    fn from(name: SafeName) -> String {
        name.0
    }
}

impl PartialEq<str> for SafeName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for SafeName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for SafeName {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl PartialEq<SafeName> for str {
    fn eq(&self, other: &SafeName) -> bool {
        self == other.0
    }
}

impl PartialEq<SafeName> for &str {
    fn eq(&self, other: &SafeName) -> bool {
        *self == other.0
    }
}

impl PartialEq<SafeName> for String {
    fn eq(&self, other: &SafeName) -> bool {
        *self == other.0
    }
}

impl serde::Serialize for SafeName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for SafeName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<SafeName, D::Error> {
        let s = String::deserialize(deserializer)?;
        SafeName::new(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule() {
        for good in [
            "sst2",
            "gap-winogender",
            "seed_0-step_20k",
            "a.b",
            "A9",
            "x.",
            "all runs",
            "lr_{2e-5} vs 3e-5: 100% & #1 ~^$",
            "é",
            "a,b=c",
        ] {
            assert_eq!(SafeName::new(good).map(String::from).as_deref(), Ok(good));
        }
        let long = "a".repeat(MAX_NAME_LEN + 1);
        for (bad, problem) in [
            ("", NameProblem::Empty),
            (".", NameProblem::LeadingDot),
            ("..", NameProblem::LeadingDot),
            (".hidden", NameProblem::LeadingDot),
            ("a/b", NameProblem::Char('/')),
            ("/abs", NameProblem::Char('/')),
            ("../x", NameProblem::Char('/')),
            ("a\\b", NameProblem::Char('\\')),
            ("a\0b", NameProblem::Char('\0')),
            ("tab\there", NameProblem::Char('\t')),
            ("two\nlines", NameProblem::Char('\n')),
            ("del\u{7f}", NameProblem::Char('\u{7f}')),
            (" sst2", NameProblem::OuterSpace),
            ("sst2 ", NameProblem::OuterSpace),
            (long.as_str(), NameProblem::TooLong(MAX_NAME_LEN + 1)),
        ] {
            let err = SafeName::new(bad).unwrap_err();
            assert_eq!(err.problem, problem, "{bad:?}");
            assert!(err.to_string().contains(NAME_RULE), "{err}");
        }
        assert!(SafeName::new("a".repeat(MAX_NAME_LEN)).is_ok());
    }

    #[test]
    fn messages_name_the_character() {
        let err = SafeName::new("a/b").unwrap_err().to_string();
        assert!(
            err.starts_with("\"a/b\": it contains `/`; expected one file name"),
            "{err}"
        );
        let err = SafeName::new("a\nb").unwrap_err().to_string();
        assert!(err.contains("it contains '\\n'"), "{err}");
    }

    #[test]
    fn serde_is_the_plain_string_and_checks_the_rule() {
        let name = SafeName::new("sst2").unwrap();
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"sst2\"");
        let back: SafeName = serde_json::from_str("\"sst2\"").unwrap();
        assert_eq!(back, name);
        let err = serde_json::from_str::<SafeName>("\"../x\"").unwrap_err();
        assert!(err.to_string().contains("it contains `/`"), "{err}");
    }

    #[test]
    fn it_joins_and_compares_as_a_string() {
        let name: SafeName = "sst2".parse().unwrap();
        assert_eq!(Path::new("results").join(&name), Path::new("results/sst2"));
        assert_eq!(name, "sst2");
        assert_eq!("sst2", name);
        assert_eq!(format!("{name}"), "sst2");
        let map: std::collections::HashMap<SafeName, u8> = [(name.clone(), 1)].into();
        assert_eq!(map.get("sst2"), Some(&1));
    }
}
