//! Selectors in manifest analyses: the same parser and comparison as `multiberts bootstrap`,
//! so every step notation, alias and number format works in a manifest too.

mod common;

use multiberts_manifest::Selector;

use common::{GOOD, assert_error, parse};

/// `GOOD` plus one paired analysis with these selectors.
fn with_analysis(base: &str, experiment: &str) -> String {
    format!(
        "{GOOD}\n[[analyses]]\nname = \"a\"\nkind = \"paired\"\ntask = \"sst2\"\nbase = \"{base}\"\nexperiment = \"{experiment}\"\n"
    )
}

/// A predictions row's fields as `multiberts collect` reads them (step in thousands).
fn row(step: &str, lr: &str, seed: &str) -> impl Fn(&str) -> Option<String> {
    let (step, lr, seed) = (step.to_string(), lr.to_string(), seed.to_string());
    move |key: &str| match key {
        "task" => Some("sst2".into()),
        "variant" => Some(String::new()),
        "step" => Some(step.clone()),
        "learning_rate" => Some(lr.clone()),
        "pretrain_seed" => Some(seed.clone()),
        _ => None,
    }
}

#[test]
fn manifest_selectors_accept_upstream_step_notation_and_aliases() {
    let m = parse(&with_analysis("step=2M,lr=2e-5", "n_steps=1000k,seed=03"));
    let a = &m.analyses[0];
    assert_eq!(a.base.to_string(), "step=2M,learning_rate=2e-5");
    let experiment = a.experiment.as_ref().unwrap();
    assert!(a.base.matches(row("2000", "0.00002", "0")));
    assert!(!a.base.matches(row("1000", "0.00002", "0")));
    assert!(!a.base.matches(row("2000", "3e-5", "0")));
    assert!(experiment.matches(row("1000", "2e-5", "3")));
    assert!(!experiment.matches(row("1000", "2e-5", "4")));
    assert!(
        Selector::parse("task=SST2,variant=")
            .unwrap()
            .matches(row("0", "1", "0"))
    );
}

#[test]
fn manifest_selector_values_of_the_wrong_type_are_located() {
    assert_error(
        &with_analysis("step=late", "step=2M"),
        18,
        8,
        &["selector `step=late`", "2000k, 2M"],
    );
    assert_error(
        &with_analysis("step=1M", "seed=1.5"),
        19,
        14,
        &["`pretrain_seed=1.5`", "an integer"],
    );
}
