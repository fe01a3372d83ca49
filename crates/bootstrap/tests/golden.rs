//! numpy-compatibility mode against golden outputs of the Python reference
//! (`bench/bootstrap/make_golden.py`): every sample, every reported number, every printed line.

use std::path::{Path, PathBuf};

use multiberts_bootstrap::numpy::{mean, pairwise_sum, quantile_sorted};
use multiberts_bootstrap::rng::{Mt19937, below};
use multiberts_bootstrap::{
    Design, Group, Metric, MetricFamily, Options, Problem, ReportOptions, RngSpec, Run,
    multibootstrap, report_ci,
};
use serde_json::Value;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn load(name: &str) -> Value {
    let path = golden_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(f).collect()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= tol * (1.0 + b.abs())
}

const CASES: [&str; 7] = [
    "paired_accuracy",
    "unpaired_accuracy_3class_negative",
    "paired_mcc_one_sided_seed",
    "unpaired_pearson_seeds_only",
    "paired_f1_examples_only",
    "unpaired_mean_one_seed_each",
    "paired_spearman",
];

#[test]
fn numpy_mode_reproduces_reference_outputs() {
    for name in CASES {
        let doc = load(&format!("{name}.json"));
        let case = &doc["case"];
        let labels = floats(&doc["labels"]);
        let preds: Vec<f64> = doc["preds"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(floats)
            .collect();
        let runs: Vec<Run> = doc["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| Run {
                seed: r["seed"].as_u64().unwrap(),
                group: if r["expt"].as_bool().unwrap() {
                    Group::Expt
                } else {
                    Group::Base
                },
            })
            .collect();
        let problem = Problem::new(labels, preds, runs).unwrap();
        let metric: Metric = case["metric"].as_str().unwrap().parse().unwrap();
        let opts = Options {
            design: if case["paired"].as_bool().unwrap() {
                Design::Paired
            } else {
                Design::Unpaired
            },
            nboot: case["nboot"].as_u64().unwrap() as usize,
            sample_seeds: case["ss"].as_bool().unwrap(),
            sample_examples: case["se"].as_bool().unwrap(),
            resample_runs: false,
            rng: RngSpec::Numpy(case["rng"].as_u64().unwrap() as u32),
        };
        let samples = multibootstrap(&problem, metric, &opts).unwrap();
        // Classification metrics are computed from integer confusion matrices and numpy's
        // pairwise means, so they agree to the bit; correlations differ in rounding only.
        let tol = if metric.family() == MetricFamily::Classification {
            0.0
        } else {
            1e-12
        };
        let want = doc["samples"].as_array().unwrap();
        assert_eq!(want.len(), samples.base.len(), "{name}");
        let expt = samples.expt.as_ref().unwrap();
        for (i, w) in want.iter().enumerate() {
            let (b, e) = (f(&w[0]), f(&w[1]));
            assert!(
                close(samples.base[i], b, tol) && close(expt[i], e, tol),
                "{name} draw {i}: ours ({}, {}) reference ({b}, {e})",
                samples.base[i],
                expt[i]
            );
        }
        let ro = ReportOptions {
            level: f(&case["c"]),
            abs_threshold: case["abs"].as_f64(),
            rel_threshold: case["rel"].as_f64(),
            expect_negative_effect: case["neg"].as_bool().unwrap(),
        };
        let report = report_ci(&samples, &ro).unwrap();
        let stats = &doc["stats"];
        let delta = report.delta.unwrap();
        let expt_iv = report.expt.unwrap();
        let pairs = [
            (report.base.mean, &stats["base"]["mean"]),
            (report.base.low, &stats["base"]["low"]),
            (report.base.high, &stats["base"]["high"]),
            (expt_iv.mean, &stats["expt"]["mean"]),
            (expt_iv.low, &stats["expt"]["low"]),
            (expt_iv.high, &stats["expt"]["high"]),
            (delta.mean, &stats["delta"]["mean"]),
            (delta.low, &stats["delta"]["low"]),
            (delta.high, &stats["delta"]["high"]),
            (delta.p, &stats["delta"]["p"]),
        ];
        for (k, (ours, theirs)) in pairs.iter().enumerate() {
            assert!(
                close(*ours, f(theirs), 1e-12),
                "{name} stat {k}: {ours} vs {theirs}"
            );
        }
        if let Some(rel) = report.rel_threshold {
            assert_eq!(rel.probability, f(&stats["rel"]), "{name}");
        }
        if let Some(abs) = report.abs_threshold {
            assert_eq!(abs.probability, f(&stats["abs"]), "{name}");
        }
        let want_lines: Vec<&str> = doc["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        let rendered = report.render();
        let got: Vec<&str> = rendered.lines().collect();
        assert_eq!(got, want_lines, "{name}");
    }
}

#[test]
fn pairwise_sum_quantile_and_choice_match_numpy() {
    let doc = load("numpy_vectors.json");
    for case in doc["pairwise"].as_array().unwrap() {
        let v = floats(&case["values"]);
        assert_eq!(
            pairwise_sum(&v),
            f(&case["sum"]),
            "sum of {} values",
            v.len()
        );
        assert_eq!(mean(&v), f(&case["mean"]), "mean of {} values", v.len());
    }
    for case in doc["quantile"].as_array().unwrap() {
        let v = floats(&case["values"]);
        let c = f(&case["c"]);
        let q = [(1.0 - c) / 2.0, 1.0 - (1.0 - c) / 2.0];
        assert_eq!(
            quantile_sorted(&v, q[0]),
            f(&case["low"]),
            "n {} c {c}",
            v.len()
        );
        assert_eq!(
            quantile_sorted(&v, q[1]),
            f(&case["high"]),
            "n {} c {c}",
            v.len()
        );
    }
    for case in doc["choice"].as_array().unwrap() {
        let seed = case["seed"].as_u64().unwrap() as u32;
        let k = case["k"].as_u64().unwrap();
        let mut rng = Mt19937::new(seed);
        let first: Vec<u64> = (0..k).map(|_| below(&mut rng, k)).collect();
        let second: Vec<u64> = (0..k).map(|_| below(&mut rng, k)).collect();
        let want = |key: &str| -> Vec<u64> {
            case[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap())
                .collect()
        };
        assert_eq!(
            first[..first.len().min(20)],
            want("first")[..],
            "seed {seed} k {k}"
        );
        assert_eq!(
            second[..second.len().min(20)],
            want("second")[..],
            "seed {seed} k {k}"
        );
    }
}
