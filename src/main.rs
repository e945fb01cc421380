//! Thin entry point of the inference server.
//!
//! SageMaker starts the image as `<entrypoint> serve`; with no argument the binary serves too.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;
use isoserve::{AppState, Config, ServeArgs};

/// SageMaker-compatible anomaly-detection inference server.
#[derive(Debug, Parser)]
#[command(name = "isoserve", version, about)]
enum Cli {
    /// Serve /ping, /invocations and /execution-parameters (the default).
    Serve(ServeArgs),
    /// Run a SageMaker training job: /opt/ml/input -> /opt/ml/model/model.isof.
    Train(isoserve::train_job::TrainArgs),
}

fn main() -> ExitCode {
    match Cli::parse_from(with_default_command(std::env::args_os().collect())) {
        Cli::Serve(args) => serve(args),
        Cli::Train(args) => isoserve::train_job::run_cli(args),
    }
}

/// `isoserve` and `isoserve --port 9000` mean `isoserve serve ...`.
fn with_default_command(mut argv: Vec<OsString>) -> Vec<OsString> {
    let first = argv.get(1).and_then(|a| a.to_str());
    let is_top_level_flag = matches!(first, Some("-h" | "--help" | "-V" | "--version"));
    if first.is_none() || (first.is_some_and(|a| a.starts_with('-')) && !is_top_level_flag) {
        argv.insert(1.min(argv.len()), "serve".into());
    }
    argv
}

fn serve(args: ServeArgs) -> ExitCode {
    let config = match Config::from_args(args) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("isoserve: {err}");
            return ExitCode::from(2);
        }
    };
    isoserve::logging::init(config.log_level);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!(%err, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.addr).await?;
        tracing::info!(addr = %listener.local_addr()?, "listening");
        isoserve::run(listener, AppState::new(config), async {
            shutdown::signal().await;
            tracing::info!("no new connections; finishing the requests in flight");
        })
        .await
    });
    // A model still loading or a batch still scoring past its deadline must not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    match result {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(err) => {
            tracing::error!(%err, "server failed");
            ExitCode::FAILURE
        }
    }
}
