//! The report from a hand-built consolidated table: summary rows against hand-computed means and
//! standard deviations, the CSV's columns, a paired analysis without resampling (its delta is
//! the plain difference of means) and the error for a task not yet collected.

mod common;

use common::{close, lr_analysis, setup, sst2_manifest, write_table};
use multiberts_collector::consolidate::table_path;
use multiberts_report::{CSV_COLUMNS, ReportError, SummaryRow, report_from_tables};

/// The sweep with the paired learning-rate analysis `lr` (a few draws, no resampling).
fn manifest() -> String {
    let axes = "nboot = 5\nsample_seeds = false\nsample_examples = false";
    sst2_manifest("name = \"t\"", &lr_analysis("lr", axes))
}

#[test]
fn summary_rows_match_hand_computed_means_and_the_csv_holds_them() {
    let tmp = tempfile::tempdir().unwrap();
    let (manifest, tree) = setup(tmp.path(), &manifest());
    write_table(&tree, "cda");
    let written = report_from_tables(&manifest, &tree, None).unwrap();

    // (variant, lr) groups in order: ("", 2e-5), ("", 3e-5), ("cda", 2e-5).
    let r = &written.rows;
    assert_eq!(r.len(), 3, "{r:?}");
    assert_eq!((r[0].variant.as_str(), r[0].runs, r[0].seeds), ("", 4, 2));
    assert!(close(r[0].mean, 0.75), "{:?}", r[0]);
    // Sample sd of 0.9, 0.8, 0.7, 0.6: sqrt(0.05 / 3).
    assert!(close(r[0].sd, (0.05f64 / 3.0).sqrt()), "{:?}", r[0]);
    assert!(
        close(r[1].mean, 0.8) && close(r[1].sd, 0.08f64.sqrt()),
        "{:?}",
        r[1]
    );
    assert_eq!((r[2].variant.as_str(), r[2].runs), ("cda", 1));
    assert!(close(r[2].mean, 1.0) && r[2].sd.is_nan(), "{:?}", r[2]);
    for row in &r[..2] {
        assert!(
            0.0 <= row.ci_low && row.ci_low < row.mean && row.mean < row.ci_high,
            "{row:?}"
        );
        assert!(row.ci_high <= 1.0, "{row:?}");
    }

    let md = std::fs::read_to_string(&written.summary_md).unwrap();
    assert!(md.starts_with("# t: results\n"), "{md}");
    assert!(
        md.contains("| sst2 | accuracy | 2e-5 | 4 | 2 | 0.7500 ± 0.1291 | ["),
        "{md}"
    );
    assert!(
        md.contains("| sst2[cda] | accuracy | 2e-5 | 1 | 1 | 1.0000 ± NaN |"),
        "{md}"
    );

    // The CSV: the documented columns, one record per row, numbers that parse back exactly.
    let mut csv = csv::Reader::from_path(&written.summary_csv).unwrap();
    assert_eq!(
        csv.headers().unwrap(),
        &csv::StringRecord::from(CSV_COLUMNS.to_vec())
    );
    let back: Vec<SummaryRow> = csv.deserialize().collect::<Result<_, _>>().unwrap();
    assert_eq!(back.len(), 3);
    for (a, b) in back.iter().zip(r) {
        assert_eq!((a.task.as_str(), a.metric.as_str()), ("sst2", "accuracy"));
        assert_eq!(
            (a.runs, a.seeds, a.learning_rate),
            (b.runs, b.seeds, b.learning_rate)
        );
        assert_eq!(a.mean.to_bits(), b.mean.to_bits());
        assert_eq!(
            (a.ci_low.to_bits(), a.ci_high.to_bits()),
            (b.ci_low.to_bits(), b.ci_high.to_bits())
        );
    }
    assert!(back[2].sd.is_nan());

    // The paired analysis without resampling: every draw is the full data, so E[L'-L] is the
    // difference of the two rates' means over the same seeds.
    let a = &written.analyses[0];
    assert_eq!(a.name, "lr");
    assert!(a.path.ends_with("report/lr.json") && a.path.is_file());
    assert!(close(a.report.base.mean, 0.75), "{:?}", a.report.base);
    let delta = a.report.delta.unwrap();
    assert!(
        close(delta.mean, 0.05) && close(delta.low, 0.05),
        "{delta:?}"
    );
    assert!(
        md.contains("| lr | Paired | sst2 | accuracy | 0.7500 [0.7500, 0.7500] |"),
        "{md}"
    );
}

#[test]
fn a_task_without_its_table_says_to_collect_first() {
    let tmp = tempfile::tempdir().unwrap();
    let (manifest, tree) = setup(tmp.path(), &manifest());
    let err = report_from_tables(&manifest, &tree, None).unwrap_err();
    assert!(matches!(err, ReportError::NotCollected { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("run `multiberts collect m.toml` first"),
        "{msg}"
    );
    assert!(msg.contains("predictions/sst2.selection.json"), "{msg}");

    // A selection record without its table names the table.
    write_table(&tree, "cda");
    std::fs::remove_file(table_path(&tree, "sst2")).unwrap();
    let msg = report_from_tables(&manifest, &tree, None)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("predictions/sst2.parquet is missing"), "{msg}");
}
