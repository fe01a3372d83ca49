//! The optional `[slurm]` table: values, defaults, and errors that point at file:line:column.

mod common;

use std::path::Path;

use multiberts_manifest::{DEFAULT_ARRAY_PARALLELISM, DEFAULT_SIGNAL_SECONDS, Manifest};

use common::{assert_error, parse};

const BASE: &str = r#"name = "t"

[[checkpoints]]
init = { config = "tiny" }
seeds = "0..=1"

[[tasks]]
name = "demo-sentiment"
"#;

fn with_slurm(table: &str) -> String {
    format!("{BASE}\n[slurm]\n{table}")
}

#[test]
fn every_key_is_read() {
    let text = with_slurm(
        r#"partition = "gpu"
time = "1-02:00"
cpus_per_task = 4
mem = "16G"
gres = "gpu:1"
account = "lab"
qos = "high"
array_parallelism = 8
signal_seconds = 300
extra_args = ["--constraint=a100", "--nice=10"]
setup = ["module load cuda", "export X=1"]
"#,
    );
    let m = parse(&text);
    let s = &m.slurm;
    assert_eq!(s.partition.as_deref(), Some("gpu"));
    assert_eq!(s.time.as_deref(), Some("1-02:00"));
    assert_eq!(s.cpus_per_task, Some(4));
    assert_eq!(s.mem.as_deref(), Some("16G"));
    assert_eq!(s.gres.as_deref(), Some("gpu:1"));
    assert_eq!(s.account.as_deref(), Some("lab"));
    assert_eq!(s.qos.as_deref(), Some("high"));
    assert_eq!(s.array_parallelism, 8);
    assert_eq!(s.signal_seconds, 300);
    assert_eq!(s.extra_args, ["--constraint=a100", "--nice=10"]);
    assert_eq!(s.setup, ["module load cuda", "export X=1"]);
}

#[test]
fn absent_table_gives_defaults_and_the_table_is_not_part_of_job_ids() {
    let plain = parse(BASE);
    assert_eq!(plain.slurm.array_parallelism, DEFAULT_ARRAY_PARALLELISM);
    assert_eq!(plain.slurm.signal_seconds, DEFAULT_SIGNAL_SECONDS);
    assert_eq!(plain.slurm.partition, None);
    assert!(plain.slurm.extra_args.is_empty());
    let cluster = parse(&with_slurm(
        "partition = \"gpu\"\ntime = \"10\"\nmem = \"1G\"\n",
    ));
    let ids = |m: &Manifest| m.jobs().into_iter().map(|j| j.id).collect::<Vec<_>>();
    assert_eq!(ids(&plain), ids(&cluster));
}

#[test]
fn unknown_key_names_the_place_and_the_valid_keys() {
    // BASE has 8 lines, then a blank line and `[slurm]` on line 10.
    assert_error(
        &with_slurm("partition = \"gpu\"\nnodes = 2\n"),
        12,
        1,
        &["unknown field `nodes`", "`partition`", "`signal_seconds`"],
    );
}

#[test]
fn malformed_time_points_at_the_value() {
    assert_error(
        &with_slurm("time = \"4h\"\n"),
        11,
        8,
        &["time = \"4h\" is invalid", "HH:MM:SS"],
    );
}

#[test]
fn malformed_memory() {
    assert_error(
        &with_slurm("mem = \"16 GB\"\n"),
        11,
        7,
        &["mem = \"16 GB\" is invalid", "16G"],
    );
}

#[test]
fn zero_throttle_and_zero_cpus() {
    assert_error(
        &with_slurm("array_parallelism = 0\n"),
        11,
        21,
        &["array_parallelism must be at least 1"],
    );
    assert_error(
        &with_slurm("cpus_per_task = 0\n"),
        11,
        17,
        &["cpus_per_task must be at least 1"],
    );
}

#[test]
fn warning_signal_must_come_before_the_time_limit() {
    assert_error(
        &with_slurm("time = \"2:00\"\nsignal_seconds = 300\n"),
        12,
        18,
        &["signal_seconds = 300", "time limit \"2:00\" (120 s)"],
    );
    // The default warning (120 s) against a 1-minute limit: points at the table.
    assert_error(
        &with_slurm("time = \"1\"\n"),
        10,
        1,
        &["signal_seconds = 120"],
    );
}

#[test]
fn extra_args_must_be_options_and_wrong_types_are_reported() {
    assert_error(
        &with_slurm("extra_args = [\"--nice=1\", \"constraint=a100\"]\n"),
        11,
        27,
        &["\"constraint=a100\" does not start with `-`"],
    );
    assert_error(
        &with_slurm("extra_args = \"--nice=1\"\n"),
        11,
        14,
        &["expected a sequence"],
    );
    assert_error(
        &with_slurm("partition = \"gpu large\"\n"),
        11,
        13,
        &["partition = \"gpu large\" is invalid"],
    );
}

#[test]
fn the_documented_example_has_a_slurm_table() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../manifests/example.toml");
    let m = Manifest::from_file(&path).unwrap();
    assert_eq!(m.slurm.partition.as_deref(), Some("gpu"));
    assert_eq!(m.slurm.signal_seconds, 300);
    assert_eq!(m.slurm.setup, ["module load cuda/12.4"]);
}
