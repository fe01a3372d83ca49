//! `multiberts tasks list`: the known task specs in one table.

use multiberts_tasks::{TaskKind, TaskRegistry};

use crate::new_table;

/// One row per task: name, kind, labels (or what a span or regression task predicts), metrics,
/// data formats and description.
pub fn list(registry: &TaskRegistry) -> String {
    let mut table = new_table([
        "task",
        "kind",
        "labels",
        "metrics",
        "formats",
        "description",
    ]);
    for spec in registry.iter() {
        let formats: Vec<String> = spec.sources.iter().map(|s| s.format.to_string()).collect();
        table.add_row(vec![
            spec.name.to_string(),
            spec.kind.to_string(),
            if spec.kind == TaskKind::Span {
                "(context span or none)".to_string()
            } else if spec.labels.is_empty() {
                "(real value)".to_string()
            } else {
                spec.labels.join(", ")
            },
            spec.metrics.join(", "),
            formats.join(", "),
            spec.description.clone(),
        ]);
    }
    format!("{table}\n")
}
