//! `scimd`: parse the command line, set up logs, run the command.

use clap::Parser;
use scimd::config::Cli;
use std::process::ExitCode;

// Why not the system allocator: crates/scimd/Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    scimd::telemetry::init(cli.log_format, &cli.log);
    match scimd::cli::execute(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
