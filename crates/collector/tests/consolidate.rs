//! Consolidation and the paper's best-learning-rate rule, on hand-made scores.

mod common;

use common::{Spec, write_job};
use multiberts_collector::consolidate::{RunScore, read_selection, selection_path, table_path};
use multiberts_collector::{
    ConsolidateOptions, Consolidation, LrGroup, LrRule, ResultsTree, StepUnit, consolidate_task,
    consolidate_task_of, read_predictions, select_best_lr,
};

const PER_CHECKPOINT: ConsolidateOptions = ConsolidateOptions {
    rule: LrRule::BestMeanDev,
    group: LrGroup::Checkpoint,
    step_unit: StepUnit::Thousands,
};
const PAPER: ConsolidateOptions = ConsolidateOptions {
    rule: LrRule::BestMeanDev,
    group: LrGroup::Step,
    step_unit: StepUnit::Thousands,
};

fn run(job: &str, ckpt: &str, variant: &str, lr: f64, seed: i64, score: f64) -> RunScore {
    RunScore {
        job_id: job.into(),
        checkpoint: ckpt.into(),
        group: format!("checkpoint={ckpt}"),
        variant: variant.into(),
        learning_rate: lr,
        finetune_seed: seed,
        score,
    }
}

#[test]
fn best_mean_wins_nan_runs_are_left_out_and_ties_go_to_the_smaller_rate() {
    let runs = vec![
        // Checkpoint s0: means 0.81, 0.82 and (NaN left out) 0.83 → 5e-5.
        run("a1", "s0", "", 2e-5, 0, 0.80),
        run("a2", "s0", "", 2e-5, 1, 0.82),
        run("b1", "s0", "", 3e-5, 0, 0.85),
        run("b2", "s0", "", 3e-5, 1, 0.79),
        run("c2", "s0", "", 5e-5, 1, 0.83),
        run("c1", "s0", "", 5e-5, 0, f64::NAN),
        // Same checkpoint with a variant: its own group. Exact tie 0.5 = 0.5 → 2e-5,
        // listed in reverse to show input order does not matter.
        run("v4", "s0", "cda", 3e-5, 1, 0.5),
        run("v3", "s0", "cda", 3e-5, 0, 0.5),
        run("v2", "s0", "cda", 2e-5, 1, 0.75),
        run("v1", "s0", "cda", 2e-5, 0, 0.25),
        // A single learning rate: kept as is.
        run("s1", "s1", "", 4e-5, 0, 0.1),
    ];
    let groups = select_best_lr(&runs).unwrap();
    let summary: Vec<(&str, &str, f64, Vec<&str>)> = groups
        .iter()
        .map(|g| {
            (
                g.group.as_str(),
                g.variant.as_str(),
                g.chosen_learning_rate,
                g.jobs.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("checkpoint=s0", "", 5e-5, vec!["c1", "c2"]),
            ("checkpoint=s0", "cda", 2e-5, vec!["v1", "v2"]),
            ("checkpoint=s1", "", 4e-5, vec!["s1"]),
        ]
    );
    let c = &groups[0].candidates;
    assert_eq!(
        c.iter().map(|c| c.learning_rate).collect::<Vec<_>>(),
        vec![2e-5, 3e-5, 5e-5]
    );
    assert!((c[0].mean.unwrap() - 0.81).abs() < 1e-12);
    assert!((c[1].mean.unwrap() - 0.82).abs() < 1e-12);
    assert_eq!((c[2].mean, c[2].runs, c[2].nan_runs), (Some(0.83), 2, 1));
    assert_eq!(groups[1].candidates[0].mean, Some(0.5));
    assert_eq!(groups[1].candidates[1].mean, Some(0.5));
}

#[test]
fn groups_are_steps_or_checkpoints() {
    let k = StepUnit::Thousands;
    assert_eq!(LrGroup::Step.key("seed_3", Some(2000), k), "step=2000k");
    assert_eq!(LrGroup::Step.key("seed_4", Some(2000), k), "step=2000k");
    assert_eq!(LrGroup::Step.key("seed_3", Some(1000), k), "step=1000k");
    assert_eq!(LrGroup::Step.key("my-bert", None, k), "step=unknown");
    assert_eq!(
        LrGroup::Checkpoint.key("seed_3", Some(2000), k),
        "checkpoint=seed_3"
    );
    // A manifest's own pre-training run counts optimizer steps: step 300 is `step=300`, as
    // a selector picks it.
    let own = StepUnit::Optimizer;
    assert_eq!(
        LrGroup::Step.key("pretrain-seed_0", Some(300), own),
        "step=300"
    );
}

#[test]
fn a_group_with_only_nan_scores_is_an_error() {
    let runs = vec![run("x", "s9", "", 2e-5, 0, f64::NAN)];
    let err = select_best_lr(&runs).unwrap_err();
    assert!(
        err.to_string().contains("group `checkpoint=s9`") && err.to_string().contains("NaN"),
        "{err}"
    );
}

fn spec<'a>(
    checkpoint: &'a str,
    job_id: &'a str,
    lr: f64,
    ft_seed: i64,
    final_score: f64,
) -> Spec<'a> {
    Spec {
        task: "rte",
        checkpoint,
        job_id,
        variant: "",
        lr,
        ft_seed,
        final_score,
    }
}

/// ckpt-a: 2e-5 mean 0.6, 3e-5 mean 0.7; ckpt-b: 2e-5 mean 0.65, 3e-5 mean 0.525.
/// Pooled over both checkpoints (same step): 2e-5 mean 0.625, 3e-5 mean 0.6125.
fn fixture(tree: &ResultsTree) {
    let specs = [
        spec("ckpt-a", "a20", 2e-5, 0, 0.5),
        spec("ckpt-a", "a21", 2e-5, 1, 0.7),
        spec("ckpt-a", "a30", 3e-5, 0, 0.75),
        spec("ckpt-a", "a31", 3e-5, 1, 0.65),
        spec("ckpt-b", "b20", 2e-5, 0, 0.6),
        spec("ckpt-b", "b21", 2e-5, 1, 0.7),
        spec("ckpt-b", "b30", 3e-5, 0, 0.5),
        spec("ckpt-b", "b31", 3e-5, 1, 0.55),
    ];
    for s in &specs {
        write_job(tree, s, true);
    }
    // Killed before DONE, with a score that would flip every choice if it were counted.
    write_job(tree, &spec("ckpt-b", "b32", 3e-5, 2, 1.0), false);
}

fn finish_killed_job(tree: &ResultsTree) {
    let killed = tree.job("rte", "ckpt-b", "b32").unwrap();
    killed.prepare().unwrap();
    write_job(tree, &spec("ckpt-b", "b32", 3e-5, 2, 1.0), true);
}

fn job_order(tree: &ResultsTree) -> Vec<(String, i64)> {
    read_predictions(&table_path(tree, "rte"))
        .unwrap()
        .into_iter()
        .map(|r| (r.job_id, r.example_index))
        .collect()
}

fn rows_of(jobs: &[&str]) -> Vec<(String, i64)> {
    jobs.iter()
        .flat_map(|j| (0..4).map(move |i| (j.to_string(), i)))
        .collect()
}

#[test]
fn paper_rule_chooses_one_rate_per_step_across_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let tree = ResultsTree::new(dir.path(), "demo").unwrap();
    fixture(&tree);
    assert_eq!(ConsolidateOptions::default(), PAPER);

    let c = consolidate_task(&tree, "rte", PAPER).unwrap();
    assert_eq!(c.primary_metric, "accuracy");
    assert_eq!((c.jobs_done, c.jobs_kept, c.rows), (8, 4, 16));
    assert_eq!(c.jobs_not_done, vec!["ckpt-b/b32".to_string()]);
    assert_eq!(c.groups.len(), 1);
    let g = &c.groups[0];
    assert_eq!(g.group, "step=0k");
    assert_eq!(g.checkpoints, vec!["ckpt-a", "ckpt-b"]);
    assert_eq!(g.chosen_learning_rate, 2e-5);
    assert!((g.candidates[0].mean.unwrap() - 0.625).abs() < 1e-12);
    assert!((g.candidates[1].mean.unwrap() - 0.6125).abs() < 1e-12);
    assert_eq!(job_order(&tree), rows_of(&["a20", "a21", "b20", "b21"]));

    let path = selection_path(&tree, "rte");
    assert_eq!(path, dir.path().join("demo/predictions/rte.selection.json"));
    let text = std::fs::read_to_string(&path).unwrap();
    let recorded: Consolidation = serde_json::from_str(&text).unwrap();
    assert_eq!(recorded, c);
    assert_eq!(read_selection(&tree, "rte").unwrap(), c);
    let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (raw["rule"].as_str(), raw["group_by"].as_str()),
        (Some("best_mean_dev"), Some("step"))
    );
    let description = raw["rule_description"].as_str().unwrap();
    assert!(
        description.contains("pre-training step") && description.contains("smallest learning rate")
    );

    // The killed job is re-run and finishes: 3e-5 pooled = (0.75+0.65+0.5+0.55+1.0)/5 = 0.69.
    finish_killed_job(&tree);
    let c = consolidate_task(&tree, "rte", PAPER).unwrap();
    assert_eq!(c.groups[0].chosen_learning_rate, 3e-5);
    assert_eq!(c.groups[0].jobs, vec!["a30", "a31", "b30", "b31", "b32"]);
    assert!(c.jobs_not_done.is_empty());
}

#[test]
fn per_checkpoint_rule_and_keep_all() {
    let dir = tempfile::tempdir().unwrap();
    let tree = ResultsTree::new(dir.path(), "demo").unwrap();
    fixture(&tree);
    let c = consolidate_task(&tree, "rte", PER_CHECKPOINT).unwrap();
    let chosen: Vec<(&str, f64)> = c
        .groups
        .iter()
        .map(|g| (g.group.as_str(), g.chosen_learning_rate))
        .collect();
    assert_eq!(
        chosen,
        vec![("checkpoint=ckpt-a", 3e-5), ("checkpoint=ckpt-b", 2e-5)]
    );
    assert_eq!(job_order(&tree), rows_of(&["a30", "a31", "b20", "b21"]));

    // b32 done: ckpt-b 3e-5 = (0.5 + 0.55 + 1.0) / 3 ≈ 0.683 > 0.65.
    finish_killed_job(&tree);
    let c = consolidate_task(&tree, "rte", PER_CHECKPOINT).unwrap();
    assert_eq!(c.groups[1].chosen_learning_rate, 3e-5);
    assert_eq!(c.groups[1].jobs, vec!["b30", "b31", "b32"]);

    let keep_all = ConsolidateOptions {
        rule: LrRule::KeepAll,
        ..PAPER
    };
    let all = consolidate_task(&tree, "rte", keep_all).unwrap();
    assert_eq!((all.jobs_kept, all.rows), (9, 36));
    assert!(all.groups.is_empty());
}

#[test]
fn consolidation_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let tree = ResultsTree::new(dir.path(), "demo").unwrap();
    let err = consolidate_task(&tree, "rte", PAPER).unwrap_err();
    assert!(
        err.to_string().contains("no done jobs (0 unfinished)"),
        "{err}"
    );

    write_job(&tree, &spec("c", "j1", 2e-5, 0, 0.5), true);
    let j2 = write_job(&tree, &spec("c", "j2", 2e-5, 1, 0.5), false);
    let mut m = common::metrics(0.5);
    m.primary_metric = "mcc".into();
    for e in &mut m.epochs {
        e.dev.insert("mcc".into(), 0.1);
    }
    j2.write_metrics(&m).unwrap();
    j2.mark_done().unwrap();
    let err = consolidate_task(&tree, "rte", PAPER).unwrap_err();
    assert!(
        err.to_string().contains("disagree on the primary metric"),
        "{err}"
    );
}

/// A sweep consolidates only its manifest's jobs: a done job left in the tree by an earlier
/// version of the manifest (same checkpoint, rate and seed, other hyper-parameters) is neither
/// counted nor written, and would otherwise collide with its successor in the upstream export.
#[test]
fn jobs_outside_the_filter_are_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let tree = ResultsTree::new(dir.path(), "demo").unwrap();
    write_job(&tree, &spec("c", "old1", 2e-5, 0, 0.9), true);
    write_job(&tree, &spec("c", "new1", 2e-5, 0, 0.5), true);
    write_job(&tree, &spec("c", "new2", 2e-5, 1, 0.7), true);

    let all = consolidate_task(&tree, "rte", PAPER).unwrap();
    assert_eq!((all.jobs_done, all.jobs_kept), (3, 3));

    let current = ["new1", "new2"];
    let c = consolidate_task_of(&tree, "rte", PAPER, &|id: &str| current.contains(&id)).unwrap();
    assert_eq!((c.jobs_done, c.jobs_kept), (2, 2));
    let rows = read_predictions(&table_path(&tree, "rte")).unwrap();
    let mut jobs: Vec<&str> = rows.iter().map(|r| r.job_id.as_str()).collect();
    jobs.dedup();
    assert_eq!(jobs, current);
}
