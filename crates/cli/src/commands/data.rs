//! `multiberts data`: check that task data files are present and well-formed.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use comfy_table::{Cell, CellAlignment};

use multiberts_tasks::{Label, SplitData, TaskKind, TaskRegistry, TaskSpec, data_root};

use super::{load_manifest, new_table};

/// Inspect data files.
#[derive(Debug, clap::Subcommand)]
pub enum DataCommand {
    /// Read every task's files under the data root and print counts and label distributions.
    ///
    /// The data root is --data-dir, else $MULTIBERTS_DATA, else the manifest's data_dir. Tasks
    /// whose files are absent are listed as missing; a malformed file is an error naming the
    /// file, line and column (exit status 1).
    #[command(after_help = "Examples:\n  \
        multiberts data check --data-dir ../shared/data/glue\n  \
        multiberts data check --data-dir ../shared/data/glue --task sst2 --task rte\n  \
        multiberts data check --manifest manifests/multiberts-glue.toml")]
    Check(CheckArgs),
}

/// Arguments of `data check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The data root holding the task folders (e.g. SST-2/, CoLA/).
    #[arg(long, value_name = "DIR", env = "MULTIBERTS_DATA")]
    pub data_dir: Option<PathBuf>,
    /// Check the tasks of this manifest (and use its data_dir when no --data-dir is given).
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Check only these tasks (repeatable). Default: every known task.
    #[arg(long = "task", value_name = "NAME")]
    pub tasks: Vec<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `multiberts data …`.
pub fn run(cmd: DataCommand) -> anyhow::Result<()> {
    match cmd {
        DataCommand::Check(args) => check(args),
    }
}

/// The outcome of checking one split.
#[derive(Debug, serde::Serialize)]
struct SplitReport {
    task: String,
    split: String,
    status: &'static str,
    format: Option<String>,
    examples: Option<usize>,
    labels: Option<String>,
    files: Vec<String>,
    error: Option<String>,
}

fn check(args: CheckArgs) -> anyhow::Result<()> {
    let (registry, manifest_tasks, manifest_root) = match &args.manifest {
        Some(path) => {
            let m = load_manifest(Some(path))?;
            let names: Vec<String> = m.tasks.iter().map(|t| t.name.clone()).collect();
            (m.registry.clone(), Some(names), m.data_dir.clone())
        }
        None => (
            TaskRegistry::builtin().context("built-in task specs are invalid (a bug)")?,
            None,
            None,
        ),
    };
    let names: Vec<String> = if !args.tasks.is_empty() {
        args.tasks.clone()
    } else if let Some(names) = manifest_tasks {
        names
    } else {
        registry.names()
    };
    let root = data_root(args.data_dir.as_deref(), manifest_root.as_deref());
    let explicit = !args.tasks.is_empty();

    let mut reports = Vec::new();
    for name in &names {
        let spec = registry.get(name)?;
        reports.extend(check_task(spec, root.as_deref()));
    }
    let failed = reports.iter().filter(|r| r.status == "error").count();
    let missing: Vec<&str> = reports
        .iter()
        .filter(|r| r.status == "missing")
        .map(|r| r.task.as_str())
        .collect();

    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        print_reports(&reports, root.as_deref());
    }
    if failed > 0 {
        bail!("{failed} data file(s) are malformed (see the errors above)");
    }
    if explicit && !missing.is_empty() {
        bail!("no data found for {}", missing.join(", "));
    }
    Ok(())
}

fn check_task(spec: &TaskSpec, root: Option<&Path>) -> Vec<SplitReport> {
    let report = |split: &str, status, error: Option<String>| SplitReport {
        task: spec.name.clone(),
        split: split.to_string(),
        status,
        format: None,
        examples: None,
        labels: None,
        files: Vec::new(),
        error,
    };
    let synthetic_root = PathBuf::from(".");
    let root = match root {
        Some(r) => r,
        None if spec
            .sources
            .iter()
            .any(|s| s.format == multiberts_tasks::DataFormat::Synthetic) =>
        {
            &synthetic_root
        }
        None => {
            return vec![report(
                "-",
                "missing",
                Some("no data root: pass --data-dir DIR or set MULTIBERTS_DATA".to_string()),
            )];
        }
    };
    let source = match spec.resolve_source(root) {
        Ok(source) => source,
        Err(e) => return vec![report("-", "missing", Some(e.to_string()))],
    };
    let mut out = Vec::new();
    for split in source.splits.keys() {
        let files_exist = match &source.splits[split] {
            multiberts_tasks::SplitSource::Files(files) => {
                files.iter().all(|f| root.join(f).is_file())
            }
            multiberts_tasks::SplitSource::Generated(_) => true,
        };
        if !files_exist {
            out.push(report(split, "missing", Some("file not found".to_string())));
            continue;
        }
        match spec.load_split_from(source, root, split) {
            Ok(data) => out.push(SplitReport {
                task: spec.name.clone(),
                split: split.clone(),
                status: "ok",
                format: Some(data.format.to_string()),
                examples: Some(data.examples.len()),
                labels: Some(label_summary(spec, &data)),
                files: data.files.iter().map(|f| f.path.clone()).collect(),
                error: None,
            }),
            Err(e) => out.push(report(split, "error", Some(e.to_string()))),
        }
    }
    out
}

/// "0: 428 (49.1%), 1: 444 (50.9%)" or, for regression, "mean 2.36, min 0, max 5".
fn label_summary(spec: &TaskSpec, data: &SplitData) -> String {
    let n = data.examples.len().max(1) as f64;
    if spec.kind == TaskKind::Regression {
        let values: Vec<f64> = data.examples.iter().map(|e| e.label.as_f64()).collect();
        let mean = values.iter().sum::<f64>() / n;
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        return format!("mean {mean:.3}, min {min}, max {max}");
    }
    if spec.kind == TaskKind::Span {
        // Questions with a gold answer are labelled 1, unanswerable ones 0.
        let answerable = data
            .examples
            .iter()
            .filter(|e| e.label.as_f64() == 1.0)
            .count();
        return format!(
            "{answerable} answerable, {} unanswerable",
            data.examples.len() - answerable
        );
    }
    let mut counts = vec![0usize; spec.labels.len()];
    for e in &data.examples {
        if let Label::Class(c) = e.label
            && let Some(slot) = counts.get_mut(c)
        {
            *slot += 1;
        }
    }
    let mut summary = spec
        .labels
        .iter()
        .zip(&counts)
        .map(|(l, &c)| format!("{l}: {c} ({:.1}%)", 100.0 * c as f64 / n))
        .collect::<Vec<_>>()
        .join(", ");
    // Choice tasks (Winogender, WinoBias) are scored per item, so say how many there are.
    let items: std::collections::BTreeSet<&str> = data
        .examples
        .iter()
        .filter_map(|e| e.choice.as_ref().map(|c| c.group.as_str()))
        .collect();
    if !items.is_empty() {
        summary.push_str(&format!("; {} choice items", items.len()));
    }
    summary
}

fn print_reports(reports: &[SplitReport], root: Option<&Path>) {
    match root {
        Some(root) => println!("data root: {}", root.display()),
        None => println!("data root: none given (only generated tasks can be checked)"),
    }
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
    println!("{table}");
    for r in reports.iter().filter(|r| r.status == "error") {
        if let Some(e) = &r.error {
            eprintln!("error: {e}");
        }
    }
    let ok = reports.iter().filter(|r| r.status == "ok").count();
    let missing = reports.iter().filter(|r| r.status == "missing").count();
    let errors = reports.iter().filter(|r| r.status == "error").count();
    println!("{ok} split(s) read, {missing} missing, {errors} malformed");
}
