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
    let Err(err) = result else {
        return std::process::ExitCode::SUCCESS;
    };
    let runner = err.downcast_ref::<multiberts_runner::RunnerError>();
    match runner {
        // A job stopped on request (USR2) is no error: its exit status tells Slurm's batch
        // script to requeue it.
        Some(stopped @ multiberts_runner::RunnerError::Stopped { .. }) => eprintln!("{stopped}"),
        _ => eprintln!("error: {}", multiberts_printer::error::chain(&*err)),
    }
    // A job another process runs (the sweep skips it), or one that cannot succeed as it stands
    // (the sweep does not retry it), has an exit status of its own.
    std::process::ExitCode::from(runner.map_or(1, multiberts_runner::RunnerError::exit_code))
}

// The runner repeats the sweep's exit statuses (neither crate links the other).
const _: () = assert!(
    multiberts_runner::stop::HELD_EXIT_CODE == multiberts_sweep::HELD_EXIT_CODE
        && multiberts_runner::stop::PERMANENT_FAILURE_EXIT_CODE
            == multiberts_sweep::PERMANENT_FAILURE_EXIT_CODE
        && multiberts_runner::STOPPED_EXIT_CODE == multiberts_sweep::slurm::STOPPED_EXIT_CODE
);

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
