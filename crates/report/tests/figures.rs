//! The report's figures from hand-built consolidated `stsb` tables (Pearson r): the SVG parses,
//! has one dot per run with a defined metric, the dots' heights order the runs exactly as their
//! values do, columns and step lines sit where the runs say, and the same table gives the same
//! bytes.
//!
//! Each run predicts `x + c * e` for labels `x = 0..8` and the Thue-Morse signs `e` (mean 0,
//! orthogonal to `x`), so its r is `sqrt(42 / (42 + 8 c^2))`: strictly decreasing in `c >= 0`.
//! A run with constant predictions has an undefined r.

use std::path::{Path, PathBuf};

mod common;

use common::{setup, write_consolidated};
use multiberts_collector::{PredictionRow, ResultsTree};
use multiberts_report::{DATA_STROKE, DOT_RADIUS, report_from_tables};

const SIGNS: [f64; 8] = [1.0, -1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0];

const MANIFEST: &str = r#"name = "t"

[defaults]
learning_rates = [2e-5, 3e-5]
finetune_seeds = "0..=1"

[[checkpoints]]
hub = "google/multiberts-seed_{seed}"
seeds = "0..=2"

[[tasks]]
name = "stsb"
"#;

/// One run of the table.
struct Spec {
    variant: &'static str,
    seed: i64,
    step: i64,
    lr: f64,
    /// The noise scale `c`; `None` for constant predictions (undefined r).
    noise: Option<f64>,
}

impl Spec {
    fn new(seed: i64, step: i64, lr: f64, noise: Option<f64>) -> Self {
        Self {
            variant: "",
            seed,
            step,
            lr,
            noise,
        }
    }

    /// Its Pearson r, in closed form.
    fn r(&self) -> f64 {
        self.noise
            .map_or(f64::NAN, |c| (42.0 / (42.0 + 8.0 * c * c)).sqrt())
    }
}

/// Writes `predictions/stsb.parquet` and its selection record as `multiberts collect` would.
fn write_table(tree: &ResultsTree, specs: &[Spec]) {
    let mut rows = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        for (j, e) in SIGNS.iter().enumerate() {
            let x = j as f64;
            rows.push(PredictionRow {
                job_id: format!("job{i}"),
                task: "stsb".into(),
                variant: s.variant.into(),
                split: "validation".into(),
                checkpoint: format!("seed_{}_step_{}k", s.seed, s.step),
                pretrain_seed: Some(s.seed),
                step: Some(s.step),
                learning_rate: s.lr,
                finetune_seed: i as i64,
                example_index: j as i64,
                example_id: format!("ex{j}"),
                label: x,
                prediction: s.noise.map_or(0.5, |c| x + c * e),
                scores: vec![],
                answer: None,
            });
        }
    }
    write_consolidated(tree, "stsb", "pearson", &rows, specs.len());
}

/// The report of `specs`' table under `dir`: its figures' paths.
fn report(dir: &Path, specs: &[Spec]) -> Vec<PathBuf> {
    let (manifest, tree) = setup(dir, MANIFEST);
    write_table(&tree, specs);
    report_from_tables(&manifest, &tree, None).unwrap().figures
}

/// What the tests read from an SVG.
struct Svg {
    /// Dots (cx, cy, fill), in document order.
    dots: Vec<(i32, i32, String)>,
    /// Data polylines (seed lines, mean bars): points and stroke colour.
    lines: Vec<(Vec<(i32, i32)>, String)>,
    /// Legend swatches' fill colours, in order.
    swatches: Vec<String>,
    /// Every text.
    texts: Vec<String>,
}

fn parse(path: &Path) -> Svg {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let int = |n: roxmltree::Node, a: &str| n.attribute(a).unwrap().parse::<i32>().unwrap();
    let mut svg = Svg {
        dots: Vec::new(),
        lines: Vec::new(),
        swatches: Vec::new(),
        texts: Vec::new(),
    };
    for n in doc.descendants() {
        match n.tag_name().name() {
            "circle" => {
                assert_eq!(int(n, "r"), DOT_RADIUS);
                svg.dots.push((
                    int(n, "cx"),
                    int(n, "cy"),
                    n.attribute("fill").unwrap().to_string(),
                ));
            }
            "polyline" if n.attribute("stroke-width") == Some(&DATA_STROKE.to_string()) => {
                let points = n
                    .attribute("points")
                    .unwrap()
                    .split_whitespace()
                    .map(|p| {
                        let (x, y) = p.split_once(',').unwrap();
                        (x.parse().unwrap(), y.parse().unwrap())
                    })
                    .collect();
                svg.lines
                    .push((points, n.attribute("stroke").unwrap().to_string()));
            }
            "rect" if n.attribute("fill") != Some("#FFFFFF") => {
                svg.swatches.push(n.attribute("fill").unwrap().to_string());
            }
            "text" => svg
                .texts
                .push(n.text().unwrap_or_default().trim().to_string()),
            _ => {}
        }
    }
    svg
}

/// Every pair of runs is ordered by height as by value: higher r, smaller y; equal r, equal y.
fn assert_heights_follow_values(dots: &[(i32, i32, String)], values: &[f64]) {
    assert_eq!(dots.len(), values.len());
    for (a, va) in dots.iter().zip(values) {
        for (b, vb) in dots.iter().zip(values) {
            assert_eq!(
                b.1.cmp(&a.1),
                va.total_cmp(vb),
                "r {va} at y {}, r {vb} at y {}",
                a.1,
                b.1
            );
        }
    }
}

fn mean(v: impl Iterator<Item = i32>) -> f64 {
    let v: Vec<i32> = v.collect();
    v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len() as f64
}

#[test]
fn checkpoint_columns_one_dot_per_run_ordered_by_value_and_a_bar_at_each_mean() {
    let specs = [
        Spec::new(0, 2000, 2e-5, Some(0.5)),
        Spec::new(0, 2000, 2e-5, Some(1.0)),
        Spec::new(0, 2000, 2e-5, Some(2.0)),
        Spec::new(1, 2000, 2e-5, Some(0.0)),
        Spec::new(1, 2000, 2e-5, Some(1.0)),
        Spec::new(1, 2000, 2e-5, Some(3.0)),
        Spec::new(2, 2000, 2e-5, Some(1.5)),
        Spec::new(2, 2000, 2e-5, None),
        Spec::new(2, 2000, 2e-5, Some(1.5)),
        Spec {
            variant: "cda",
            ..Spec::new(0, 2000, 2e-5, Some(1.0))
        },
    ];
    let tmp = tempfile::tempdir().unwrap();
    let figures = report(tmp.path(), &specs);
    let dir = tmp.path().join("t/report");
    assert_eq!(figures, [dir.join("stsb.svg"), dir.join("stsb.cda.svg")]);

    let svg = parse(&figures[0]);
    // The undefined run is left out and counted; the others, in table order.
    let kept: Vec<&Spec> = specs[..9].iter().filter(|s| s.noise.is_some()).collect();
    let values: Vec<f64> = kept.iter().map(|s| s.r()).collect();
    assert_heights_follow_values(&svg.dots, &values);
    assert!(svg.texts.contains(&"stsb".to_string()), "{:?}", svg.texts);
    assert!(
        svg.texts.contains(
            &"8 runs over 3 pre-training seeds; 1 run left out (pearson undefined)".into()
        ),
        "{:?}",
        svg.texts
    );
    assert!(svg.texts.contains(&"pearson".to_string()));
    assert!(svg.texts.contains(&"pre-training seed".to_string()));
    // One learning rate: one colour, no legend.
    assert!(svg.swatches.is_empty(), "{:?}", svg.swatches);

    // Columns: every seed-0 dot left of every seed-1 dot, left of every seed-2 dot; equal values
    // in one column sit side by side.
    let column = |seed: i64| -> Vec<&(i32, i32, String)> {
        svg.dots
            .iter()
            .zip(&kept)
            .filter(|(_, s)| s.seed == seed)
            .map(|(d, _)| d)
            .collect()
    };
    let (c0, c1, c2) = (column(0), column(1), column(2));
    assert!(c0.iter().all(|a| c1.iter().all(|b| a.0 < b.0)));
    assert!(c1.iter().all(|a| c2.iter().all(|b| a.0 < b.0)));
    assert_eq!(c2[0].1, c2[1].1);
    assert_ne!(c2[0].0, c2[1].0);

    // One bar per column, horizontal, across the column's dots, at their mean height (the y
    // axis is linear, so the mean's height is the mean of the heights, up to pixel rounding).
    assert_eq!(svg.lines.len(), 3, "{:?}", svg.lines);
    for (bar, col) in svg.lines.iter().zip([&c0, &c1, &c2]) {
        let [(x0, y0), (x1, y1)] = bar.0[..] else {
            panic!("a bar has two points: {bar:?}")
        };
        assert_eq!(y0, y1);
        assert!(col.iter().all(|d| x0 < d.0 && d.0 < x1), "{bar:?} {col:?}");
        let m = mean(col.iter().map(|d| d.1));
        assert!(
            (f64::from(y0) - m).abs() <= 1.0,
            "bar at {y0}, dots' mean {m}"
        );
    }

    // The variant's own figure holds only its run.
    let cda = parse(&figures[1]);
    assert_eq!(cda.dots.len(), 1);
    assert!(cda.texts.contains(&"stsb [cda]".to_string()));

    // The same table gives the same bytes.
    let first: Vec<Vec<u8>> = figures.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let again = report(tmp.path(), &specs);
    let second: Vec<Vec<u8>> = again.iter().map(|f| std::fs::read(f).unwrap()).collect();
    assert_eq!(first, second);
}

#[test]
fn runs_over_several_steps_draw_one_line_per_seed_through_its_step_means() {
    let steps = [0, 20, 200];
    let mut specs = Vec::new();
    for seed in 0..3 {
        for (k, &step) in steps.iter().enumerate() {
            // Multiples of 1/8, so equal noise scales are exactly equal.
            let c = 0.5 * (3 - k) as f64 + 0.25 * seed as f64;
            specs.push(Spec::new(seed, step, 2e-5, Some(c)));
            specs.push(Spec::new(seed, step, 2e-5, Some(c + 0.375)));
        }
    }
    specs[5].noise = None;
    let tmp = tempfile::tempdir().unwrap();
    let figures = report(tmp.path(), &specs);
    let svg = parse(&figures[0]);
    let kept: Vec<&Spec> = specs.iter().filter(|s| s.noise.is_some()).collect();
    assert_heights_follow_values(&svg.dots, &kept.iter().map(|s| s.r()).collect::<Vec<_>>());
    assert!(
        svg.texts
            .contains(&"pre-training step (thousands)".to_string())
    );

    // One line per seed, in the seed's colour (its legend swatch), through its steps left to
    // right, each point at the step's dots: same x, mean height.
    assert_eq!(svg.lines.len(), 3, "{:?}", svg.lines);
    assert_eq!(svg.swatches.len(), 3);
    for (seed, (points, stroke)) in svg.lines.iter().enumerate() {
        assert_eq!(stroke, &svg.swatches[seed]);
        assert_eq!(points.len(), steps.len());
        assert!(points.windows(2).all(|w| w[0].0 < w[1].0), "{points:?}");
        for (&(x, y), &step) in points.iter().zip(&steps) {
            let at: Vec<&(i32, i32, String)> = svg
                .dots
                .iter()
                .zip(&kept)
                .filter(|(_, s)| s.seed == seed as i64 && s.step == step)
                .map(|(d, _)| d)
                .collect();
            assert!(!at.is_empty());
            assert!(at.iter().all(|d| d.0 == x && &d.2 == stroke), "{at:?}");
            let m = mean(at.iter().map(|d| d.1));
            assert!(
                (f64::from(y) - m).abs() <= 1.0,
                "line at {y}, dots' mean {m}"
            );
        }
    }
}

#[test]
fn several_learning_rates_are_coloured_with_a_legend() {
    let specs = [
        Spec::new(0, 2000, 2e-5, Some(0.5)),
        Spec::new(0, 2000, 3e-5, Some(1.0)),
        Spec::new(1, 2000, 2e-5, Some(1.5)),
        Spec::new(1, 2000, 3e-5, Some(0.2)),
    ];
    let tmp = tempfile::tempdir().unwrap();
    let figures = report(tmp.path(), &specs);
    let svg = parse(&figures[0]);
    assert_eq!(svg.swatches.len(), 2);
    assert_ne!(svg.swatches[0], svg.swatches[1]);
    for label in ["learning rate", "2e-5", "3e-5"] {
        assert!(svg.texts.contains(&label.to_string()), "{:?}", svg.texts);
    }
    for (dot, spec) in svg.dots.iter().zip(&specs) {
        let lr = usize::from(spec.lr == 3e-5);
        assert_eq!(dot.2, svg.swatches[lr]);
    }
    // Within a column, the smaller learning rate to the left.
    assert!(svg.dots[0].0 < svg.dots[1].0 && svg.dots[1].0 < svg.dots[2].0);
    assert!(svg.dots[2].0 < svg.dots[3].0);
    // One bar per (seed, learning rate), in its colour.
    assert_eq!(svg.lines.len(), 4);
}
