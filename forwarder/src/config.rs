//! Configuration of the forwarder's binaries, parsed once into typed values.
//!
//! Every setting is a flag with an environment fallback (clap's `env`; Lambda passes no
//! arguments, so there everything comes from the environment). The `*Args` structs are the raw
//! layer; each has a `*Config` counterpart built by `from_args`, which rejects a value that makes
//! no sense (zero, negative, infinite, out of range) with a [`ConfigError`] naming the setting,
//! rather than clamping it or panicking later.
//!
//! Service endpoints come from the standard `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>`
//! variables (honoured by the SDK) or from the explicit `--*-endpoint-url` flags.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;

use crate::endpoint::SageMakerEndpoint;
use crate::endpoint::retry::RetryPolicy;
use crate::pipeline::pack::{Budget, MAX_INVOKE_BYTES};
use crate::pipeline::{Forwarder, Settings, TargetModelFrom};
use crate::produce::{Format, PartitionKey, Plan};
use crate::sinks::AwsSinks;
use crate::sinks::metrics::Emf;
use crate::sinks::policy::{AlertPolicy, MAX_WINDOW};
use crate::sources::kinesis::shard::{ReaderOptions, StartPosition};

/// SageMaker endpoint to call.
pub const ENV_ENDPOINT_NAME: &str = "ENDPOINT_NAME";
/// The model's feature names, comma-separated, in column order.
pub const ENV_FEATURE_NAMES: &str = "FEATURE_NAMES";
/// Stream name (read by the standalone forwarder and `produce`; a label in alerts in Lambda).
pub const ENV_STREAM_NAME: &str = "STREAM_NAME";
/// SNS topic ARN for alerts.
pub const ENV_SNS_TOPIC_ARN: &str = "SNS_TOPIC_ARN";
/// SQS queue URL for dead letters.
pub const ENV_DLQ_URL: &str = "DLQ_URL";
/// S3 bucket for every result.
pub const ENV_RESULTS_BUCKET: &str = "RESULTS_BUCKET";
/// Key prefix of the results.
pub const ENV_RESULTS_PREFIX: &str = "RESULTS_PREFIX";
/// CloudWatch namespace of the EMF metrics.
pub const ENV_METRICS_NAMESPACE: &str = "METRICS_NAMESPACE";
/// Metric dimensions as NAME=VALUE, comma-separated.
pub const ENV_METRICS_DIMENSIONS: &str = "METRICS_DIMENSIONS";
/// Most rows per InvokeEndpoint request.
pub const ENV_MAX_ROWS: &str = "MAX_ROWS_PER_REQUEST";
/// Most bytes per InvokeEndpoint request.
pub const ENV_MAX_BYTES: &str = "MAX_BYTES_PER_REQUEST";
/// InvokeEndpoint requests in flight at once.
pub const ENV_CONCURRENCY: &str = "CONCURRENCY";
/// Attempts per request, the first included.
pub const ENV_MAX_ATTEMPTS: &str = "MAX_ATTEMPTS";
/// First backoff ceiling in milliseconds.
pub const ENV_BASE_DELAY_MS: &str = "BASE_DELAY_MS";
/// Largest backoff in milliseconds.
pub const ENV_MAX_DELAY_MS: &str = "MAX_DELAY_MS";
/// Timeout of one InvokeEndpoint attempt in seconds.
pub const ENV_INVOKE_TIMEOUT: &str = "INVOKE_TIMEOUT_SECS";
/// Trend-context rows per key (0: off).
pub const ENV_TREND_CONTEXT: &str = "TREND_CONTEXT";
/// Most keys whose trend context is kept.
pub const ENV_TREND_CONTEXT_KEYS: &str = "TREND_CONTEXT_KEYS";
/// Alert policy: anomalies among a key's last `ALERT_WINDOW` rows that raise an alert.
pub const ENV_ALERT_MIN_ANOMALIES: &str = "ALERT_MIN_ANOMALIES";
/// Alert policy: rows the persistence rule looks back over.
pub const ENV_ALERT_WINDOW: &str = "ALERT_WINDOW";
/// Alert policy: seconds after an alert during which a key's anomalies fold into it.
pub const ENV_ALERT_COOLDOWN: &str = "ALERT_COOLDOWN_SECS";
/// Alert policy: relative margin around the expected value within which anomalies are dropped.
pub const ENV_ALERT_RELATIVE_MARGIN: &str = "ALERT_RELATIVE_MARGIN";
/// Alert policy: absolute margin around the expected value within which anomalies are dropped.
pub const ENV_ALERT_ABSOLUTE_MARGIN: &str = "ALERT_ABSOLUTE_MARGIN";
/// Alert policy: normal rows per key whose median is the expected value.
pub const ENV_ALERT_BASELINE_ROWS: &str = "ALERT_BASELINE_ROWS";
/// Alert policy: most keys whose alert state is kept.
pub const ENV_ALERT_KEYS: &str = "ALERT_KEYS";
/// Alert policy off: every anomaly alerted.
pub const ENV_ALERT_EVERY_ANOMALY: &str = "ALERT_EVERY_ANOMALY";
/// Features explained per row (`explain=K`, or `all`); off when unset.
pub const ENV_EXPLAIN: &str = "EXPLAIN";
/// Multi-model endpoints: `partition-key` or `field:NAME`, where each record's entity comes from.
pub const ENV_TARGET_MODEL_FROM: &str = "TARGET_MODEL_FROM";
/// Lambda: milliseconds kept before the invocation's deadline.
pub const ENV_DEADLINE_MARGIN_MS: &str = "DEADLINE_MARGIN_MS";
/// Standalone: the checkpoint file.
pub const ENV_CHECKPOINT_FILE: &str = "CHECKPOINT_FILE";
/// Standalone: where shards without a checkpoint start.
pub const ENV_START_POSITION: &str = "START_POSITION";
/// Standalone: records per GetRecords call.
pub const ENV_RECORDS_PER_READ: &str = "RECORDS_PER_READ";
/// Standalone: wait after an empty read, in milliseconds.
pub const ENV_IDLE_WAIT_MS: &str = "IDLE_WAIT_MS";
/// Standalone: seconds between two looks for new shards.
pub const ENV_DISCOVERY_INTERVAL: &str = "DISCOVERY_INTERVAL_SECS";

/// Default of `--trend-context-keys`.
pub const DEFAULT_TREND_CONTEXT_KEYS: usize = 10_000;
/// Default of `DEADLINE_MARGIN_MS`: time kept after the last endpoint call for routing the
/// results (SNS, S3) and answering the Runtime API.
pub const DEFAULT_DEADLINE_MARGIN_MS: u64 = 2_000;
/// Kinesis's largest GetRecords limit.
pub const MAX_RECORDS_PER_READ: u32 = 10_000;
/// Kinesis's largest PutRecords batch.
pub const MAX_PUT_BATCH: usize = 500;

/// A setting that cannot be used; the message names the flag and its variable.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    /// A target-model setting that cannot work with the others.
    #[error("--target-model-from/TARGET_MODEL_FROM: {0}")]
    TargetModel(String),
    /// A count that must be positive is zero.
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    /// A count above its ceiling.
    #[error("{name} must be at most {max}, got {value}")]
    TooLarge {
        /// The setting.
        name: &'static str,
        /// Its ceiling.
        max: u64,
        /// The value given.
        value: u64,
    },
    /// A duration that is not a positive, finite number of seconds up to an hour.
    #[error("{name} must be above 0 and at most 3600 seconds, got {value}")]
    Seconds {
        /// The setting.
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// A rate that is negative or not a number.
    #[error("{name} must be a finite number of at least 0, got {value}")]
    Rate {
        /// The setting.
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// The backoff ceiling is below its starting point.
    #[error(
        "--base-delay-ms/{ENV_BASE_DELAY_MS} ({base}) must not exceed --max-delay-ms/{ENV_MAX_DELAY_MS} ({max})"
    )]
    Backoff {
        /// First backoff ceiling.
        base: u64,
        /// Largest backoff.
        max: u64,
    },
    /// A metric dimension that is not NAME=VALUE.
    #[error(
        "metric dimension \"{0}\" is not NAME=VALUE (--metrics-dimensions/{ENV_METRICS_DIMENSIONS})"
    )]
    Dimension(String),
    /// A feature name list with an empty entry.
    #[error("--feature-names/{ENV_FEATURE_NAMES} holds an empty name")]
    FeatureNames,
    /// The persistence rule asks for more anomalies than its window holds.
    #[error(
        "--alert-min-anomalies/ALERT_MIN_ANOMALIES ({min}) must not exceed --alert-window/ALERT_WINDOW ({window})"
    )]
    AlertWindow {
        /// Anomalies asked for.
        min: usize,
        /// Rows in the window.
        window: usize,
    },
    /// The standalone forwarder was not told which stream to read.
    #[error("--stream/{ENV_STREAM_NAME} is required: the stream to read")]
    NoStream,
    /// The trend context does not leave room for a new row in a request.
    #[error(
        "--trend-context {context} needs --max-rows above it (got {max_rows}): a request holds the context and at least one new row"
    )]
    TrendContext {
        /// Context rows asked for.
        context: usize,
        /// Rows per request.
        max_rows: usize,
    },
}

/// The alert policy of `args`: [`AlertPolicy::every_anomaly`] when asked for, else the flags
/// (1 <= min anomalies <= window <= 64, finite non-negative margins, a cool-down of a day at most).
fn alert_policy(args: &ForwarderArgs) -> Result<AlertPolicy, ConfigError> {
    if args.alert_every_anomaly {
        return Ok(AlertPolicy::every_anomaly());
    }
    at_least_one(
        "--alert-min-anomalies/ALERT_MIN_ANOMALIES",
        args.alert_min_anomalies as u64,
    )?;
    at_most(
        "--alert-window/ALERT_WINDOW",
        args.alert_window as u64,
        MAX_WINDOW as u64,
    )?;
    if args.alert_min_anomalies > args.alert_window {
        return Err(ConfigError::AlertWindow {
            min: args.alert_min_anomalies,
            window: args.alert_window,
        });
    }
    at_least_one(
        "--alert-baseline-rows/ALERT_BASELINE_ROWS",
        args.alert_baseline_rows as u64,
    )?;
    at_least_one("--alert-keys/ALERT_KEYS", args.alert_keys as u64)?;
    for (name, value) in [
        (
            "--alert-relative-margin/ALERT_RELATIVE_MARGIN",
            args.alert_relative_margin,
        ),
        (
            "--alert-absolute-margin/ALERT_ABSOLUTE_MARGIN",
            args.alert_absolute_margin,
        ),
        (
            "--alert-cooldown-secs/ALERT_COOLDOWN_SECS",
            args.alert_cooldown_secs,
        ),
    ] {
        if !(value.is_finite() && value >= 0.0) {
            return Err(ConfigError::Rate { name, value });
        }
    }
    if args.alert_cooldown_secs > 86_400.0 {
        return Err(ConfigError::TooLarge {
            name: "--alert-cooldown-secs/ALERT_COOLDOWN_SECS",
            max: 86_400,
            value: args.alert_cooldown_secs as u64,
        });
    }
    Ok(AlertPolicy {
        min_anomalies: args.alert_min_anomalies,
        window: args.alert_window,
        cooldown: Duration::from_secs_f64(args.alert_cooldown_secs),
        relative_margin: args.alert_relative_margin,
        absolute_margin: args.alert_absolute_margin,
        baseline_rows: args.alert_baseline_rows,
        max_keys: args.alert_keys,
    })
}

fn at_least_one(name: &'static str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        Err(ConfigError::Zero(name))
    } else {
        Ok(())
    }
}

fn at_most(name: &'static str, value: u64, max: u64) -> Result<(), ConfigError> {
    if value > max {
        Err(ConfigError::TooLarge { name, max, value })
    } else {
        Ok(())
    }
}

/// A duration in seconds: positive, finite, at most an hour (so `Duration` never panics on it).
fn seconds(name: &'static str, value: f64) -> Result<Duration, ConfigError> {
    if value > 0.0 && value <= 3600.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(ConfigError::Seconds { name, value })
    }
}

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

/// The forwarder core's raw settings, shared by the standalone forwarder and the Lambda function.
#[derive(Debug, Clone, clap::Args)]
pub struct ForwarderArgs {
    /// Name of the SageMaker endpoint.
    #[arg(long, env = ENV_ENDPOINT_NAME)]
    pub endpoint_name: String,
    /// The model's feature names in column order, comma-separated.
    #[arg(long, env = ENV_FEATURE_NAMES, value_delimiter = ',', required = true)]
    pub feature_names: Vec<String>,
    /// Stream name: the stream the standalone forwarder reads (required there), and the label of
    /// alerts and dead letters. In Lambda it defaults to the name in each event's source ARN (the
    /// Kafka topic for Kafka events).
    #[arg(long = "stream", env = ENV_STREAM_NAME)]
    pub stream: Option<String>,
    /// SNS topic ARN for anomaly alerts.
    #[arg(long, env = ENV_SNS_TOPIC_ARN)]
    pub sns_topic_arn: Option<String>,
    /// SQS queue URL for records that cannot be decoded or that the model refuses.
    #[arg(long, env = ENV_DLQ_URL)]
    pub dlq_url: Option<String>,
    /// S3 bucket for every result (JSON Lines, partitioned by date).
    #[arg(long, env = ENV_RESULTS_BUCKET)]
    pub results_bucket: Option<String>,
    /// Key prefix of the results.
    #[arg(long, env = ENV_RESULTS_PREFIX, default_value = "results/")]
    pub results_prefix: String,
    /// CloudWatch namespace of the EMF metrics.
    #[arg(long, env = ENV_METRICS_NAMESPACE, default_value = "Isoserve/Forwarder")]
    pub metrics_namespace: String,
    /// Metric dimensions as NAME=VALUE, comma-separated (default: `Endpoint=<endpoint name>`).
    #[arg(long, env = ENV_METRICS_DIMENSIONS, value_delimiter = ',')]
    pub metrics_dimensions: Vec<String>,
    /// Most rows per InvokeEndpoint request.
    #[arg(long, env = ENV_MAX_ROWS, default_value_t = 1000)]
    pub max_rows: usize,
    /// Most bytes per InvokeEndpoint request (at most 6 MiB, InvokeEndpoint's limit).
    #[arg(long, env = ENV_MAX_BYTES, default_value_t = 5 * 1024 * 1024)]
    pub max_bytes: usize,
    /// InvokeEndpoint requests in flight at once.
    #[arg(long, env = ENV_CONCURRENCY, default_value_t = 4)]
    pub concurrency: usize,
    /// Attempts per request (first call included).
    #[arg(long, env = ENV_MAX_ATTEMPTS, default_value_t = 6)]
    pub max_attempts: u32,
    /// First backoff ceiling in milliseconds (doubles per attempt, full jitter).
    #[arg(long, env = ENV_BASE_DELAY_MS, default_value_t = 100)]
    pub base_delay_ms: u64,
    /// Largest backoff in milliseconds.
    #[arg(long, env = ENV_MAX_DELAY_MS, default_value_t = 10_000)]
    pub max_delay_ms: u64,
    /// Timeout of one InvokeEndpoint attempt in seconds (SageMaker allows the container 60 s).
    #[arg(long, env = ENV_INVOKE_TIMEOUT, default_value_t = 70.0)]
    pub invoke_timeout_secs: f64,
    /// Trend-context mode for models with a trend baseline: score each partition key as one
    /// series, prepending up to N of its previous rows as context. Set N to the model's
    /// `trend.window` (`trainer inspect`); 0 = off.
    #[arg(long, env = ENV_TREND_CONTEXT, default_value_t = 0)]
    pub trend_context: usize,
    /// Most partition keys whose trend context is kept in memory (least recently used evicted).
    #[arg(long, env = ENV_TREND_CONTEXT_KEYS, default_value_t = DEFAULT_TREND_CONTEXT_KEYS)]
    pub trend_context_keys: usize,
    /// Alert policy: a key raises an alert once this many of its last `--alert-window` rows are
    /// anomalous.
    #[arg(long, env = ENV_ALERT_MIN_ANOMALIES, default_value_t = AlertPolicy::default().min_anomalies)]
    pub alert_min_anomalies: usize,
    /// Alert policy: the rows the persistence rule looks back over (at most 64).
    #[arg(long, env = ENV_ALERT_WINDOW, default_value_t = AlertPolicy::default().window)]
    pub alert_window: usize,
    /// Alert policy: seconds after an alert during which the key's anomalies fold into it
    /// (measured on the records' arrival times).
    #[arg(long, env = ENV_ALERT_COOLDOWN, default_value_t = AlertPolicy::default().cooldown.as_secs_f64())]
    pub alert_cooldown_secs: f64,
    /// Alert policy: drop anomalies within this fraction of the expected value on every feature
    /// (the expected value is the median of the key's recent normal rows).
    #[arg(long, env = ENV_ALERT_RELATIVE_MARGIN, default_value_t = AlertPolicy::default().relative_margin)]
    pub alert_relative_margin: f64,
    /// Alert policy: drop anomalies within this distance of the expected value on every feature.
    #[arg(long, env = ENV_ALERT_ABSOLUTE_MARGIN, default_value_t = AlertPolicy::default().absolute_margin)]
    pub alert_absolute_margin: f64,
    /// Alert policy: the normal rows per key whose median is the expected value.
    #[arg(long, env = ENV_ALERT_BASELINE_ROWS, default_value_t = AlertPolicy::default().baseline_rows)]
    pub alert_baseline_rows: usize,
    /// Alert policy: most keys whose state is kept (least recently seen evicted).
    #[arg(long, env = ENV_ALERT_KEYS, default_value_t = AlertPolicy::default().max_keys)]
    pub alert_keys: usize,
    /// Turn the alert policy off: every anomaly is alerted (grouped per key and batch).
    #[arg(long, env = ENV_ALERT_EVERY_ANOMALY, default_value_t = false)]
    pub alert_every_anomaly: bool,
    /// Ask the endpoint to explain each row: the K features with the highest share of the score
    /// (or `all`). Alerts then say why in plain words, and the results carry the explanation.
    #[arg(long, env = ENV_EXPLAIN, value_name = "K")]
    pub explain: Option<codec::Explain>,
    /// Multi-model endpoint: send each record to its entity's model, `TargetModel=<entity>.tar.gz`,
    /// with the entity taken from the record's partition key (`partition-key`) or from a field of
    /// its JSON object (`field:NAME`); requests are batched per entity.
    #[arg(long, env = ENV_TARGET_MODEL_FROM, value_name = "SOURCE")]
    pub target_model_from: Option<TargetModelFrom>,
    /// Client settings.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// The forwarder core's validated settings.
#[derive(Debug, Clone)]
pub struct ForwarderConfig {
    /// Name of the SageMaker endpoint.
    pub endpoint_name: String,
    /// Features the endpoint explains per row, if any.
    pub explain: Option<codec::Explain>,
    /// What the pipeline runs with.
    pub settings: Settings,
    /// Timeout of one InvokeEndpoint attempt.
    pub invoke_timeout: Duration,
    /// SNS topic ARN for alerts.
    pub sns_topic_arn: Option<String>,
    /// SQS queue URL for dead letters.
    pub dlq_url: Option<String>,
    /// S3 bucket for the results.
    pub results_bucket: Option<String>,
    /// Key prefix of the results.
    pub results_prefix: String,
    /// CloudWatch namespace of the EMF metrics.
    pub metrics_namespace: String,
    /// Metric dimensions, in order.
    pub metrics_dimensions: Vec<(String, String)>,
    /// Client settings.
    pub aws: AwsArgs,
}

impl ForwarderConfig {
    /// Validates `args`.
    pub fn from_args(args: ForwarderArgs) -> Result<Self, ConfigError> {
        at_least_one("--max-rows/MAX_ROWS_PER_REQUEST", args.max_rows as u64)?;
        at_least_one("--max-bytes/MAX_BYTES_PER_REQUEST", args.max_bytes as u64)?;
        at_most(
            "--max-bytes/MAX_BYTES_PER_REQUEST",
            args.max_bytes as u64,
            MAX_INVOKE_BYTES as u64,
        )?;
        at_least_one("--concurrency/CONCURRENCY", args.concurrency as u64)?;
        at_least_one("--max-attempts/MAX_ATTEMPTS", u64::from(args.max_attempts))?;
        if args.base_delay_ms > args.max_delay_ms {
            return Err(ConfigError::Backoff {
                base: args.base_delay_ms,
                max: args.max_delay_ms,
            });
        }
        let invoke_timeout = seconds(
            "--invoke-timeout-secs/INVOKE_TIMEOUT_SECS",
            args.invoke_timeout_secs,
        )?;
        if args.trend_context > 0 {
            if args.trend_context >= args.max_rows {
                return Err(ConfigError::TrendContext {
                    context: args.trend_context,
                    max_rows: args.max_rows,
                });
            }
            at_least_one(
                "--trend-context-keys/TREND_CONTEXT_KEYS",
                args.trend_context_keys as u64,
            )?;
        }
        if let (Some(TargetModelFrom::Field(name)), true) =
            (&args.target_model_from, args.trend_context > 0)
        {
            return Err(ConfigError::TargetModel(format!(
                "field:{name} cannot be combined with --trend-context: a trend context follows a \
                 partition key, so take the entity from it (partition-key)"
            )));
        }
        let alert = alert_policy(&args)?;
        let feature_names: Vec<String> = args
            .feature_names
            .iter()
            .map(|s| s.trim().to_string())
            .collect();
        if feature_names.iter().any(String::is_empty) {
            return Err(ConfigError::FeatureNames);
        }
        let mut metrics_dimensions = Vec::new();
        for d in &args.metrics_dimensions {
            match d.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => {
                    metrics_dimensions.push((k.trim().to_string(), v.trim().to_string()));
                }
                _ => return Err(ConfigError::Dimension(d.clone())),
            }
        }
        if metrics_dimensions.is_empty() {
            metrics_dimensions.push(("Endpoint".to_string(), args.endpoint_name.clone()));
        }
        Ok(ForwarderConfig {
            settings: Settings {
                stream: args.stream,
                feature_names,
                budget: Budget::new(args.max_rows, args.max_bytes),
                retry: RetryPolicy {
                    max_attempts: args.max_attempts,
                    base_delay: Duration::from_millis(args.base_delay_ms),
                    max_delay: Duration::from_millis(args.max_delay_ms),
                },
                concurrency: args.concurrency,
                trend_context: args.trend_context,
                trend_keys: args.trend_context_keys,
                alert,
                target_model: args.target_model_from,
            },
            endpoint_name: args.endpoint_name,
            explain: args.explain,
            invoke_timeout,
            sns_topic_arn: args.sns_topic_arn,
            dlq_url: args.dlq_url,
            results_bucket: args.results_bucket,
            results_prefix: args.results_prefix,
            metrics_namespace: args.metrics_namespace,
            metrics_dimensions,
            aws: args.aws,
        })
    }

    /// Builds the forwarder with real AWS clients.
    pub async fn build(&self) -> Forwarder<SageMakerEndpoint, AwsSinks> {
        let sdk = self.aws.sdk_config().await;
        let client = SageMakerEndpoint::client(
            &sdk,
            self.invoke_timeout,
            self.aws.sagemaker_endpoint_url.as_deref(),
        );
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
        let endpoint =
            SageMakerEndpoint::new(client, &self.endpoint_name).with_explain(self.explain);
        let metrics = Arc::new(Emf::stdout(
            &self.metrics_namespace,
            self.metrics_dimensions.clone(),
        ));
        Forwarder::new(endpoint, sinks, self.settings.clone(), metrics)
    }
}

/// The Lambda function's raw settings (environment only: Lambda passes no arguments).
#[derive(Debug, Clone, clap::Args)]
pub struct LambdaArgs {
    /// The core's settings.
    #[command(flatten)]
    pub core: ForwarderArgs,
    /// Milliseconds kept before the invocation's deadline for routing and answering: the endpoint
    /// is not called past `deadline - margin`, and the records left are reported as failures.
    #[arg(long, env = ENV_DEADLINE_MARGIN_MS, default_value_t = DEFAULT_DEADLINE_MARGIN_MS)]
    pub deadline_margin_ms: u64,
}

/// The Lambda function's validated settings.
#[derive(Debug, Clone)]
pub struct LambdaConfig {
    /// The core's settings.
    pub core: ForwarderConfig,
    /// Time kept before each invocation's deadline.
    pub deadline_margin: Duration,
}

impl LambdaConfig {
    /// Validates `args`.
    pub fn from_args(args: LambdaArgs) -> Result<Self, ConfigError> {
        Ok(LambdaConfig {
            core: ForwarderConfig::from_args(args.core)?,
            deadline_margin: Duration::from_millis(args.deadline_margin_ms),
        })
    }
}

/// The standalone forwarder's raw settings.
#[derive(Debug, Clone, clap::Args)]
pub struct StandaloneArgs {
    /// The core's settings.
    #[command(flatten)]
    pub core: ForwarderArgs,
    /// Checkpoint file (one per stream; written atomically after each batch).
    #[arg(long, env = ENV_CHECKPOINT_FILE, default_value = "forwarder-checkpoint.json")]
    pub checkpoint_file: PathBuf,
    /// Where shards without a checkpoint start.
    #[arg(long, env = ENV_START_POSITION, value_enum, default_value = "trim-horizon")]
    pub start_position: StartPosition,
    /// Records per GetRecords call (at most 10,000).
    #[arg(long, env = ENV_RECORDS_PER_READ, default_value_t = 1000)]
    pub records_per_read: u32,
    /// Wait after an empty read, in milliseconds.
    #[arg(long, env = ENV_IDLE_WAIT_MS, default_value_t = 1000)]
    pub idle_wait_ms: u64,
    /// How often to look for new shards, in seconds.
    #[arg(long, env = ENV_DISCOVERY_INTERVAL, default_value_t = 10.0)]
    pub discovery_interval_secs: f64,
}

/// The standalone forwarder's validated settings.
#[derive(Debug, Clone)]
pub struct StandaloneConfig {
    /// The stream to read.
    pub stream: String,
    /// The core's settings.
    pub core: ForwarderConfig,
    /// Checkpoint file.
    pub checkpoint_file: PathBuf,
    /// How each shard is read.
    pub reader: ReaderOptions,
    /// Time between two looks for new shards.
    pub discovery_interval: Duration,
}

impl StandaloneConfig {
    /// Validates `args`.
    pub fn from_args(args: StandaloneArgs) -> Result<Self, ConfigError> {
        at_least_one(
            "--records-per-read/RECORDS_PER_READ",
            u64::from(args.records_per_read),
        )?;
        at_most(
            "--records-per-read/RECORDS_PER_READ",
            u64::from(args.records_per_read),
            u64::from(MAX_RECORDS_PER_READ),
        )?;
        let discovery_interval = seconds(
            "--discovery-interval-secs/DISCOVERY_INTERVAL_SECS",
            args.discovery_interval_secs,
        )?;
        let stream = args.core.stream.clone().ok_or(ConfigError::NoStream)?;
        Ok(StandaloneConfig {
            stream,
            core: ForwarderConfig::from_args(args.core)?,
            checkpoint_file: args.checkpoint_file,
            reader: ReaderOptions {
                // At most MAX_RECORDS_PER_READ, checked above: fits an i32.
                limit: args.records_per_read as i32,
                idle_wait: Duration::from_millis(args.idle_wait_ms),
                start: args.start_position,
                ..ReaderOptions::default()
            },
            discovery_interval,
        })
    }
}

/// `produce`'s raw settings.
#[derive(Debug, Clone, clap::Args)]
pub struct ProduceArgs {
    /// Stream name.
    #[arg(long, env = ENV_STREAM_NAME)]
    pub stream: String,
    /// CSV file (the header line is optional).
    #[arg(long)]
    pub file: PathBuf,
    /// Records per PutRecords call (at most 500).
    #[arg(long, default_value_t = 10)]
    pub batch_size: usize,
    /// PutRecords calls per second (0: as fast as possible).
    #[arg(long, default_value_t = 1.0)]
    pub rate: f64,
    /// Partition key: row (the row index), column:NAME, or random.
    #[arg(long, default_value = "row")]
    pub partition_key: PartitionKey,
    /// Record format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
    /// Column names when the file has no header (needed for --format json).
    #[arg(long, value_delimiter = ',')]
    pub feature_names: Option<Vec<String>>,
    /// Stop after this many rows.
    #[arg(long)]
    pub limit: Option<u64>,
    /// Start over at the end of the file (until --limit, or forever).
    #[arg(long = "loop")]
    pub looping: bool,
    /// Pack this many rows into one KPL-aggregated record (1: no aggregation).
    #[arg(long, default_value_t = 1)]
    pub aggregate: usize,
    /// Attempts per PutRecords batch before giving up.
    #[arg(long, default_value_t = 8)]
    pub max_attempts: u32,
    /// Client settings.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// `produce`'s validated settings.
#[derive(Debug, Clone)]
pub struct ProduceConfig {
    /// Stream name.
    pub stream: String,
    /// CSV file.
    pub file: PathBuf,
    /// Column names when the file has no header.
    pub feature_names: Option<Vec<String>>,
    /// How the rows are written.
    pub plan: Plan,
    /// Client settings.
    pub aws: AwsArgs,
}

impl ProduceConfig {
    /// Validates `args`.
    pub fn from_args(args: ProduceArgs) -> Result<Self, ConfigError> {
        at_least_one("--batch-size", args.batch_size as u64)?;
        at_most("--batch-size", args.batch_size as u64, MAX_PUT_BATCH as u64)?;
        at_least_one("--aggregate", args.aggregate as u64)?;
        at_least_one("--max-attempts", u64::from(args.max_attempts))?;
        if !(args.rate.is_finite() && args.rate >= 0.0) {
            return Err(ConfigError::Rate {
                name: "--rate",
                value: args.rate,
            });
        }
        // A rate so low that one pause exceeds an hour is a mistake, not a plan.
        let pause = if args.rate > 0.0 {
            Some(seconds("1 / --rate", 1.0 / args.rate)?)
        } else {
            None
        };
        Ok(ProduceConfig {
            stream: args.stream,
            file: args.file,
            feature_names: args.feature_names,
            plan: Plan {
                batch_size: args.batch_size,
                pause,
                partition_key: args.partition_key,
                format: args.format,
                limit: args.limit,
                looping: args.looping,
                aggregate: args.aggregate,
                retry: RetryPolicy {
                    max_attempts: args.max_attempts,
                    base_delay: Duration::from_millis(100),
                    max_delay: Duration::from_secs(5),
                },
            },
            aws: args.aws,
        })
    }
}

/// Logs to stderr (stdout carries the EMF metric lines); `RUST_LOG` sets the level. On a terminal
/// the lines are for people; anywhere else (Lambda, a container, a pipe) they are JSON lines
/// without colour codes, which CloudWatch Logs would show as escape garbage, each carrying the
/// fields of its span (in Lambda, the invocation's `request_id`).
pub fn init_logging() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::io::stderr().is_terminal() {
        let _ = builder.try_init();
        return;
    }
    let _ = builder
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .try_init();
    // A panic's message becomes one JSON line too, rather than text CloudWatch splits into lines.
    std::panic::set_hook(Box::new(|info| {
        tracing::error!(panic = %info, "the process panicked");
    }));
}

#[cfg(test)]
mod tests;
