//! The command line on predictions in the released upstream layout (a small generated GLUE
//! folder): `multiberts bootstrap` with several selector pairs and metrics and `--correct holm`
//! (each analysis as its single call, the adjusted p-values as Holm's closed form for a family
//! of four; a single call's output unchanged), and `multiberts report --paper` writing the
//! paper page of the folder.

mod common;

use std::fmt::Write as _;
use std::path::Path;

use common::{multiberts, ok, text};

const EXAMPLES: usize = 30;

/// A deterministic number in [0, 1) for `key`.
fn unit(key: u64) -> f64 {
    let mut z = key
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(0x632B_E59B_D9B4_E019);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

/// `GLUE/` with tasks RTE and MRPC (2 classes): MultiBERTs 1M and 2M, 4 seeds × 2 fine-tuning
/// seeds, 2M a little better on RTE than on MRPC.
fn write_glue(root: &Path) {
    let mut index = String::from("file\ttask\tpretrain_id\tn_steps\tlr\tft_seed\trelease\n");
    for (t, task) in ["RTE", "MRPC"].into_iter().enumerate() {
        let labels: String = (0..EXAMPLES).map(|i| format!("{}\n", i % 2)).collect();
        std::fs::create_dir_all(root.join(task)).unwrap();
        std::fs::write(root.join(format!("{task}_dev_labels")), labels).unwrap();
        for (s, steps) in ["1M", "2M"].into_iter().enumerate() {
            for seed in 0..4u64 {
                for ft in 0..2u64 {
                    let file = format!(
                        "{task}/release=multiberts,pretrain_id={seed},n_steps={steps},lr=2e-05,ft_seed={ft}.tsv"
                    );
                    let skill = 0.55 + 0.12 * s as f64 / (1.0 + t as f64) + 0.03 * seed as f64;
                    let mut rows = String::new();
                    for i in 0..EXAMPLES {
                        let label = i % 2;
                        let k = ((t * 2 + s) as u64 * 10 + seed) * 10 + ft;
                        let right = unit(k * 1000 + i as u64) < skill;
                        let pred = if right { label } else { 1 - label };
                        let (a, b) = if pred == 0 { (0.8, 0.2) } else { (0.3, 0.7) };
                        let _ = writeln!(rows, "{a}\t{b}");
                    }
                    std::fs::write(root.join(&file), rows).unwrap();
                    let _ = writeln!(
                        index,
                        "{file}\t{task}\t{seed}\t{steps}\t2e-05\t{ft}\tmultiberts"
                    );
                }
            }
        }
    }
    std::fs::write(root.join("index.tsv"), index).unwrap();
}

fn json(out: std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Holm's adjusted p-values of a family of four, written out: with p(1) ≤ … ≤ p(4),
/// q(1) = 4 p(1), q(2) = max(q(1), 3 p(2)), q(3) = max(q(2), 2 p(3)), q(4) = max(q(3), p(4)),
/// each at most 1; returned in the input order.
fn holm4(p: [f64; 4]) -> [f64; 4] {
    let mut order = [0, 1, 2, 3];
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let mut q = [0.0; 4];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max((4 - rank) as f64 * p[i]).min(1.0);
        q[i] = running;
    }
    q
}

#[test]
fn several_analyses_in_one_call_with_holm() {
    let dir = tempfile::tempdir().unwrap();
    write_glue(&dir.path().join("GLUE"));
    let common = ["bootstrap", "--glue", "GLUE", "--paired", "--nboot", "300"];
    let pairs = [
        ("task=RTE,n_steps=1M", "task=RTE,n_steps=2M"),
        ("task=MRPC,n_steps=1M", "task=MRPC,n_steps=2M"),
    ];
    // Each analysis alone, as before: one report at the top level.
    let mut single = Vec::new();
    for (base, expt) in pairs {
        for metric in ["accuracy", "f1"] {
            let mut args = common.to_vec();
            args.extend(["--base", base, "--expt", expt, "--metric", metric, "--json"]);
            let v = json(multiberts(dir.path(), &args));
            assert!(v.get("analyses").is_none(), "{v}");
            single.push(v);
        }
    }
    let mut args = common.to_vec();
    for (base, expt) in pairs {
        args.extend(["--base", base, "--expt", expt]);
    }
    args.extend(["--metric", "accuracy,f1", "--correct", "holm"]);
    let mut with_json = args.clone();
    with_json.push("--json");
    let family = json(multiberts(dir.path(), &with_json));
    assert_eq!(family["correction"], "holm");
    assert_eq!(family["family_size"], 4);
    let analyses = family["analyses"].as_array().unwrap();
    assert_eq!(analyses.len(), 4);
    let mut p = [0.0; 4];
    for (i, (a, s)) in analyses.iter().zip(&single).enumerate() {
        // The same numbers as the analysis run alone.
        assert_eq!(a["report"], s["report"], "analysis {i}");
        assert_eq!(a["metric"], ["accuracy", "f1"][i % 2]);
        p[i] = a["report"]["delta"]["p"].as_f64().unwrap();
    }
    let q = holm4(p);
    for (i, a) in analyses.iter().enumerate() {
        assert_eq!(
            a["p_adjusted"].as_f64(),
            Some(q[i]),
            "analysis {i}: p {p:?}"
        );
    }
    assert!(
        q.iter().zip(p).any(|(q, p)| *q > p),
        "a non-trivial family: {p:?}"
    );

    let printed = ok(multiberts(dir.path(), &args));
    assert!(
        printed.contains("== analysis 4/4: task=MRPC,n_steps=1M vs task=MRPC,n_steps=2M, f1"),
        "{printed}"
    );
    assert!(
        printed.contains("Holm-Bonferroni adjusted p-values across the family of the 4 analyses"),
        "{printed}"
    );

    // Mistakes: selectors that do not pair, draws of several analyses in one file.
    let mut bad = common.to_vec();
    bad.extend(["--base", "n_steps=1M", "--base", "n_steps=1M"]);
    bad.extend([
        "--expt",
        "n_steps=2M",
        "--expt",
        "n_steps=2M",
        "--expt",
        "n_steps=2M",
    ]);
    let out = multiberts(dir.path(), &bad);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("2 --base and 3 --expt selectors"),
        "{}",
        text(&out)
    );
    let mut samples = args.clone();
    samples.extend(["--samples", "draws.csv"]);
    let out = multiberts(dir.path(), &samples);
    assert!(!out.status.success());
    assert!(text(&out).contains("--samples writes the draws of one analysis"));
}

#[test]
fn report_paper_writes_the_page_of_a_released_folder() {
    let dir = tempfile::tempdir().unwrap();
    write_glue(&dir.path().join("released/GLUE"));
    let out = ok(multiberts(
        dir.path(),
        &["report", "--paper", "released", "--results-dir", "r"],
    ));
    assert!(
        out.contains("report page: r/paper/report/index.html"),
        "{out}"
    );
    assert!(out.contains("RTE accuracy: 1M → 2M steps, paired"), "{out}");
    let html = std::fs::read_to_string(dir.path().join("r/paper/report/index.html")).unwrap();
    assert_eq!(html.matches("<figure>").count(), 2, "RTE and MRPC");
    let md = std::fs::read_to_string(dir.path().join("r/paper/report/summary.md")).unwrap();
    assert!(
        md.contains("coref/ not found: Tables 1 and 2 are left out."),
        "{md}"
    );
    // --paper and a manifest are one or the other.
    let out = multiberts(dir.path(), &["report", "m.toml", "--paper", "released"]);
    assert!(!out.status.success());
}
