//! One module per verb. Each defines its clap arguments and a `run` function.

pub mod bootstrap;
pub mod collect;
pub mod data;
pub mod device_check;
pub mod encode;
pub mod plan;
pub mod report;
pub mod run_job;
pub mod status;
pub mod sweep;
pub mod tasks;

use std::path::Path;

use anyhow::Context;
use comfy_table::{ContentArrangement, Table, presets};

use multiberts_manifest::{DEMO_PATH, Manifest};

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

/// Loads the manifest at `path`, or the embedded demo when none is given.
pub(crate) fn load_manifest(path: Option<&Path>) -> anyhow::Result<Manifest> {
    match path {
        Some(path) => Manifest::from_file(path)
            .with_context(|| format!("invalid manifest {}", path.display())),
        None => {
            tracing::debug!("no manifest given: using the embedded {DEMO_PATH}");
            Manifest::demo().context("the embedded demo manifest is invalid (a bug)")
        }
    }
}

/// A table in the house style: condensed UTF-8 borders, wrapped to the terminal.
pub(crate) fn new_table<const N: usize>(header: [&str; N]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    table
}

/// Joins items with ", ".
pub(crate) fn format_list(items: impl IntoIterator<Item = String>) -> String {
    items.into_iter().collect::<Vec<_>>().join(", ")
}

/// Writes integers compactly, collapsing runs: `0..=4, 7, 9..=10`.
pub(crate) fn format_ints(values: &[u64]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < values.len() {
        let mut j = i;
        while j + 1 < values.len() && values[j + 1] == values[j] + 1 {
            j += 1;
        }
        parts.push(if j - i >= 2 {
            format!("{}..={}", values[i], values[j])
        } else if j > i {
            format!("{}, {}", values[i], values[j])
        } else {
            values[i].to_string()
        });
        i = j + 1;
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn integer_runs_collapse() {
        assert_eq!(super::format_ints(&[0, 1, 2, 3, 4]), "0..=4");
        assert_eq!(super::format_ints(&[0, 1, 5, 7, 8, 9]), "0, 1, 5, 7..=9");
        assert_eq!(super::format_ints(&[3]), "3");
    }
}
