//! The Lambda function (custom runtime, executable name `bootstrap`). Configured from the
//! environment: ENDPOINT_NAME, FEATURE_NAMES, and optionally SNS_TOPIC_ARN, DLQ_URL,
//! RESULTS_BUCKET, METRICS_NAMESPACE, ... (see `forwarder --help` and `docs/forwarder.md`).

use clap::Parser;
use forwarder::config::{LambdaArgs, LambdaConfig, init_logging};

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    args: LambdaArgs,
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    // Lambda passes no arguments: every setting comes from the environment. A bad one fails the
    // function's initialisation with the message in its log.
    let config = LambdaConfig::from_args(Cli::try_parse_from(["bootstrap"])?.args)?;
    forwarder::sources::lambda::serve(config).await
}
