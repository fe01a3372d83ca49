//! Helpers shared by the command-line integration tests (`mod common;` in a test file).
//!
//! Every test file compiles this module on its own and none uses all of it, hence the
//! `allow(dead_code)` on the helpers that only some use.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[allow(dead_code)]
pub mod adversarial;

/// Runs the built `multiberts` binary in `dir` with quiet logs and no inherited results, data
/// directory or device.
pub fn multiberts(dir: &Path, args: &[&str]) -> Output {
    multiberts_with_env(dir, args, &[])
}

/// [`multiberts`] with extra environment variables set for the child.
pub fn multiberts_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_multiberts"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .env_remove("MULTIBERTS_RESULTS")
        .env_remove("MULTIBERTS_DATA")
        .env_remove("MULTIBERTS_DEVICE")
        .env_remove("MULTIBERTS_KERNELS")
        .envs(env.iter().copied())
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

/// Asserts that the command succeeded and returns its [`text`].
#[allow(dead_code)]
pub fn ok(out: Output) -> String {
    assert!(out.status.success(), "{}", text(&out));
    text(&out)
}

/// Every file named `name` under `dir`, sorted. A folder that vanishes during the walk (a
/// job's temporary folder renamed into place) is skipped.
#[allow(dead_code)]
pub fn find_files(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && d != dir => continue,
            Err(e) => panic!("cannot list {}: {e}", d.display()),
        };
        for entry in entries {
            let path = entry.expect("a readable folder entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == name) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Asserts that the command failed and said `needle` (on stdout or stderr).
#[allow(dead_code)]
pub fn assert_fails_with(out: &Output, needle: &str) {
    let text = text(out);
    assert!(!out.status.success(), "expected a failure, got:\n{text}");
    assert!(text.contains(needle), "expected {needle:?} in:\n{text}");
}

/// A test manifest named `name` on generated tiny BERTs (`seeds`, a TOML value such as `[0, 1]`
/// or `"0..=2"`), with the `[defaults]` every test shares (32 tokens, learning rate 1e-3) plus
/// the test's own `defaults` lines (epochs, batch sizes, fine-tuning seeds, …), followed by
/// `rest` (its tasks and analyses).
#[allow(dead_code)]
pub fn tiny_manifest(name: &str, seeds: &str, defaults: &str, rest: &str) -> String {
    format!(
        "name = \"{name}\"\n\n[defaults]\nmax_seq_len = 32\nlearning_rates = [1e-3]\n{defaults}\n\
         [[checkpoints]]\ninit = {{ config = \"tiny\" }}\nseeds = {seeds}\n\n{rest}"
    )
}

/// The generated Winogender-like task without and with CDA.
#[allow(dead_code)]
pub const COREF_TASKS: &str = "[[tasks]]\nname = \"demo-coref\"\n\n[[tasks]]\nname = \"demo-coref\"\nvariant = \"cda\"\naugment = \"cda\"\n";

/// A `[[analyses]]` entry comparing the coref task with CDA (experiment) to without it (base),
/// with the analysis' other keys in `extra`.
#[allow(dead_code)]
pub fn cda_analysis(name: &str, kind: &str, metric: &str, extra: &str) -> String {
    format!(
        "\n[[analyses]]\nname = \"{name}\"\nkind = \"{kind}\"\ntask = \"demo-coref\"\n\
         metric = \"{metric}\"\nbase = \"variant=\"\nexperiment = \"variant=cda\"\n{extra}"
    )
}

/// Writes `text` as `dir/m.toml`.
#[allow(dead_code)]
pub fn write_manifest(dir: &Path, text: &str) {
    std::fs::write(dir.join("m.toml"), text).expect("the test manifest is written");
}
