//! `--device` of `run-job` and `sweep` as a user meets it on the CPU build: a GPU is refused
//! at once with the fix and leaves nothing behind, a bad spec names the accepted forms, and a
//! CPU sweep records its device in `job.json` while every child gets the sweep's device.

mod common;

use common::{
    assert_fails_with, find_files, multiberts, multiberts_with_env, text, tiny_manifest,
    write_manifest,
};

/// One generated tiny checkpoint, one short job.
fn manifest() -> String {
    let defaults = "batch_size = 32\nepochs = 1\nfinetune_seeds = [0]\nmax_train_examples = 64\n";
    tiny_manifest(
        "device-t",
        "[0]",
        defaults,
        "[[tasks]]\nname = \"demo-sentiment\"\n",
    )
}

/// A folder holding the manifest as `m.toml`, and its only job id (from `plan --list`).
fn setup() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    write_manifest(dir.path(), &manifest());
    let out = multiberts(dir.path(), &["plan", "m.toml", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let plan: serde_json::Value = serde_json::from_str(&stdout[stdout.find('{').unwrap()..])
        .unwrap_or_else(|e| panic!("plan --json: {e}\n{stdout}"));
    let jobs = plan["jobs"].as_array().expect("a job list");
    assert_eq!(jobs.len(), 1, "{stdout}");
    let id = jobs[0]["id"].as_str().unwrap().to_string();
    (dir, id)
}

#[test]
fn a_gpu_on_the_cpu_build_is_refused_at_once_and_leaves_nothing() {
    if cfg!(feature = "cuda") {
        eprintln!("skipped: this build has CUDA support");
        return;
    }
    let (dir, id) = setup();
    let fix = "rebuild with `cargo build --release --features cuda`";
    // The device is checked before the job directory is even read.
    let job_dir = format!("results/d/demo-sentiment/init-tiny-seed_0/{id}");
    let cases = [
        (
            vec!["run-job", &job_dir, "--settings", r#"{"device": "cuda"}"#],
            None,
            "cuda:0",
        ),
        (
            vec!["sweep", "m.toml", "--device", "cuda:1"],
            None,
            "cuda:1",
        ),
        (vec!["sweep", "m.toml"], Some("cuda"), "cuda:0"),
        (vec!["sweep", "m.toml", "--gpus", "1,2"], None, "cuda:1"),
        (
            vec!["sweep", "m.toml", "--device", "cuda", "--backend", "slurm"],
            None,
            "cuda:0",
        ),
        (
            vec![
                "sweep",
                "m.toml",
                "--device",
                "gpu",
                "--backend",
                "slurm",
                "--dry-run",
            ],
            None,
            "cuda:0",
        ),
    ];
    for (args, env, device) in cases {
        let env: Vec<_> = env.map(|d| ("MULTIBERTS_DEVICE", d)).into_iter().collect();
        let out = multiberts_with_env(dir.path(), &args, &env);
        assert_fails_with(&out, fix);
        assert_fails_with(&out, &format!("device `{device}` needs CUDA"));
        assert_fails_with(&out, "or use `--device cpu`");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["m.toml"], "{args:?} left files behind");
    }
}

#[test]
fn an_unknown_device_names_the_accepted_forms() {
    let (dir, id) = setup();
    for args in [
        &[
            "run-job",
            &format!("results/d/demo-sentiment/init-tiny-seed_0/{id}"),
            "--settings",
            r#"{"device": "tpu"}"#,
        ][..],
        &["sweep", "m.toml", "--device", "cuda:x"],
    ] {
        let out = multiberts_with_env(dir.path(), args, &[]);
        assert_fails_with(&out, "expected `cpu`, `cuda` or `cuda:N`");
    }
    let out = multiberts_with_env(
        dir.path(),
        &["sweep", "m.toml"],
        &[("MULTIBERTS_DEVICE", "tpu")],
    );
    assert_fails_with(&out, "invalid device `tpu`");
    assert!(!dir.path().join("results").exists());
}

#[test]
fn a_cpu_sweep_records_its_device_and_passes_it_to_every_job() {
    let (dir, id) = setup();
    // A GPU in the environment would reach the children too: `--device cpu` must win there.
    let out = multiberts_with_env(
        dir.path(),
        &["sweep", "m.toml", "--device", "cpu", "--no-collect"],
        &[("MULTIBERTS_DEVICE", "cuda")],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("on cpu"), "{}", text(&out));
    let records = find_files(&dir.path().join("results/device-t"), "job.json");
    assert_eq!(records.len(), 1, "{records:?}");
    // The device is provenance: the job keeps the id `plan` gives it.
    assert_eq!(
        records[0].parent().unwrap().file_name().unwrap(),
        id.as_str()
    );
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&records[0]).unwrap()).unwrap();
    assert_eq!(record["provenance"]["device"], "cpu", "{record}");
    assert!(record["job"].get("device").is_none(), "{record}");
    assert_eq!(record["provenance"]["job_id"], id.as_str(), "{record}");
}

#[test]
fn slurm_scripts_run_each_job_on_the_sweeps_device() {
    let (dir, _) = setup();
    let out = multiberts_with_env(
        dir.path(),
        &["sweep", "m.toml", "--backend", "slurm", "--dry-run"],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let script = text(&out);
    let line = script
        .lines()
        .find(|l| l.contains(" run-job "))
        .unwrap_or_else(|| panic!("no run-job line in:\n{script}"));
    assert!(line.contains(r#""device":"cpu""#), "{line}");
    assert!(
        !dir.path().join("results").exists(),
        "a dry run writes nothing"
    );
}

#[test]
fn gpu_pool_options_are_refused_where_they_mean_nothing() {
    let (dir, _) = setup();
    for (args, want) in [
        (
            &["sweep", "m.toml", "--device", "cuda", "--jobs-per-gpu", "0"][..],
            "--jobs-per-gpu must be at least 1",
        ),
        (
            &["sweep", "m.toml", "--jobs-per-gpu", "2"][..],
            "--jobs-per-gpu needs GPUs",
        ),
        (
            &[
                "sweep",
                "m.toml",
                "--gpus",
                "0,1",
                "--backend",
                "slurm",
                "--dry-run",
            ][..],
            "--gpus and --jobs-per-gpu are for the local backend",
        ),
    ] {
        let out = multiberts_with_env(dir.path(), args, &[]);
        assert_fails_with(&out, want);
    }
    assert!(!dir.path().join("results").exists());
}

/// `precision = "tf32"` is refused on the CPU before anything runs (the sweep names the task
/// and the fix; `run-job` refuses too), while `bf16` trains on the CPU and is recorded.
#[test]
fn tf32_is_refused_on_the_cpu_and_bf16_runs() {
    let dir = tempfile::tempdir().unwrap();
    let with = |p: &str| {
        manifest().replace(
            "max_train_examples = 64",
            &format!("max_train_examples = 64\nprecision = \"{p}\""),
        )
    };
    std::fs::write(dir.path().join("tf32.toml"), with("tf32")).unwrap();
    let out = multiberts(dir.path(), &["sweep", "tf32.toml"]);
    assert_fails_with(
        &out,
        "precision \"tf32\" (task demo-sentiment) needs a CUDA GPU",
    );
    assert!(
        find_files(dir.path(), "job.json").is_empty(),
        "{}",
        text(&out)
    );

    std::fs::write(dir.path().join("bf16.toml"), with("bf16")).unwrap();
    let out = multiberts(
        dir.path(),
        &["sweep", "bf16.toml", "--threads-per-job", "1"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let jobs = find_files(dir.path(), "job.json");
    assert_eq!(jobs.len(), 1);
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&jobs[0]).unwrap()).unwrap();
    assert_eq!(record["job"]["hyper"]["precision"], "bf16");
    assert_eq!(record["provenance"]["precision"], "bf16");
    assert_eq!(record["provenance"]["kernels"], "cpu");
}

/// A misspelt `MULTIBERTS_KERNELS` is an error naming the accepted values, not a silent run
/// of the default path.
#[test]
fn an_unknown_kernel_path_is_refused() {
    let (dir, _) = setup();
    let out = multiberts_with_env(
        dir.path(),
        &["sweep", "m.toml"],
        &[("MULTIBERTS_KERNELS", "portabel")],
    );
    assert_fails_with(&out, "MULTIBERTS_KERNELS=\"portabel\" is not a kernel path");
}

/// Counts that must be at least 1 say so instead of silently meaning 1 (or "never").
#[test]
fn zero_counts_are_refused_with_their_flag() {
    let (dir, id) = setup();
    for (args, flag) in [
        (vec!["sweep", "m.toml", "--jobs", "0"], "--jobs"),
        (
            vec!["sweep", "m.toml", "--threads-per-job", "0"],
            "--threads-per-job",
        ),
        (
            vec!["sweep", "m.toml", "--checkpoint-every", "0"],
            "--checkpoint-every",
        ),
        (vec!["run-job", &id, "--threads", "0"], "--threads"),
    ] {
        let out = multiberts(dir.path(), &args);
        assert_fails_with(&out, "0 is too small; expected 1 or more");
        assert!(text(&out).contains(flag), "{}", text(&out));
    }
    assert!(find_files(dir.path(), "job.json").is_empty());
}
