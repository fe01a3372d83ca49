//! `report/summary.tex` from a hand-built consolidated table: a fragment that needs only
//! booktabs, with balanced braces and math, one `\toprule`/`\midrule`/`\bottomrule` per table,
//! the numbers of `summary.csv` rounded as in the Markdown, `--` where a value is undefined, and
//! user-chosen names escaped.

mod common;

use common::{close, lr_analysis, setup, sst2_manifest, write_table};
use multiberts_report::{SummaryRow, report_from_tables};

/// A paired analysis whose name holds every LaTeX special but the backslash (it also names a
/// file), and a single one, which has no experiment, delta or p.
fn manifest() -> String {
    let axes = "nboot = 5\nsample_seeds = false\nsample_examples = false";
    let single = format!(
        "\n[[analyses]]\nname = \"all runs\"\nkind = \"single\"\ntask = \"sst2\"\n{axes}\n"
    );
    let paired = lr_analysis("lr_{2e-5} vs 3e-5: 100% & #1 ~^$", axes);
    sst2_manifest("name = \"t_x\"", &format!("{paired}{single}"))
}

/// Braces and `$` of `tex` outside comments and escapes: braces never close more than opened
/// and end balanced, math shifts come in pairs.
fn assert_balanced(tex: &str) {
    let mut depth = 0i64;
    let mut dollars = 0;
    for line in tex.lines() {
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '%' => break,
                '\\' => {
                    chars.next();
                }
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    assert!(depth >= 0, "unbalanced `}}` in {line:?}");
                }
                '$' => dollars += 1,
                _ => {}
            }
        }
    }
    assert_eq!(depth, 0, "unclosed braces in\n{tex}");
    assert_eq!(dollars % 2, 0, "odd number of `$` in\n{tex}");
}

/// The cells of a table row (`a & b & c \\`), split at every `&` that is not escaped.
fn cells(line: &str) -> Vec<String> {
    let row = line
        .strip_suffix(r" \\")
        .unwrap_or_else(|| panic!("not a row: {line:?}"));
    let mut out = vec![String::new()];
    let mut escaped = false;
    for c in row.chars() {
        if c == '&' && !escaped {
            out.push(String::new());
        } else {
            out.last_mut().unwrap().push(c);
        }
        escaped = c == '\\' && !escaped;
    }
    out.iter().map(|c| c.trim().to_string()).collect()
}

/// The data rows of each `table` float of `tex`, after checking the float's booktabs structure.
fn tables(tex: &str) -> Vec<Vec<&str>> {
    let mut out = Vec::new();
    for float in tex.split(r"\begin{table*}").skip(1) {
        let float = &float[..float.find(r"\end{table*}").expect("a closed table float")];
        for rule in [r"\toprule", r"\midrule", r"\bottomrule"] {
            assert_eq!(float.matches(rule).count(), 1, "{rule} in\n{float}");
        }
        let body = float.split(r"\midrule").nth(1).unwrap();
        let body = body.split(r"\bottomrule").next().unwrap();
        assert!(float.find(r"\toprule") < float.find(r"\midrule"), "{float}");
        let rows = body
            .lines()
            .filter(|l| !l.is_empty() && *l != r"\addlinespace");
        out.push(rows.collect());
    }
    out
}

/// `x` as the table writes it: 4 decimals, a math-mode minus, `--` when undefined.
fn expected(x: f64) -> String {
    if x.is_nan() {
        "--".into()
    } else if x < 0.0 {
        format!("$-${:.4}", -x)
    } else {
        format!("{x:.4}")
    }
}

/// `$2 \times 10^{-5}$` back to 2e-5.
fn parse_learning_rate(cell: &str) -> f64 {
    let inner = cell.trim_matches('$');
    let (mantissa, exponent) = inner.split_once(r" \times 10^").unwrap_or((inner, "{0}"));
    let exponent: i32 = exponent.trim_matches(['{', '}']).parse().unwrap();
    mantissa.parse::<f64>().unwrap() * 10f64.powi(exponent)
}

#[test]
fn the_latex_tables_are_well_formed_and_hold_the_csv_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let (manifest, tree) = setup(tmp.path(), &manifest());
    write_table(&tree, "cda_v1");
    let written = report_from_tables(&manifest, &tree, None).unwrap();
    assert!(written.summary_tex.ends_with("report/summary.tex"));
    let tex = std::fs::read_to_string(&written.summary_tex).unwrap();

    // A fragment: no preamble or document of its own, its one requirement stated up front.
    assert!(tex.starts_with("% t_x: "), "{tex}");
    let head: Vec<&str> = tex.lines().take_while(|l| l.starts_with('%')).collect();
    assert!(
        head.iter().any(|l| l.contains(r"\usepackage{booktabs}")),
        "{tex}"
    );
    for word in [r"\documentclass", r"\usepackage", r"\begin{document}"] {
        assert!(!tex.replace(&head.join("\n"), "").contains(word), "{tex}");
    }
    assert_balanced(&tex);
    assert_eq!(
        tex.matches(r"\begin{").count(),
        tex.matches(r"\end{").count()
    );
    assert!(tex.contains(r"\label{tab:t-x-summary}"), "{tex}");
    assert!(tex.contains(r"\caption{t\_x: per task"), "{tex}");

    let tables = tables(&tex);
    assert_eq!(tables.len(), 2, "{tex}");

    // The summary table: one row per CSV record, the same numbers.
    let mut csv = csv::Reader::from_path(&written.summary_csv).unwrap();
    let records: Vec<SummaryRow> = csv.deserialize().collect::<Result<_, _>>().unwrap();
    assert_eq!(tables[0].len(), records.len(), "{tex}");
    assert_eq!(records.len(), 3);
    for (line, r) in tables[0].iter().zip(&records) {
        let c = cells(line);
        assert_eq!(c.len(), 7, "{line}");
        let label = if r.variant.is_empty() {
            r.task.clone()
        } else {
            format!("{}{{[}}{}{{]}}", r.task, r.variant.replace('_', r"\_"))
        };
        assert_eq!((&c[0], &c[1]), (&label, &r.metric), "{line}");
        let lr = parse_learning_rate(&c[2]);
        assert!(close(lr / r.learning_rate, 1.0), "{line} vs {r:?}");
        assert_eq!((&c[3], &c[4]), (&r.runs.to_string(), &r.seeds.to_string()));
        assert_eq!(
            c[5],
            format!(r"{} $\pm$ {}", expected(r.mean), expected(r.sd)),
            "{line}"
        );
        let ci = if r.ci_low.is_nan() {
            "--".to_string()
        } else {
            format!("[{}, {}]", expected(r.ci_low), expected(r.ci_high))
        };
        assert_eq!(c[6], ci, "{line}");
    }
    // The single run of the variant has no sd.
    assert_eq!(cells(tables[0][2])[0], r"sst2{[}cda\_v1{]}");
    assert_eq!(cells(tables[0][2])[5], r"1.0000 $\pm$ --");
    assert_eq!(cells(tables[0][0])[2], r"$2 \times 10^{-5}$");

    // The analyses, two lines each (name, task and estimates, then kind, metric and
    // intervals): every special of the name escaped; the paired one's delta is the difference
    // of the rates' means (0.8 - 0.75), every draw equal, p at its floor 1/nboot; the single one
    // has neither experiment nor delta.
    assert_eq!(tables[1].len(), 4, "{tex}");
    let lines: Vec<Vec<String>> = tables[1].iter().map(|l| cells(l)).collect();
    assert_eq!(
        lines[0],
        [
            r"lr\_\{2e-5\} vs 3e-5: 100\% \& \#1 \textasciitilde{}\textasciicircum{}\$",
            "sst2",
            "0.7500",
            "0.8000",
            "$+$0.0500",
            "0.200",
        ]
    );
    assert_eq!(
        lines[1],
        [
            "Paired",
            "accuracy",
            "[0.7500, 0.7500]",
            "[0.8000, 0.8000]",
            "[$+$0.0500, $+$0.0500]",
            "",
        ]
    );
    let base = written.analyses[1].report.base;
    assert_eq!(
        lines[2],
        ["all runs", "sst2", &expected(base.mean), "--", "--", "--"]
    );
    assert_eq!(
        lines[3],
        [
            "Single",
            "accuracy",
            &format!("[{}, {}]", expected(base.low), expected(base.high)),
            "",
            "",
            "",
        ]
    );
}

#[test]
fn a_manifest_without_analyses_has_only_the_summary_table() {
    let tmp = tempfile::tempdir().unwrap();
    let text = manifest();
    let manifest_text = text.split("[[analyses]]").next().unwrap();
    let (manifest, tree) = setup(tmp.path(), manifest_text);
    write_table(&tree, "cda");
    let written = report_from_tables(&manifest, &tree, None).unwrap();
    let tex = std::fs::read_to_string(&written.summary_tex).unwrap();
    assert_balanced(&tex);
    let tables = tables(&tex);
    assert_eq!(tables.len(), 1, "{tex}");
    assert_eq!(tables[0].len(), written.rows.len());
}
