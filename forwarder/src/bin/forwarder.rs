//! Standalone forwarder: reads every shard of a stream itself, scores the rows on the SageMaker
//! endpoint and routes the results. Checkpoints go to a local file; SIGTERM or Ctrl-C finishes
//! the batch in flight, checkpoints and exits.

use std::process::ExitCode;

use clap::Parser;
use forwarder::config::{StandaloneArgs, StandaloneConfig, init_logging};

#[derive(Debug, Parser)]
#[command(
    name = "forwarder",
    version,
    about = "Kinesis -> SageMaker endpoint forwarder (standalone)"
)]
struct Cli {
    #[command(flatten)]
    args: StandaloneArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    let config = match StandaloneConfig::from_args(Cli::parse().args) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("forwarder: {err}");
            return ExitCode::from(2);
        }
    };
    // Signals are caught from here on: a SIGTERM while the clients are built still ends in a clean
    // exit rather than the default action.
    let shutdown = match shutdown::watch() {
        Ok(rx) => rx,
        Err(err) => {
            eprintln!("forwarder: cannot install signal handlers: {err}");
            return ExitCode::FAILURE;
        }
    };
    match forwarder::sources::kinesis::start(config, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(%err, "forwarder failed");
            ExitCode::FAILURE
        }
    }
}
