//! Closed-form checks of the Multi-Bootstrap, thread-count invariance and edge cases.

use multiberts_bootstrap::{
    BootstrapError, Design, Group, Metric, Options, Problem, ReportOptions, RngSpec, Run,
    multibootstrap, report_ci,
};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u32() as f64 + 0.5) / 4_294_967_296.0
}

/// `seeds` × `rps` runs per side; classification labels in {0, 1} with per-run accuracy
/// around `acc`, or regression values when `regression`.
fn make(
    n: usize,
    base_seeds: &[u64],
    expt_seeds: &[u64],
    rps: usize,
    regression: bool,
    seed: u64,
) -> Problem {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let labels: Vec<f64> = (0..n)
        .map(|_| {
            if regression {
                uniform(&mut rng) * 5.0
            } else {
                f64::from(u8::from(uniform(&mut rng) < 0.5))
            }
        })
        .collect();
    let mut runs = Vec::new();
    let mut preds = Vec::new();
    for (group, seeds) in [(Group::Base, base_seeds), (Group::Expt, expt_seeds)] {
        for &s in seeds {
            for _ in 0..rps {
                runs.push(Run { seed: s, group });
                let acc = 0.6 + 0.03 * (s % 5) as f64;
                for &y in &labels {
                    let p = if regression {
                        y + (uniform(&mut rng) - 0.5) * (1.0 + s as f64 * 0.2)
                    } else if uniform(&mut rng) < acc {
                        y
                    } else {
                        1.0 - y
                    };
                    preds.push(p);
                }
            }
        }
    }
    Problem::new(labels, preds, runs).unwrap()
}

fn plug_in(problem: &Problem, metric: Metric, group: Group) -> f64 {
    let mut by_seed = std::collections::BTreeMap::<u64, Vec<f64>>::new();
    for (r, run) in problem.runs().iter().enumerate() {
        if run.group == group {
            let v = metric
                .compute(problem.labels(), problem.row(r), None)
                .unwrap();
            by_seed.entry(run.seed).or_default().push(v);
        }
    }
    let means: Vec<f64> = by_seed
        .values()
        .map(|v| v.iter().sum::<f64>() / v.len() as f64)
        .collect();
    means.iter().sum::<f64>() / means.len() as f64
}

#[test]
fn no_resampling_gives_the_plug_in_estimate() {
    let class = make(300, &[0, 1, 2], &[0, 1, 2, 3], 3, false, 1);
    let reg = make(200, &[0, 1, 2], &[0, 1, 2, 3], 2, true, 2);
    for (problem, metric) in [
        (&class, Metric::Accuracy),
        (&class, Metric::Mcc),
        (&class, Metric::MacroF1),
        (&reg, Metric::Pearson),
        (&reg, Metric::Spearman),
        (&reg, Metric::Mean),
    ] {
        for rng in [RngSpec::Chacha8(3), RngSpec::Numpy(3)] {
            let opts = Options {
                design: Design::Unpaired,
                nboot: 4,
                sample_seeds: false,
                sample_examples: false,
                resample_runs: false,
                rng,
            };
            let s = multibootstrap(problem, metric, &opts).unwrap();
            let (b, e) = (
                plug_in(problem, metric, Group::Base),
                plug_in(problem, metric, Group::Expt),
            );
            for i in 0..4 {
                assert!((s.base[i] - b).abs() < 1e-12, "{metric} {rng}");
                assert!(
                    (s.expt.as_ref().unwrap()[i] - e).abs() < 1e-12,
                    "{metric} {rng}"
                );
            }
        }
    }
}

fn variance(v: &[f64]) -> f64 {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64
}

#[test]
fn examples_only_accuracy_variance_is_binomial() {
    // One run: the bootstrap mean of accuracy has variance p̂(1 − p̂)/N. The sample variance
    // of B draws has relative standard error √(2/(B − 1)) ≈ 3.2% at B = 2000: allow 4 of them.
    let n = 2000;
    let problem = make(n, &[0], &[], 1, false, 5);
    let p = Metric::Accuracy
        .compute(problem.labels(), problem.row(0), None)
        .unwrap();
    let nboot = 2000;
    for rng in [RngSpec::Chacha8(11), RngSpec::Numpy(11)] {
        let opts = Options {
            design: Design::Single,
            nboot,
            sample_seeds: true,
            sample_examples: true,
            resample_runs: false,
            rng,
        };
        let s = multibootstrap(&problem, Metric::Accuracy, &opts).unwrap();
        let want = p * (1.0 - p) / n as f64;
        let tol = 4.0 * (2.0 / (nboot as f64 - 1.0)).sqrt();
        let got = variance(&s.base);
        assert!((got / want - 1.0).abs() < tol, "{rng}: {got} vs {want}");
        assert!(s.expt.is_none());
    }
}

#[test]
fn seeds_only_variance_is_population_variance_over_s() {
    // Resampling S seed means with replacement: Var = σ²/S with σ² the population variance.
    let problem = make(200, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], &[], 2, false, 8);
    let mut seed_means = Vec::new();
    for s in 0..10u64 {
        let rows: Vec<usize> = (0..problem.runs().len())
            .filter(|&r| problem.runs()[r].seed == s)
            .collect();
        let m = rows
            .iter()
            .map(|&r| {
                Metric::Accuracy
                    .compute(problem.labels(), problem.row(r), None)
                    .unwrap()
            })
            .sum::<f64>()
            / rows.len() as f64;
        seed_means.push(m);
    }
    let mu = seed_means.iter().sum::<f64>() / 10.0;
    let pop = seed_means.iter().map(|x| (x - mu) * (x - mu)).sum::<f64>() / 10.0;
    let nboot = 4000;
    let opts = Options {
        design: Design::Single,
        nboot,
        sample_seeds: true,
        sample_examples: false,
        resample_runs: false,
        rng: RngSpec::Chacha8(2),
    };
    let s = multibootstrap(&problem, Metric::Accuracy, &opts).unwrap();
    let want = pop / 10.0;
    let got = variance(&s.base);
    // √(2/(B − 1)) ≈ 2.2%; the mean of 10 draws is close enough to normal: allow 5 of them.
    let tol = 5.0 * (2.0 / (nboot as f64 - 1.0)).sqrt();
    assert!((got / want - 1.0).abs() < tol, "{got} vs {want}");
}

fn duplicate_as_expt(p: &Problem) -> Problem {
    let mut runs = p.runs().to_vec();
    let mut preds: Vec<f64> = (0..runs.len()).flat_map(|r| p.row(r).to_vec()).collect();
    for r in 0..p.runs().len() {
        runs.push(Run {
            seed: p.runs()[r].seed,
            group: Group::Expt,
        });
        preds.extend_from_slice(p.row(r));
    }
    Problem::new(p.labels().to_vec(), preds, runs).unwrap()
}

#[test]
fn identical_paired_sides_give_zero_delta_and_p_one() {
    let class = duplicate_as_expt(&make(150, &[0, 1, 2, 3], &[], 2, false, 3));
    let reg = duplicate_as_expt(&make(80, &[0, 1, 2], &[], 2, true, 4));
    for (problem, metric) in [
        (&class, Metric::Accuracy),
        (&class, Metric::F1),
        (&reg, Metric::Pearson),
    ] {
        for rng in [RngSpec::Chacha8(1), RngSpec::Numpy(1)] {
            let opts = Options {
                design: Design::Paired,
                nboot: 200,
                rng,
                ..Options::default()
            };
            let s = multibootstrap(problem, metric, &opts).unwrap();
            let r = report_ci(&s, &ReportOptions::default()).unwrap();
            let d = r.delta.unwrap();
            assert_eq!(
                (d.mean, d.low, d.high, d.p),
                (0.0, 0.0, 0.0, 1.0),
                "{metric}"
            );
        }
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let problem = make(400, &[0, 1, 2, 3, 4], &[0, 1, 2, 3, 5], 3, false, 9);
    let reg = make(100, &[0, 1, 2], &[1, 2, 3], 2, true, 10);
    for (p, metric) in [
        (&problem, Metric::Accuracy),
        (&problem, Metric::Mcc),
        (&reg, Metric::Spearman),
    ] {
        for rng in [RngSpec::Chacha8(5), RngSpec::Numpy(5)] {
            for design in [Design::Paired, Design::Unpaired] {
                let opts = Options {
                    design,
                    nboot: 300,
                    resample_runs: metric == Metric::Mcc,
                    rng,
                    ..Options::default()
                };
                let run = |threads| {
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .unwrap()
                        .install(|| multibootstrap(p, metric, &opts).unwrap())
                };
                let (one, two) = (run(1), run(2));
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&one.base), bits(&two.base), "{metric} {rng} {design}");
                assert_eq!(
                    bits(one.expt.as_ref().unwrap()),
                    bits(two.expt.as_ref().unwrap())
                );
            }
        }
    }
}

#[test]
fn run_averaged_fast_path_equals_per_run_scoring() {
    // With one run per seed, resampling runs consumes no random numbers, so the per-run
    // (pattern) path sees the same draws as the run-averaged dot-product path.
    let problem = make(500, &[0, 1, 2, 3], &[0, 1, 2, 3], 1, false, 12);
    let base = Options {
        nboot: 200,
        rng: RngSpec::Chacha8(8),
        ..Options::default()
    };
    let fast = multibootstrap(&problem, Metric::Accuracy, &base).unwrap();
    let exact = multibootstrap(
        &problem,
        Metric::Accuracy,
        &Options {
            resample_runs: true,
            ..base
        },
    )
    .unwrap();
    for i in 0..200 {
        assert!((fast.base[i] - exact.base[i]).abs() < 1e-14);
    }
    assert_eq!(fast.signature.axes, "seeds+examples");
    assert_eq!(exact.signature.axes, "seeds+examples+runs");
}

#[test]
fn resampling_runs_widens_the_interval_when_runs_differ() {
    let problem = make(300, &[0, 1, 2], &[], 5, false, 13);
    let opts = Options {
        design: Design::Single,
        nboot: 400,
        sample_seeds: false,
        sample_examples: false,
        rng: RngSpec::Chacha8(1),
        ..Options::default()
    };
    let fixed = multibootstrap(&problem, Metric::Accuracy, &opts).unwrap();
    assert!(variance(&fixed.base) < 1e-20);
    let runs = multibootstrap(
        &problem,
        Metric::Accuracy,
        &Options {
            resample_runs: true,
            ..opts
        },
    )
    .unwrap();
    assert!(variance(&runs.base) > 1e-6);
}

#[test]
fn paired_drops_one_sided_seeds_and_needs_a_common_one() {
    let problem = make(50, &[0, 1, 2], &[1, 2, 3], 1, false, 14);
    let s = multibootstrap(&problem, Metric::Accuracy, &Options::default()).unwrap();
    assert_eq!(s.base_seeds, vec![1, 2]);
    assert_eq!(s.expt_seeds, vec![1, 2]);
    let dropped: Vec<(u64, Group)> = s.dropped_seeds.iter().map(|d| (d.seed, d.group)).collect();
    assert_eq!(dropped, vec![(0, Group::Base), (3, Group::Expt)]);
    let disjoint = make(50, &[0], &[1], 1, false, 15);
    assert!(matches!(
        multibootstrap(&disjoint, Metric::Accuracy, &Options::default()),
        Err(BootstrapError::NoCommonSeeds)
    ));
    let s = multibootstrap(
        &disjoint,
        Metric::Accuracy,
        &Options {
            design: Design::Unpaired,
            ..Options::default()
        },
    )
    .unwrap();
    assert_eq!((s.base_seeds, s.expt_seeds), (vec![0], vec![1]));
}

#[test]
fn undefined_draws_are_excluded_and_counted() {
    // A run that always predicts class 0 has undefined MCC on every draw.
    let mut problem = make(60, &[0, 1], &[0, 1], 1, false, 16);
    let runs = problem.runs().to_vec();
    let mut preds: Vec<f64> = (0..runs.len())
        .flat_map(|r| problem.row(r).to_vec())
        .collect();
    preds[..60].iter_mut().for_each(|p| *p = 0.0);
    problem = Problem::new(problem.labels().to_vec(), preds, runs).unwrap();
    let s = multibootstrap(
        &problem,
        Metric::Mcc,
        &Options {
            nboot: 100,
            ..Options::default()
        },
    )
    .unwrap();
    let nan = s.base.iter().filter(|x| x.is_nan()).count();
    assert!(nan > 0 && nan < 100, "{nan}");
    let r = report_ci(&s, &ReportOptions::default()).unwrap();
    assert_eq!(r.undefined.base, nan);
    assert_eq!(r.undefined.delta, nan);
    assert!(r.base.mean.is_finite() && r.delta.unwrap().p.is_finite());
    assert!(r.render().contains("undefined (NaN) and excluded"));
}

#[test]
fn malformed_inputs_are_errors() {
    let runs = vec![Run {
        seed: 0,
        group: Group::Base,
    }];
    assert!(matches!(
        Problem::new(vec![0.0, 1.0], vec![0.0], runs.clone()),
        Err(BootstrapError::Shape(_))
    ));
    let p = Problem::new(vec![0.0, 1.0], vec![0.0, 2.5], runs).unwrap();
    let e = multibootstrap(
        &p,
        Metric::Accuracy,
        &Options {
            design: Design::Single,
            ..Options::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("example 1"), "{e}");
    assert!(matches!(
        multibootstrap(&p, Metric::Accuracy, &Options::default()),
        Err(BootstrapError::NoCommonSeeds)
    ));
}

#[test]
fn samples_serialize_and_export() {
    let problem = make(30, &[0, 1], &[0, 1], 1, false, 17);
    let s = multibootstrap(
        &problem,
        Metric::Accuracy,
        &Options {
            nboot: 5,
            rng: RngSpec::Numpy(42),
            ..Options::default()
        },
    )
    .unwrap();
    let json = serde_json::to_string(&s).unwrap();
    let back: multiberts_bootstrap::Samples = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
    let csv = s.to_csv();
    assert_eq!(csv.lines().count(), 6);
    assert!(csv.starts_with("draw,base,expt\n0,"));
    let r = report_ci(&s, &ReportOptions::default()).unwrap();
    assert_eq!(
        r.signature.to_string(),
        format!(
            "nboot:5|level:0.95|rng:numpy|seed:42|axes:seeds+examples|design:paired|metric:accuracy|version:{}",
            multiberts_bootstrap::VERSION
        )
    );
}

/// Counts the warnings of this crate logged while it is the thread's subscriber.
struct CountWarnings(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl tracing::Subscriber for CountWarnings {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let meta = event.metadata();
        if *meta.level() == tracing::Level::WARN
            && meta.target().starts_with("multiberts_bootstrap")
        {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Issue 15 item 7: seeds on one side only are one warning per analysis, however many there
/// are and on whichever sides (it was one per seed: twice for a seed on each side).
#[test]
fn one_sided_seeds_are_warned_about_once_per_run() {
    let problem = make(50, &[0, 1, 2], &[1, 2, 3], 1, false, 14);
    let warnings = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let subscriber = CountWarnings(warnings.clone());
    let s = tracing::subscriber::with_default(subscriber, || {
        multibootstrap(&problem, Metric::Accuracy, &Options::default()).unwrap()
    });
    assert_eq!(s.dropped_seeds.len(), 2);
    assert_eq!(warnings.load(std::sync::atomic::Ordering::SeqCst), 1);
}
