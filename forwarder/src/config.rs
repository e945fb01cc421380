//! Command-line and environment configuration shared by the binaries, and AWS client set-up.
//!
//! Service endpoints come from the standard `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>`
//! variables (honoured by the SDK) or from the explicit `--*-endpoint-url` flags.

use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;

use crate::batch::Budget;
use crate::emf::Emf;
use crate::invoke::SageMakerEndpoint;
use crate::pipeline::{Forwarder, Settings};
use crate::retry::RetryPolicy;
use crate::sinks::AwsSinks;

/// Where the AWS clients connect.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AwsArgs {
    /// AWS region (default: the SDK's region chain, e.g. AWS_REGION).
    #[arg(long, env = "AWS_REGION")]
    pub region: Option<String>,
    /// Kinesis endpoint URL (overrides AWS_ENDPOINT_URL_KINESIS).
    #[arg(long)]
    pub kinesis_endpoint_url: Option<String>,
    /// SageMaker Runtime endpoint URL (overrides AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME).
    #[arg(long)]
    pub sagemaker_endpoint_url: Option<String>,
    /// SNS endpoint URL (overrides AWS_ENDPOINT_URL_SNS).
    #[arg(long)]
    pub sns_endpoint_url: Option<String>,
    /// SQS endpoint URL (overrides AWS_ENDPOINT_URL_SQS).
    #[arg(long)]
    pub sqs_endpoint_url: Option<String>,
    /// S3 endpoint URL (overrides AWS_ENDPOINT_URL_S3).
    #[arg(long)]
    pub s3_endpoint_url: Option<String>,
    /// Address S3 buckets by path rather than by host name (for S3-compatible servers).
    #[arg(long, env = "S3_PATH_STYLE")]
    pub s3_path_style: bool,
}

impl AwsArgs {
    /// The shared SDK configuration.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(r) = &self.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        loader.load().await
    }

    /// A Kinesis client.
    pub fn kinesis(&self, sdk: &aws_config::SdkConfig) -> aws_sdk_kinesis::Client {
        let mut b = aws_sdk_kinesis::config::Builder::from(sdk);
        if let Some(url) = &self.kinesis_endpoint_url {
            b = b.endpoint_url(url);
        }
        aws_sdk_kinesis::Client::from_conf(b.build())
    }
}

/// Default of `--trend-context-keys`.
pub const DEFAULT_TREND_CONTEXT_KEYS: usize = 10_000;

/// Everything the forwarder core needs; read from flags or, in Lambda, from the environment.
#[derive(Debug, Clone, clap::Args)]
pub struct ForwarderArgs {
    /// Name of the SageMaker endpoint.
    #[arg(long, env = "ENDPOINT_NAME")]
    pub endpoint_name: String,
    /// The model's feature names in column order, comma-separated.
    #[arg(long, env = "FEATURE_NAMES", value_delimiter = ',', required = true)]
    pub feature_names: Vec<String>,
    /// Stream name used in alerts and dead letters.
    #[arg(long = "stream", env = "STREAM_NAME", default_value = "kinesis")]
    pub stream: String,
    /// SNS topic ARN for anomaly alerts.
    #[arg(long, env = "SNS_TOPIC_ARN")]
    pub sns_topic_arn: Option<String>,
    /// SQS queue URL for records that cannot be decoded (dead letters).
    #[arg(long, env = "DLQ_URL")]
    pub dlq_url: Option<String>,
    /// S3 bucket for every result (JSON Lines, partitioned by date).
    #[arg(long, env = "RESULTS_BUCKET")]
    pub results_bucket: Option<String>,
    /// Key prefix of the results.
    #[arg(long, env = "RESULTS_PREFIX", default_value = "results/")]
    pub results_prefix: String,
    /// CloudWatch namespace of the EMF metrics.
    #[arg(long, env = "METRICS_NAMESPACE", default_value = "Isoserve/Forwarder")]
    pub metrics_namespace: String,
    /// Metric dimensions as NAME=VALUE, comma-separated (default: Endpoint=<endpoint name>).
    #[arg(long, env = "METRICS_DIMENSIONS", value_delimiter = ',')]
    pub metrics_dimensions: Vec<String>,
    /// Most rows per InvokeEndpoint request.
    #[arg(long, env = "MAX_ROWS_PER_REQUEST", default_value_t = 1000)]
    pub max_rows: usize,
    /// Most bytes per InvokeEndpoint request (capped at 6 MiB).
    #[arg(long, env = "MAX_BYTES_PER_REQUEST", default_value_t = 5 * 1024 * 1024)]
    pub max_bytes: usize,
    /// InvokeEndpoint requests in flight at once.
    #[arg(long, env = "CONCURRENCY", default_value_t = 4)]
    pub concurrency: usize,
    /// Attempts per request (first call included).
    #[arg(long, env = "MAX_ATTEMPTS", default_value_t = 6)]
    pub max_attempts: u32,
    /// First backoff ceiling in milliseconds (doubles per attempt, full jitter).
    #[arg(long, env = "BASE_DELAY_MS", default_value_t = 100)]
    pub base_delay_ms: u64,
    /// Largest backoff in milliseconds.
    #[arg(long, env = "MAX_DELAY_MS", default_value_t = 10_000)]
    pub max_delay_ms: u64,
    /// Timeout of one InvokeEndpoint attempt in seconds (SageMaker allows the container 60 s).
    #[arg(long, env = "INVOKE_TIMEOUT_SECS", default_value_t = 70.0)]
    pub invoke_timeout_secs: f64,
    /// Trend-context mode for models with a trend baseline: score each partition key as one
    /// series, prepending up to N of its previous rows as context. Set N to the model's
    /// `trend.window` (`trainer inspect`); 0 = off.
    #[arg(long, env = "TREND_CONTEXT", default_value_t = 0)]
    pub trend_context: usize,
    /// Most partition keys whose trend context is kept in memory (least recently used evicted).
    #[arg(long, env = "TREND_CONTEXT_KEYS", default_value_t = DEFAULT_TREND_CONTEXT_KEYS)]
    pub trend_context_keys: usize,
    /// Client settings.
    #[command(flatten)]
    pub aws: AwsArgs,
}

impl ForwarderArgs {
    /// Builds the forwarder with real AWS clients.
    pub async fn build(&self) -> anyhow::Result<Forwarder<SageMakerEndpoint, AwsSinks>> {
        self.check_trend_context()?;
        let sdk = self.aws.sdk_config().await;
        let timeout = Duration::from_secs_f64(self.invoke_timeout_secs.max(0.001));
        let client =
            SageMakerEndpoint::client(&sdk, timeout, self.aws.sagemaker_endpoint_url.as_deref());
        let sinks = AwsSinks {
            sns: self.sns_topic_arn.as_ref().map(|t| {
                let mut b = aws_sdk_sns::config::Builder::from(&sdk);
                if let Some(url) = &self.aws.sns_endpoint_url {
                    b = b.endpoint_url(url);
                }
                (aws_sdk_sns::Client::from_conf(b.build()), t.clone())
            }),
            s3: self.results_bucket.as_ref().map(|bucket| {
                let mut b = aws_sdk_s3::config::Builder::from(&sdk)
                    .force_path_style(self.aws.s3_path_style);
                if let Some(url) = &self.aws.s3_endpoint_url {
                    b = b.endpoint_url(url);
                }
                (
                    aws_sdk_s3::Client::from_conf(b.build()),
                    bucket.clone(),
                    self.results_prefix.clone(),
                )
            }),
            sqs: self.dlq_url.as_ref().map(|q| {
                let mut b = aws_sdk_sqs::config::Builder::from(&sdk);
                if let Some(url) = &self.aws.sqs_endpoint_url {
                    b = b.endpoint_url(url);
                }
                (aws_sdk_sqs::Client::from_conf(b.build()), q.clone())
            }),
        };
        let mut dimensions = Vec::new();
        for d in &self.metrics_dimensions {
            let (k, v) = d
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("metric dimension \"{d}\" is not NAME=VALUE"))?;
            dimensions.push((k.trim().to_string(), v.trim().to_string()));
        }
        if self.metrics_dimensions.is_empty() {
            dimensions.push(("Endpoint".to_string(), self.endpoint_name.clone()));
        }
        let settings = Settings {
            stream: self.stream.clone(),
            feature_names: self
                .feature_names
                .iter()
                .map(|s| s.trim().to_string())
                .collect(),
            budget: Budget::new(self.max_rows, self.max_bytes),
            retry: RetryPolicy {
                max_attempts: self.max_attempts.max(1),
                base_delay: Duration::from_millis(self.base_delay_ms),
                max_delay: Duration::from_millis(self.max_delay_ms),
            },
            concurrency: self.concurrency.max(1),
            trend_context: self.trend_context,
            trend_keys: self.trend_context_keys,
        };
        let endpoint = SageMakerEndpoint::new(client, &self.endpoint_name);
        let metrics = Arc::new(Emf::stdout(&self.metrics_namespace, dimensions));
        Ok(Forwarder::new(endpoint, sinks, settings, metrics))
    }
}

impl ForwarderArgs {
    /// A request must hold the context and at least one new row, and a key's context needs room.
    pub fn check_trend_context(&self) -> anyhow::Result<()> {
        if self.trend_context == 0 {
            return Ok(());
        }
        if self.trend_context >= self.max_rows {
            anyhow::bail!(
                "--trend-context {} needs --max-rows above it (got {}): a request holds the context and at least one new row",
                self.trend_context,
                self.max_rows
            );
        }
        if self.trend_context_keys == 0 {
            anyhow::bail!("--trend-context-keys must be at least 1 when --trend-context is set");
        }
        Ok(())
    }
}

/// Logs to stderr (stdout carries the EMF metric lines); `RUST_LOG` sets the level.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        core: ForwarderArgs,
    }

    fn parse(extra: &[&str]) -> ForwarderArgs {
        let base = ["fwd", "--endpoint-name", "e", "--feature-names", "a,b"];
        Cli::try_parse_from(base.iter().chain(extra)).unwrap().core
    }

    #[test]
    fn trend_context_is_off_by_default_and_checked_against_the_row_budget() {
        let args = parse(&[]);
        assert_eq!(
            (args.trend_context, args.trend_context_keys),
            (0, DEFAULT_TREND_CONTEXT_KEYS)
        );
        assert!(args.check_trend_context().is_ok());
        let args = parse(&["--trend-context", "24", "--trend-context-keys", "500"]);
        assert_eq!((args.trend_context, args.trend_context_keys), (24, 500));
        assert!(args.check_trend_context().is_ok());
        let err = parse(&["--trend-context", "24", "--max-rows", "24"])
            .check_trend_context()
            .unwrap_err();
        assert!(err.to_string().contains("--max-rows above it"), "{err}");
        let err = parse(&["--trend-context", "3", "--trend-context-keys", "0"])
            .check_trend_context()
            .unwrap_err();
        assert!(err.to_string().contains("at least 1"), "{err}");
    }
}
