//! The MultiBERTs paper's own tables and figures, regenerated from the per-example predictions
//! its authors released in the upstream layouts (`example-predictions/{GLUE,SQuAD,coref}/`,
//! `../shared/notes/paper.md` §7), as `multiberts report --paper DIR` writes them:
//!
//! - **Table 1** (§4.1): the coreference model before and after the CDA intervention
//!   (`coref/base` vs `coref/cda_intervention-50k`), paired by pre-training seed, accuracy and
//!   bias r;
//! - **Table 2** (§4.2): CDA-incr vs CDA-full (`coref/cda_intervention-50k` vs
//!   `coref/from_scratch`), unpaired, accuracy and bias r, and bias r resampling one axis only
//!   (the notebook's point that one axis gives over-confident p-values);
//! - **Appendix D**: two pre-training seeds of `coref/base_extra_seeds` (0 vs 1), bias r;
//! - the **GLUE and SQuAD figures** (Figs. 1–2): per task, every fine-tuning run of each final
//!   MultiBERTs checkpoint at the best learning rate, one column per pre-training seed, the
//!   original BERT's runs as one more column;
//! - the notebooks' GLUE and SQuAD comparisons (`2m_vs_1m.ipynb`, `multi_vs_original.ipynb`):
//!   1M vs 2M steps, paired, and the original BERT vs MultiBERTs, unpaired, on every task the
//!   folder holds.
//!
//! Every analysis is the notebooks' Multi-Bootstrap: 1000 draws and numpy's `RandomState(42)`
//! afresh for each (`rng = 42` passed to every call), through the analysis engine
//! ([`crate::engine`]) as `multiberts bootstrap` runs it. The learning rate of a (release,
//! steps) group is the notebooks' rule: the one with the best mean dev score over its runs.
//! A part whose folder is missing is left out, and the page says so.

mod coref;
mod render;
mod upstream;

use std::path::{Path, PathBuf};

use multiberts_bootstrap::{Report, RngSpec};
use serde::Serialize;

use multiberts_collector::CollectorError;

use crate::error::Result;
use crate::family::holm_adjusted;

/// The notebooks' bootstrap draws.
pub const PAPER_NBOOT: usize = 1000;

/// The notebooks' random numbers: numpy's `RandomState(42)`, afresh for every analysis.
pub const PAPER_RNG: RngSpec = RngSpec::Numpy(42);

/// What `multiberts report --paper` reads and where it writes.
#[derive(Debug, Clone)]
pub struct PaperOptions {
    /// The downloaded `example-predictions` folder: `GLUE/`, `SQuAD/` and `coref/` inside
    /// (any of them may be missing).
    pub dir: PathBuf,
    /// The report folder to write (created if needed).
    pub out: PathBuf,
    /// Winogender `occupations-stats.tsv` for bias r (default: `coref/occupations-stats.tsv`
    /// in `dir`, else `winogender/occupations-stats.tsv` under `data_dir`).
    pub occupation_stats: Option<PathBuf>,
    /// The data root (`--data-dir`, MULTIBERTS_DATA), where the Winogender files may be.
    pub data_dir: Option<PathBuf>,
    /// The SQuAD dev file (default: `SQuAD/dev-v2.0.json` in `dir`).
    pub squad_data: Option<PathBuf>,
    /// Bootstrap draws ([`PAPER_NBOOT`]).
    pub nboot: usize,
    /// Random numbers ([`PAPER_RNG`]).
    pub rng: RngSpec,
}

impl PaperOptions {
    /// The notebooks' settings for the folder `dir`, writing to `out`.
    pub fn new(dir: &Path, out: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            out: out.to_path_buf(),
            occupation_stats: None,
            data_dir: None,
            squad_data: None,
            nboot: PAPER_NBOOT,
            rng: PAPER_RNG,
        }
    }
}

/// One analysis of a paper table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PaperRow {
    /// What is measured (`accuracy`, `bias r`, `MNLI accuracy`, …).
    pub label: String,
    /// What the bootstrap resampled: `seeds + examples`, `seeds only` or `examples only`.
    pub resampled: String,
    /// The result.
    pub report: Report,
    /// Whether the row's p-value belongs to the table's Holm family (rows resampling one axis
    /// repeat a test of the table and do not).
    pub in_family: bool,
    /// The p-value adjusted by Holm–Bonferroni across the table's family (when it has at
    /// least two members).
    pub p_holm: Option<f64>,
}

/// One table of the paper page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PaperTable {
    /// Its anchor on the page (`table-1`, …).
    pub id: String,
    /// Its title (`Table 1 (§4.1): …`).
    pub title: String,
    /// How its analyses were run, in words.
    pub description: String,
    /// What L (the baseline) is.
    pub base: String,
    /// What L' (the experiment) is.
    pub expt: String,
    /// Its analyses.
    pub rows: Vec<PaperRow>,
}

impl PaperTable {
    /// Adjusts the p-values of the rows in the family (at least two) by Holm–Bonferroni.
    fn adjust(&mut self) {
        let family: Vec<usize> = (0..self.rows.len())
            .filter(|&i| self.rows[i].in_family && self.rows[i].report.delta.is_some())
            .collect();
        if family.len() < 2 {
            return;
        }
        let reports: Vec<&Report> = family.iter().map(|&i| &self.rows[i].report).collect();
        for (&i, q) in family.iter().zip(holm_adjusted(&reports)) {
            self.rows[i].p_holm = q;
        }
    }

    /// The labels of the rows in the Holm family.
    pub fn family(&self) -> Vec<&str> {
        self.rows
            .iter()
            .filter(|r| r.p_holm.is_some())
            .map(|r| r.label.as_str())
            .collect()
    }
}

/// One run of a paper figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PaperFigureRun {
    /// The pre-trained model: `seed N`, or `BERT (original)`.
    pub model: String,
    /// Its MultiBERTs pre-training seed (none for the original BERT).
    pub pretrain_seed: Option<i64>,
    /// The fine-tuning seed.
    pub finetune_seed: Option<i64>,
    /// The fine-tuning learning rate (the group's best).
    pub learning_rate: Option<f64>,
    /// The run's dev metric.
    pub value: f64,
}

/// One GLUE or SQuAD figure: the runs drawn, one column per pre-trained model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PaperFigure {
    /// The task (`MNLI`, `SQuAD v2.0`).
    pub task: String,
    /// The metric on y.
    pub metric: String,
    /// The release and steps of the MultiBERTs runs drawn (`multiberts, 2M`).
    pub checkpoints: String,
    /// The runs, in the layout's order (MultiBERTs first, then the original BERT).
    pub runs: Vec<PaperFigureRun>,
    /// The SVG file beside the page.
    pub file: String,
    /// The SVG document.
    #[serde(skip)]
    pub svg: String,
}

/// What [`paper_report`] computed and wrote.
#[derive(Debug, Clone)]
pub struct PaperWritten {
    /// `summary.md`: the tables in Markdown, the figures linked.
    pub summary_md: PathBuf,
    /// `index.html`: every table and figure on one offline page.
    pub index_html: PathBuf,
    /// `tables.json`: every table and figure's runs as data.
    pub tables_json: PathBuf,
    /// The figures' SVG files.
    pub figure_files: Vec<PathBuf>,
    /// The tables, in page order.
    pub tables: Vec<PaperTable>,
    /// The figures, in page order.
    pub figures: Vec<PaperFigure>,
    /// What was left out and why (a missing folder), one sentence each.
    pub notes: Vec<String>,
}

impl PaperWritten {
    /// What was computed and written, as `multiberts report --paper` prints it: each table's
    /// rows (E[L'−L] and p), what was left out, the files.
    pub fn text(&self) -> String {
        let mut t = String::new();
        for table in &self.tables {
            t += &format!("{}\n", table.title);
            for r in &table.rows {
                let delta = r.report.delta.map_or(String::new(), |d| {
                    format!(
                        "E[L'-L] = {}; p = {}",
                        multiberts_bootstrap::pyfmt::g(d.mean, 3),
                        multiberts_bootstrap::pyfmt::g(d.p, 3)
                    )
                });
                t += &format!("  {} ({}): {delta}\n", r.label, r.resampled);
            }
        }
        for n in &self.notes {
            t += &format!("note: {n}\n");
        }
        for f in &self.figure_files {
            t += &format!("figure: {}\n", f.display());
        }
        t += &format!(
            "paper tables: {}\ntables as data: {}\nreport page: {}\n",
            self.summary_md.display(),
            self.tables_json.display(),
            self.index_html.display()
        );
        t
    }
}

/// The page's data before it is written.
#[derive(Debug, Serialize)]
struct PaperData<'a> {
    source: String,
    nboot: usize,
    rng: String,
    tables: &'a [PaperTable],
    figures: &'a [PaperFigure],
    notes: &'a [String],
}

/// Regenerates the paper's tables and figures from the released predictions under `o.dir` and
/// writes `summary.md`, `tables.json`, the figures and `index.html` into `o.out`. An error when
/// the folder holds none of `GLUE/`, `SQuAD/` and `coref/`.
pub fn paper_report(o: &PaperOptions) -> Result<PaperWritten> {
    let parts = ["GLUE", "SQuAD", "coref"];
    if !parts.iter().any(|p| o.dir.join(p).is_dir()) {
        return Err(crate::ReportError::Request(format!(
            "{} holds none of GLUE/, SQuAD/, coref/: point --paper at the downloaded \
             example-predictions folder (docs/bootstrap.md says where to get it)",
            o.dir.display()
        )));
    }
    let mut notes = Vec::new();
    let mut tables = coref::coref_tables(o, &mut notes)?;
    let (figures, comparisons) = upstream::glue_and_squad(o, &mut notes)?;
    if !comparisons.rows.is_empty() {
        tables.push(comparisons);
    }
    for t in &mut tables {
        t.adjust();
    }
    std::fs::create_dir_all(&o.out).map_err(|source| CollectorError::Io {
        path: o.out.clone(),
        source,
    })?;
    let mut figure_files = Vec::new();
    for f in &figures {
        let path = o.out.join(&f.file);
        multiberts_collector::atomic::write_bytes(&path, f.svg.as_bytes())?;
        figure_files.push(path);
    }
    let data = PaperData {
        source: o.dir.display().to_string(),
        nboot: o.nboot,
        rng: o.rng.to_string(),
        tables: &tables,
        figures: &figures,
        notes: &notes,
    };
    let tables_json = o.out.join("tables.json");
    multiberts_collector::atomic::write_json(&tables_json, &data)?;
    let summary_md = o.out.join("summary.md");
    let md = render::markdown(o, &tables, &figures, &notes);
    multiberts_collector::atomic::write_bytes(&summary_md, md.as_bytes())?;
    let index_html = o.out.join("index.html");
    let html = render::html(o, &tables, &figures, &notes);
    multiberts_collector::atomic::write_bytes(&index_html, html.as_bytes())?;
    Ok(PaperWritten {
        summary_md,
        index_html,
        tables_json,
        figure_files,
        tables,
        figures,
        notes,
    })
}
