//! `report/index.html` from a hand-built consolidated table: it holds every table row, every
//! figure inline with a title, escaped text, no network address, the same bytes on a second
//! run; and the new figures put their marks at the computed values (the per-seed intervals at
//! each seed's bootstrap mean, the forest plot's E[L'−L] and zero line on the shared scale).

mod common;

use common::{lr_analysis, setup, sst2_manifest, write_table};
use multiberts_collector::consolidate::{read_selection, table_path};
use multiberts_report::{ForestRow, forest_svg, read_runs, report_from_tables, seed_intervals};

/// The sweep with an escaped description and the paired learning-rate analysis `lr`.
fn manifest() -> String {
    sst2_manifest(
        "name = \"t\"\ndescription = \"a <b>bold</b> & 'quoted' test\"",
        &lr_analysis("lr", "nboot = 50"),
    )
}

/// The SVG documents inline in `html`.
fn svgs(html: &str) -> Vec<&str> {
    html.match_indices("<svg")
        .map(|(start, _)| {
            let end = html[start..].find("</svg>").expect("closed svg") + start + 6;
            &html[start..end]
        })
        .collect()
}

/// The pixel a panel group maps `v` to along `axis` (`x` or `y`), from its data attributes.
fn px(group: roxmltree::Node, axis: &str, v: f64) -> f64 {
    let nums = |name: String| -> Vec<f64> {
        group
            .attribute(name.as_str())
            .unwrap_or_else(|| panic!("{name} on the panel"))
            .split(' ')
            .map(|s| s.parse().unwrap())
            .collect()
    };
    let (p, r) = (
        nums(format!("data-{axis}px")),
        nums(format!("data-{axis}range")),
    );
    p[0] + (v - r[0]) / (r[1] - r[0]) * (p[1] - p[0])
}

fn attr(n: roxmltree::Node, name: &str) -> f64 {
    n.attribute(name).unwrap().parse().unwrap()
}

#[test]
fn the_page_holds_every_table_and_figure_offline_and_deterministically() {
    let tmp = tempfile::tempdir().unwrap();
    let (manifest, tree) = setup(tmp.path(), &manifest());
    write_table(&tree, "cda");
    let written = report_from_tables(&manifest, &tree, None).unwrap();
    let html = std::fs::read_to_string(&written.index_html).unwrap();
    assert_eq!(written.index_html, tree.root().join("report/index.html"));

    // The description is escaped, not markup.
    assert!(html.contains("a &lt;b&gt;bold&lt;/b&gt; &amp; &#39;quoted&#39; test"));
    assert!(!html.contains("<b>bold"));
    // No network address, nothing loaded from elsewhere.
    for bad in [
        "http:", "https:", "//www", "<script", "<link", "src=", "@import",
    ] {
        assert!(!html.contains(bad), "the page holds {bad}");
    }
    // One summary row per written row, the analysis with its signature, the files linked.
    assert_eq!(html.matches("<tr><th scope=\"row\">sst2").count(), 3 + 1);
    assert!(html.contains("<tr><th scope=\"row\">sst2[cda]</th>"));
    assert!(html.contains("<a href=\"lr.json\">lr</a>"));
    assert!(html.contains(&written.analyses[0].report.signature.to_string()));
    for link in ["summary.csv", "summary.tex", "../predictions/sst2.parquet"] {
        assert!(html.contains(&format!("href=\"{link}\"")), "{link}");
    }
    assert!(html.contains(&format!(
        "|procedure:{}|",
        multiberts_manifest::PROCEDURE_VERSION
    )));

    // Figures: the two per-task figures, three per-seed ones ((variant, lr) groups), the
    // forest plot; each with role, label and title, and parseable on its own.
    let docs = svgs(&html);
    assert_eq!(docs.len(), written.figures.len() + 3 + 1, "{}", docs.len());
    for doc in &docs {
        let xml = roxmltree::Document::parse(doc).unwrap();
        let root = xml.root_element();
        assert_eq!(root.attribute("role"), Some("img"));
        assert!(!root.attribute("aria-label").unwrap_or("").is_empty());
        assert!(root.children().any(|c| c.has_tag_name("title")));
    }

    // Same inputs, same bytes.
    report_from_tables(&manifest, &tree, None).unwrap();
    assert_eq!(std::fs::read_to_string(&written.index_html).unwrap(), html);
}

#[test]
fn per_seed_intervals_sit_at_each_seeds_examples_only_mean() {
    let tmp = tempfile::tempdir().unwrap();
    let (manifest, tree) = setup(tmp.path(), &manifest());
    write_table(&tree, "cda");
    let written = report_from_tables(&manifest, &tree, None).unwrap();
    let runs = read_runs(&table_path(&tree, "sst2")).unwrap();
    let c = read_selection(&tree, "sst2").unwrap();
    let figs = seed_intervals(&runs, &c, &written.rows).unwrap();
    // ("", 2e-5): seed 0 runs 0.9, 0.8; seed 1 runs 0.7, 0.6.
    let f = &figs[0];
    assert_eq!((f.variant.as_str(), f.learning_rate), ("", 2e-5));
    assert_eq!(f.seeds.len(), 2);
    for (s, plain) in f.seeds.iter().zip([0.85, 0.65]) {
        assert_eq!(s.runs, 2);
        let iv = s.interval;
        assert!((iv.mean - plain).abs() < 0.02, "{s:?}");
        assert!(iv.low < plain && plain < iv.high, "{s:?}");
    }
    // The band is the summary row's interval over seeds and examples.
    assert_eq!(
        f.overall,
        Some((written.rows[0].ci_low, written.rows[0].ci_high))
    );

    let svg = f.svg();
    let xml = roxmltree::Document::parse(&svg).unwrap();
    let plot = xml
        .descendants()
        .find(|n| n.attribute("class") == Some("plot"))
        .unwrap();
    let dots: Vec<_> = plot
        .descendants()
        .filter(|n| n.attribute("class") == Some("seed"))
        .collect();
    assert_eq!(dots.len(), 2);
    for (dot, s) in dots.iter().zip(&f.seeds) {
        assert_eq!(attr(*dot, "data-value"), s.interval.mean);
        assert!((attr(*dot, "cy") - px(plot, "y", s.interval.mean)).abs() < 0.01);
    }
    let lines = plot
        .descendants()
        .filter(|n| n.attribute("class") == Some("seed interval"))
        .count();
    assert_eq!(lines, 2);
}

#[test]
fn the_forest_plot_marks_each_mean_and_zero_on_its_scale() {
    let tmp = tempfile::tempdir().unwrap();
    let (manifest, tree) = setup(tmp.path(), &manifest());
    write_table(&tree, "cda");
    let written = report_from_tables(&manifest, &tree, None).unwrap();
    let report = written.analyses[0].report.clone();
    let svg = forest_svg(&[ForestRow {
        name: "lr".into(),
        metric: "accuracy".into(),
        report: report.clone(),
    }])
    .unwrap();
    assert_eq!(forest_svg(&[]), None);
    let xml = roxmltree::Document::parse(&svg).unwrap();
    let class = |c: &str| {
        xml.descendants()
            .filter(|n| n.attribute("class") == Some(c))
            .collect::<Vec<_>>()
    };
    let delta = report.delta.unwrap();
    let expt = report.expt.unwrap();
    for (c, v) in [
        ("base", report.base.mean),
        ("expt", expt.mean),
        ("delta", delta.mean),
    ] {
        let dots = class(c);
        assert_eq!(dots.len(), 1, "{c}");
        let dot = dots[0];
        let panel = dot.parent().unwrap();
        assert_eq!(attr(dot, "data-value"), v);
        assert!((attr(dot, "cx") - px(panel, "x", v)).abs() < 0.01, "{c}");
    }
    let delta_panel = class("delta")[0].parent().unwrap();
    let zero = class("zero");
    assert_eq!(zero.len(), 1);
    assert!((attr(zero[0], "x1") - px(delta_panel, "x", 0.0)).abs() < 0.01);
    assert!(svg.contains(&format!("p = {:.3}", delta.p)));
}
