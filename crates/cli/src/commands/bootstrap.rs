//! `multiberts bootstrap`: Multi-Bootstrap analyses over stored predictions.
//!
//! The arguments map one for one onto `multiberts_report::StoredAnalysis`, which reads the
//! predictions (our Parquet, the upstream GLUE, SQuAD or coref layouts), picks each side's runs
//! and runs the Multi-Bootstrap.

use std::path::PathBuf;

use anyhow::Context;
use multiberts_bootstrap::{Metric, RngSpec};
use multiberts_collector::upstream::SpanScore;
use multiberts_report::{Outcome, StoredAnalysis, run_stored};

/// Run a Multi-Bootstrap analysis on stored predictions.
///
/// Resamples pre-training seeds and evaluation examples jointly (Sellam et al. 2022) and prints
/// E[L], E[L'], E[L'-L] with percentile intervals and a one-sided p-value, like the reference
/// `report_ci`, followed by a one-line signature of the procedure.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  # MNLI, 1M vs 2M steps, paired seeds, from our predictions
  multiberts bootstrap --predictions results/glue/predictions/mnli.parquet \\
      --base step=1000k --expt step=2000k --paired --metric accuracy

  # the coref case study (CDA-incr vs CDA-full), reproducing the notebook's numbers
  multiberts bootstrap --coref coref/cda_intervention-50k --coref-expt coref/from_scratch \\
      --unpaired --metric bias_r --occupation-stats winogender/occupations-stats.tsv \\
      --expect-negative-effect --rng numpy:42

  # upstream GLUE layout, one procedure only, JSON output
  multiberts bootstrap --glue GLUE --task MNLI --base release=multiberts,n_steps=2M --json

  # SQuAD 2.0, original BERT vs MultiBERTs (the paper's unpaired comparison), exact match
  multiberts bootstrap --squad SQuAD --data dev-v2.0.json --metric exact --unpaired \\
      --base release=public --expt release=multiberts")]
pub struct BootstrapArgs {
    /// Our predictions Parquet (one row per run × example).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["glue", "squad", "coref"])]
    predictions: Option<PathBuf>,

    /// Upstream GLUE layout root (index.tsv, run TSVs, <TASK>_dev_labels); needs --task.
    #[arg(long, value_name = "DIR", requires = "task", conflicts_with_all = ["squad", "coref"])]
    glue: Option<PathBuf>,

    /// Upstream SQuAD layout root (index.tsv, one JSON of answers per run); needs --data.
    /// --task picks the index's task (default v2.0); --metric is exact or f1.
    #[arg(long, value_name = "DIR", requires = "data", conflicts_with = "coref")]
    squad: Option<PathBuf>,

    /// The SQuAD dev file (e.g. dev-v2.0.json) whose gold answers score --squad runs; the
    /// analysis resamples its questions.
    #[arg(long, value_name = "FILE", requires = "squad")]
    data: Option<PathBuf>,

    /// Upstream coref folder (run_info.tsv, label_info.tsv, preds.tsv): the base group, or both
    /// groups when --base/--expt selectors split it.
    #[arg(long, value_name = "DIR")]
    coref: Option<PathBuf>,

    /// A second upstream coref folder holding the experiment group.
    #[arg(long, value_name = "DIR", requires = "coref")]
    coref_expt: Option<PathBuf>,

    /// Task to analyse (GLUE: as in index.tsv, e.g. MNLI; Parquet: the task column).
    #[arg(long)]
    task: Option<String>,

    /// Runs of the baseline L, as key=value pairs (e.g. `step=1000k,lr=2e-05`). Default: all
    /// runs not selected by --expt (for a single analysis: all runs).
    #[arg(long, value_name = "SELECTOR")]
    base: Option<String>,

    /// Runs of the experiment L'. Without it (and without --coref-expt) the analysis is a
    /// single-procedure estimate.
    #[arg(long, value_name = "SELECTOR")]
    expt: Option<String>,

    /// Metric: accuracy, f1, macro_f1, mcc, pearson, spearman, mean, bias_r, bias_slope; for
    /// SQuAD answers (--squad, or a span task's predictions) exact or f1, the official
    /// per-question scores averaged over questions. Default: accuracy (exact for --squad).
    #[arg(long)]
    metric: Option<String>,

    /// Paired seeds: one seed draw for both sides; seeds on one side only are dropped.
    #[arg(long, conflicts_with = "unpaired")]
    paired: bool,

    /// Unpaired seeds: independent seed draws per side (the reference's default).
    #[arg(long)]
    unpaired: bool,

    /// Run key holding the pre-training seed.
    #[arg(long, default_value = "pretrain_seed", value_name = "KEY")]
    seed_key: String,

    /// Number of bootstrap draws.
    #[arg(long, default_value_t = 1000)]
    nboot: usize,

    /// Confidence level of the intervals.
    #[arg(long, default_value_t = 0.95)]
    level: f64,

    /// Random numbers: `chacha8:SEED` (default; identical for any thread count) or
    /// `numpy:SEED` (numpy's RandomState, the reference's draw order).
    #[arg(long, default_value = "chacha8:0")]
    rng: RngSpec,

    /// Do not resample pre-training seeds.
    #[arg(long)]
    no_sample_seeds: bool,

    /// Do not resample examples.
    #[arg(long)]
    no_sample_examples: bool,

    /// Also resample fine-tuning runs within each drawn seed (beyond the reference).
    #[arg(long)]
    resample_runs: bool,

    /// Test for a negative effect (p = fraction of draws with L' - L >= 0).
    #[arg(long)]
    expect_negative_effect: bool,

    /// Also report P(L' - L >= A) (<= -A with --expect-negative-effect).
    #[arg(long, value_name = "A")]
    abs_threshold: Option<f64>,

    /// Also report P((L' - L)/L >= R) (<= -R with --expect-negative-effect).
    #[arg(long, value_name = "R")]
    rel_threshold: Option<f64>,

    /// Winogender occupations-stats.tsv (occupation, bls_pct_female): needed by bias_r and
    /// bias_slope, whose examples are the occupations (default: the one in the --coref
    /// folder, as `multiberts collect` exports it).
    #[arg(long, value_name = "FILE")]
    occupation_stats: Option<PathBuf>,

    /// Print the result as JSON instead of text.
    #[arg(long)]
    json: bool,

    /// Write the bootstrap samples to FILE (CSV `draw,base,expt`; JSON if FILE ends in .json).
    #[arg(long, value_name = "FILE")]
    samples: Option<PathBuf>,
}

/// Runs `multiberts bootstrap`.
pub fn run(args: BootstrapArgs) -> anyhow::Result<()> {
    let out = execute(&args)?;
    if let Some(path) = &args.samples {
        let bytes = if path.extension().is_some_and(|e| e == "json") {
            serde_json::to_vec_pretty(&out.samples)?
        } else {
            out.samples.to_csv().into_bytes()
        };
        multiberts_collector::atomic::write_bytes(path, &bytes)
            .with_context(|| format!("cannot write samples to {}", path.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out.json())?);
    } else {
        print!("{}", out.text());
    }
    Ok(())
}

/// The bootstrap metric and, for SQuAD answers, the per-question score it averages.
fn metric(args: &BootstrapArgs) -> anyhow::Result<(Metric, Option<SpanScore>)> {
    let default = if args.squad.is_some() {
        "exact"
    } else {
        "accuracy"
    };
    let name = args.metric.as_deref().unwrap_or(default);
    if args.squad.is_some() || name == "exact" {
        let score: SpanScore = name.parse().map_err(anyhow::Error::msg)?;
        return Ok((Metric::Mean, Some(score)));
    }
    Ok((name.parse::<Metric>()?, None))
}

/// The analysis the arguments ask for.
fn request(args: &BootstrapArgs) -> anyhow::Result<StoredAnalysis> {
    let (metric, span_score) = metric(args)?;
    Ok(StoredAnalysis {
        predictions: args.predictions.clone(),
        glue: args.glue.clone(),
        squad: args.squad.clone(),
        squad_data: args.data.clone(),
        span_score,
        coref: args.coref.clone(),
        coref_expt: args.coref_expt.clone(),
        task: args.task.clone(),
        base: args.base.clone(),
        expt: args.expt.clone(),
        metric,
        paired: args.paired,
        unpaired: args.unpaired,
        seed_key: args.seed_key.clone(),
        nboot: args.nboot,
        level: args.level,
        rng: args.rng,
        no_sample_seeds: args.no_sample_seeds,
        no_sample_examples: args.no_sample_examples,
        resample_runs: args.resample_runs,
        expect_negative_effect: args.expect_negative_effect,
        abs_threshold: args.abs_threshold,
        rel_threshold: args.rel_threshold,
        occupation_stats: args.occupation_stats.clone(),
    })
}

/// Runs the analysis of `args`.
fn execute(args: &BootstrapArgs) -> anyhow::Result<Outcome> {
    Ok(run_stored(&request(args)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use multiberts_collector::PredictionRow;
    use multiberts_collector::upstream::{CorefExample, Matrix, export_coref};
    use multiberts_collector::upstream::{RunInfo, UpstreamPredictions};
    use multiberts_report::parse_selector;
    use std::collections::BTreeMap;
    use std::path::Path;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: BootstrapArgs,
    }

    fn parse(argv: &[&str]) -> BootstrapArgs {
        let mut v = vec!["bootstrap"];
        v.extend_from_slice(argv);
        Cli::try_parse_from(v).unwrap().args
    }

    /// The error (with its causes) of `bootstrap ARGV`; the test fails if it succeeds.
    fn error_of(argv: &[&str]) -> String {
        match execute(&parse(argv)) {
            Ok(_) => panic!("expected `bootstrap {}` to fail", argv.join(" ")),
            Err(e) => format!("{e:#}"),
        }
    }

    /// A coref folder: `seeds` × 2 runs, 2 occupations × 6 sentences.
    fn write_coref(dir: &Path, seeds: &[i64], flip: usize) {
        let mut examples = Vec::new();
        for (o, occ) in ["nurse", "engineer"].iter().enumerate() {
            for (k, gender) in ["UNKNOWN", "MASCULINE", "FEMININE"].iter().enumerate() {
                for someone in [false, true] {
                    examples.push(CorefExample {
                        gender: gender.to_string(),
                        pronoun_type: "NOM".into(),
                        answer: ((o + k) % 2) as i64,
                        occupation: occ.to_string(),
                        other_participant: "patient".into(),
                        someone,
                        template_idx: (2 * o) as i64,
                    });
                }
            }
        }
        let labels: Vec<f64> = examples.iter().map(|e| e.answer as f64).collect();
        let mut runs = Vec::new();
        let mut preds = Vec::new();
        for &s in seeds {
            for ft in 0..2 {
                runs.push(RunInfo {
                    pretrain_seed: Some(s),
                    finetune_seed: Some(ft),
                    ..RunInfo::default()
                });
                for (j, &y) in labels.iter().enumerate() {
                    let wrong = (j + s as usize + ft as usize + flip).is_multiple_of(4);
                    preds.push(if wrong { 1.0 - y } else { y });
                }
            }
        }
        let n = labels.len();
        let data = UpstreamPredictions {
            task: "coref".into(),
            runs,
            labels,
            predictions: Matrix::from_vec(seeds.len() * 2, n, preds).unwrap(),
            scores: None,
            coref_examples: Some(examples),
            answers: None,
        };
        export_coref(dir, &data).unwrap();
    }

    #[test]
    fn selectors_parse_and_reject_garbage() {
        let s = parse_selector("task=mnli, n_steps=2000k").unwrap();
        assert_eq!(s.get("step"), Some("2000k"));
        assert!(parse_selector("task").is_err());
        assert!(parse_selector("=x").is_err());
        assert!(parse_selector("").is_err());
        assert!(parse_selector("step=late").is_err());
        assert_eq!(parse_selector("variant=").unwrap().get("variant"), Some(""));
    }

    #[test]
    fn paired_coref_with_a_one_sided_seed_warns_and_reports() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("base"), tmp.path().join("cda"));
        write_coref(&a, &[0, 1, 2, 3], 0);
        write_coref(&b, &[1, 2, 3, 4], 1);
        let args = parse(&[
            "--coref",
            a.to_str().unwrap(),
            "--coref-expt",
            b.to_str().unwrap(),
            "--paired",
            "--nboot",
            "200",
            "--rng",
            "numpy:42",
        ]);
        let out = execute(&args).unwrap();
        assert_eq!(out.samples.base_seeds, vec![1, 2, 3]);
        let text = out.text();
        assert!(text.contains("1 seeds found on base side only"), "{text}");
        assert!(text.contains("1 seeds found on expt side only"), "{text}");
        assert!(
            text.contains("Bootstrap statistics from 200 samples:"),
            "{text}"
        );
        assert!(text.contains("signature: nboot:200|level:0.95|rng:numpy|seed:42|axes:seeds+examples|design:paired|metric:accuracy"), "{text}");
        let json = out.json();
        assert_eq!(json["report"]["n_samples"], 200);
        assert_eq!(json["dropped_seeds"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn selectors_split_one_folder_and_unknown_keys_fail() {
        let tmp = tempfile::tempdir().unwrap();
        write_coref(tmp.path(), &[0, 1, 2], 0);
        let dir = tmp.path().to_str().unwrap();
        let args = parse(&[
            "--coref",
            dir,
            "--base",
            "finetune_seed=0",
            "--expt",
            "ft_seed=1",
            "--paired",
            "--nboot",
            "50",
        ]);
        let out = execute(&args).unwrap();
        assert_eq!((out.samples.base_runs, out.samples.expt_runs), (3, 3));
        let err = error_of(&["--coref", dir, "--base", "colour=red"]);
        assert!(err.contains("unknown selector key `colour`"), "{err}");
        let single = execute(&parse(&["--coref", dir, "--nboot", "20"])).unwrap();
        assert!(single.samples.expt.is_none());
        assert!(!single.text().contains("E[L'"));
    }

    #[test]
    fn bias_r_uses_occupations_as_examples() {
        let tmp = tempfile::tempdir().unwrap();
        write_coref(tmp.path(), &[0, 1], 0);
        std::fs::create_dir(tmp.path().join("stats")).unwrap();
        let stats = tmp.path().join("stats/occupations-stats.tsv");
        std::fs::write(
            &stats,
            "occupation\tbls_pct_female\nnurse\t90\nengineer\t10\n",
        )
        .unwrap();
        let dir = tmp.path().to_str().unwrap();
        let args = parse(&[
            "--coref",
            dir,
            "--metric",
            "bias_slope",
            "--no-sample-seeds",
            "--no-sample-examples",
            "--nboot",
            "3",
            "--occupation-stats",
            stats.to_str().unwrap(),
        ]);
        let out = execute(&args).unwrap();
        assert_eq!(out.samples.n_examples, 2);
        assert!(out.samples.base.iter().all(|v| v.is_finite()));
        let missing = ["--coref", dir, "--metric", "bias_r"];
        let err = error_of(&missing);
        assert!(err.contains("--occupation-stats"), "{err}");
        // An exported folder's own occupations-stats.tsv is the default.
        std::fs::copy(&stats, tmp.path().join("occupations-stats.tsv")).unwrap();
        let found = execute(&parse(&missing)).unwrap();
        assert_eq!(found.samples.n_examples, 2);
    }

    fn prediction_rows(task: &str, steps: &[i64], seeds: &[i64], n: usize) -> Vec<PredictionRow> {
        let mut rows = Vec::new();
        for &step in steps {
            for &seed in seeds {
                for ft in 0..2i64 {
                    let job = format!("{task}-{step}-{seed}-{ft}");
                    for j in 0..n {
                        let label = (j % 3) as f64;
                        let wrong = (j as i64 + seed + ft + step / 1000) % 5 == 0;
                        let prediction = if wrong { (label + 1.0) % 3.0 } else { label };
                        rows.push(PredictionRow {
                            job_id: job.clone(),
                            task: task.into(),
                            variant: String::new(),
                            split: "dev".into(),
                            checkpoint: format!("seed_{seed}-step_{step}k"),
                            pretrain_seed: Some(seed),
                            step: Some(step),
                            learning_rate: 2e-5,
                            finetune_seed: ft,
                            example_index: j as i64,
                            example_id: format!("ex{j}"),
                            label,
                            prediction,
                            scores: vec![0.0; 3],
                            answer: None,
                        });
                    }
                }
            }
        }
        rows
    }

    #[test]
    fn parquet_selectors_pick_steps_and_tasks() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("preds.parquet");
        let mut rows = prediction_rows("mnli", &[1000, 2000], &[0, 1, 2], 30);
        rows.extend(prediction_rows("rte", &[2000], &[0], 10));
        multiberts_collector::write_predictions(&path, &rows).unwrap();
        let file = path.to_str().unwrap();
        let args = parse(&[
            "--predictions",
            file,
            "--base",
            "task=mnli,step=1000k",
            "--expt",
            "step=2M",
            "--paired",
            "--nboot",
            "100",
        ]);
        let out = execute(&args).unwrap();
        assert_eq!((out.samples.base_runs, out.samples.expt_runs), (6, 6));
        assert_eq!(out.samples.n_examples, 30);
        assert_eq!(out.samples.base_seeds, vec![0, 1, 2]);
        // Two tasks in the file and none chosen.
        let err = error_of(&["--predictions", file, "--base", "step=1000k"]);
        assert!(err.contains("several tasks (mnli, rte)"), "{err}");
        let mnli = ["--predictions", file, "--task", "mnli"];
        let err = error_of(&[&mnli[..], &["--base", "epoch=3"]].concat());
        assert!(err.contains("unknown selector key `epoch`"), "{err}");
        let err = error_of(&[&mnli[..], &["--expt", "seed=1", "--base", "ft_seed=0"]].concat());
        assert!(err.contains("matches both --base and --expt"), "{err}");
    }

    #[test]
    fn glue_layout_with_release_and_step_selectors() {
        let tmp = tempfile::tempdir().unwrap();
        let n = 20;
        let labels: Vec<f64> = (0..n).map(|j| (j % 3) as f64).collect();
        let (mut runs, mut preds, mut scores) = (Vec::new(), Vec::new(), Vec::new());
        for step in ["1M", "2M"] {
            for seed in 0..3i64 {
                for ft in 0..2i64 {
                    let mut keys = BTreeMap::new();
                    keys.insert("release".to_string(), "multiberts".to_string());
                    runs.push(RunInfo {
                        pretrain_seed: Some(seed),
                        finetune_seed: Some(ft),
                        learning_rate: Some(2e-5),
                        step: Some(step.to_string()),
                        keys,
                    });
                    for (j, &y) in labels.iter().enumerate() {
                        let wrong = (j as u64 + (seed + ft) as u64)
                            .is_multiple_of(if step == "1M" { 4 } else { 7 });
                        let p = if wrong { (y + 1.0) % 3.0 } else { y };
                        preds.push(p);
                        scores.extend((0..3).map(|c| if c as f64 == p { 1.0f32 } else { 0.0 }));
                    }
                }
            }
        }
        let data = UpstreamPredictions {
            task: "MNLI".into(),
            runs,
            labels,
            predictions: Matrix::from_vec(12, n, preds).unwrap(),
            scores: Some(
                multiberts_collector::upstream::ClassScores::from_vec(12, n, 3, scores).unwrap(),
            ),
            coref_examples: None,
            answers: None,
        };
        multiberts_collector::upstream::export_glue(tmp.path(), &data).unwrap();
        let root = tmp.path().to_str().unwrap();
        let args = parse(&[
            "--glue",
            root,
            "--task",
            "MNLI",
            "--base",
            "release=multiberts,n_steps=1M",
            "--expt",
            "n_steps=2000k",
            "--paired",
            "--nboot",
            "300",
        ]);
        let out = execute(&args).unwrap();
        assert_eq!((out.samples.base_runs, out.samples.expt_runs), (6, 6));
        let d = out.report.delta.unwrap();
        assert!(d.mean > 0.0, "2M makes fewer errors in this fixture: {d:?}");
        let missing = parse(&["--glue", root, "--task", "RTE"]);
        assert!(execute(&missing).is_err());
    }

    #[test]
    fn malformed_layouts_give_clear_errors() {
        let tmp = tempfile::tempdir().unwrap();
        write_coref(tmp.path(), &[0, 1], 0);
        let dir = tmp.path().to_str().unwrap();
        // Ragged preds.tsv: drop the last value of the second row.
        let preds = tmp.path().join("preds.tsv");
        let text = std::fs::read_to_string(&preds).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let cut = lines[1].rfind(char::is_whitespace).unwrap();
        lines[1].truncate(cut);
        std::fs::write(&preds, lines.join("\n") + "\n").unwrap();
        let err = error_of(&["--coref", dir]);
        assert!(err.contains("preds.tsv"), "{err}");
        // One run fewer in preds.tsv than in run_info.tsv.
        std::fs::write(
            &preds,
            text.lines().take(3).collect::<Vec<_>>().join("\n") + "\n",
        )
        .unwrap();
        let err = error_of(&["--coref", dir]);
        assert!(err.contains("run_info.tsv lists 4 runs"), "{err}");
        // Sides on different examples.
        let other = tmp.path().join("other");
        write_coref(&other, &[0], 0);
        std::fs::write(&preds, text).unwrap();
        let lab = other.join("label_info.tsv");
        let l = std::fs::read_to_string(&lab).unwrap();
        let kept: Vec<&str> = l.lines().take(6).collect();
        std::fs::write(&lab, kept.join("\n") + "\n").unwrap();
        let p = other.join("preds.tsv");
        let pt: String = std::fs::read_to_string(&p)
            .unwrap()
            .lines()
            .map(|row| row.split_whitespace().take(5).collect::<Vec<_>>().join(" ") + "\n")
            .collect();
        std::fs::write(&p, pt).unwrap();
        let err = error_of(&["--coref", dir, "--coref-expt", other.to_str().unwrap()]);
        assert!(err.contains("same examples"), "{err}");
    }
}
