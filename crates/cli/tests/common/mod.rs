//! Helpers shared by the command-line integration tests (`mod common;` in a test file).

use std::path::Path;
use std::process::{Command, Output};

/// Runs the built `multiberts` binary in `dir` with quiet logs and no inherited results or data
/// directory.
pub fn multiberts(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_multiberts"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .env_remove("MULTIBERTS_RESULTS")
        .env_remove("MULTIBERTS_DATA")
        .output()
        .expect("the multiberts binary runs")
}

/// stdout then stderr, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
