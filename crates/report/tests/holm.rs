//! Many analyses in one manifest: the report adds Holm-adjusted p-values across the analyses
//! with a p-value, equal to Holm's closed form worked out by hand for a family of three, in
//! `summary.md`, `summary.tex`, each analysis' JSON and the page, which names the family; a
//! manifest with a single comparison gets no Holm column.

mod common;

use common::{lr_analysis, setup, sst2_manifest, write_table};
use multiberts_report::report_from_tables;

/// The sweep with the paired learning-rate analysis `lr`.
fn head() -> String {
    sst2_manifest("name = \"t\"", &lr_analysis("lr", "nboot = 200"))
}

const MORE: &str = r#"
[[analyses]]
name = "one-procedure"
kind = "single"
task = "sst2"
base = "lr=2e-5,variant="
nboot = 50

[[analyses]]
name = "cda"
kind = "unpaired"
task = "sst2"
base = "lr=2e-5,variant="
experiment = "variant=cda"
nboot = 200

[[analyses]]
name = "lr-down"
kind = "paired"
task = "sst2"
base = "lr=3e-5,variant="
experiment = "lr=2e-5,variant="
expect_negative_effect = true
nboot = 200
rng = "chacha:7"
"#;

/// Holm's adjusted p-values of a family of three, written out: with p_a ≤ p_b ≤ p_c,
/// q_a = min(1, 3 p_a), q_b = min(1, max(q_a, 2 p_b)), q_c = min(1, max(q_b, p_c)); returned
/// in the input order.
fn holm3(p: [f64; 3]) -> [f64; 3] {
    let mut order = [0, 1, 2];
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let [a, b, c] = order;
    let qa = (3.0 * p[a]).min(1.0);
    let qb = qa.max(2.0 * p[b]).min(1.0);
    let qc = qb.max(p[c]).min(1.0);
    let mut q = [0.0; 3];
    q[a] = qa;
    q[b] = qb;
    q[c] = qc;
    q
}

#[test]
fn holm_adjusted_p_values_match_the_closed_form_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let (manifest, tree) = setup(tmp.path(), &format!("{}{MORE}", head()));
    write_table(&tree, "cda");
    let written = report_from_tables(&manifest, &tree, None).unwrap();
    let a = &written.analyses;
    assert_eq!(a.len(), 4);
    assert_eq!(
        a[1].p_holm, None,
        "a single-procedure analysis has no p-value"
    );
    let raw = [0, 2, 3].map(|i| a[i].report.delta.unwrap().p);
    let want = holm3(raw);
    let got = [0, 2, 3].map(|i| a[i].p_holm.unwrap());
    assert_eq!(got, want, "raw p {raw:?}");
    // The family is not trivial: the correction moved some p-value, and not all to 1.
    assert!(
        got.iter().zip(raw).any(|(q, p)| *q > p),
        "{raw:?} -> {got:?}"
    );
    assert!(got.iter().any(|q| *q < 1.0), "{raw:?} -> {got:?}");

    // summary.md: a column, each value to 3 decimals, and the family named.
    let md = std::fs::read_to_string(&written.summary_md).unwrap();
    assert!(md.contains("| delta (CI) | p | p (Holm) |"), "{md}");
    for (i, q) in [0, 2, 3].into_iter().zip(got) {
        let line = md
            .lines()
            .find(|l| l.starts_with(&format!("| {} |", a[i].name)))
            .unwrap();
        assert!(line.ends_with(&format!(" {q:.3} |")), "{line}");
    }
    let single = md
        .lines()
        .find(|l| l.starts_with("| one-procedure |"))
        .unwrap();
    assert!(single.ends_with("|  |  |  |"), "{single}");
    assert!(
        md.contains("family of the 3 analyses with a p-value (lr, cda, lr-down)"),
        "{md}"
    );

    // Each analysis' JSON: the report as before, plus the adjusted p and the family.
    for i in [0, 2, 3] {
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&a[i].path).unwrap()).unwrap();
        assert_eq!(json["holm"]["p_adjusted"].as_f64(), a[i].p_holm);
        assert_eq!(
            json["holm"]["family"],
            serde_json::json!(["lr", "cda", "lr-down"])
        );
        assert_eq!(
            json["delta"]["p"].as_f64(),
            Some(a[i].report.delta.unwrap().p)
        );
    }
    let single: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&a[1].path).unwrap()).unwrap();
    assert!(single.get("holm").is_none(), "{single}");

    // The page and the LaTeX.
    let html = std::fs::read_to_string(&written.index_html).unwrap();
    assert!(html.contains("<th scope=\"col\">p (Holm)</th>"));
    assert!(html.contains("<p class=\"family\">p (Holm): the p-value adjusted by Holm–Bonferroni across the family of the 3 analyses"));
    for q in got {
        assert!(
            html.contains(&format!("<td class=\"num\">{q:.3}</td></tr>")),
            "{q}"
        );
    }
    let tex = std::fs::read_to_string(&written.summary_tex).unwrap();
    assert!(tex.contains(r"& $p$ & $p_{\mathrm{Holm}}$ \\"), "{tex}");
    assert!(tex.contains(r"family of the 3 analyses with a $p$ (lr, cda, lr-down)"));
}

#[test]
fn one_comparison_gets_no_holm_column() {
    let tmp = tempfile::tempdir().unwrap();
    let (manifest, tree) = setup(tmp.path(), &head());
    write_table(&tree, "cda");
    let written = report_from_tables(&manifest, &tree, None).unwrap();
    assert_eq!(written.analyses[0].p_holm, None);
    let md = std::fs::read_to_string(&written.summary_md).unwrap();
    assert!(md.contains("| delta (CI) | p |\n"), "{md}");
    assert!(!md.contains("Holm"));
    for file in [
        &written.index_html,
        &written.summary_tex,
        &written.analyses[0].path,
    ] {
        assert!(
            !std::fs::read_to_string(file).unwrap().contains("olm"),
            "{}",
            file.display()
        );
    }
}
