//! `multiberts`: the command-line tool. Thin: it parses arguments and wires the crates.

mod commands;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// Make claims about a training procedure, not one lucky checkpoint.
///
/// A manifest lists checkpoints and tasks; `multiberts` fine-tunes every seed, keeps every
/// per-example prediction, and turns them into Multi-Bootstrap confidence intervals.
#[derive(Debug, Parser)]
#[command(name = "multiberts", version, propagate_version = true)]
struct Cli {
    /// Log more (-v: debug, -vv: trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Plan(commands::plan::PlanArgs),
    #[command(subcommand)]
    Tasks(commands::tasks::TasksCommand),
    #[command(subcommand)]
    Data(commands::data::DataCommand),
    Bootstrap(commands::bootstrap::BootstrapArgs),
    Encode(commands::encode::EncodeArgs),
    Pretrain(commands::pretrain::PretrainArgs),
    Vocab(commands::vocab::VocabArgs),
    Sweep(commands::sweep::SweepArgs),
    Status(commands::status::StatusArgs),
    Collect(commands::collect::CollectArgs),
    Report(commands::report::ReportArgs),
    #[command(subcommand)]
    DeviceCheck(commands::device_check::DeviceCheckCommand),
    #[command(hide = true)]
    RunJob(commands::run_job::RunJobArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Plan(args) => commands::plan::run(args),
        Command::Tasks(cmd) => commands::tasks::run(cmd),
        Command::Data(cmd) => commands::data::run(cmd),
        Command::Bootstrap(args) => commands::bootstrap::run(args),
        Command::Encode(args) => commands::encode::run(args),
        Command::Pretrain(args) => commands::pretrain::run(args),
        Command::Vocab(args) => commands::vocab::run(args),
        Command::Sweep(args) => commands::sweep::run(args),
        Command::Status(args) => commands::status::run(args),
        Command::Collect(args) => commands::collect::run(args),
        Command::Report(args) => commands::report::run(args),
        Command::RunJob(args) => commands::run_job::run(args),
        Command::DeviceCheck(cmd) => commands::device_check::run(cmd),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // A job stopped on request (USR2) is no error: its exit status tells Slurm's batch
            // script to requeue it.
            if let Some(stopped @ multiberts_runner::RunnerError::Stopped { .. }) =
                err.downcast_ref::<multiberts_runner::RunnerError>()
            {
                eprintln!("{stopped}");
                return std::process::ExitCode::from(multiberts_runner::STOPPED_EXIT_CODE);
            }
            eprintln!("error: {}", multiberts_printer::error::chain(&*err));
            let runner = err.downcast_ref::<multiberts_runner::RunnerError>();
            // A job another process runs: the sweep skips it (no failure, no retry).
            if runner.is_some_and(multiberts_runner::RunnerError::is_held) {
                return std::process::ExitCode::from(multiberts_sweep::HELD_EXIT_CODE);
            }
            // A job that cannot succeed as it stands: the sweep does not retry it.
            if runner.is_some_and(multiberts_runner::RunnerError::is_permanent) {
                return std::process::ExitCode::from(multiberts_sweep::PERMANENT_FAILURE_EXIT_CODE);
            }
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}
