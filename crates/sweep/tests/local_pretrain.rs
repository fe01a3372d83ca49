//! The local pool with a pre-training job and its fine-tuning jobs, run by a stand-in worker
//! (`sh`): the pre-training job starts first, a fine-tuning job starts only once its step's
//! folder exists, and fine-tuning of the early step overlaps with the rest of pre-training.

use std::ffi::OsString;

use multiberts_collector::ResultsTree;
use multiberts_manifest::Manifest;
use multiberts_sweep::{LocalOptions, run_local};

/// One pre-training seed saving steps 3 and 6, each fine-tuned once; the fine-tuning jobs come
/// first in the list given to the pool.
const MANIFEST: &str = r#"
name = "s"
[defaults]
learning_rates = [1e-3]
finetune_seeds = [0]
[[checkpoints]]
id = "tiny-step_{step}"
pretrain = { config = "tiny", corpus = ["corpus.txt"], vocab = "vocab.txt", steps = 6, save_steps = [3] }
seeds = [0]
[[tasks]]
name = "demo-sentiment"
"#;

/// The worker: a pre-training job renames `step_3` into place, waits, then `step_6`; a
/// fine-tuning job fails unless its step's folder exists. Each appends what it did to
/// `order.log` in the sweep's folder.
const WORKER: &str = r#"
dir=$2; log="$OUT/order.log"
case "$dir" in
  */pretrain/*)
    sleep 0.2; mkdir "$dir/.t3" && mv "$dir/.t3" "$dir/step_3"; echo "saved step_3" >> "$log"
    sleep 2; mkdir "$dir/.t6" && mv "$dir/.t6" "$dir/step_6"; echo "saved step_6" >> "$log"
    touch "$dir/DONE" ;;
  *)
    step=$(grep -o 'step_[0-9]*"' "$dir/job.json" | head -n 1 | tr -d '"')
    run=$(ls -d "$OUT"/pretrain/seed_0/*/)
    [ -d "$run$step" ] || { echo "started before $run$step existed"; exit 3; }
    echo "fine-tuned $step" >> "$log"
    touch "$dir/DONE" ;;
esac
"#;

#[test]
fn fine_tuning_waits_for_its_step_and_overlaps_with_pretraining() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("m.toml");
    std::fs::write(&path, MANIFEST).unwrap();
    let m = Manifest::from_file(&path).unwrap();
    let out = tmp.path().join("s");
    let mut jobs = m.sweep_jobs(None, &out).unwrap();
    assert_eq!(jobs.len(), 3);
    jobs.rotate_left(1);
    assert!(
        !jobs[0].is_pretrain(),
        "the pool must order the queue itself"
    );
    let tree = ResultsTree::new(tmp.path(), "s").unwrap();
    let script = format!("OUT={}\n{WORKER}", out.display());
    let opts = LocalOptions {
        exe: "sh".into(),
        prefix: vec![OsString::from("-c"), script.into(), "sh".into()],
        settings: multiberts_sweep::ChildSettings::default(),
        output_dir: out.clone(),
        jobs: 2,
        gpus: None,
        threads_per_job: 1,
        retries: 0,
        keep_going: false,
        progress: false,
        rerun_stale: false,
    };
    let outcome = run_local(&jobs, &tree, &opts).unwrap();
    assert!(outcome.all_done(), "{}", outcome.text());
    assert!(outcome.blocked.is_empty());
    let order = std::fs::read_to_string(out.join("order.log")).unwrap();
    let lines: Vec<&str> = order.lines().collect();
    assert_eq!(
        lines,
        [
            "saved step_3",
            "fine-tuned step_3",
            "saved step_6",
            "fine-tuned step_6"
        ],
        "step 3 is fine-tuned while pre-training goes on, step 6 once it is saved"
    );
    let again = run_local(&jobs, &tree, &opts).unwrap();
    assert_eq!(again.already_done, 3);
}
