//! `multiberts data check`: one row per task split with its status, format, example count and
//! labels.

use std::fmt::Write;
use std::path::Path;

use comfy_table::{Cell, CellAlignment};

use multiberts_tasks::check::SplitCheck;

use crate::new_table;

/// The data root, the table of splits and the counts of read, missing and malformed splits
/// (for standard output; the errors themselves are [`errors`]).
pub fn report(reports: &[SplitCheck], root: Option<&Path>) -> String {
    let mut out = match root {
        Some(root) => format!("data root: {}\n", root.display()),
        None => "data root: none given (only generated tasks can be checked)\n".to_string(),
    };
    let mut table = new_table(["task", "split", "status", "format", "examples", "labels"]);
    for r in reports {
        table.add_row(vec![
            Cell::new(&r.task),
            Cell::new(&r.split),
            Cell::new(r.status),
            Cell::new(r.format.as_deref().unwrap_or("")),
            Cell::new(r.examples.map_or(String::new(), |n| n.to_string()))
                .set_alignment(CellAlignment::Right),
            Cell::new(match (r.status, &r.labels, &r.error) {
                ("missing", _, Some(why)) => why.as_str(),
                (_, Some(labels), _) => labels.as_str(),
                _ => "",
            }),
        ]);
    }
    let _ = writeln!(out, "{table}");
    let count = |status: &str| reports.iter().filter(|r| r.status == status).count();
    let _ = writeln!(
        out,
        "{} split(s) read, {} missing, {} malformed",
        count("ok"),
        count("missing"),
        count("error")
    );
    out
}

/// The malformed splits' errors, one `error: …` line each (for standard error).
pub fn errors(reports: &[SplitCheck]) -> String {
    let mut out = String::new();
    for r in reports.iter().filter(|r| r.status == "error") {
        if let Some(e) = &r.error {
            let _ = writeln!(out, "error: {e}");
        }
    }
    out
}
