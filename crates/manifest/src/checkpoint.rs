//! `[[checkpoints]]`: hub templates, local paths, generated random inits and pre-training runs
//! declared in the manifest, expanded over pre-training seeds and steps into concrete
//! checkpoints.

use serde::{Deserialize, Serialize};
use serde_spanned::Spanned;

use multiberts_tasks::SafeName;

use crate::hyper::SpanError;
use crate::ints::IntList;
use crate::pretrain::{PretrainSettings, RawPretrain};

/// Model sizes a random-init checkpoint can be generated at (the model crate builds them).
pub const INIT_CONFIGS: &[&str] = &["tiny", "mini", "small", "base"];

/// `init = { config = "tiny" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInit {
    pub(crate) config: Spanned<String>,
}

/// One `[[checkpoints]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCheckpoint {
    pub(crate) id: Option<Spanned<String>>,
    pub(crate) hub: Option<Spanned<String>>,
    pub(crate) revision: Option<Spanned<String>>,
    pub(crate) path: Option<Spanned<String>>,
    pub(crate) init: Option<Spanned<RawInit>>,
    pub(crate) pretrain: Option<Spanned<RawPretrain>>,
    pub(crate) seeds: Option<Spanned<IntList>>,
    pub(crate) steps: Option<Spanned<IntList>>,
}

/// Where a checkpoint's weights come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointSource {
    /// A Hugging Face hub repository at a revision.
    Hub {
        /// `owner/name`.
        repo: String,
        /// Branch, tag or commit.
        revision: String,
    },
    /// A local directory or weights file, as written in the manifest (relative paths are
    /// resolved against the manifest's folder when loading).
    Path {
        /// The path.
        path: String,
    },
    /// A random initialisation generated from a named size and a seed: the step-0 kind of
    /// checkpoint, which needs no download.
    Init {
        /// Model size name (see [`INIT_CONFIGS`]).
        config: String,
        /// Initialisation seed.
        seed: u64,
    },
    /// A step saved by a pre-training run of the same manifest (`pretrain = { ... }`): its
    /// pre-training job must have saved the step before a job fine-tunes it.
    Pretrain {
        /// The run's settings, paths as written in the manifest.
        settings: PretrainSettings,
        /// The pre-training seed.
        seed: u64,
        /// The optimizer step the checkpoint was saved after.
        step: u64,
    },
}

/// One concrete checkpoint after expanding seeds and steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Short name used in the results tree and in tables (unique in a manifest).
    pub id: SafeName,
    /// Where the weights come from.
    pub source: CheckpointSource,
    /// The pre-training seed, when known: what the Multi-Bootstrap resamples.
    pub pretrain_seed: Option<u64>,
    /// Pre-training step, when known. Hub checkpoints count it in thousands (`step_{step}k`
    /// in their names, as the released MultiBERTs); `pretrain` checkpoints count optimizer
    /// steps (`step_<N>/` of the run).
    pub step: Option<u64>,
    /// The byte span of the `[[checkpoints]]` table it came from (for duplicate errors).
    #[serde(skip)]
    pub(crate) span: std::ops::Range<usize>,
    /// Where its `path = ...` is written (line, column), for errors about the files there.
    #[serde(skip)]
    pub(crate) path_at: Option<multiberts_tasks::diag::LineCol>,
}

/// The first file a local checkpoint at `path` (a folder, or a weights file in one) lacks:
/// the path itself, the weights (`model.safetensors` or `pytorch_model.bin`), `config.json`
/// or `vocab.txt` (what a job reads). `None` when all are there.
pub fn missing_checkpoint_file(path: &std::path::Path) -> Option<std::path::PathBuf> {
    let dir = if path.is_file() {
        path.parent()?.to_path_buf()
    } else if path.is_dir() {
        let weights = ["model.safetensors", "pytorch_model.bin"];
        if !weights.iter().any(|w| path.join(w).is_file()) {
            return Some(path.join(weights[0]));
        }
        path.to_path_buf()
    } else {
        return Some(path.to_path_buf());
    };
    ["config.json", "vocab.txt"]
        .iter()
        .map(|f| dir.join(f))
        .find(|f| !f.is_file())
}

/// Substitutes `{seed}` and `{step}`; other `{…}` placeholders are errors.
fn fill(template: &str, seed: Option<u64>, step: Option<u64>) -> String {
    let mut out = template.to_string();
    if let Some(seed) = seed {
        out = out.replace("{seed}", &seed.to_string());
    }
    if let Some(step) = step {
        out = out.replace("{step}", &step.to_string());
    }
    out
}

fn check_placeholders(t: &Spanned<String>) -> Result<(), SpanError> {
    let mut rest = t.get_ref().as_str();
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            return Err((
                t.span(),
                "unclosed `{` in template; placeholders are {seed} and {step}".into(),
            ));
        };
        let name = &rest[open + 1..open + close];
        if name != "seed" && name != "step" {
            return Err((
                t.span(),
                format!("unknown placeholder {{{name}}}; expected {{seed}} or {{step}}"),
            ));
        }
        rest = &rest[open + close + 1..];
    }
    Ok(())
}

impl RawCheckpoint {
    /// Expands this table into concrete checkpoints; `span` is the table's own span.
    pub(crate) fn expand(
        &self,
        span: std::ops::Range<usize>,
    ) -> Result<Vec<Checkpoint>, SpanError> {
        let kinds = [
            self.hub.is_some(),
            self.path.is_some(),
            self.init.is_some(),
            self.pretrain.is_some(),
        ];
        if kinds.iter().filter(|&&k| k).count() != 1 {
            return Err((
                span,
                "a checkpoint needs exactly one of `hub = \"owner/name\"`, `path = \"dir\"`, `init = { config = \"tiny\" }` or `pretrain = { config = \"L2-H128\", corpus = [...], vocab = \"vocab.txt\", steps = 1000 }`".into(),
            ));
        }
        if let Some(pretrain) = &self.pretrain {
            return self.expand_pretrain(pretrain, span);
        }
        let seeds: Vec<Option<u64>> = match &self.seeds {
            Some(s) => s.get_ref().0.iter().copied().map(Some).collect(),
            None => vec![None],
        };
        let steps: Vec<Option<u64>> = match &self.steps {
            Some(s) => s.get_ref().0.iter().copied().map(Some).collect(),
            None => vec![None],
        };
        if let Some(id) = &self.id {
            check_placeholders(id)?;
        }
        if self.revision.is_some() && self.hub.is_none() {
            let r = self
                .revision
                .as_ref()
                .map(Spanned::span)
                .unwrap_or(span.clone());
            return Err((r, "`revision` only applies to `hub` checkpoints".into()));
        }

        // The template (hub or path) must vary with every list that has several values,
        // or the expansion would name the same weights several times.
        let template = self.hub.as_ref().or(self.path.as_ref());
        if let Some(t) = template {
            check_placeholders(t)?;
            for (key, list, placeholder) in [
                ("seeds", &self.seeds, "{seed}"),
                ("steps", &self.steps, "{step}"),
            ] {
                let has = t.get_ref().contains(placeholder);
                match list {
                    None if has => {
                        return Err((
                            t.span(),
                            format!(
                                "the template uses {placeholder} but the checkpoint has no `{key}` list"
                            ),
                        ));
                    }
                    Some(l) if !has && l.get_ref().0.len() > 1 => {
                        return Err((
                            l.span(),
                            format!(
                                "`{key}` lists {} values but the template has no {placeholder} placeholder, so they would all load the same weights",
                                l.get_ref().0.len()
                            ),
                        ));
                    }
                    _ => {}
                }
            }
        }
        if let Some(init) = &self.init {
            let config = init.get_ref().config.get_ref();
            if !INIT_CONFIGS.contains(&config.as_str()) {
                return Err((
                    init.get_ref().config.span(),
                    format!(
                        "unknown init config {config:?}; expected one of {}",
                        multiberts_tasks::diag::one_of(INIT_CONFIGS)
                    ),
                ));
            }
            if self.seeds.is_none() {
                return Err((
                    init.span(),
                    "an `init` checkpoint needs `seeds` (the initialisation seeds)".into(),
                ));
            }
            if let Some(steps) = &self.steps {
                return Err((
                    steps.span(),
                    "an `init` checkpoint is the step-0 kind; it takes no `steps`".into(),
                ));
            }
        }

        let count = seeds.len().saturating_mul(steps.len());
        if count > crate::MAX_JOBS {
            return Err((
                span,
                format!(
                    "this table expands to {count} checkpoints ({} seeds x {} steps); a manifest expands to at most {} jobs",
                    seeds.len(),
                    steps.len(),
                    crate::MAX_JOBS
                ),
            ));
        }
        let mut out = Vec::new();
        for &seed in &seeds {
            for &step in &steps {
                let (source, default_id) = if let Some(hub) = &self.hub {
                    let repo = fill(hub.get_ref(), seed, step);
                    if repo.split('/').count() != 2 || repo.split('/').any(str::is_empty) {
                        return Err((
                            hub.span(),
                            format!("hub repo {repo:?} is not of the form \"owner/name\""),
                        ));
                    }
                    let name = repo.rsplit('/').next().unwrap_or(&repo).to_string();
                    let revision = self
                        .revision
                        .as_ref()
                        .map_or_else(|| "main".to_string(), |r| r.get_ref().clone());
                    (CheckpointSource::Hub { repo, revision }, name)
                } else if let Some(path) = &self.path {
                    let p = fill(path.get_ref(), seed, step);
                    let name = std::path::Path::new(&p)
                        .file_name()
                        .map_or_else(|| p.clone(), |n| n.to_string_lossy().into_owned());
                    (CheckpointSource::Path { path: p }, name)
                } else {
                    let config = self
                        .init
                        .as_ref()
                        .map(|i| i.get_ref().config.get_ref().clone())
                        .unwrap_or_default();
                    let seed = seed.unwrap_or_default();
                    let name = format!("init-{config}-seed_{seed}");
                    (CheckpointSource::Init { config, seed }, name)
                };
                let id = match &self.id {
                    Some(t) => fill(t.get_ref(), seed, step),
                    None => default_id,
                };
                // The id names the checkpoint's folder in the results tree.
                let id = SafeName::new(id).map_err(|e| {
                    let at = [&self.id, &self.hub, &self.path]
                        .into_iter()
                        .find_map(|k| k.as_ref().map(Spanned::span))
                        .unwrap_or(span.clone());
                    let hint = if self.id.is_some() {
                        ""
                    } else {
                        "; name the checkpoint with `id = \"...\"`"
                    };
                    (
                        at,
                        format!("invalid checkpoint id {e} (it names a results folder){hint}"),
                    )
                })?;
                out.push(Checkpoint {
                    id,
                    source,
                    pretrain_seed: seed,
                    step,
                    span: span.clone(),
                    path_at: None,
                });
            }
        }
        Ok(out)
    }

    /// Expands a `pretrain = { ... }` table: one checkpoint per seed and fine-tuned step
    /// (`steps`, default: every saved step).
    fn expand_pretrain(
        &self,
        pretrain: &Spanned<RawPretrain>,
        span: std::ops::Range<usize>,
    ) -> Result<Vec<Checkpoint>, SpanError> {
        if let Some(r) = &self.revision {
            return Err((
                r.span(),
                "`revision` only applies to `hub` checkpoints".into(),
            ));
        }
        let settings = pretrain.get_ref().resolve()?;
        let Some(seeds) = &self.seeds else {
            return Err((
                pretrain.span(),
                "a `pretrain` checkpoint needs `seeds` (the pre-training seeds)".into(),
            ));
        };
        let steps = match &self.steps {
            Some(steps) => {
                let saved = &settings.save_steps;
                if let Some(missing) = steps.get_ref().0.iter().find(|s| !saved.contains(s)) {
                    let saved: Vec<String> = saved.iter().map(u64::to_string).collect();
                    return Err((
                        steps.span(),
                        format!(
                            "step {missing} is not saved by this run; expected steps among its \
                             save_steps and last step: {}",
                            saved.join(", ")
                        ),
                    ));
                }
                steps.get_ref().0.clone()
            }
            None => settings.save_steps.clone(),
        };
        if let Some(id) = &self.id {
            check_placeholders(id)?;
        }
        let count = seeds.get_ref().0.len().saturating_mul(steps.len());
        if count > crate::MAX_JOBS {
            return Err((
                span,
                format!(
                    "this table expands to {count} checkpoints; a manifest expands to at most {} jobs",
                    crate::MAX_JOBS
                ),
            ));
        }
        let mut out = Vec::new();
        for &seed in &seeds.get_ref().0 {
            for &step in &steps {
                let template = self
                    .id
                    .as_ref()
                    .map_or("pretrain-seed_{seed}-step_{step}", |t| t.get_ref().as_str());
                let id = SafeName::new(fill(template, Some(seed), Some(step))).map_err(|e| {
                    let at = self.id.as_ref().map_or(span.clone(), Spanned::span);
                    (
                        at,
                        format!("invalid checkpoint id {e} (it names a results folder)"),
                    )
                })?;
                out.push(Checkpoint {
                    id,
                    source: CheckpointSource::Pretrain {
                        settings: settings.clone(),
                        seed,
                        step,
                    },
                    pretrain_seed: Some(seed),
                    step: Some(step),
                    span: span.clone(),
                    path_at: None,
                });
            }
        }
        Ok(out)
    }
}
