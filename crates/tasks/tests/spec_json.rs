//! A job's `job.json` carries its task spec as JSON: every built-in spec must come back from
//! JSON exactly as it went in, or a job would run another task than the one planned.

use multiberts_tasks::TaskRegistry;

#[test]
fn every_builtin_spec_survives_a_json_round_trip() {
    let registry = TaskRegistry::builtin().unwrap();
    let mut n = 0;
    for spec in registry.iter() {
        let json = serde_json::to_string(spec).unwrap();
        let back: multiberts_tasks::TaskSpec =
            serde_json::from_str(&json).unwrap_or_else(|e| panic!("{}: {e}\n{json}", spec.name));
        assert_eq!(&back, spec, "{}", spec.name);
        n += 1;
    }
    assert!(n >= 10, "only {n} built-in specs");
}
