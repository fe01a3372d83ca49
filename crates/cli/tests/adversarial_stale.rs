//! Inputs checked, not assumed (issue 15, item 4): a done job whose data file changed since it
//! ran is neither reused nor reported silently (`sweep` and `collect` refuse, naming it and the
//! way out, `status` lists it; `sweep --rerun-stale` runs it again, under the sweep's lock), and
//! a damaged predictions file (a job's, or a consolidated table) is an error naming it and how
//! to write it again, not results read from damaged bytes.

mod common;

use std::path::Path;

use common::{find_files, multiberts, text};

const MANIFEST: &str = r#"name = "stale"
data_dir = "data"
[defaults]
max_seq_len = 16
batch_size = 8
epochs = 1
learning_rates = [1e-3]
finetune_seeds = [0]
[[checkpoints]]
init = { config = "tiny" }
seeds = [0]
[[tasks]]
name = "sst2"
"#;

fn write_data(dir: &Path, flip: bool) {
    let sst = dir.join("data/SST-2");
    std::fs::create_dir_all(&sst).unwrap();
    let mut train = String::from("sentence\tlabel\n");
    for i in 0..16 {
        train.push_str(&format!("a good film {i}\t1\nsuch a bad film {i}\t0\n"));
    }
    std::fs::write(sst.join("train.tsv"), train).unwrap();
    let mut dev = String::from("sentence\tlabel\n");
    for i in 0..6 {
        let (pos, neg) = if flip { (0, 1) } else { (1, 0) };
        dev.push_str(&format!("good {i}\t{pos}\nbad {i}\t{neg}\n"));
    }
    std::fs::write(sst.join("dev.tsv"), dev).unwrap();
}

#[test]
fn a_changed_data_file_makes_its_jobs_stale_until_rerun() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("m.toml"), MANIFEST).unwrap();
    write_data(dir, false);
    let first = multiberts(dir, &["sweep", "m.toml"]);
    assert!(first.status.success(), "{}", text(&first));
    let job = find_files(&dir.join("results/stale/sst2"), "DONE")[0]
        .parent()
        .unwrap()
        .to_path_buf();
    let record = std::fs::read_to_string(job.join("job.json")).unwrap();
    assert!(
        record.contains("\"inputs\"") && record.contains("dev.tsv"),
        "{record}"
    );
    assert!(record.contains("\"predictions_sha256\""), "{record}");

    // Every dev label flipped: same size, new content.
    write_data(dir, true);
    let again = multiberts(dir, &["sweep", "m.toml"]);
    let said = text(&again);
    assert!(!again.status.success(), "a stale job was reused: {said}");
    assert!(said.contains("--rerun-stale"), "{said}");
    let id = job.file_name().unwrap().to_string_lossy().into_owned();
    assert!(said.contains(&id), "{said}");
    assert!(said.contains("SST-2/dev.tsv"), "{said}");

    let status = multiberts(dir, &["status", "m.toml"]);
    assert!(text(&status).contains("stale"), "{}", text(&status));
    let collect = multiberts(dir, &["collect", "m.toml"]);
    assert!(!collect.status.success(), "{}", text(&collect));
    assert!(
        text(&collect).contains("--rerun-stale"),
        "{}",
        text(&collect)
    );

    // `--rerun-stale` changes the tree (it makes the stale jobs unfinished again): only under
    // the sweep's exclusive lock, so never while `collect` or `report` reads the tree.
    let reader = multiberts_sweep::SweepLock::acquire_shared(&dir.join("results/stale")).unwrap();
    let refused = multiberts(dir, &["sweep", "m.toml", "--rerun-stale"]);
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(
        text(&refused).contains("`collect` or `report` is reading"),
        "{}",
        text(&refused)
    );
    assert!(
        job.join("DONE").is_file(),
        "a stale job was made unfinished while a reader held the tree"
    );
    drop(reader);

    let rerun = multiberts(dir, &["sweep", "m.toml", "--rerun-stale"]);
    assert!(rerun.status.success(), "{}", text(&rerun));
    let fresh = multiberts(dir, &["sweep", "m.toml"]);
    assert!(fresh.status.success(), "{}", text(&fresh));
    assert!(text(&fresh).contains("nothing to do"), "{}", text(&fresh));

    // Single-byte flips anywhere in a job's predictions: an error naming the file and the
    // way to re-run the job, never a table built from them.
    let predictions = job.join("predictions.parquet");
    let good = std::fs::read(&predictions).unwrap();
    for k in 1..=10 {
        let mut bad = good.clone();
        let at = k * good.len() / 11;
        bad[at] ^= 0x01;
        std::fs::write(&predictions, &bad).unwrap();
        let out = multiberts(dir, &["collect", "m.toml"]);
        let said = text(&out);
        assert!(!out.status.success(), "byte {at} flipped was read: {said}");
        assert!(said.contains("predictions.parquet"), "{said}");
        assert!(said.contains("multiberts sweep"), "{said}");
        assert_ne!(out.status.code(), Some(101), "{said}");
    }
    std::fs::write(&predictions, &good).unwrap();
    let out = multiberts(dir, &["collect", "m.toml"]);
    assert!(out.status.success(), "{}", text(&out));

    // The same for the consolidated table `collect` wrote: `report` and `bootstrap` check it
    // against the digest recorded beside it, and say how to write it again.
    let table = dir.join("results/stale/predictions/sst2.parquet");
    let good = std::fs::read(&table).unwrap();
    let bootstrap = [
        "bootstrap",
        "--predictions",
        "results/stale/predictions/sst2.parquet",
    ];
    for k in 1..=10 {
        let mut bad = good.clone();
        let at = k * good.len() / 11;
        bad[at] ^= 0x01;
        std::fs::write(&table, &bad).unwrap();
        for args in [&["report", "m.toml"][..], &bootstrap[..]] {
            let out = multiberts(dir, args);
            let said = text(&out);
            assert!(!out.status.success(), "byte {at} flipped was read: {said}");
            assert!(said.contains("predictions/sst2.parquet"), "{said}");
            assert!(said.contains("multiberts collect"), "{said}");
            assert_ne!(out.status.code(), Some(101), "{said}");
        }
    }
    let out = multiberts(dir, &["collect", "m.toml"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::read(&table).unwrap(),
        good,
        "collect writes it anew"
    );
    assert!(multiberts(dir, &["report", "m.toml"]).status.success());
    assert!(multiberts(dir, &bootstrap).status.success());
}
