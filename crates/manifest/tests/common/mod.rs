//! Helpers shared by the manifest tests (`mod common;` in a test file): parse text as `m.toml`
//! and check where and how it is refused.

use std::path::Path;

use multiberts_manifest::Manifest;

/// A valid manifest of 3 checkpoints x 2 rates x 2 seeds on `sst2` (its last line, 12), that
/// tests break or extend.
#[allow(dead_code)]
pub const GOOD: &str = r#"name = "t"

[defaults]
learning_rates = [2e-5, 3e-5]
finetune_seeds = "0..=1"

[[checkpoints]]
hub = "google/multiberts-seed_{seed}"
seeds = "0..=2"

[[tasks]]
name = "sst2"
"#;

/// Parses `text` as `m.toml`; the test fails if it is invalid.
#[allow(dead_code)] // each test file compiles this module; not all parse valid manifests
pub fn parse(text: &str) -> Manifest {
    Manifest::from_toml(Path::new("m.toml"), text).unwrap_or_else(|e| panic!("{e}\nin:\n{text}"))
}

/// Parses `text` as `m.toml` and returns the error message (the test fails if it parses).
pub fn error(text: &str) -> String {
    match Manifest::from_toml(Path::new("m.toml"), text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// Asserts the message starts at `m.toml:line:col` and contains every `needle`.
pub fn assert_error(text: &str, line: usize, col: usize, needles: &[&str]) {
    let msg = error(text);
    let place = format!("m.toml:{line}:{col}: ");
    assert!(msg.starts_with(&place), "expected {place} in:\n{msg}");
    for needle in needles {
        assert!(msg.contains(needle), "expected {needle:?} in:\n{msg}");
    }
}
