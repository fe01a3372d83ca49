//! Jobs: one fine-tuning run, fully described by a canonical JSON object whose hash is its id.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use multiberts_tasks::{Augmentation, SafeName};

use crate::checkpoint::Checkpoint;
use crate::hyper::{EvalOrder, Hyper, Precision};
use crate::manifest::TaskEntry;

/// Version of the fine-tuning *procedure* (not of the binary). Bump it when a change alters what
/// a job computes (e.g. a new tokenization rule), so that old results are not mistaken for new.
///
/// History: 1, the first release; 2, generated (`init`) checkpoints' vocabulary also covers the
/// generated coreference task's words, so their weights (and every result on them) changed;
/// 3, the runner skips padded positions (dropout masks are drawn for real tokens only), the
/// model's kernels round as torch's CPU kernels do, and training span pairs too far apart for
/// one window are left out instead of failing the job.
pub const PROCEDURE_VERSION: u32 = 3;

/// The most jobs one manifest may expand to; a manifest past it is refused with its count and
/// the line that made it too large, before any job is built.
pub const MAX_JOBS: usize = 1_000_000;

/// Hex characters of the sha256 kept as a job id (48 bits: collisions are negligible even for
/// hundreds of thousands of jobs).
const ID_LEN: usize = 12;

/// One fine-tuning run: a checkpoint, a task, hyper-parameters, a learning rate and a seed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    /// Short stable hash of [`Job::canonical`].
    pub id: String,
    /// The task's name.
    pub task: SafeName,
    /// The task variant (`""` for the task as specified); it names the runs in the predictions'
    /// `variant` column.
    pub variant: String,
    /// Augmentation of the training split (e.g. `cda`), when the variant has one.
    pub augment: Option<Augmentation>,
    /// The checkpoint fine-tuned.
    pub checkpoint: Checkpoint,
    /// The task's resolved hyper-parameters (its lists are the sweep, not this job's values).
    #[serde(skip)]
    pub hyper: Hyper,
    /// This job's peak learning rate.
    pub learning_rate: f64,
    /// This job's fine-tuning seed.
    pub finetune_seed: u64,
    /// The canonical object the id hashes: everything that determines the job's outputs.
    pub canonical: Value,
}

impl Job {
    pub(crate) fn new(task: &TaskEntry, checkpoint: &Checkpoint, lr: f64, seed: u64) -> Job {
        let hyper = &task.hyper;
        let canonical = canonical_object(task, checkpoint, lr, seed);
        let id = job_id(&canonical);
        Job {
            id,
            task: task.name.clone(),
            variant: task.variant.clone(),
            augment: task.augment,
            checkpoint: checkpoint.clone(),
            hyper: hyper.clone(),
            learning_rate: lr,
            finetune_seed: seed,
            canonical,
        }
    }

    /// The canonical object as compact JSON with sorted keys (what the id hashes).
    pub fn canonical_json(&self) -> String {
        canonical_string(&self.canonical)
    }
}

/// Builds the object that determines a job. The checkpoint's display id is left out on purpose:
/// renaming a checkpoint does not change what is computed. `variant` and `augment` appear only
/// when set, so the ids of jobs without a variant are those of manifests before variants.
fn canonical_object(task: &TaskEntry, checkpoint: &Checkpoint, lr: f64, seed: u64) -> Value {
    let hyper = &task.hyper;
    let mut object = serde_json::json!({
        "procedure_version": PROCEDURE_VERSION,
        "task": task.name,
        "checkpoint": {
            "source": checkpoint.source,
            "pretrain_seed": checkpoint.pretrain_seed,
            "step": checkpoint.step,
        },
        "hyper": {
            "max_seq_len": hyper.max_seq_len,
            "batch_size": hyper.batch_size,
            "eval_batch_size": hyper.eval_batch_size,
            "epochs": hyper.epochs,
            "warmup_ratio": hyper.warmup_ratio,
            "weight_decay": hyper.weight_decay,
            "max_grad_norm": hyper.max_grad_norm,
            "adam_beta1": hyper.adam_beta1,
            "adam_beta2": hyper.adam_beta2,
            "adam_epsilon": hyper.adam_epsilon,
            "max_train_examples": hyper.max_train_examples,
        },
        "learning_rate": lr,
        "finetune_seed": seed,
    });
    if let Value::Object(map) = &mut object {
        if !task.variant.is_empty() {
            map.insert("variant".into(), Value::String(task.variant.clone()));
        }
        if let Some(a) = &task.augment {
            map.insert("augment".into(), Value::String(a.name().into()));
        }
        // Keys added after the first release go in only when not their default, so jobs that
        // leave them at it keep the ids they had before the key existed.
        let later_keys = [
            (
                "precision",
                hyper.precision != Precision::Fp32,
                hyper.precision.name(),
            ),
            (
                "eval_order",
                hyper.eval_order != EvalOrder::File,
                hyper.eval_order.name(),
            ),
        ];
        if let Some(Value::Object(h)) = map.get_mut("hyper") {
            for (key, set, value) in later_keys {
                if set {
                    h.insert(key.into(), Value::String(value.into()));
                }
            }
        }
    }
    object
}

/// Compact JSON with object keys sorted at every level, so the text (and the hash) does not
/// depend on insertion order.
pub fn canonical_string(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                let mut out = serde_json::Map::new();
                for k in keys {
                    out.insert(k.clone(), sorted(&map[k]));
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

/// The id of a canonical object: the first hex characters of its sha256.
pub fn job_id(canonical: &Value) -> String {
    let digest = Sha256::digest(canonical_string(canonical).as_bytes());
    hex::encode(digest)[..ID_LEN].to_string()
}
