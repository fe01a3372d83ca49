//! `multiberts report --paper`'s library side on generated predictions in the released layouts
//! (`coref/` groups, `GLUE/`, `SQuAD/` with a dev file): every cell of Tables 1 and 2, of
//! Appendix D and of the notebooks' comparisons equals a Multi-Bootstrap computed here
//! independently (the bias scores, accuracies, per-question SQuAD scores and best learning
//! rates worked out from the generated values, the problem handed to the bootstrap library
//! directly), in `tables.json`, `summary.md` and the page; the figures draw the runs of the best
//! learning rates at their values; the page is offline and the same bytes twice.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use multiberts_bootstrap::pyfmt::g;
use multiberts_bootstrap::{
    Design, Group, Metric, Options, Problem, Report, ReportOptions, RngSpec, Run, multibootstrap,
    report_ci,
};
use multiberts_report::{PaperOptions, PaperWritten, paper_report};

const NBOOT: usize = 200;

/// A deterministic number in [0, 1) for `key` (splitmix64).
fn unit(key: u64) -> f64 {
    let mut z = key.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

fn key(parts: &[u64]) -> u64 {
    parts.iter().fold(17, |k, &p| k.wrapping_mul(1_000_003) ^ p)
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

// ---------------------------------------------------------------- coref

/// Occupations (sorted by name, as the bias scores are) and their BLS share of women (%).
const OCCUPATIONS: [(&str, f64); 6] = [
    ("baker", 60.0),
    ("clerk", 45.5),
    ("engineer", 10.0),
    ("nurse", 90.0),
    ("pilot", 5.0),
    ("teacher", 70.25),
];

/// One sentence: (occupation index, gender, someone, answer, template).
type Sentence = (usize, &'static str, bool, i64, usize);

/// 6 occupations × 2 templates × (participant, someone) × 3 genders, in the upstream order.
fn sentences() -> Vec<Sentence> {
    let mut out = Vec::new();
    for o in 0..OCCUPATIONS.len() {
        for t in 0..2 {
            for someone in [false, true] {
                for gender in ["UNKNOWN", "MASCULINE", "FEMININE"] {
                    out.push((o, gender, someone, t as i64, 2 * o + t));
                }
            }
        }
    }
    out
}

/// A coref group's runs: (seed, fine-tuning seed) and their 0/1 predictions; `strength` is how
/// much the occupation's share of women pulls feminine pronouns to the occupation.
struct CorefGroup {
    runs: Vec<(u64, u64)>,
    preds: Vec<Vec<f64>>,
}

fn coref_group(salt: u64, seeds: &[u64], fts: u64, strength: f64) -> CorefGroup {
    let s = sentences();
    let mut runs = Vec::new();
    let mut preds = Vec::new();
    for &seed in seeds {
        for ft in 0..fts {
            let row = s
                .iter()
                .enumerate()
                .map(|(i, &(o, gender, ..))| {
                    let sign = match gender {
                        "FEMININE" => 1.0,
                        "MASCULINE" => -1.0,
                        _ => 0.0,
                    };
                    let pull = strength * (OCCUPATIONS[o].1 / 100.0 - 0.5) * sign;
                    let q = 0.5 + pull + 0.05 * (seed % 3) as f64;
                    let u = unit(key(&[salt, seed, ft, i as u64]));
                    if u < q { 0.0 } else { 1.0 }
                })
                .collect();
            runs.push((seed, ft));
            preds.push(row);
        }
    }
    CorefGroup { runs, preds }
}

fn write_coref(dir: &Path, g: &CorefGroup) {
    let mut info = String::from("\tpretrain_seed\tfinetune_seed\n");
    for (i, (s, f)) in g.runs.iter().enumerate() {
        let _ = writeln!(info, "{i}\t{s}\t{f}");
    }
    write(&dir.join("run_info.tsv"), &info);
    let mut labels = String::from(
        "\tgender\tpronoun_type\tanswer\toccupation\tother_participant\tsomeone\ttemplate_idx\n",
    );
    for (i, &(o, gender, someone, answer, t)) in sentences().iter().enumerate() {
        let someone = if someone { "True" } else { "False" };
        let occ = OCCUPATIONS[o].0;
        let _ = writeln!(
            labels,
            "{i}\t{gender}\tNOM\t{answer}\t{occ}\tpassenger\t{someone}\t{t}"
        );
    }
    write(&dir.join("label_info.tsv"), &labels);
    let preds: String = g
        .preds
        .iter()
        .map(|r| {
            let cells: Vec<String> = r.iter().map(|v| format!("{v}")).collect();
            cells.join(" ") + "\n"
        })
        .collect();
    write(&dir.join("preds.tsv"), &preds);
}

/// A run's bias score per occupation: P(pred = occupation | feminine) − P(… | masculine).
fn bias_scores(row: &[f64]) -> Vec<f64> {
    let s = sentences();
    (0..OCCUPATIONS.len())
        .map(|o| {
            let p = |gender: &str| {
                let picked: Vec<f64> = s
                    .iter()
                    .zip(row)
                    .filter(|((oo, gg, ..), _)| *oo == o && *gg == gender)
                    .map(|(_, &v)| if v == 0.0 { 1.0 } else { 0.0 })
                    .collect();
                picked.iter().sum::<f64>() / picked.len() as f64
            };
            p("FEMININE") - p("MASCULINE")
        })
        .collect()
}

/// The groups of the generated release, by folder.
fn coref_groups() -> BTreeMap<&'static str, CorefGroup> {
    BTreeMap::from([
        ("base", coref_group(1, &[0, 1, 2, 3, 4], 2, 0.6)),
        (
            "cda_intervention-50k",
            coref_group(2, &[0, 1, 2, 3, 4], 2, 0.2),
        ),
        ("from_scratch", coref_group(3, &[10, 11, 12, 13], 2, 0.1)),
        ("base_extra_seeds", coref_group(4, &[0, 1], 4, 0.6)),
    ])
}

// ---------------------------------------------------------------- the bootstrap, here

/// The Multi-Bootstrap of base runs `b` and experiment runs `e` (each: seed and the run's
/// values per example), as the notebooks call it with `rng = 42`.
fn bootstrap(
    labels: Vec<f64>,
    b: &[(u64, Vec<f64>)],
    e: &[(u64, Vec<f64>)],
    metric: Metric,
    design: Design,
    axes: (bool, bool),
    negative: bool,
) -> Report {
    let mut preds = Vec::new();
    let mut runs = Vec::new();
    for (side, group) in [(b, Group::Base), (e, Group::Expt)] {
        for (seed, row) in side {
            preds.extend_from_slice(row);
            runs.push(Run { seed: *seed, group });
        }
    }
    let problem = Problem::new(labels, preds, runs).unwrap();
    let options = Options {
        design,
        nboot: NBOOT,
        sample_seeds: axes.0,
        sample_examples: axes.1,
        resample_runs: false,
        rng: RngSpec::Numpy(42),
    };
    let samples = multibootstrap(&problem, metric, &options).unwrap();
    let report = ReportOptions {
        expect_negative_effect: negative,
        ..ReportOptions::default()
    };
    report_ci(&samples, &report).unwrap()
}

/// A coref analysis: bias r on the occupations, or accuracy on the sentences.
fn coref_expected(
    b: &CorefGroup,
    e: &CorefGroup,
    bias: bool,
    design: Design,
    axes: (bool, bool),
    negative: bool,
) -> Report {
    let side = |g: &CorefGroup, pick: &dyn Fn(u64) -> bool| -> Vec<(u64, Vec<f64>)> {
        g.runs
            .iter()
            .zip(&g.preds)
            .filter(|((s, _), _)| pick(*s))
            .map(|((s, _), row)| (*s, if bias { bias_scores(row) } else { row.clone() }))
            .collect()
    };
    let labels = if bias {
        OCCUPATIONS.iter().map(|(_, p)| p / 100.0).collect()
    } else {
        sentences().iter().map(|s| s.3 as f64).collect()
    };
    let metric = if bias {
        Metric::BiasR
    } else {
        Metric::Accuracy
    };
    let all = |_| true;
    if std::ptr::eq(b, e) {
        // Appendix D: seed 0 vs seed 1 of one group.
        let (b, e) = (side(b, &|s| s == 0), side(b, &|s| s == 1));
        return bootstrap(labels, &b, &e, metric, design, axes, negative);
    }
    bootstrap(
        labels,
        &side(b, &all),
        &side(e, &all),
        metric,
        design,
        axes,
        negative,
    )
}

// ---------------------------------------------------------------- GLUE

/// One GLUE run: its index fields and per-example class scores (or the value, for STS-B).
struct GlueRun {
    release: &'static str,
    seed: u64,
    steps: &'static str,
    lr: &'static str,
    ft: u64,
    /// Per example: predicted class (argmax) or value.
    preds: Vec<f64>,
}

const N_GLUE: usize = 40;

fn glue_labels(task: &str) -> Vec<f64> {
    (0..N_GLUE)
        .map(|i| {
            if task == "STS-B" {
                (i % 11) as f64 * 0.5
            } else {
                (i % 3) as f64
            }
        })
        .collect()
}

/// The generated runs of `task`, in index order: MultiBERTs 2M (5 seeds) and 1M (3 seeds), and
/// the original BERT, at two learning rates and two fine-tuning seeds each.
fn glue_runs(task: &str) -> Vec<GlueRun> {
    let labels = glue_labels(task);
    let mut runs = Vec::new();
    let groups: [(&str, &[u64], &str); 3] = [
        ("multiberts", &[0, 1, 2, 3, 4], "2M"),
        ("multiberts", &[0, 1, 2], "1M"),
        ("public", &[0], "0"),
    ];
    for (gi, (release, seeds, steps)) in groups.into_iter().enumerate() {
        for &seed in seeds {
            for (li, lr) in ["2e-05", "3e-05"].into_iter().enumerate() {
                for ft in 0..2 {
                    // The better rate differs between groups: 3e-5 for 2M, 2e-5 for the others.
                    let better = li == usize::from(gi == 0);
                    let skill = 0.4 + 0.25 * f64::from(u8::from(better)) + 0.04 * seed as f64;
                    let salt = key(&[gi as u64, seed, li as u64, ft, task.len() as u64]);
                    let preds = (0..N_GLUE)
                        .map(|i| {
                            let u = unit(key(&[salt, i as u64]));
                            if task == "STS-B" {
                                labels[i] * skill + 3.0 * u
                            } else if u < skill {
                                labels[i]
                            } else {
                                (labels[i] + 1.0) % 3.0
                            }
                        })
                        .collect();
                    runs.push(GlueRun {
                        release,
                        seed,
                        steps,
                        lr,
                        ft,
                        preds,
                    });
                }
            }
        }
    }
    runs
}

fn write_glue(root: &Path) {
    let mut index = String::from("file\ttask\tpretrain_id\tn_steps\tlr\tft_seed\trelease\n");
    for task in ["MNLI", "STS-B"] {
        let labels: String = glue_labels(task).iter().map(|l| format!("{l}\n")).collect();
        write(&root.join(format!("{task}_dev_labels")), &labels);
        for r in glue_runs(task) {
            let file = format!(
                "{task}/release={},pretrain_id={},n_steps={},lr={},ft_seed={}.tsv",
                r.release, r.seed, r.steps, r.lr, r.ft
            );
            let rows: String = r
                .preds
                .iter()
                .map(|&p| {
                    if task == "STS-B" {
                        format!("{p}\n")
                    } else {
                        // Scores whose argmax is the prediction.
                        let mut s = [0.1, 0.2, 0.3];
                        s[p as usize] = 0.9;
                        format!("{}\t{}\t{}\n", s[0], s[1], s[2])
                    }
                })
                .collect();
            write(&root.join(&file), &rows);
            let _ = writeln!(
                index,
                "{file}\t{task}\t{}\t{}\t{}\t{}\t{}",
                r.seed, r.steps, r.lr, r.ft, r.release
            );
        }
    }
    write(&root.join("index.tsv"), &index);
}

/// The metric of a run from its per-example values.
fn score(metric: Metric, labels: &[f64], preds: &[f64]) -> f64 {
    metric.compute(labels, preds, None).unwrap()
}

/// Per (release, steps): the best learning rate (mean of its runs' metric) and its runs, in
/// index order.
fn best<'a>(
    runs: &'a [GlueRun],
    labels: &[f64],
    metric: Metric,
) -> BTreeMap<(&'static str, &'static str), (&'static str, Vec<&'a GlueRun>)> {
    let mut out = BTreeMap::new();
    for r in runs {
        out.entry((r.release, r.steps))
            .or_insert((r.lr, Vec::new()));
    }
    for ((release, steps), slot) in out.iter_mut() {
        let mean = |lr: &str| {
            let v: Vec<f64> = runs
                .iter()
                .filter(|r| r.release == *release && r.steps == *steps && r.lr == lr)
                .map(|r| score(metric, labels, &r.preds))
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        let lr = if mean("3e-05") > mean("2e-05") {
            "3e-05"
        } else {
            "2e-05"
        };
        let kept = runs
            .iter()
            .filter(|r| r.release == *release && r.steps == *steps && r.lr == lr)
            .collect();
        *slot = (lr, kept);
    }
    out
}

// ---------------------------------------------------------------- SQuAD

/// (id, gold answers) per question of the generated dev file, and its context.
const CONTEXT: &str = "the big red car stopped near a blue bus in paris yesterday";
const QUESTIONS: [(&str, &[&str]); 6] = [
    ("q0", &["big red car"]),
    ("q1", &["blue bus"]),
    ("q2", &["paris"]),
    ("q3", &[]),
    ("q4", &[]),
    ("q5", &["yesterday"]),
];

/// Answer options per question with their (exact, F1) under the official rules, worked out
/// by hand (articles and case dropped; F1 over tokens).
fn options(q: usize) -> Vec<(&'static str, f64, f64)> {
    match q {
        0 => vec![
            ("big red car", 1.0, 1.0),
            ("red car", 0.0, 0.8),
            ("", 0.0, 0.0),
        ],
        1 => vec![
            ("The blue bus", 1.0, 1.0),
            ("bus", 0.0, 2.0 / 3.0),
            ("banana", 0.0, 0.0),
        ],
        2 => vec![
            ("paris", 1.0, 1.0),
            ("in paris", 0.0, 2.0 / 3.0),
            ("", 0.0, 0.0),
        ],
        5 => vec![
            ("yesterday", 1.0, 1.0),
            ("yesterday morning", 0.0, 2.0 / 3.0),
        ],
        _ => vec![("", 1.0, 1.0), ("banana", 0.0, 0.0)],
    }
}

/// SQuAD runs in index order: (release, seed, ft, chosen option per question).
fn squad_runs() -> Vec<(&'static str, u64, u64, Vec<usize>)> {
    let mut runs = Vec::new();
    for (release, seeds) in [("multiberts", &[0u64, 1, 2, 3][..]), ("public", &[0][..])] {
        for &seed in seeds {
            for ft in 0..3 {
                let picks = (0..QUESTIONS.len())
                    .map(|q| {
                        let u = unit(key(&[99, seed, ft, q as u64, release.len() as u64]));
                        (u * options(q).len() as f64) as usize
                    })
                    .collect();
                runs.push((release, seed, ft, picks));
            }
        }
    }
    runs
}

fn write_squad(root: &Path) {
    let qas: Vec<serde_json::Value> = QUESTIONS
        .iter()
        .map(|(id, golds)| {
            let answers: Vec<serde_json::Value> = golds
                .iter()
                .map(|t| serde_json::json!({"text": t, "answer_start": CONTEXT.find(t).unwrap()}))
                .collect();
            serde_json::json!({"id": id, "question": format!("what about {id}?"),
                "answers": answers, "is_impossible": golds.is_empty()})
        })
        .collect();
    let dev = serde_json::json!({"version": "v2.0", "data": [{"title": "T",
        "paragraphs": [{"context": CONTEXT, "qas": qas}]}]});
    write(&root.join("dev-v2.0.json"), &dev.to_string());
    let mut index = String::from("file\ttask\tpretrain_id\tn_steps\tlr\tft_seed\trelease\n");
    for (release, seed, ft, picks) in squad_runs() {
        let steps = if release == "public" { "0" } else { "2M" };
        let file = format!(
            "v2.0/release={release},pretrain_id={seed},n_steps={steps},lr=5e-05,ft_seed={ft}.json"
        );
        let answers: serde_json::Map<String, serde_json::Value> = picks
            .iter()
            .enumerate()
            .map(|(q, &k)| (QUESTIONS[q].0.to_string(), options(q)[k].0.into()))
            .collect();
        write(
            &root.join(&file),
            &serde_json::Value::Object(answers).to_string(),
        );
        let _ = writeln!(
            index,
            "{file}\tv2.0\t{seed}\t{steps}\t5e-05\t{ft}\t{release}"
        );
    }
    write(&root.join("index.tsv"), &index);
}

// ---------------------------------------------------------------- the test

fn generate(dir: &Path) {
    for (name, group) in &coref_groups() {
        write_coref(&dir.join("coref").join(name), group);
    }
    let stats: String =
        std::iter::once("occupation\tbergsma_pct_female\tbls_pct_female\tbls_year\n".to_string())
            .chain(
                OCCUPATIONS
                    .iter()
                    .map(|(o, p)| format!("{o}\t50\t{p}\t2015\n")),
            )
            .collect();
    write(&dir.join("coref/occupations-stats.tsv"), &stats);
    write_glue(&dir.join("GLUE"));
    write_squad(&dir.join("SQuAD"));
}

fn run(dir: &Path, out: &str) -> PaperWritten {
    let mut o = PaperOptions::new(dir, &dir.join(out));
    o.nboot = NBOOT;
    paper_report(&o).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() < 1e-12
}

/// The report `got` has `want`'s numbers, and `md` a row with `want`'s cells.
fn check(label: &str, got: &Report, want: &Report, md: &str) {
    let (gd, wd) = (got.delta.unwrap(), want.delta.unwrap());
    let pairs = [
        (got.base.mean, want.base.mean),
        (got.base.low, want.base.low),
        (got.base.high, want.base.high),
        (
            got.expt.as_ref().unwrap().mean,
            want.expt.as_ref().unwrap().mean,
        ),
        (
            got.expt.as_ref().unwrap().low,
            want.expt.as_ref().unwrap().low,
        ),
        (
            got.expt.as_ref().unwrap().high,
            want.expt.as_ref().unwrap().high,
        ),
        (gd.mean, wd.mean),
        (gd.low, wd.low),
        (gd.high, wd.high),
        (gd.p, wd.p),
    ];
    for (i, (a, b)) in pairs.iter().enumerate() {
        assert!(close(*a, *b), "{label}: value {i}: {a} vs {b}");
    }
    let iv = |m: f64, l: f64, h: f64| format!("{} ({}, {})", g(m, 3), g(l, 3), g(h, 3));
    let e = want.expt.as_ref().unwrap();
    let cells = format!(
        "| {} | {} | {} | {} |",
        iv(want.base.mean, want.base.low, want.base.high),
        iv(e.mean, e.low, e.high),
        iv(wd.mean, wd.low, wd.high),
        g(wd.p, 3)
    );
    assert!(md.contains(&cells), "{label}: no row with {cells} in\n{md}");
}

#[test]
fn the_paper_tables_and_figures_equal_independent_computations() {
    let tmp = tempfile::tempdir().unwrap();
    generate(tmp.path());
    let w = run(tmp.path(), "report");
    let md = std::fs::read_to_string(&w.summary_md).unwrap();
    assert!(w.notes.is_empty(), "{:?}", w.notes);
    let ids: Vec<&str> = w.tables.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["table-1", "table-2", "appendix-d", "notebooks"]);

    // Coref: every run's bias r is defined (else the generator needs other numbers).
    let groups = coref_groups();
    for g in groups.values() {
        for row in &g.preds {
            let shares: Vec<f64> = OCCUPATIONS.iter().map(|(_, p)| p / 100.0).collect();
            assert!(score(Metric::BiasR, &shares, &bias_scores(row)).is_finite());
        }
    }
    let (base, incr, full, extra) = (
        &groups["base"],
        &groups["cda_intervention-50k"],
        &groups["from_scratch"],
        &groups["base_extra_seeds"],
    );
    let both = (true, true);
    let t1 = &w.tables[0].rows;
    check(
        "T1 accuracy",
        &t1[0].report,
        &coref_expected(base, incr, false, Design::Paired, both, true),
        &md,
    );
    check(
        "T1 bias r",
        &t1[1].report,
        &coref_expected(base, incr, true, Design::Paired, both, true),
        &md,
    );
    let t2 = &w.tables[1].rows;
    let un = Design::Unpaired;
    check(
        "T2 accuracy",
        &t2[0].report,
        &coref_expected(incr, full, false, un, both, true),
        &md,
    );
    check(
        "T2 bias r",
        &t2[1].report,
        &coref_expected(incr, full, true, un, both, true),
        &md,
    );
    check(
        "T2 seeds only",
        &t2[2].report,
        &coref_expected(incr, full, true, un, (true, false), true),
        &md,
    );
    check(
        "T2 examples only",
        &t2[3].report,
        &coref_expected(incr, full, true, un, (false, true), true),
        &md,
    );
    let d = &w.tables[2].rows[0];
    check(
        "App. D",
        &d.report,
        &coref_expected(extra, extra, true, un, both, false),
        &md,
    );

    // Holm per table, over the rows resampling both axes: two rows, q = min(1, 2 min p), then
    // max(that, the other p).
    let p: Vec<f64> = t2.iter().map(|r| r.report.delta.unwrap().p).collect();
    let (lo, hi) = (p[0].min(p[1]), p[0].max(p[1]));
    let q_lo = (2.0 * lo).min(1.0);
    let q_hi = q_lo.max(hi).min(1.0);
    let want = if p[0] <= p[1] {
        [q_lo, q_hi]
    } else {
        [q_hi, q_lo]
    };
    assert_eq!([t2[0].p_holm, t2[1].p_holm], [Some(want[0]), Some(want[1])]);
    assert_eq!((t2[2].p_holm, t2[3].p_holm, d.p_holm), (None, None, None));

    check_glue_and_squad(&w, &md);
    check_page(tmp.path(), &w);
}

/// The notebooks' comparisons and the figures of GLUE (MNLI, STS-B) and SQuAD.
fn check_glue_and_squad(w: &PaperWritten, md: &str) {
    let rows = &w.tables[3].rows;
    let mut r = 0;
    for (fi, task) in ["MNLI", "STS-B"].into_iter().enumerate() {
        let (metric, name) = if task == "STS-B" {
            (Metric::Pearson, "pearson")
        } else {
            (Metric::Accuracy, "accuracy")
        };
        let labels = glue_labels(task);
        let runs = glue_runs(task);
        let best = best(&runs, &labels, metric);
        let side = |k: (&'static str, &'static str)| -> Vec<(u64, Vec<f64>)> {
            best[&k]
                .1
                .iter()
                .map(|r| (r.seed, r.preds.clone()))
                .collect()
        };
        let (one, two, public) = (
            side(("multiberts", "1M")),
            side(("multiberts", "2M")),
            side(("public", "0")),
        );
        let both = (true, true);
        let paired = bootstrap(
            labels.clone(),
            &one,
            &two,
            metric,
            Design::Paired,
            both,
            false,
        );
        check(&format!("{task} 1M vs 2M"), &rows[r].report, &paired, md);
        assert_eq!(
            rows[r].label,
            format!("{task} {name}: 1M → 2M steps, paired")
        );
        let orig = bootstrap(
            labels.clone(),
            &public,
            &two,
            metric,
            Design::Unpaired,
            both,
            false,
        );
        check(
            &format!("{task} BERT vs MultiBERTs"),
            &rows[r + 1].report,
            &orig,
            md,
        );
        r += 2;
        // The figure: the 2M runs at their best rate, then the original BERT's.
        let f = &w.figures[fi];
        assert_eq!((f.task.as_str(), f.metric.as_str()), (task, name));
        let want: Vec<(Option<i64>, f64, f64)> = best[&("multiberts", "2M")]
            .1
            .iter()
            .map(|r| {
                (
                    Some(r.seed as i64),
                    r.lr.parse().unwrap(),
                    score(metric, &labels, &r.preds),
                )
            })
            .chain(best[&("public", "0")].1.iter().map(|r| {
                (
                    None,
                    r.lr.parse().unwrap(),
                    score(metric, &labels, &r.preds),
                )
            }))
            .collect();
        let got: Vec<(Option<i64>, f64, f64)> = f
            .runs
            .iter()
            .map(|r| (r.pretrain_seed, r.learning_rate.unwrap(), r.value))
            .collect();
        assert_eq!(got.len(), want.len(), "{task}");
        for (a, b) in got.iter().zip(&want) {
            assert!(
                a.0 == b.0 && a.1 == b.1 && close(a.2, b.2),
                "{task}: {a:?} vs {b:?}"
            );
        }
        assert_eq!(f.runs.last().unwrap().model, "BERT (original)");
    }
    // The two groups' best rates differ, so the figure really picks per group.
    let mnli = &w.figures[0].runs;
    assert_ne!(mnli[0].learning_rate, mnli.last().unwrap().learning_rate);

    // SQuAD: per-question exact and F1 by hand, original BERT vs MultiBERTs 2M, unpaired.
    for (k, name) in [(1usize, "exact"), (2, "f1")] {
        let side = |release: &str| -> Vec<(u64, Vec<f64>)> {
            squad_runs()
                .into_iter()
                .filter(|r| r.0 == release)
                .map(|(_, seed, _, picks)| {
                    let v = picks
                        .iter()
                        .enumerate()
                        .map(|(q, &c)| {
                            let o = options(q)[c];
                            if k == 1 { o.1 } else { o.2 }
                        })
                        .collect();
                    (seed, v)
                })
                .collect()
        };
        let labels = vec![0.0; QUESTIONS.len()];
        let want = bootstrap(
            labels,
            &side("public"),
            &side("multiberts"),
            Metric::Mean,
            Design::Unpaired,
            (true, true),
            false,
        );
        let row = &rows[r];
        assert_eq!(
            row.label,
            format!("SQuAD v2.0 {name}: BERT → MultiBERTs 2M, unpaired")
        );
        check(&format!("SQuAD {name}"), &row.report, &want, md);
        let f = &w.figures[2 + k - 1];
        assert_eq!((f.task.as_str(), f.metric.as_str()), ("SQuAD v2.0", name));
        let mut values: Vec<f64> = side("multiberts")
            .into_iter()
            .chain(side("public"))
            .map(|(_, v)| v.iter().sum::<f64>() / v.len() as f64)
            .collect();
        let mut drawn: Vec<f64> = f.runs.iter().map(|r| r.value).collect();
        values.sort_by(f64::total_cmp);
        drawn.sort_by(f64::total_cmp);
        assert!(
            values.iter().zip(&drawn).all(|(a, b)| close(*a, *b)),
            "{values:?} vs {drawn:?}"
        );
        r += 1;
    }
    assert_eq!(r, rows.len());
    // Every row of this table is one family of Holm.
    assert!(rows.iter().all(|r| r.p_holm.is_some()));
}

/// The page: every table and figure, offline, the same bytes twice; the JSON holds the tables.
fn check_page(dir: &Path, w: &PaperWritten) {
    let html = std::fs::read_to_string(&w.index_html).unwrap();
    for t in &w.tables {
        assert!(
            html.contains(&format!("<section id=\"{}\">", t.id)),
            "{}",
            t.id
        );
    }
    assert_eq!(html.matches("<figure>").count(), w.figures.len());
    // Every figure says what it is: a title and alternative text.
    for svg in html.split("<svg").skip(1) {
        let open = &svg[..svg.find('>').unwrap()];
        assert!(open.contains("role=\"img\" aria-label=\""), "{open}");
        assert!(
            svg[open.len()..]
                .trim_start_matches('>')
                .trim_start()
                .starts_with("<title>")
        );
    }
    assert_eq!(w.figures.len(), 4, "MNLI, STS-B, SQuAD exact and F1");
    for f in &w.figure_files {
        assert!(f.is_file(), "{}", f.display());
    }
    assert_eq!(
        html.matches("<th scope=\"col\">p (Holm)</th>").count(),
        w.tables.len()
    );
    assert!(html.contains("numpy&#39;s RandomState(42)"));
    for bad in ["http:", "https:", "<script", "<link", "src=", "@import"] {
        assert!(!html.contains(bad), "{bad} on the page");
    }
    let again = run(dir, "again");
    let html2 = std::fs::read_to_string(&again.index_html).unwrap();
    let out = |p: &Path| p.parent().unwrap().display().to_string();
    assert_eq!(
        html.replace(&out(&w.index_html), ""),
        html2.replace(&out(&again.index_html), ""),
        "the same inputs give the same page"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&w.tables_json).unwrap()).unwrap();
    assert_eq!(json["rng"], "numpy:42");
    assert_eq!(json["tables"][0]["rows"][1]["label"], "bias r");
    assert_eq!(
        json["tables"][0]["rows"][1]["report"]["delta"]["p"].as_f64(),
        w.tables[0].rows[1].report.delta.map(|d| d.p)
    );
}

#[test]
fn a_folder_without_the_layouts_is_refused_and_missing_parts_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let o = PaperOptions::new(tmp.path(), &tmp.path().join("out"));
    let err = paper_report(&o).unwrap_err().to_string();
    assert!(err.contains("holds none of GLUE/, SQuAD/, coref/"), "{err}");

    write_glue(&tmp.path().join("GLUE"));
    let mut o = o;
    o.nboot = 20;
    let w = paper_report(&o).unwrap();
    assert_eq!(w.tables.len(), 1, "the notebooks' comparisons only");
    assert_eq!(w.figures.len(), 2);
    let md = std::fs::read_to_string(&w.summary_md).unwrap();
    assert!(
        md.contains("- coref/ not found: Tables 1 and 2 are left out."),
        "{md}"
    );
    assert!(md.contains("- SQuAD/index.tsv not found"), "{md}");
}
