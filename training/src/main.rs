//! The `trainer` command: parses the arguments and hands them to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    match trainer::cli::run(trainer::cli::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
