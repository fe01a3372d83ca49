//! Tables 1 and 2 and Appendix D of the paper: the coreference case study on the released
//! `coref/` groups, each analysis run as `multiberts bootstrap --coref … --coref-expt …` runs it
//! (`run_stored`), with the notebook's options (`coref.ipynb`): bias r on the occupations, every
//! comparison but Appendix D's with `expect_negative_effect`.

use std::path::{Path, PathBuf};

use multiberts_bootstrap::Metric;

use super::{PaperOptions, PaperRow, PaperTable};
use crate::error::{ReportError, Result};
use crate::layouts::{CorefLayout, LayoutReader};
use crate::stored::{BootstrapOptions, StoredAnalysis, run_stored};

/// The released groups.
const BASE: &str = "base";
const CDA_INCR: &str = "cda_intervention-50k";
const CDA_FULL: &str = "from_scratch";
const EXTRA_SEEDS: &str = "base_extra_seeds";

/// A table's maker: from the groups' folder, the occupation stats and the options.
type MakeTable = fn(&Path, &Path, &PaperOptions) -> Result<PaperTable>;

/// One analysis of a coref table.
struct Spec<'a> {
    /// The base group's folder and, for two groups, the experiment's.
    base: &'a str,
    expt: Option<&'a str>,
    /// Selectors splitting one group (Appendix D).
    selectors: Option<(&'a str, &'a str)>,
    paired: bool,
    metric: Metric,
    /// Which axes are resampled: (seeds, examples).
    axes: (bool, bool),
    negative: bool,
}

/// Tables 1, 2 and Appendix D from `o.dir/coref`, each when its groups are there (else a note
/// says what is missing); none without `coref/`.
pub(super) fn coref_tables(o: &PaperOptions, notes: &mut Vec<String>) -> Result<Vec<PaperTable>> {
    let root = o.dir.join("coref");
    if !root.is_dir() {
        notes.push("coref/ not found: Tables 1 and 2 are left out.".into());
        return Ok(Vec::new());
    }
    let stats = o
        .occupation_stats
        .clone()
        .or_else(|| Some(root.join("occupations-stats.tsv")).filter(|p| p.is_file()))
        .or_else(|| {
            let dir = o.data_dir.as_ref()?;
            Some(dir.join("winogender/occupations-stats.tsv")).filter(|p| p.is_file())
        })
        .ok_or_else(|| {
            ReportError::Request(format!(
                "bias r needs the Winogender occupations-stats.tsv: pass --occupation-stats \
                 FILE, or --data-dir DIR holding winogender/occupations-stats.tsv, or put it \
                 in {}",
                root.display()
            ))
        })?;
    let missing = |groups: &[&str]| -> Option<String> {
        let gone: Vec<&str> = groups
            .iter()
            .copied()
            .filter(|g| !root.join(g).is_dir())
            .collect();
        (!gone.is_empty()).then(|| format!("coref/{}", gone.join(", coref/")))
    };
    let mut tables = Vec::new();
    let wanted: [(&str, &[&str], MakeTable); 3] = [
        ("Table 1", &[BASE, CDA_INCR], table_1),
        ("Table 2", &[CDA_INCR, CDA_FULL], table_2),
        ("Appendix D", &[EXTRA_SEEDS], appendix_d),
    ];
    for (name, groups, make) in wanted {
        match missing(groups) {
            Some(gone) => notes.push(format!("{name} is left out: {gone} not found.")),
            None => tables.push(make(&root, &stats, o)?),
        }
    }
    Ok(tables)
}

/// Table 1: base vs CDA-incr, paired, accuracy and bias r.
fn table_1(root: &Path, stats: &Path, o: &PaperOptions) -> Result<PaperTable> {
    let spec = |metric| Spec {
        base: BASE,
        expt: Some(CDA_INCR),
        selectors: None,
        paired: true,
        metric,
        axes: (true, true),
        negative: true,
    };
    Ok(PaperTable {
        id: "table-1".into(),
        title: "Table 1 (§4.1): the CDA intervention on the coreference model".into(),
        description: "Each pre-training seed's checkpoint (L: coref/base) trained 50k more \
                      steps on counterfactually augmented data (L': coref/cda_intervention-50k, \
                      CDA-incr); paired by seed; p: fraction of draws with Δ ≥ 0 \
                      (expect_negative_effect)."
            .into(),
        base: "base".into(),
        expt: "CDA-incr".into(),
        rows: vec![
            row(root, stats, o, "accuracy", &spec(Metric::Accuracy))?,
            row(root, stats, o, "bias r", &spec(Metric::BiasR))?,
        ],
    })
}

/// Table 2: CDA-incr vs CDA-full, unpaired; bias r also with one axis resampled.
fn table_2(root: &Path, stats: &Path, o: &PaperOptions) -> Result<PaperTable> {
    let spec = |metric, axes| Spec {
        base: CDA_INCR,
        expt: Some(CDA_FULL),
        selectors: None,
        paired: false,
        metric,
        axes,
        negative: true,
    };
    Ok(PaperTable {
        id: "table-2".into(),
        title: "Table 2 (§4.2): CDA-incr vs CDA-full".into(),
        description: "L: CDA-incr (coref/cda_intervention-50k); L': CDA-full, new checkpoints \
                      pre-trained on CDA data (coref/from_scratch); unpaired; p: fraction of \
                      draws with Δ ≥ 0. The last two rows resample one axis only: over-confident \
                      p-values, the notebook's point (not in the Holm family)."
            .into(),
        base: "CDA-incr".into(),
        expt: "CDA-full".into(),
        rows: vec![
            row(
                root,
                stats,
                o,
                "accuracy",
                &spec(Metric::Accuracy, (true, true)),
            )?,
            row(root, stats, o, "bias r", &spec(Metric::BiasR, (true, true)))?,
            row(
                root,
                stats,
                o,
                "bias r",
                &spec(Metric::BiasR, (true, false)),
            )?,
            row(
                root,
                stats,
                o,
                "bias r",
                &spec(Metric::BiasR, (false, true)),
            )?,
        ],
    })
}

/// Appendix D: pre-training seed 0 vs 1 of `base_extra_seeds`, unpaired, bias r.
fn appendix_d(root: &Path, stats: &Path, o: &PaperOptions) -> Result<PaperTable> {
    let spec = Spec {
        base: EXTRA_SEEDS,
        expt: None,
        selectors: Some(("pretrain_seed=0", "pretrain_seed=1")),
        paired: false,
        metric: Metric::BiasR,
        axes: (true, true),
        negative: false,
    };
    Ok(PaperTable {
        id: "appendix-d".into(),
        title: "Appendix D: two pre-training seeds".into(),
        description: "L: seed 0, L': seed 1, their coreference runs in coref/base_extra_seeds \
                      (25 each in the release); unpaired; one seed per side, so the seed draws \
                      use no random numbers."
            .into(),
        base: "seed 0".into(),
        expt: "seed 1".into(),
        rows: vec![row(root, stats, o, "bias r", &spec)?],
    })
}

/// Runs one analysis of the groups under `root`.
fn row(root: &Path, stats: &Path, o: &PaperOptions, label: &str, s: &Spec) -> Result<PaperRow> {
    let layout = |g: &str| -> Box<dyn LayoutReader> { Box::new(CorefLayout { dir: root.join(g) }) };
    let a = StoredAnalysis {
        layout: layout(s.base),
        expt_layout: s.expt.map(layout),
        task: None,
        base: s.selectors.map(|(b, _)| b.to_string()),
        expt: s.selectors.map(|(_, e)| e.to_string()),
        metric: s.metric,
        span_score: None,
        options: BootstrapOptions {
            paired: s.paired,
            unpaired: !s.paired,
            nboot: o.nboot,
            rng: o.rng,
            no_sample_seeds: !s.axes.0,
            no_sample_examples: !s.axes.1,
            expect_negative_effect: s.negative,
            occupation_stats: Some(PathBuf::from(stats)),
            ..BootstrapOptions::default()
        },
    };
    let outcome = run_stored(&a).map_err(|e| ReportError::Analysis {
        name: format!("{label} ({})", a.layout.source(None)),
        source: Box::new(e),
    })?;
    Ok(PaperRow {
        label: label.into(),
        resampled: match s.axes {
            (true, true) => "seeds + examples",
            (true, false) => "seeds only",
            _ => "examples only",
        }
        .into(),
        report: outcome.report,
        in_family: s.axes == (true, true),
        p_holm: None,
    })
}
