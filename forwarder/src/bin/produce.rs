//! Replays a CSV file into a Kinesis stream with PutRecords.

use std::process::ExitCode;

use clap::Parser;
use forwarder::config::{ProduceArgs, ProduceConfig, init_logging};
use forwarder::produce::{KinesisPut, Source, run, total_rows};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug, Parser)]
#[command(
    name = "produce",
    version,
    about = "Replay a CSV file into a Kinesis stream"
)]
struct Cli {
    #[command(flatten)]
    args: ProduceArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    let config = match ProduceConfig::from_args(Cli::parse().args) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("produce: {err}");
            return ExitCode::from(2);
        }
    };
    match produce(&config).await {
        Ok(summary) => {
            println!("{summary} to {}", config.stream);
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("produce: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn produce(config: &ProduceConfig) -> anyhow::Result<forwarder::produce::Summary> {
    let path = config.file.display().to_string();
    let text = std::fs::read(&config.file).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
    let source = Source::parse(&path, &text, config.feature_names.clone())?;
    let sdk = config.aws.sdk_config().await;
    let put = KinesisPut {
        client: config.aws.kinesis(&sdk),
        stream: config.stream.clone(),
    };
    // indicatif draws nothing when stderr is not a terminal.
    let bar = match total_rows(&config.plan, &source) {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} rows ({per_sec})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let summary = run(&config.plan, &source, &put, |n| bar.set_position(n)).await?;
    bar.finish_and_clear();
    Ok(summary)
}
