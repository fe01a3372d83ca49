//! The manifest: parsing with positions, validation against the task registry, expansion.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_spanned::Spanned;

use multiberts_tasks::check::DataCheck;
use multiberts_tasks::diag::{Diagnostic, one_of};
use multiberts_tasks::{Augmentation, SafeName, TaskError, TaskRegistry, TaskSpec};

use crate::analysis::{Analysis, RawAnalysis};
use crate::checkpoint::{Checkpoint, CheckpointSource, RawCheckpoint};
use crate::error::ManifestError;
use crate::hyper::{Hyper, RawDefaults, RawTask, SpanError};
use crate::job::Job;
use crate::selector::Selector;
use crate::slurm::{RawSlurm, SlurmConfig};

/// The embedded default manifest (`manifests/demo.toml`): runs offline in minutes.
pub const DEMO_MANIFEST: &str = include_str!("../../../manifests/demo.toml");

/// The path the embedded demo reports in messages.
pub const DEMO_PATH: &str = "manifests/demo.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    data_dir: Option<String>,
    results_dir: Option<String>,
    tasks_dir: Option<Spanned<String>>,
    #[serde(default)]
    defaults: RawDefaults,
    checkpoints: Spanned<Vec<Spanned<RawCheckpoint>>>,
    tasks: Spanned<Vec<Spanned<RawTask>>>,
    #[serde(default)]
    analyses: Vec<Spanned<RawAnalysis>>,
    slurm: Option<Spanned<RawSlurm>>,
}

/// One task of the sweep with its resolved hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskEntry {
    /// The task's name (a spec in the registry): its folder in the results tree.
    pub name: SafeName,
    /// The variant (`""` for the task as specified). The same task may be listed once per
    /// variant; variants are compared with selectors such as `variant=cda`.
    pub variant: String,
    /// Augmentation of the training split (`augment = "cda"`).
    pub augment: Option<Augmentation>,
    /// Defaults with this task's overrides applied.
    pub hyper: Hyper,
}

impl TaskEntry {
    /// `task` or `task[variant]`, for tables and messages.
    pub fn display_name(&self) -> String {
        if self.variant.is_empty() {
            self.name.to_string()
        } else {
            format!("{}[{}]", self.name, self.variant)
        }
    }
}

/// A validated sweep manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The sweep's name: its folder under the results directory.
    pub name: SafeName,
    /// Free text.
    pub description: String,
    /// The file it was read from.
    pub path: PathBuf,
    /// `data_dir`, resolved against the manifest's folder.
    pub data_dir: Option<PathBuf>,
    /// `results_dir` as written (relative to the working directory), default `results`.
    pub results_dir: PathBuf,
    /// Concrete checkpoints, in manifest order.
    pub checkpoints: Vec<Checkpoint>,
    /// Tasks, in manifest order.
    pub tasks: Vec<TaskEntry>,
    /// Declared analyses.
    pub analyses: Vec<Analysis>,
    /// Built-in task specs plus the manifest's `tasks_dir`.
    pub registry: TaskRegistry,
    /// The `[slurm]` table (defaults when absent); not part of any job id.
    pub slurm: SlurmConfig,
}

impl Manifest {
    /// Reads and validates a manifest file.
    pub fn from_file(path: &Path) -> Result<Manifest, ManifestError> {
        let bytes = std::fs::read(path).map_err(|source| ManifestError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(&e.as_bytes()[..valid]).into_owned();
            let pos = multiberts_tasks::diag::LineCol::from_offset(&text, valid);
            ManifestError::Invalid(Box::new(Diagnostic::at(
                path,
                Some(pos),
                "invalid UTF-8; a manifest is a UTF-8 TOML file",
            )))
        })?;
        Manifest::from_toml(path, &text)
    }

    /// Checks that every local checkpoint (`path = ...`, relative to the manifest's folder)
    /// exists with the files a job reads (weights, `config.json`, `vocab.txt`): `plan` and
    /// `sweep` call it before anything runs, so that a missing file is an error naming the
    /// manifest line and the file, not a job failing at run time. So are a `pretrain`
    /// checkpoint's corpus and vocabulary files. Hub and generated checkpoints are not
    /// checked here.
    pub fn check_local_checkpoints(&self) -> Result<(), ManifestError> {
        let base = self.path.parent().unwrap_or(Path::new("."));
        for c in &self.checkpoints {
            if let CheckpointSource::Pretrain { settings, .. } = &c.source {
                self.check_pretrain_files(c, settings)?;
                continue;
            }
            let CheckpointSource::Path { path } = &c.source else {
                continue;
            };
            if let Some(missing) = crate::checkpoint::missing_checkpoint_file(&base.join(path)) {
                return Err(ManifestError::Invalid(Box::new(Diagnostic::at(
                    &self.path,
                    c.path_at,
                    format!(
                        "checkpoint `{}`: {} does not exist; a local checkpoint is a folder with \
                         model.safetensors (or pytorch_model.bin), config.json and vocab.txt \
                         (relative paths are read from the manifest's folder)",
                        c.id,
                        missing.display()
                    ),
                ))));
            }
        }
        Ok(())
    }

    /// Checks that the corpus and vocabulary files of a `pretrain` checkpoint exist.
    fn check_pretrain_files(
        &self,
        c: &Checkpoint,
        settings: &crate::PretrainSettings,
    ) -> Result<(), ManifestError> {
        let base = self.path.parent().unwrap_or(Path::new("."));
        let files = settings.corpus.iter().map(|f| ("corpus file", f));
        for (what, file) in files.chain([("vocabulary", &settings.vocab)]) {
            let path = base.join(file);
            if !path.is_file() {
                return Err(ManifestError::Invalid(Box::new(Diagnostic::at(
                    &self.path,
                    c.path_at,
                    format!(
                        "checkpoint `{}`: the pre-training {what} {} does not exist (relative \
                         paths are read from the manifest's folder)",
                        c.id,
                        path.display()
                    ),
                ))));
            }
        }
        Ok(())
    }

    /// The embedded demo manifest.
    pub fn demo() -> Result<Manifest, ManifestError> {
        Manifest::from_toml(Path::new(DEMO_PATH), DEMO_MANIFEST)
    }

    /// The manifest at `path`, or the embedded demo when none is given (what every command
    /// taking an optional manifest reads); the error names the file.
    pub fn load_or_demo(path: Option<&Path>) -> Result<Manifest, ManifestError> {
        match path {
            Some(path) => Manifest::from_file(path).map_err(|source| ManifestError::Load {
                path: path.to_path_buf(),
                source: Box::new(source),
            }),
            None => {
                tracing::debug!("no manifest given: using the embedded {DEMO_PATH}");
                Manifest::demo().map_err(|source| ManifestError::Demo(Box::new(source)))
            }
        }
    }

    /// Checks the data of the tasks `asked` (`data check --task`), else of this manifest's
    /// tasks, under `root` ([`DataCheck::run`] with the manifest's task registry).
    pub fn check_data(
        &self,
        asked: &[String],
        root: Option<&Path>,
    ) -> Result<DataCheck, TaskError> {
        let tasks: Vec<String> = self.tasks.iter().map(|t| t.name.to_string()).collect();
        DataCheck::run(&self.registry, asked, Some(&tasks), root)
    }

    /// The results directory: `flag` when given (`--results-dir`, `MULTIBERTS_RESULTS`), else
    /// the manifest's `results_dir`.
    pub fn results_dir_or<'a>(&'a self, flag: Option<&'a Path>) -> &'a Path {
        flag.unwrap_or(&self.results_dir)
    }

    /// The data root jobs read: `flag` when given (`--data-dir`), else `MULTIBERTS_DATA`, else
    /// the manifest's `data_dir` ([`multiberts_tasks::data_root`]).
    pub fn data_root(&self, flag: Option<&Path>) -> Option<PathBuf> {
        multiberts_tasks::data_root(flag, self.data_dir.as_deref())
    }

    /// Parses and validates manifest text; `path` locates errors and relative paths.
    pub fn from_toml(path: &Path, text: &str) -> Result<Manifest, ManifestError> {
        let invalid = |span: Option<std::ops::Range<usize>>, msg: String| {
            ManifestError::Invalid(Box::new(Diagnostic::at_span(path, text, span, msg)))
        };
        let at = |(span, msg): SpanError| invalid(Some(span), msg);
        let raw: RawManifest = toml::from_str(text)
            .map_err(|e| ManifestError::Invalid(Box::new(Diagnostic::from_toml(path, text, &e))))?;
        let base_dir = path.parent().unwrap_or(Path::new("."));

        let name = SafeName::new(raw.name.get_ref().as_str()).map_err(|e| {
            invalid(
                Some(raw.name.span()),
                format!("invalid name {e} (it names the results folder)"),
            )
        })?;

        let mut registry = TaskRegistry::builtin()?;
        if let Some(dir) = &raw.tasks_dir {
            let dir_path = base_dir.join(dir.get_ref());
            if !dir_path.is_dir() {
                return Err(invalid(
                    Some(dir.span()),
                    format!("tasks_dir {} is not a folder", dir_path.display()),
                ));
            }
            registry.load_dir(&dir_path)?;
        }

        let mut defaults = Hyper::default();
        defaults.apply(raw.defaults.hyper()).map_err(at)?;

        if raw.checkpoints.get_ref().is_empty() {
            return Err(invalid(
                Some(raw.checkpoints.span()),
                "`checkpoints` is empty; expected at least one [[checkpoints]] table".into(),
            ));
        }
        let mut checkpoints: Vec<Checkpoint> = Vec::new();
        let mut by_id: HashMap<SafeName, usize> = HashMap::new();
        for table in raw.checkpoints.get_ref() {
            for ckpt in table.get_ref().expand(table.span()).map_err(at)? {
                if let Some(&first) = by_id.get(&ckpt.id) {
                    let line = multiberts_tasks::diag::LineCol::from_offset(
                        text,
                        checkpoints[first].span.start,
                    )
                    .line;
                    return Err(invalid(
                        Some(ckpt.span.clone()),
                        format!(
                            "duplicate checkpoint id `{}` (also produced by the [[checkpoints]] table at line {line}); give each an `id` template with {{seed}}/{{step}}",
                            ckpt.id
                        ),
                    ));
                }
                if let Some(other) = checkpoints.iter().find(|c| c.source == ckpt.source) {
                    return Err(invalid(
                        Some(ckpt.span.clone()),
                        format!(
                            "checkpoint `{}` loads the same weights as `{}`; list each checkpoint once",
                            ckpt.id, other.id
                        ),
                    ));
                }
                let mut ckpt = ckpt;
                if let Some(table) = &table.get_ref().pretrain {
                    ckpt.path_at = Some(multiberts_tasks::diag::LineCol::from_offset(
                        text,
                        table.span().start,
                    ));
                }
                if let Some(path) = &table.get_ref().path {
                    ckpt.path_at = Some(multiberts_tasks::diag::LineCol::from_offset(
                        text,
                        path.span().start,
                    ));
                }
                by_id.insert(ckpt.id.clone(), checkpoints.len());
                checkpoints.push(ckpt);
            }
        }

        if raw.tasks.get_ref().is_empty() {
            return Err(invalid(
                Some(raw.tasks.span()),
                "`tasks` is empty; expected at least one [[tasks]] table".into(),
            ));
        }
        let mut tasks: Vec<TaskEntry> = Vec::new();
        let mut total_jobs: usize = 0;
        for table in raw.tasks.get_ref() {
            let t = table.get_ref();
            let name = t.name.get_ref();
            if !registry.contains(name) {
                return Err(invalid(
                    Some(t.name.span()),
                    format!(
                        "unknown task `{name}`; expected one of {} (or add a spec in `tasks_dir`)",
                        one_of(registry.names())
                    ),
                ));
            }
            let spec = registry.get(name)?;
            if spec.eval_only {
                // Caught here, not when the job starts: the runner would only fail at the
                // missing training split after the sweep has been planned and submitted.
                return Err(invalid(
                    Some(t.name.span()),
                    eval_only_message(spec, &registry),
                ));
            }
            let augment = match &t.augment {
                Some(a) => Some(Augmentation::parse(a.get_ref()).ok_or_else(|| {
                    let names: Vec<&str> = Augmentation::ALL.iter().map(|a| a.name()).collect();
                    invalid(
                        Some(a.span()),
                        format!(
                            "unknown augmentation `{}`; expected one of {}",
                            a.get_ref(),
                            one_of(&names)
                        ),
                    )
                })?),
                None => None,
            };
            if let (Some(a), multiberts_tasks::TaskKind::Span) = (&t.augment, spec.kind) {
                // CDA rewrites single texts; a question + context with character offsets into
                // it cannot be rewritten without moving its answers.
                return Err(invalid(
                    Some(a.span()),
                    format!(
                        "augmentation `{}` does not apply to the span (SQuAD) task `{name}`; \
                         remove `augment`",
                        a.get_ref()
                    ),
                ));
            }
            // A variant defaults to its augmentation's name, so `augment = "cda"` alone never
            // hides augmented runs under the base task's (empty) variant.
            let variant = match (&t.variant, &augment) {
                (Some(v), _) => SafeName::new(v.get_ref().as_str())
                    .map_err(|e| {
                        invalid(
                            Some(v.span()),
                            format!("invalid variant {e} (omit it for the task as specified)"),
                        )
                    })?
                    .into_string(),
                (None, Some(a)) => a.name().to_string(),
                (None, None) => String::new(),
            };
            if tasks
                .iter()
                .any(|e| &e.name == name && e.variant == variant)
            {
                let what = if variant.is_empty() {
                    format!(
                        "task `{name}` is listed twice; list each task once (or give one a `variant`)"
                    )
                } else {
                    format!(
                        "task `{name}` with variant `{variant}` is listed twice; list each (task, variant) once"
                    )
                };
                let span = t.variant.as_ref().map_or(t.name.span(), Spanned::span);
                return Err(invalid(Some(span), what));
            }
            let mut hyper = defaults.clone();
            hyper.apply(t.hyper()).map_err(at)?;
            // Counted before any job is built: the task that takes the total past the cap is
            // the line to point at.
            let task_jobs = checkpoints
                .len()
                .saturating_mul(hyper.learning_rates.len())
                .saturating_mul(hyper.finetune_seeds.len());
            total_jobs = total_jobs.saturating_add(task_jobs);
            if total_jobs > crate::MAX_JOBS {
                return Err(invalid(
                    Some(t.name.span()),
                    format!(
                        "the manifest expands to at least {total_jobs} jobs by this task ({task_jobs} = {} checkpoints x {} learning rates x {} fine-tuning seeds); at most {} are allowed",
                        checkpoints.len(),
                        hyper.learning_rates.len(),
                        hyper.finetune_seeds.len(),
                        crate::MAX_JOBS
                    ),
                ));
            }
            tasks.push(TaskEntry {
                name: spec.name.clone(),
                variant,
                augment,
                hyper,
            });
        }

        let mut analyses = Vec::new();
        for table in &raw.analyses {
            analyses.push(validate_analysis(table, &tasks, &registry, &analyses).map_err(at)?);
        }

        let slurm = match raw.slurm {
            Some(table) => {
                let span = table.span();
                table.into_inner().resolve(span).map_err(at)?
            }
            None => SlurmConfig::default(),
        };

        Ok(Manifest {
            name,
            description: raw.description,
            path: path.to_path_buf(),
            data_dir: raw.data_dir.map(|d| base_dir.join(d)),
            results_dir: PathBuf::from(raw.results_dir.unwrap_or_else(|| "results".to_string())),
            checkpoints,
            tasks,
            analyses,
            registry,
            slurm,
        })
    }

    /// Every job of the sweep: tasks × checkpoints × learning rates × fine-tuning seeds, in
    /// manifest order.
    pub fn jobs(&self) -> Vec<Job> {
        let mut jobs = Vec::new();
        for task in &self.tasks {
            for ckpt in &self.checkpoints {
                for &lr in &task.hyper.learning_rates {
                    for &seed in &task.hyper.finetune_seeds {
                        jobs.push(Job::new(task, ckpt, lr, seed));
                    }
                }
            }
        }
        jobs
    }

    /// The pre-training jobs of the manifest's `pretrain` checkpoints: one per (settings,
    /// seed), in manifest order.
    pub fn pretrain_jobs(&self) -> Vec<crate::PretrainJob> {
        let mut jobs: Vec<crate::PretrainJob> = Vec::new();
        for ckpt in &self.checkpoints {
            if let CheckpointSource::Pretrain { settings, seed, .. } = &ckpt.source {
                let job = crate::PretrainJob::new(settings, *seed);
                if !jobs.iter().any(|j| j.id == job.id) {
                    jobs.push(job);
                }
            }
        }
        jobs
    }

    /// This sweep's folder: `<results_dir>/<name>`.
    pub fn output_dir(&self) -> PathBuf {
        self.results_dir.join(&self.name)
    }
}

/// Why an evaluation-only task cannot be a `[[tasks]]` entry, and what to list instead.
fn eval_only_message(spec: &TaskSpec, registry: &TaskRegistry) -> String {
    let name = &spec.name;
    let head = format!(
        "task `{name}` is evaluation-only (it has no training split) and cannot be fine-tuned"
    );
    let alternatives: Vec<String> = registry
        .trainable_evaluating_on(spec)
        .iter()
        .map(|s| format!("`{}`", s.name))
        .collect();
    match alternatives.as_slice() {
        [] => format!(
            "{head}; list a task that trains on other data and evaluates on {name}'s `{}` split (a spec in `tasks_dir` whose source reads that split with `split_formats`, as `gap-winogender` does for `winogender`)",
            spec.eval_split
        ),
        [one] => format!("{head}; train on {one}, which evaluates on {name}"),
        [init @ .., last] => format!(
            "{head}; train on {} or {last}, which evaluate on {name}",
            init.join(", ")
        ),
    }
}

fn validate_analysis(
    table: &Spanned<RawAnalysis>,
    tasks: &[TaskEntry],
    registry: &TaskRegistry,
    earlier: &[Analysis],
) -> Result<Analysis, SpanError> {
    use crate::analysis::AnalysisKind;
    let a = table.get_ref();
    // It names report/<name>.json: nothing that leaves the folder or hides the file.
    let name = SafeName::new(a.name.get_ref().as_str()).map_err(|e| {
        (
            a.name.span(),
            format!("invalid analysis name {e} (it names report/<name>.json)"),
        )
    })?;
    if earlier.iter().any(|e| e.name == name) {
        return Err((
            a.name.span(),
            format!("analysis `{name}` is declared twice"),
        ));
    }
    let task = a.task.get_ref();
    let Some(entry) = tasks.iter().find(|t| t.name == *task) else {
        return Err((
            a.task.span(),
            format!(
                "analysis uses task `{task}`, which this manifest does not run; expected one of {}",
                one_of(tasks.iter().map(|t| &t.name))
            ),
        ));
    };
    let spec = registry
        .get(task)
        .map_err(|e| (a.task.span(), e.to_string()))?;
    let metric = match &a.metric {
        Some(m) => {
            let known = multiberts_tasks::KNOWN_METRICS;
            if !known.contains(&m.get_ref().as_str()) {
                return Err((
                    m.span(),
                    format!(
                        "unknown metric `{}`; expected one of {}",
                        m.get_ref(),
                        one_of(known)
                    ),
                ));
            }
            m.get_ref().clone()
        }
        None => spec.primary_metric().to_string(),
    };
    let selector = |s: &Option<Spanned<String>>| -> Result<Option<Selector>, SpanError> {
        s.as_ref()
            .map(|s| Selector::parse(s.get_ref()).map_err(|e| (s.span(), e.to_string())))
            .transpose()
    };
    let base = selector(&a.base)?.unwrap_or(Selector {
        conditions: Vec::new(),
    });
    let experiment = selector(&a.experiment)?;
    match (a.kind, &experiment) {
        (AnalysisKind::Single, Some(_)) => {
            let span = a.experiment.as_ref().map_or(table.span(), Spanned::span);
            return Err((span, "a `single` analysis has no `experiment`; use kind = \"paired\" or \"unpaired\" to compare".into()));
        }
        (AnalysisKind::Paired | AnalysisKind::Unpaired, None) => {
            return Err((table.span(), "a comparison needs `experiment = \"key=value,...\"` selecting the experimental runs".into()));
        }
        _ => {}
    }
    let nboot = match &a.nboot {
        Some(n) if *n.get_ref() == 0 => return Err((n.span(), "nboot must be at least 1".into())),
        Some(n) => *n.get_ref(),
        None => 1000,
    };
    let level = match &a.level {
        Some(l) if !(*l.get_ref() > 0.0 && *l.get_ref() < 1.0) => {
            return Err((
                l.span(),
                format!(
                    "level = {} is out of range; expected a probability such as 0.95",
                    l.get_ref()
                ),
            ));
        }
        Some(l) => *l.get_ref(),
        None => 0.95,
    };
    let rng = match &a.rng {
        Some(r) => {
            let text = r.get_ref();
            let ok = text.split_once(':').is_some_and(|(mode, seed)| {
                matches!(mode, "chacha" | "numpy") && seed.parse::<u64>().is_ok()
            });
            if !ok {
                return Err((
                    r.span(),
                    format!("rng {text:?} is invalid; expected \"chacha:SEED\" or \"numpy:SEED\""),
                ));
            }
            text.clone()
        }
        None => "chacha:0".to_string(),
    };
    Ok(Analysis {
        name,
        kind: a.kind,
        task: entry.name.clone(),
        metric,
        base,
        experiment,
        nboot,
        level,
        rng,
        sample_seeds: a.sample_seeds.unwrap_or(true),
        sample_examples: a.sample_examples.unwrap_or(true),
        expect_negative_effect: a.expect_negative_effect.unwrap_or(false),
        abs_threshold: a.abs_threshold,
        rel_threshold: a.rel_threshold,
    })
}
