//! Interop check for the predictions Parquet contract with other readers and writers.
//!
//! `predictions_io write FILE` writes a small sample table (nulls, a variant, regression and
//! 3-class rows); `predictions_io read FILE` reads any predictions file (e.g. one written by
//! pandas or polars) through the schema checks and prints its rows as JSON lines;
//! `predictions_io glue FILE ROOT [TASK]` exports a predictions file in the upstream GLUE
//! layout under ROOT.

use std::path::Path;
use std::process::ExitCode;

use multiberts_collector::{PredictionRow, read_predictions, write_predictions};

fn sample() -> Vec<PredictionRow> {
    let mut rows = Vec::new();
    for (job, variant, seed, step, classes) in [
        ("a1b2c3", "", Some(0), Some(2000), 3usize),
        ("d4e5f6", "cda", None, None, 1),
    ] {
        for i in 0..3i64 {
            let scores: Vec<f32> = (0..classes)
                .map(|c| 0.5 * c as f32 - 0.25 * i as f32)
                .collect();
            rows.push(PredictionRow {
                job_id: job.into(),
                task: "mnli".into(),
                variant: variant.into(),
                split: "dev_matched".into(),
                checkpoint: format!("seed_{}", seed.unwrap_or(-1)),
                pretrain_seed: seed,
                step,
                learning_rate: 2e-5,
                finetune_seed: 0,
                example_index: i,
                example_id: format!("ex-{i}"),
                label: i as f64,
                prediction: if classes == 1 {
                    scores[0] as f64
                } else {
                    (classes - 1) as f64
                },
                scores,
                answer: None,
            });
        }
    }
    rows
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(cmd), Some(file)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: predictions_io write|read FILE | glue FILE ROOT [TASK]");
        return ExitCode::from(2);
    };
    let path = Path::new(file);
    let result = match cmd.as_str() {
        "write" => write_predictions(path, &sample()),
        "glue" => match args.get(3) {
            Some(root) => multiberts_collector::upstream::export_glue_from_parquet(
                path,
                Path::new(root),
                args.get(4).map(String::as_str),
            )
            .map(|d| println!("{} runs × {} examples", d.runs.len(), d.labels.len())),
            None => {
                eprintln!("usage: predictions_io glue FILE ROOT [TASK]");
                return ExitCode::from(2);
            }
        },
        "read" => read_predictions(path).map(|rows| {
            for r in rows {
                println!("{}", serde_json::to_string(&r).unwrap_or_default());
            }
        }),
        _ => {
            eprintln!("unknown command `{cmd}`; expected write, read or glue");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
