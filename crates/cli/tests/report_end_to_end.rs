//! `multiberts report` regenerates the report of a sweep from its consolidated tables alone:
//! on a copy of the results folder without any job directory, `summary.md`, `summary.tex`, the
//! analysis JSON and the figures (SVG) come out byte-identical to what `sweep` (through
//! `collect`) wrote, and `summary.csv` holds the same means, as does `summary.tex`. The same
//! holds for a Winogender-evaluated task, whose summary has bias rows and whose bias analyses
//! need the evaluation split's metadata.

mod common;

use std::path::Path;

use common::{
    COREF_TASKS, assert_fails_with, cda_analysis, multiberts, ok, tiny_manifest, write_manifest,
};

/// Two generated tiny checkpoints x one generated task x one rate x two fine-tuning seeds, and
/// one analysis.
fn manifest() -> String {
    let defaults = "batch_size = 32\nepochs = 1\nfinetune_seeds = [0, 1]\n";
    let rest = "[[tasks]]\nname = \"demo-sentiment\"\nmax_train_examples = 256\n\n\
                [[analyses]]\nname = \"all-runs\"\nkind = \"single\"\ntask = \"demo-sentiment\"\n\
                nboot = 200\n";
    tiny_manifest("tiny-report", "[0, 1]", defaults, rest)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn report_regenerates_the_collect_report_without_job_directories() {
    let dir = tempfile::tempdir().unwrap();
    write_manifest(dir.path(), &manifest());
    ok(multiberts(dir.path(), &["sweep", "m.toml", "--jobs", "2"]));
    let results = dir.path().join("results/tiny-report");
    let collected_md = std::fs::read(results.join("report/summary.md")).unwrap();
    let collected_json = std::fs::read(results.join("report/all-runs.json")).unwrap();
    let collected_csv = std::fs::read(results.join("report/summary.csv")).unwrap();
    let collected_tex = std::fs::read(results.join("report/summary.tex")).unwrap();
    let collected_svg = std::fs::read(results.join("report/demo-sentiment.svg")).unwrap();

    // Only the consolidated tables travel.
    let copied = dir.path().join("copied");
    copy_dir(
        &results.join("predictions"),
        &copied.join("tiny-report/predictions"),
    );
    let out = ok(multiberts(
        dir.path(),
        &["report", "m.toml", "--results-dir", "copied"],
    ));
    assert!(out.contains("summary.csv"), "{out}");
    assert!(out.contains("summary.tex"), "{out}");
    assert!(out.contains("figure: "), "{out}");
    assert!(out.contains("demo-sentiment.svg"), "{out}");
    let report = copied.join("tiny-report/report");
    let md = std::fs::read(report.join("summary.md")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&md),
        String::from_utf8_lossy(&collected_md)
    );
    assert_eq!(
        std::fs::read(report.join("all-runs.json")).unwrap(),
        collected_json
    );
    let csv_bytes = std::fs::read(report.join("summary.csv")).unwrap();
    assert_eq!(csv_bytes, collected_csv);
    let tex = std::fs::read(report.join("summary.tex")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&tex),
        String::from_utf8_lossy(&collected_tex)
    );
    // The figure: the same bytes, one dot per run (2 checkpoints x 2 fine-tuning seeds).
    let svg = std::fs::read(report.join("demo-sentiment.svg")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&svg),
        String::from_utf8_lossy(&collected_svg)
    );
    assert_eq!(String::from_utf8_lossy(&svg).matches("<circle").count(), 4);

    // The CSV: one record per table row, with the means the Markdown shows.
    let md = String::from_utf8(md).unwrap();
    let table_means: Vec<String> = md
        .lines()
        .filter(|l| l.starts_with("| demo-sentiment |"))
        .map(|l| {
            l.split(" | ")
                .nth(5)
                .unwrap()
                .split(" ± ")
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(table_means.len(), 1, "{md}");
    let mut csv = csv::Reader::from_reader(csv_bytes.as_slice());
    let headers = csv.headers().unwrap().clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        multiberts_report::CSV_COLUMNS
    );
    let records: Vec<csv::StringRecord> = csv.records().collect::<Result<_, _>>().unwrap();
    let csv_means: Vec<String> = records
        .iter()
        .map(|r| format!("{:.4}", r[6].parse::<f64>().unwrap()))
        .collect();
    assert_eq!(csv_means, table_means);
    // The LaTeX rows: the escaped task, the same means, and the analysis by its escaped name.
    let tex = String::from_utf8(tex).unwrap();
    let tex_means: Vec<&str> = tex
        .lines()
        .filter(|l| l.starts_with("demo-sentiment & "))
        .map(|l| {
            l.split(" & ")
                .nth(5)
                .unwrap()
                .split(r" $\pm$ ")
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(tex_means, table_means, "{tex}");
    assert!(tex.contains("\nall-runs & demo-sentiment & "), "{tex}");
    assert_eq!(
        (&records[0][0], &records[0][2], &records[0][4]),
        ("demo-sentiment", "accuracy", "4")
    );

    // A results folder without the consolidated tables says what to run.
    let out = multiberts(dir.path(), &["report", "m.toml", "--results-dir", "empty"]);
    assert_fails_with(&out, "run `multiberts collect m.toml` first");
    assert_fails_with(&out, "demo-sentiment.selection.json");
}

/// The generated Winogender-like task with and without CDA, and a bias analysis.
fn coref_manifest() -> String {
    let defaults = "batch_size = 16\neval_batch_size = 64\nepochs = 1\nfinetune_seeds = [0]\n\
                    max_train_examples = 64\n";
    let bias = cda_analysis("cda-bias", "paired", "bias_slope", "nboot = 100\n");
    tiny_manifest(
        "coref-report",
        "[0, 1]",
        defaults,
        &(COREF_TASKS.to_string() + &bias),
    )
}

#[test]
fn report_regenerates_bias_rows_and_analyses_of_a_coref_task() {
    let dir = tempfile::tempdir().unwrap();
    write_manifest(dir.path(), &coref_manifest());
    ok(multiberts(dir.path(), &["sweep", "m.toml", "--jobs", "2"]));
    let results = dir.path().join("results/coref-report");
    let copied = dir.path().join("copied");
    copy_dir(
        &results.join("predictions"),
        &copied.join("coref-report/predictions"),
    );
    ok(multiberts(
        dir.path(),
        &["report", "m.toml", "--results-dir", "copied"],
    ));
    for file in [
        "summary.md",
        "summary.csv",
        "summary.tex",
        "cda-bias.json",
        "demo-coref.svg",
        "demo-coref.cda.svg",
    ] {
        let before = std::fs::read(results.join("report").join(file)).unwrap();
        let after = std::fs::read(copied.join("coref-report/report").join(file)).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&after),
            String::from_utf8_lossy(&before),
            "{file}"
        );
    }
    let md = std::fs::read_to_string(copied.join("coref-report/report/summary.md")).unwrap();
    assert!(md.contains("| demo-coref[cda] | bias_slope |"), "{md}");
    let tex = std::fs::read_to_string(copied.join("coref-report/report/summary.tex")).unwrap();
    assert!(
        tex.contains(r"demo-coref{[}cda{]} & bias\_slope & "),
        "{tex}"
    );
}
