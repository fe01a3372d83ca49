//! Times our Multi-Bootstrap on the benchmark cases written by `bench/bootstrap/bench_ref.py`.
//!
//! Usage: `cargo run --release -p multiberts-bootstrap --example bench -- DIR CASE [REPS]`.
//! Prints one JSON line per RNG mode with the median wall time of `multibootstrap +
//! report_ci` (input loading excluded, as for the reference) and the printed report.

use std::time::Instant;

use multiberts_bootstrap::{
    Design, Group, Metric, Options, Problem, ReportOptions, RngSpec, Run, multibootstrap, report_ci,
};

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (dir, case) = (&args[1], &args[2]);
    let reps: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(5);
    let base = format!("{dir}/{case}");
    let meta: serde_json::Value =
        serde_json::from_slice(&read(&format!("{base}.json"))).expect("meta json");
    let n = meta["n"].as_u64().expect("n") as usize;
    let nboot = meta["nboot"].as_u64().expect("nboot") as usize;
    let seed = meta["rng"].as_u64().expect("rng");
    let paired = meta["paired"].as_bool().expect("paired");
    let labels: Vec<f64> = read(&format!("{base}.labels.bin"))
        .iter()
        .map(|&b| f64::from(b))
        .collect();
    let preds: Vec<f64> = read(&format!("{base}.preds.bin"))
        .iter()
        .map(|&b| f64::from(b))
        .collect();
    let seeds = read(&format!("{base}.seeds.bin"));
    let expt = read(&format!("{base}.expt.bin"));
    let runs: Vec<Run> = expt
        .iter()
        .enumerate()
        .map(|(i, &e)| Run {
            seed: u64::from_le_bytes(seeds[i * 8..i * 8 + 8].try_into().expect("8 bytes")),
            group: if e == 1 { Group::Expt } else { Group::Base },
        })
        .collect();
    let n_runs = runs.len();
    let problem = Problem::new(labels, preds, runs).expect("problem");
    let threads = rayon::current_num_threads();
    // BENCH_RNG=chacha8 or numpy times one mode only (for profiling).
    let only = std::env::var("BENCH_RNG").unwrap_or_default();
    for rng in [RngSpec::Chacha8(seed), RngSpec::Numpy(seed as u32)] {
        if !only.is_empty() && only != rng.kind() {
            continue;
        }
        let opts = Options {
            design: if paired {
                Design::Paired
            } else {
                Design::Unpaired
            },
            nboot,
            rng,
            ..Options::default()
        };
        let mut times = Vec::new();
        let mut lines = String::new();
        for _ in 0..reps {
            let t0 = Instant::now();
            let s = multibootstrap(&problem, Metric::Accuracy, &opts).expect("bootstrap");
            let r = report_ci(&s, &ReportOptions::default()).expect("report");
            times.push(t0.elapsed().as_secs_f64());
            lines = r.render();
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        let ns = median * 1e9 / (n_runs * n * nboot) as f64;
        let out = serde_json::json!({
            "case": case, "impl": format!("ours-{}", rng.kind()), "median_s": median,
            "times_s": times, "threads": threads, "ns_per_run_example_draw": ns,
            "lines": lines.lines().collect::<Vec<_>>(),
        });
        println!("{out}");
    }
}
