//! What the `multiberts` commands print on the terminal: the plan of a manifest, the status of
//! its jobs, the data check, the task list and a failed command's error, as text.
//!
//! The binary parses arguments and asks the library crates for values; this crate turns those
//! values into the tables a user reads (as `grep-printer` does for ripgrep). It computes
//! nothing: every number it prints was built by the crate that owns it.

pub mod data;
pub mod error;
pub mod plan;
pub mod status;
pub mod tasks;

use comfy_table::{ContentArrangement, Table, presets};

/// A table in the house style: condensed UTF-8 borders, wrapped to the terminal.
pub fn new_table<const N: usize>(header: [&str; N]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    table
}

/// Joins items with ", ".
pub fn format_list(items: impl IntoIterator<Item = String>) -> String {
    items.into_iter().collect::<Vec<_>>().join(", ")
}
