//! The manifests shipped in manifests/: sizes of the paper's protocols, stable ids, and ids that
//! change exactly where a hyper-parameter changes.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use multiberts_manifest::{CheckpointSource, Manifest, Selector};

fn shipped(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../manifests")
        .join(name)
}

#[test]
fn glue_protocol_has_4000_jobs_with_unique_ids() {
    let m = Manifest::from_file(&shipped("multiberts-glue.toml")).unwrap();
    let jobs = m.jobs();
    assert_eq!(jobs.len(), 4000);
    assert_eq!(m.checkpoints.len(), 25);
    assert_eq!(m.tasks.len(), 8);
    let ids: HashSet<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(ids.len(), 4000, "job ids must be unique");
    assert_eq!(
        m.checkpoints[24].source,
        CheckpointSource::Hub {
            repo: "google/multiberts-seed_24".into(),
            revision: "main".into()
        }
    );
}

/// The paper's SQuAD protocol: 25 final MultiBERTs and the original BERT, 5 runs each at lr
/// 5e-5, with the unpaired exact and F1 analyses.
#[test]
fn squad_protocol_has_130_jobs_and_the_unpaired_analyses() {
    let m = Manifest::from_file(&shipped("multiberts-squad.toml")).unwrap();
    let jobs = m.jobs();
    assert_eq!(jobs.len(), 130);
    assert!(
        jobs.iter()
            .all(|j| j.task == "squad2" && j.learning_rate == 5e-5)
    );
    let original = jobs
        .iter()
        .filter(|j| j.checkpoint.id == "bert-base-uncased")
        .count();
    assert_eq!(original, 5);
    let analyses: Vec<(&str, &str)> = m
        .analyses
        .iter()
        .map(|a| (a.name.as_str(), a.metric.as_str()))
        .collect();
    assert_eq!(analyses, [("squad-exact", "exact"), ("squad-f1", "f1")]);
}

#[test]
fn ids_are_stable_across_loads() {
    let a = Manifest::from_file(&shipped("multiberts-glue.toml"))
        .unwrap()
        .jobs();
    let b = Manifest::from_file(&shipped("multiberts-glue.toml"))
        .unwrap()
        .jobs();
    let ids_a: Vec<&str> = a.iter().map(|j| j.id.as_str()).collect();
    let ids_b: Vec<&str> = b.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(ids_a, ids_b);
    // Pinned: a change here means every user's finished sweep would be re-run. Bump
    // PROCEDURE_VERSION deliberately instead of changing this by accident.
    assert_eq!(
        a[0].canonical_json(),
        r#"{"checkpoint":{"pretrain_seed":0,"source":{"hub":{"repo":"google/multiberts-seed_0","revision":"main"}},"step":2000},"finetune_seed":0,"hyper":{"adam_beta1":0.9,"adam_beta2":0.999,"adam_epsilon":1e-6,"batch_size":32,"epochs":3,"eval_batch_size":128,"max_grad_norm":1.0,"max_seq_len":128,"max_train_examples":null,"warmup_ratio":0.1,"weight_decay":0.01},"learning_rate":0.00002,"procedure_version":3,"task":"cola"}"#
    );
}

#[test]
fn one_task_override_changes_exactly_that_tasks_ids() {
    let text = std::fs::read_to_string(shipped("multiberts-glue.toml")).unwrap();
    let before = Manifest::from_toml(Path::new("glue.toml"), &text)
        .unwrap()
        .jobs();
    let changed = text.replace(
        "[[tasks]]\nname = \"rte\"\n",
        "[[tasks]]\nname = \"rte\"\nepochs = 4\n",
    );
    assert_ne!(changed, text);
    let after = Manifest::from_toml(Path::new("glue.toml"), &changed)
        .unwrap()
        .jobs();
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        if b.task == "rte" {
            assert_ne!(b.id, a.id, "rte jobs must change");
        } else {
            assert_eq!(b.id, a.id, "{} jobs must not change", b.task);
        }
    }
}

#[test]
fn one_default_change_changes_every_id_and_a_new_rate_adds_jobs() {
    let text = std::fs::read_to_string(shipped("multiberts-glue.toml")).unwrap();
    let before = Manifest::from_toml(Path::new("g.toml"), &text)
        .unwrap()
        .jobs();
    let changed = text.replace("warmup_ratio = 0.1", "warmup_ratio = 0.06");
    let after = Manifest::from_toml(Path::new("g.toml"), &changed)
        .unwrap()
        .jobs();
    assert!(before.iter().zip(&after).all(|(b, a)| b.id != a.id));

    // Adding a learning rate keeps every existing job and adds 1000 new ones.
    let more = text.replace("[2e-5, 3e-5, 4e-5, 5e-5]", "[2e-5, 3e-5, 4e-5, 5e-5, 1e-4]");
    let more = Manifest::from_toml(Path::new("g.toml"), &more)
        .unwrap()
        .jobs();
    assert_eq!(more.len(), 5000);
    let ids: HashSet<&str> = more.iter().map(|j| j.id.as_str()).collect();
    assert!(before.iter().all(|j| ids.contains(j.id.as_str())));
}

#[test]
fn renaming_a_checkpoint_keeps_job_ids() {
    let text = std::fs::read_to_string(shipped("multiberts-glue.toml")).unwrap();
    let before = Manifest::from_toml(Path::new("g.toml"), &text)
        .unwrap()
        .jobs();
    let renamed = text.replace("id = \"seed_{seed}\"", "id = \"multibert-{seed}\"");
    let after = Manifest::from_toml(Path::new("g.toml"), &renamed)
        .unwrap()
        .jobs();
    assert_eq!(after[0].checkpoint.id, "multibert-0");
    assert!(before.iter().zip(&after).all(|(b, a)| b.id == a.id));
}

#[test]
fn intermediate_checkpoints_are_the_145_released_ones() {
    let m = Manifest::from_file(&shipped("multiberts-intermediate.toml")).unwrap();
    assert_eq!(m.checkpoints.len(), 5 * 29);
    let steps: Vec<u64> = m
        .checkpoints
        .iter()
        .filter(|c| c.pretrain_seed == Some(0))
        .map(|c| c.step.unwrap())
        .collect();
    let mut expected: Vec<u64> = (0..=200).step_by(20).collect();
    expected.extend((300..=2000).step_by(100));
    assert_eq!(steps, expected);
    let names: Vec<String> = m
        .checkpoints
        .iter()
        .map(|c| match &c.source {
            CheckpointSource::Hub { repo, .. } => repo.clone(),
            other => panic!("expected hub checkpoints, found {other:?}"),
        })
        .collect();
    assert!(names.contains(&"google/multiberts-seed_4-step_0k".to_string()));
    assert!(names.contains(&"google/multiberts-seed_0-step_2000k".to_string()));
    assert!(names.contains(&"google/multiberts-seed_2-step_180k".to_string()));
    assert_eq!(m.checkpoints[0].id, "seed_0-step_0k");
}

#[test]
fn demo_and_example_manifests_are_valid() {
    let demo = Manifest::demo().unwrap();
    assert_eq!(demo.name, "demo");
    assert_eq!(demo.jobs().len(), 60);
    assert!(matches!(
        demo.checkpoints[0].source,
        CheckpointSource::Init { .. }
    ));
    assert_eq!(demo.analyses.len(), 3);
    let on_disk = Manifest::from_file(&shipped("demo.toml")).unwrap();
    assert_eq!(
        on_disk.jobs().iter().map(|j| &j.id).collect::<Vec<_>>(),
        demo.jobs().iter().map(|j| &j.id).collect::<Vec<_>>()
    );
    let example = Manifest::from_file(&shipped("example.toml")).unwrap();
    assert_eq!(example.checkpoints.len(), 4 + 1 + 3);
    assert_eq!(example.tasks[0].hyper.epochs, 4);
    assert_eq!(example.tasks[1].hyper.epochs, 3);
}

/// Issue 17's recipe: 5 pre-training seeds, at least 5 saved steps each, every step fine-tuned on
/// an SST-2 subset with 2 fine-tuning seeds, and a paired last-vs-early analysis whose steps
/// are saved ones.
#[test]
fn miniature_recipe_pretrains_5_seeds_and_fine_tunes_every_saved_step() {
    let m = Manifest::from_file(&shipped("miniature.toml")).unwrap();
    let pretrain = m.pretrain_jobs();
    let seeds: Vec<u64> = pretrain.iter().map(|p| p.seed).collect();
    assert_eq!(seeds, [0, 1, 2, 3, 4]);
    let saved = &pretrain[0].settings.save_steps;
    assert!(saved.len() >= 5, "saved steps {saved:?}");
    assert_eq!(saved.last(), Some(&pretrain[0].settings.steps));

    let jobs = m.jobs();
    assert_eq!(jobs.len(), 5 * saved.len() * 2);
    assert!(jobs.iter().all(|j| j.task.as_str() == "sst2"));
    let finetune_seeds: HashSet<u64> = jobs.iter().map(|j| j.finetune_seed).collect();
    assert_eq!(finetune_seeds, HashSet::from([0, 1]));
    assert!(jobs.iter().all(|j| j.hyper.max_train_examples.is_some()));
    let steps: HashSet<u64> = m.checkpoints.iter().filter_map(|c| c.step).collect();
    assert_eq!(steps, saved.iter().copied().collect());

    let [analysis] = m.analyses.as_slice() else {
        panic!("expected one analysis, found {:?}", m.analyses);
    };
    let step = |selector: Option<&Selector>| {
        selector
            .and_then(|s| s.get("step"))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let base = step(Some(&analysis.base)).expect("base selects a step");
    let experiment = step(analysis.experiment.as_ref()).expect("experiment selects a step");
    assert!(base < experiment && steps.contains(&base));
    assert_eq!(experiment, pretrain[0].settings.steps);
}

/// A one-task manifest (`p.toml`) with `extra` appended to its task table (line 8 on).
const ONE_TASK: &str = r#"
name = "p"
[[checkpoints]]
init = { config = "tiny" }
seeds = [0]
[[tasks]]
name = "demo-sentiment"
"#;

/// The jobs of [`ONE_TASK`] with `extra`.
fn one_task_jobs(extra: &str) -> Vec<multiberts_manifest::Job> {
    Manifest::from_toml(Path::new("p.toml"), &format!("{ONE_TASK}{extra}"))
        .unwrap()
        .jobs()
}

/// The error [`ONE_TASK`] with `extra` is refused with.
fn one_task_error(extra: &str) -> String {
    Manifest::from_toml(Path::new("p.toml"), &format!("{ONE_TASK}{extra}"))
        .unwrap_err()
        .to_string()
}

/// `precision` is a hyper-parameter: non-default values change exactly the ids of the jobs
/// they apply to (and name themselves in the canonical object), fp32 keeps the ids it had
/// before the key existed, and a wrong value points at the key.
#[test]
fn precision_is_part_of_the_job_identity_and_validated() {
    let default = one_task_jobs("");
    let fp32 = one_task_jobs("precision = \"fp32\"\n");
    let bf16 = one_task_jobs("precision = \"BF16\"\n");
    let tf32 = one_task_jobs("precision = \"tf32\"\n");
    assert_eq!(default[0].id, fp32[0].id);
    assert!(!default[0].canonical_json().contains("precision"));
    assert_eq!(
        bf16[0].hyper.precision,
        multiberts_manifest::Precision::Bf16
    );
    assert!(bf16[0].canonical_json().contains(r#""precision":"bf16""#));
    assert_ne!(bf16[0].id, default[0].id);
    assert_ne!(tf32[0].id, default[0].id);
    assert_ne!(tf32[0].id, bf16[0].id);

    let err = one_task_error("precision = \"fp16\"\n");
    assert!(
        err.contains("p.toml:8:13") && err.contains("\"fp16\" is not supported"),
        "{err}"
    );
}

/// `eval_order` is a hyper-parameter like `eval_batch_size`: `length` changes the ids (and
/// names itself in the canonical object), `file` keeps the ids jobs had before the key
/// existed, and a wrong value points at the key.
#[test]
fn eval_order_is_part_of_the_job_identity_and_validated() {
    let default = one_task_jobs("");
    let file = one_task_jobs("eval_order = \"file\"\n");
    let length = one_task_jobs("eval_order = \"Length\"\n");
    assert_eq!(default[0].id, file[0].id);
    assert!(!default[0].canonical_json().contains("eval_order"));
    assert_eq!(
        length[0].hyper.eval_order,
        multiberts_manifest::EvalOrder::Length
    );
    assert!(
        length[0]
            .canonical_json()
            .contains(r#""eval_order":"length""#)
    );
    assert_ne!(length[0].id, default[0].id);
    // In job.json too: left out for file order (older job files stay byte-identical and
    // parse as file order), written for length order.
    let written = serde_json::to_string(&default[0].hyper).unwrap();
    assert!(!written.contains("eval_order"), "{written}");
    let read: multiberts_manifest::Hyper = serde_json::from_str(&written).unwrap();
    assert_eq!(read, default[0].hyper);
    let written = serde_json::to_string(&length[0].hyper).unwrap();
    let read: multiberts_manifest::Hyper = serde_json::from_str(&written).unwrap();
    assert_eq!(read, length[0].hyper);

    let err = one_task_error("eval_order = \"random\"\n");
    assert!(
        err.contains("p.toml:8:14") && err.contains("\"random\" is not supported"),
        "{err}"
    );
}
