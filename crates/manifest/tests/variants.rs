//! Task variants: the same task listed without and with `variant`/`augment`, the canonical
//! object (variant keys only when set, so older ids stay), and file:line errors.

mod common;

use std::path::Path;

use multiberts_manifest::Manifest;

use common::{GOOD as BASE, assert_error, parse};

#[test]
fn a_task_with_and_without_cda_doubles_the_jobs_and_keeps_the_base_ids() {
    let base = parse(BASE).jobs();
    let with = parse(&format!(
        "{BASE}\n[[tasks]]\nname = \"sst2\"\nvariant = \"cda\"\naugment = \"cda\"\n"
    ));
    let jobs = with.jobs();
    assert_eq!(jobs.len(), 2 * base.len());
    // The base jobs are unchanged: same ids, no variant keys in the canonical object.
    for (a, b) in base.iter().zip(&jobs) {
        assert_eq!(a.id, b.id);
        assert_eq!(b.variant, "");
        assert!(!b.canonical_json().contains("variant"));
        assert!(!b.canonical_json().contains("augment"));
    }
    let cda = &jobs[base.len()..];
    for (a, b) in base.iter().zip(cda) {
        assert_ne!(a.id, b.id);
        assert_eq!(b.variant, "cda");
        assert_eq!(b.augment.map(|a| a.name()), Some("cda"));
        assert_eq!(b.canonical["variant"], "cda");
        assert_eq!(b.canonical["augment"], "cda");
        // Same checkpoint, rate and seed: the pairing by seed is possible.
        assert_eq!(a.checkpoint, b.checkpoint);
        assert_eq!(a.finetune_seed, b.finetune_seed);
    }
    assert_eq!(with.tasks[1].display_name(), "sst2[cda]");
}

#[test]
fn augment_alone_names_its_variant_and_a_variant_alone_changes_only_the_name() {
    let m = parse(&format!(
        "{BASE}\n[[tasks]]\nname = \"sst2\"\naugment = \"cda\"\n"
    ));
    assert_eq!(m.tasks[1].variant, "cda");
    let m = parse(&format!(
        "{BASE}\n[[tasks]]\nname = \"sst2\"\nvariant = \"again\"\n"
    ));
    assert_eq!(m.tasks[1].augment, None);
    let jobs = m.jobs();
    assert_ne!(jobs[0].id, jobs[jobs.len() / 2].id);
}

#[test]
fn unknown_augmentation_is_an_error_at_its_line() {
    assert_error(
        &format!("{BASE}\n[[tasks]]\nname = \"sst2\"\naugment = \"flip\"\n"),
        16,
        11,
        &["unknown augmentation `flip`", "cda"],
    );
}

#[test]
fn duplicate_task_variant_is_an_error_at_its_line() {
    let text = format!(
        "{BASE}\n[[tasks]]\nname = \"sst2\"\nvariant = \"cda\"\n\n[[tasks]]\nname = \"sst2\"\nvariant = \"cda\"\naugment = \"cda\"\n"
    );
    assert_error(&text, 20, 11, &["variant `cda` is listed twice"]);
    // The same task twice without variants is still an error.
    assert_error(
        &format!("{BASE}\n[[tasks]]\nname = \"sst2\"\n"),
        15,
        8,
        &["listed twice"],
    );
}

#[test]
fn a_bad_variant_name_is_an_error() {
    assert_error(
        &format!("{BASE}\n[[tasks]]\nname = \"sst2\"\nvariant = \"a/b\"\n"),
        16,
        11,
        &["invalid variant"],
    );
}

/// CDA rewrites single texts: a SQuAD question + context cannot be augmented, and the
/// manifest says so at the key instead of failing every job at run time.
#[test]
fn augmenting_a_span_task_is_an_error_at_the_key() {
    assert_error(
        &format!("{BASE}\n[[tasks]]\nname = \"squad2\"\naugment = \"cda\"\n"),
        16,
        11,
        &["does not apply to the span (SQuAD) task `squad2`"],
    );
}

#[test]
fn the_winogender_protocol_has_250_jobs_paired_by_seed() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../manifests/multiberts-winogender.toml");
    let m = Manifest::from_file(&path).unwrap();
    let jobs = m.jobs();
    assert_eq!(jobs.len(), 250);
    assert_eq!(m.checkpoints.len(), 25);
    let (base, cda): (Vec<_>, Vec<_>) = jobs.iter().partition(|j| j.variant.is_empty());
    assert_eq!((base.len(), cda.len()), (125, 125));
    for (b, c) in base.iter().zip(&cda) {
        assert_eq!(
            (&b.checkpoint, b.finetune_seed),
            (&c.checkpoint, c.finetune_seed)
        );
        assert_eq!(c.augment.map(|a| a.name()), Some("cda"));
    }
    let kinds: Vec<&str> = m.analyses.iter().map(|a| a.metric.as_str()).collect();
    assert!(kinds.contains(&"accuracy") && kinds.contains(&"bias_r"));
}
