//! `multiberts bootstrap`: Multi-Bootstrap analyses over stored predictions.
//!
//! The arguments map one for one onto `multiberts_report::BootstrapCall`: a `LayoutReader`
//! per side (our Parquet, the upstream GLUE, SQuAD or coref layouts), the selectors and options, run
//! by the report crate's analysis engine. The tests are in `crates/report/tests/stored.rs`.

use std::path::PathBuf;

use multiberts_report::{BootstrapCall, BootstrapOptions, Correction, RngSpec};

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
      --base release=public --expt release=multiberts

  # several analyses at once, Holm-adjusted: two tasks (pairs by position) x two metrics
  multiberts bootstrap --glue GLUE --paired --correct holm --metric accuracy,f1 \\
      --base task=MRPC,n_steps=1M --expt task=MRPC,n_steps=2M \\
      --base task=QQP,n_steps=1M --expt task=QQP,n_steps=2M")]
pub struct BootstrapArgs {
    /// Our predictions Parquet (one row per run × example).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["glue", "squad", "coref"])]
    predictions: Option<PathBuf>,

    /// Upstream GLUE layout root (index.tsv, run TSVs, <TASK>_dev_labels); needs --task, or
    /// task=… in the selectors.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["squad", "coref"])]
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
    /// runs not selected by --expt (for a single analysis: all runs). Repeat it with --expt
    /// for several analyses: paired by position, or one base against every --expt.
    #[arg(long, value_name = "SELECTOR")]
    base: Vec<String>,

    /// Runs of the experiment L'. Without it (and without --coref-expt) the analysis is a
    /// single-procedure estimate. Repeatable (see --base).
    #[arg(long, value_name = "SELECTOR")]
    expt: Vec<String>,

    /// Metric: accuracy, f1, macro_f1, mcc, pearson, spearman, mean, bias_r, bias_slope; for
    /// SQuAD answers (--squad, or a span task's predictions) exact or f1, the official
    /// per-question scores averaged over questions. Default: accuracy (exact for --squad).
    /// Several (comma-separated or repeated): each analysis with each metric.
    #[arg(long, value_delimiter = ',')]
    metric: Vec<String>,

    /// Correct the p-values of the analyses of this call for multiple comparisons: `holm`
    /// (Holm-Bonferroni across every analysis with a p-value) or `none`.
    #[arg(long, default_value = "none", value_name = "METHOD")]
    correct: Correction,

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

/// Runs `multiberts bootstrap`: one analysis, or a family of them (several selector pairs or
/// metrics, or `--correct`).
pub fn run(args: BootstrapArgs) -> anyhow::Result<()> {
    let out = BootstrapCall {
        predictions: args.predictions,
        glue: args.glue,
        squad: args.squad,
        data: args.data,
        coref: args.coref,
        coref_expt: args.coref_expt,
        task: args.task,
        base: args.base,
        expt: args.expt,
        metric: args.metric,
        correct: args.correct,
        options: BootstrapOptions {
            paired: args.paired,
            unpaired: args.unpaired,
            seed_key: args.seed_key,
            nboot: args.nboot,
            level: args.level,
            rng: args.rng,
            no_sample_seeds: args.no_sample_seeds,
            no_sample_examples: args.no_sample_examples,
            resample_runs: args.resample_runs,
            expect_negative_effect: args.expect_negative_effect,
            abs_threshold: args.abs_threshold,
            rel_threshold: args.rel_threshold,
            occupation_stats: args.occupation_stats,
        },
        samples: args.samples,
    }
    .run()?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out.json())?);
    } else {
        print!("{}", out.text());
    }
    Ok(())
}
