//! The Lambda function (custom runtime, executable name `bootstrap`). Configured from the
//! environment: ENDPOINT_NAME, FEATURE_NAMES, and optionally SNS_TOPIC_ARN, DLQ_URL,
//! RESULTS_BUCKET, METRICS_NAMESPACE, ... (see `forwarder --help`).

use std::sync::Arc;

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::KinesisEventResponse;
use clap::Parser;
use forwarder::config::{ForwarderArgs, init_logging};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    core: ForwarderArgs,
    /// Milliseconds kept before the invocation's deadline for routing and answering: the endpoint
    /// is not called past `deadline - margin`, and the records left are reported as failures.
    #[arg(long, env = "DEADLINE_MARGIN_MS", default_value_t = forwarder::lambda::DEFAULT_DEADLINE_MARGIN_MS)]
    deadline_margin_ms: u64,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    // Lambda passes no arguments: every setting comes from the environment.
    let args = Args::try_parse_from(["bootstrap"])?;
    let forwarder = Arc::new(args.core.build().await?);
    let margin = std::time::Duration::from_millis(args.deadline_margin_ms);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<KinesisEvent>| {
        let forwarder = forwarder.clone();
        async move {
            let deadline = forwarder::lambda::stop_at(
                event.context.deadline,
                margin,
                std::time::SystemTime::now(),
            );
            let response: KinesisEventResponse =
                forwarder::lambda::handle(&forwarder, &event.payload, Some(deadline)).await;
            Ok::<_, Error>(response)
        }
    }))
    .await
}
