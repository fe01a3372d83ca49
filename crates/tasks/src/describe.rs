//! A task spec in words, as `multiberts tasks show` prints it: labels in output order,
//! metrics, splits, and where each source's files live.

use std::fmt::Write as _;

use crate::{DataFormat, SplitSource, TaskRegistry, TaskSpec};

/// `spec` described line by line (each line ends in a newline); `registry` names the tasks
/// that fine-tune for an evaluation-only spec.
pub fn describe(spec: &TaskSpec, registry: &TaskRegistry) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "{}: {}", spec.name, spec.description);
    let _ = writeln!(t, "  spec:     {}", spec.origin.display());
    if let Some(home) = &spec.homepage {
        let _ = writeln!(t, "  homepage: {home}");
    }
    let _ = writeln!(t, "  kind:     {}", spec.kind);
    if !spec.labels.is_empty() {
        let labels: Vec<String> = spec
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| format!("{i}={l}"))
            .collect();
        let _ = writeln!(t, "  labels:   {} (model output order)", labels.join(", "));
    }
    let _ = writeln!(
        t,
        "  metrics:  {} (primary: {})",
        spec.metrics.join(", "),
        spec.primary_metric()
    );
    if spec.eval_only {
        let _ = writeln!(
            t,
            "  eval only: yes (no training split); evaluate on: {}",
            spec.eval_split
        );
        let trainers: Vec<String> = registry
            .trainable_evaluating_on(spec)
            .iter()
            .map(|s| s.name.to_string())
            .collect();
        if !trainers.is_empty() {
            let _ = writeln!(
                t,
                "  fine-tune with: {} (they evaluate on this data)",
                trainers.join(", ")
            );
        }
    } else {
        let _ = writeln!(
            t,
            "  train on: {}; evaluate on: {}",
            spec.train_split, spec.eval_split
        );
    }
    let _ = writeln!(
        t,
        "  data sources, in order of preference (paths relative to the data root):"
    );
    for (i, source) in spec.sources.iter().enumerate() {
        if source.split_formats.is_empty() {
            let _ = writeln!(t, "    {}. {}", i + 1, source.format);
        } else {
            let per_split: Vec<String> = source
                .split_formats
                .iter()
                .map(|(split, format)| format!("{split} = {format}"))
                .collect();
            let _ = writeln!(
                t,
                "    {}. {} (split formats: {})",
                i + 1,
                source.format,
                per_split.join(", ")
            );
        }
        if source.format == DataFormat::Synthetic {
            let _ = writeln!(
                t,
                "       generator `{}`, seed {}",
                source.generator.as_deref().unwrap_or("?"),
                source.seed
            );
        }
        for (split, files) in &source.splits {
            let what = match files {
                SplitSource::Files(f) => f.join(", "),
                SplitSource::Generated(n) => format!("{n} generated examples"),
            };
            if source.split_formats.is_empty() {
                let _ = writeln!(t, "       {split:<17} {what}");
            } else {
                // Which reader gets which split is the point of `split_formats`: say it on
                // every line, the main format's splits too.
                let _ = writeln!(
                    t,
                    "       {split:<17} {what} (read as {})",
                    source.format_of(split)
                );
            }
        }
        // The other files a span-pair reader opens, by their spec keys.
        let occupations = (!source.occupations.is_empty()).then(|| source.occupations.join(", "));
        let extra_files = [
            ("templates", source.templates.clone()),
            ("occupation_stats", source.occupation_stats.clone()),
            ("occupations", occupations),
        ];
        for (key, files) in extra_files {
            if let Some(files) = files {
                let _ = writeln!(t, "       {key:<17} {files}");
            }
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_reads_with_its_labels_metrics_and_files() {
        let registry = TaskRegistry::builtin().unwrap();
        let text = describe(registry.get("sst2").unwrap(), &registry);
        assert!(text.starts_with("sst2: "), "{text}");
        assert!(
            text.contains("labels:   0=0, 1=1 (model output order)"),
            "{text}"
        );
        assert!(
            text.contains("metrics:  accuracy (primary: accuracy)"),
            "{text}"
        );
        assert!(text.contains("SST-2/dev.tsv"), "{text}");
    }
}
