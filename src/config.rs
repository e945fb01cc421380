//! Server configuration: flags and the SageMaker environment, parsed once into [`Config`].
//!
//! Every setting is a flag with an environment fallback (clap's `env`), so tests inject values as
//! flags and never touch the process environment. [`ServeArgs`] is the raw, stringly layer;
//! [`Config::from_args`] validates it into the typed value the server runs on.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

/// Port variable SageMaker sets for inference pipelines and multi-container endpoints.
pub const ENV_PORT: &str = "SAGEMAKER_BIND_TO_PORT";
/// Explicit model path (a `.isof` file or a directory holding one).
pub const ENV_MODEL: &str = "ISOSERVE_MODEL";
/// Directory SageMaker unpacks `ModelDataUrl` into.
pub const ENV_MODEL_DIR: &str = "ISOSERVE_MODEL_DIR";
/// Body limit in MiB (SageMaker batch transform sets it; real-time caps at 6 MiB).
pub const ENV_MAX_PAYLOAD: &str = "SAGEMAKER_MAX_PAYLOAD_IN_MB";
/// Per-request deadline in seconds.
pub const ENV_TIMEOUT: &str = "SAGEMAKER_MODEL_SERVER_TIMEOUT";
/// Media type answered when `Accept` is missing or `*/*`.
pub const ENV_DEFAULT_ACCEPT: &str = "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT";
/// Server-wide compatibility shape: `native`, `rcf` or `sklearn`.
pub const ENV_OUTPUT_FORMAT: &str = "ISOSERVE_OUTPUT_FORMAT";
/// Server-wide explanations: a feature count or `all` (off when unset).
pub const ENV_EXPLAIN: &str = "ISOSERVE_EXPLAIN";
/// Largest number of rows one request may carry.
pub const ENV_MAX_ROWS: &str = "ISOSERVE_MAX_ROWS";
/// Reported to batch transform as `MaxConcurrentTransforms`.
pub const ENV_WORKERS: &str = "SAGEMAKER_MODEL_SERVER_WORKERS";
/// Python numeric log level (10 debug, 20 info, 30 warning, 40 error, 50 critical).
pub const ENV_LOG_LEVEL: &str = "SAGEMAKER_CONTAINER_LOG_LEVEL";
/// Rows at or above which a batch is scored on the blocking pool with rayon.
pub const ENV_PARALLEL_ROWS: &str = "ISOSERVE_PARALLEL_ROWS";

/// Seconds a client has to finish a request's headers, counted from the request's first byte.
pub const ENV_HEADER_TIMEOUT: &str = "ISOSERVE_HEADER_TIMEOUT";
/// Seconds a client has to send a whole request body.
pub const ENV_BODY_TIMEOUT: &str = "ISOSERVE_BODY_TIMEOUT";
/// Seconds a keep-alive connection may sit idle between requests.
pub const ENV_IDLE_TIMEOUT: &str = "ISOSERVE_IDLE_TIMEOUT";
/// Largest number of open client connections; further ones wait in the listen queue.
pub const ENV_MAX_CONNECTIONS: &str = "ISOSERVE_MAX_CONNECTIONS";
/// Requests decoded and scored on the blocking pool at once; more wait their turn.
pub const ENV_BLOCKING_JOBS: &str = "ISOSERVE_BLOCKING_JOBS";
/// MiB of request bodies held in memory at once, across all connections.
pub const ENV_MAX_INFLIGHT_MB: &str = "ISOSERVE_MAX_INFLIGHT_MB";

/// SageMaker sets it to `true` on a multi-model endpoint's containers.
pub const ENV_MULTI_MODEL: &str = "SAGEMAKER_MULTI_MODEL";
/// MiB of memory the loaded models of a multi-model server may hold together.
pub const ENV_MODEL_MEMORY_MB: &str = "ISOSERVE_MODEL_MEMORY_MB";

/// The SageMaker container port.
pub const DEFAULT_PORT: u16 = 8080;
/// SageMaker's real-time `InvokeEndpoint` body cap, in MiB.
pub const DEFAULT_MAX_PAYLOAD_MB: u64 = 6;
/// The largest body limit: asynchronous inference takes bodies up to 1 GB (real-time endpoints stop
/// at 6 MiB, serverless ones at 4 MB, batch transform at 100 MiB).
pub const MAX_PAYLOAD_MB_CEILING: u64 = 1024;
/// SageMaker's response deadline for `/invocations`, in seconds.
pub const DEFAULT_TIMEOUT_SECS: f64 = 60.0;
/// Default answer type.
pub const DEFAULT_ACCEPT: &str = "application/json";
/// Default row cap: far above what 100 MiB of CSV can carry for typical widths.
pub const DEFAULT_MAX_ROWS: usize = codec::Limits::DEFAULT_MAX_ROWS;
/// Default parallel-scoring threshold (see `docs/benchmarks.md`, http section).
pub const DEFAULT_PARALLEL_ROWS: usize = 2_048;
/// Default header timeout: a real client sends its headers in one packet.
pub const DEFAULT_HEADER_TIMEOUT_SECS: f64 = 10.0;
/// Default body timeout: 6 MiB at 1.6 Mbit/s, far below any client SageMaker forwards.
pub const DEFAULT_BODY_TIMEOUT_SECS: f64 = 30.0;
/// Default keep-alive idle timeout (nginx's `keepalive_timeout`).
pub const DEFAULT_IDLE_TIMEOUT_SECS: f64 = 75.0;
/// Default connection limit.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4_096;
/// Default budget for request bodies in memory, in MiB.
pub const DEFAULT_MAX_INFLIGHT_MB: u64 = 1_024;
/// Where SageMaker unpacks the model artifact.
pub const DEFAULT_MODEL_DIR: &str = "/opt/ml/model";
/// SageMaker sends SIGKILL 30 s after SIGTERM; drain well before that.
pub const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 25;

/// Raw serve flags; each falls back to its environment variable.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Port to listen on (all interfaces unless --bind says otherwise).
    #[arg(long, env = ENV_PORT, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Address to bind.
    #[arg(long, env = "ISOSERVE_BIND", default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
    pub bind: IpAddr,
    /// Model file or directory; overrides discovery.
    #[arg(long, env = ENV_MODEL)]
    pub model: Option<PathBuf>,
    /// Directory searched for a model file before the baked-in path.
    #[arg(long, env = ENV_MODEL_DIR, default_value = DEFAULT_MODEL_DIR)]
    pub model_dir: PathBuf,
    /// Body limit in MiB (1..=100).
    #[arg(long, env = ENV_MAX_PAYLOAD, default_value_t = DEFAULT_MAX_PAYLOAD_MB)]
    pub max_payload_mb: u64,
    /// Per-request deadline in seconds (fractions allowed).
    #[arg(long, env = ENV_TIMEOUT, default_value_t = DEFAULT_TIMEOUT_SECS)]
    pub timeout_secs: f64,
    /// Media type used when Accept is missing or `*/*`.
    #[arg(long, env = ENV_DEFAULT_ACCEPT, default_value = DEFAULT_ACCEPT)]
    pub default_accept: String,
    /// Server-wide answer shape: native, rcf or sklearn [default: the model's own, else native].
    #[arg(long, env = ENV_OUTPUT_FORMAT)]
    pub output_format: Option<String>,
    /// Explain every native answer: the K features with the highest attribution, or `all`
    /// [default: off; a request's explain= still asks].
    #[arg(long, env = ENV_EXPLAIN)]
    pub explain: Option<String>,
    /// Largest number of rows in one request.
    #[arg(long, env = ENV_MAX_ROWS, default_value_t = DEFAULT_MAX_ROWS)]
    pub max_rows: usize,
    /// MaxConcurrentTransforms for batch transform (default: the number of CPUs).
    #[arg(long, env = ENV_WORKERS)]
    pub workers: Option<usize>,
    /// Rows at or above which a batch is scored in parallel off the async executor.
    #[arg(long, env = ENV_PARALLEL_ROWS, default_value_t = DEFAULT_PARALLEL_ROWS)]
    pub parallel_rows: usize,
    /// Seconds to finish in-flight requests after SIGTERM/SIGINT.
    #[arg(
        long = "shutdown-grace",
        env = "ISOSERVE_SHUTDOWN_GRACE",
        default_value_t = DEFAULT_SHUTDOWN_GRACE_SECS
    )]
    pub shutdown_grace_secs: u64,
    /// Python numeric log level (RUST_LOG wins when set).
    #[arg(long, env = ENV_LOG_LEVEL)]
    pub log_level: Option<String>,
    /// Seconds to finish a request's headers from its first byte.
    #[arg(long = "header-timeout", env = ENV_HEADER_TIMEOUT, default_value_t = DEFAULT_HEADER_TIMEOUT_SECS)]
    pub header_timeout_secs: f64,
    /// Seconds to send a whole request body.
    #[arg(long = "body-timeout", env = ENV_BODY_TIMEOUT, default_value_t = DEFAULT_BODY_TIMEOUT_SECS)]
    pub body_timeout_secs: f64,
    /// Seconds a keep-alive connection may stay idle between requests.
    #[arg(long = "idle-timeout", env = ENV_IDLE_TIMEOUT, default_value_t = DEFAULT_IDLE_TIMEOUT_SECS)]
    pub idle_timeout_secs: f64,
    /// Largest number of open client connections.
    #[arg(long, env = ENV_MAX_CONNECTIONS, default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Requests decoded and scored off the async executor at once (default: the number of CPUs
    /// plus one).
    #[arg(long, env = ENV_BLOCKING_JOBS)]
    pub blocking_jobs: Option<usize>,
    /// MiB of request bodies held in memory at once.
    #[arg(long, env = ENV_MAX_INFLIGHT_MB, default_value_t = DEFAULT_MAX_INFLIGHT_MB)]
    pub max_inflight_mb: u64,
    /// Serve SageMaker's multi-model container API (/models) instead of one model.
    #[arg(
        long,
        env = ENV_MULTI_MODEL,
        value_parser = clap::builder::BoolishValueParser::new(),
        num_args = 0..=1,
        default_missing_value = "true",
        default_value = "false"
    )]
    pub multi_model: bool,
    /// MiB the loaded models may hold together in multi-model mode [default: half the
    /// container's memory].
    #[arg(long, env = ENV_MODEL_MEMORY_MB)]
    pub model_memory_mb: Option<u64>,
}

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The payload limit is outside SageMaker's range.
    #[error("{ENV_MAX_PAYLOAD} must be between 1 and {MAX_PAYLOAD_MB_CEILING}, got {0}")]
    Payload(u64),
    /// A count that must be positive is zero.
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    /// The in-flight budget cannot hold one body at the limit.
    #[error(
        "{ENV_MAX_INFLIGHT_MB} ({inflight}) must be at least {ENV_MAX_PAYLOAD} ({payload}): one body \
         at the limit must fit the in-flight budget"
    )]
    InflightBelowPayload {
        /// The in-flight budget in MiB.
        inflight: u64,
        /// The body limit in MiB.
        payload: u64,
    },
    /// The deadline is not a positive number of seconds up to an hour.
    #[error("{ENV_TIMEOUT} must be above 0 and at most 3600 seconds, got {0}")]
    Timeout(f64),
    /// The default Accept is not a type the server can answer.
    #[error("{ENV_DEFAULT_ACCEPT}: {0}")]
    Accept(String),
    /// Unknown compatibility shape.
    #[error("{ENV_OUTPUT_FORMAT}: {0}")]
    Shape(String),
    /// A server-wide explanation count that is neither a positive integer nor `all`, or one that
    /// the server-wide answer shape has no room for.
    #[error("{ENV_EXPLAIN}: {0}")]
    Explain(String),
    /// A timeout that is not a positive, finite number of seconds up to an hour.
    #[error("{name} must be above 0 and at most 3600 seconds, got {value}")]
    Seconds {
        /// The variable that holds it.
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// Unparsable log level.
    #[error("{ENV_LOG_LEVEL} must be a Python level (10, 20, 30, 40, 50 or a name), got {0:?}")]
    LogLevel(String),
}

/// The validated configuration the server runs on.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address.
    pub addr: SocketAddr,
    /// Explicit model path, if any.
    pub model: Option<PathBuf>,
    /// SageMaker model directory.
    pub model_dir: PathBuf,
    /// Body limit in bytes.
    pub max_body_bytes: usize,
    /// Body limit in MiB, as reported by `/execution-parameters`.
    pub max_payload_mb: u64,
    /// Per-request deadline.
    pub timeout: Duration,
    /// Answer type for a missing or wildcard Accept.
    pub default_accept: codec::OutputFormat,
    /// Server-wide answer shape, when set: it wins over the model's (a request's `format=` wins
    /// over both).
    pub default_shape: Option<codec::Shape>,
    /// Server-wide explanations, when set: every answer in the native shape carries them (a
    /// request's `explain=` wins).
    pub default_explain: Option<codec::Explain>,
    /// Row cap per request.
    pub max_rows: usize,
    /// Reported `MaxConcurrentTransforms`.
    pub workers: usize,
    /// Parallel-scoring threshold in rows.
    pub parallel_rows: usize,
    /// Drain time after a shutdown signal.
    pub shutdown_grace: Duration,
    /// `tracing` level derived from the SageMaker log level.
    pub log_level: tracing::Level,
    /// Time to finish a request's headers, from its first byte.
    pub header_timeout: Duration,
    /// Time to send a whole request body.
    pub body_timeout: Duration,
    /// Time a keep-alive connection may stay idle between requests.
    pub idle_timeout: Duration,
    /// Open connections at most.
    pub max_connections: usize,
    /// Requests decoded and scored on the blocking pool at once.
    pub blocking_jobs: usize,
    /// Bytes of request bodies held in memory at once.
    pub max_inflight_bytes: usize,
    /// Serve the multi-model container API instead of one model.
    pub multi_model: bool,
    /// Bytes the loaded models may hold together in multi-model mode.
    pub model_memory_bytes: u64,
}

impl Config {
    /// Validates raw flags.
    pub fn from_args(args: ServeArgs) -> Result<Config, ConfigError> {
        if !(1..=MAX_PAYLOAD_MB_CEILING).contains(&args.max_payload_mb) {
            return Err(ConfigError::Payload(args.max_payload_mb));
        }
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = match args.workers {
            Some(0) => return Err(ConfigError::Zero(ENV_WORKERS)),
            Some(n) => n,
            None => cpus,
        };
        let blocking_jobs = match args.blocking_jobs {
            Some(0) => return Err(ConfigError::Zero(ENV_BLOCKING_JOBS)),
            Some(n) => n,
            // One more than the cores, so that while one job's answer goes back through the
            // executor the next is already decoding: on one core, 4 % (CSV) and 7 % (JSON) more
            // 1000-row requests per second than one job per core (docs/benchmarks.md).
            None => cpus + 1,
        };
        if args.max_connections == 0 {
            return Err(ConfigError::Zero(ENV_MAX_CONNECTIONS));
        }
        if args.max_inflight_mb == 0 {
            return Err(ConfigError::Zero(ENV_MAX_INFLIGHT_MB));
        }
        if args.max_inflight_mb < args.max_payload_mb {
            return Err(ConfigError::InflightBelowPayload {
                inflight: args.max_inflight_mb,
                payload: args.max_payload_mb,
            });
        }
        let model_memory_bytes = match args.model_memory_mb {
            Some(0) => return Err(ConfigError::Zero(ENV_MODEL_MEMORY_MB)),
            Some(mb) => mb.saturating_mul(1 << 20),
            // Half of what the container may use: the rest is for request bodies (their own
            // budget), answers and the runtime.
            None => container_memory_bytes().map_or(DEFAULT_MODEL_MEMORY_BYTES, |m| m / 2),
        };
        let header_timeout = seconds(ENV_HEADER_TIMEOUT, args.header_timeout_secs)?;
        let body_timeout = seconds(ENV_BODY_TIMEOUT, args.body_timeout_secs)?;
        let idle_timeout = seconds(ENV_IDLE_TIMEOUT, args.idle_timeout_secs)?;
        if args.max_rows == 0 {
            return Err(ConfigError::Zero(ENV_MAX_ROWS));
        }
        if !(args.timeout_secs > 0.0 && args.timeout_secs <= 3600.0) {
            return Err(ConfigError::Timeout(args.timeout_secs));
        }
        let default_accept: codec::OutputFormat = args
            .default_accept
            .parse()
            .map_err(|e: codec::DecodeError| ConfigError::Accept(e.to_string()))?;
        let default_shape: Option<codec::Shape> = args
            .output_format
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e: codec::DecodeError| ConfigError::Shape(e.to_string()))?;
        let default_explain: Option<codec::Explain> = args
            .explain
            .as_deref()
            .map(|raw| {
                raw.parse().map_err(|_| {
                    format!("expected a number of features (1 or more) or all, got {raw:?}")
                })
            })
            .transpose()
            .map_err(ConfigError::Explain)?;
        if let (Some(_), Some(shape @ (codec::Shape::Rcf | codec::Shape::Sklearn))) =
            (default_explain, default_shape)
        {
            return Err(ConfigError::Explain(format!(
                "{ENV_OUTPUT_FORMAT}={shape} answers exactly as that system does, with no room for explanations"
            )));
        }
        let log_level = match args.log_level.as_deref() {
            None => tracing::Level::INFO,
            Some(raw) => python_level(raw).ok_or_else(|| ConfigError::LogLevel(raw.into()))?,
        };
        Ok(Config {
            addr: SocketAddr::new(args.bind, args.port),
            model: args.model,
            model_dir: args.model_dir,
            max_body_bytes: (args.max_payload_mb as usize) << 20,
            max_payload_mb: args.max_payload_mb,
            timeout: Duration::from_secs_f64(args.timeout_secs),
            default_accept,
            default_shape,
            default_explain,
            max_rows: args.max_rows,
            workers,
            parallel_rows: args.parallel_rows,
            shutdown_grace: Duration::from_secs(args.shutdown_grace_secs),
            log_level,
            header_timeout,
            body_timeout,
            idle_timeout,
            max_connections: args.max_connections,
            blocking_jobs,
            max_inflight_bytes: usize::try_from(args.max_inflight_mb.saturating_mul(1 << 20))
                .unwrap_or(usize::MAX),
            multi_model: args.multi_model,
            model_memory_bytes,
        })
    }
}

/// Model memory budget when the container's memory cannot be read: 1 GiB.
pub const DEFAULT_MODEL_MEMORY_BYTES: u64 = 1 << 30;

/// The memory this process may use: the cgroup limit (v2, then v1) when there is one, else the
/// machine's memory. `None` when neither can be read.
pub fn container_memory_bytes() -> Option<u64> {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let machine = read("/proc/meminfo").and_then(|text| {
        let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    });
    // "max" (v2) or a huge number (v1's unlimited) parse to none or to more than the machine.
    let cgroup = read("/sys/fs/cgroup/memory.max")
        .or_else(|| read("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
        .and_then(|text| text.trim().parse::<u64>().ok());
    match (cgroup, machine) {
        (Some(limit), Some(total)) => Some(limit.min(total)),
        (limit, total) => limit.or(total),
    }
}

/// A timeout in seconds: positive, finite, at most an hour (so `Duration` never panics on it).
fn seconds(name: &'static str, value: f64) -> Result<Duration, ConfigError> {
    if value > 0.0 && value <= 3600.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(ConfigError::Seconds { name, value })
    }
}

/// Maps Python's `logging` levels (numbers or names) onto `tracing` levels.
fn python_level(raw: &str) -> Option<tracing::Level> {
    use tracing::Level;
    let raw = raw.trim();
    if let Ok(n) = raw.parse::<u32>() {
        return Some(match n {
            0..=9 => Level::TRACE,
            10..=19 => Level::DEBUG,
            20..=29 => Level::INFO,
            30..=39 => Level::WARN,
            _ => Level::ERROR,
        });
    }
    match raw.to_ascii_uppercase().as_str() {
        "TRACE" | "NOTSET" => Some(Level::TRACE),
        "DEBUG" => Some(Level::DEBUG),
        "INFO" => Some(Level::INFO),
        "WARN" | "WARNING" => Some(Level::WARN),
        "ERROR" | "CRITICAL" | "FATAL" => Some(Level::ERROR),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, FromArgMatches, Parser};

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ServeArgs,
    }

    fn parse(flags: &[&str]) -> Result<Config, ConfigError> {
        let argv = std::iter::once("isoserve").chain(flags.iter().copied());
        let matches = Cli::command().get_matches_from(argv);
        Config::from_args(Cli::from_arg_matches(&matches).unwrap().args)
    }

    #[test]
    fn defaults_follow_sagemaker() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.addr.port(), 8080);
        assert!(c.addr.ip().is_unspecified());
        assert_eq!(c.max_body_bytes, 6 * 1024 * 1024);
        assert_eq!(c.timeout, Duration::from_secs(60));
        assert_eq!(c.default_shape, None, "the model's shape, else native");
        assert_eq!(c.default_explain, None, "answers stay as they were");
        assert_eq!(c.log_level, tracing::Level::INFO);
        assert!(c.workers >= 1);
        assert!(!c.multi_model, "one model unless SageMaker says otherwise");
    }

    #[test]
    fn multi_model_mode_and_its_memory_budget() {
        for on in [
            &["--multi-model"][..],
            &["--multi-model", "true"],
            &["--multi-model=TRUE"],
        ] {
            assert!(parse(on).unwrap().multi_model, "{on:?}");
        }
        assert!(!parse(&["--multi-model", "false"]).unwrap().multi_model);
        let c = parse(&["--multi-model", "--model-memory-mb", "3"]).unwrap();
        assert_eq!(c.model_memory_bytes, 3 << 20);
        assert!(matches!(
            parse(&["--model-memory-mb", "0"]),
            Err(ConfigError::Zero(ENV_MODEL_MEMORY_MB))
        ));
        // The default is half of what this machine or container allows.
        let memory = container_memory_bytes().expect("this test machine has /proc/meminfo");
        assert_eq!(parse(&[]).unwrap().model_memory_bytes, memory / 2);
    }

    #[test]
    fn flags_map_onto_the_sagemaker_variables() {
        let cmd = Cli::command();
        let env_of = |id: &str| {
            cmd.get_arguments()
                .find(|a| a.get_id() == id)
                .and_then(|a| a.get_env())
                .map(|e| e.to_string_lossy().into_owned())
        };
        assert_eq!(env_of("port").as_deref(), Some(ENV_PORT));
        assert_eq!(env_of("model").as_deref(), Some(ENV_MODEL));
        assert_eq!(env_of("max_payload_mb").as_deref(), Some(ENV_MAX_PAYLOAD));
        assert_eq!(env_of("timeout_secs").as_deref(), Some(ENV_TIMEOUT));
        assert_eq!(
            env_of("default_accept").as_deref(),
            Some(ENV_DEFAULT_ACCEPT)
        );
        assert_eq!(env_of("workers").as_deref(), Some(ENV_WORKERS));
        assert_eq!(env_of("log_level").as_deref(), Some(ENV_LOG_LEVEL));
        assert_eq!(env_of("output_format").as_deref(), Some(ENV_OUTPUT_FORMAT));
        assert_eq!(env_of("explain").as_deref(), Some(ENV_EXPLAIN));
    }

    #[test]
    fn server_wide_explanations_are_a_count_or_all_and_need_room_in_the_answer() {
        assert_eq!(
            parse(&["--explain", "3"]).unwrap().default_explain,
            Some(codec::Explain::Top(3))
        );
        assert_eq!(
            parse(&["--explain", "all", "--output-format", "native"])
                .unwrap()
                .default_explain,
            Some(codec::Explain::All)
        );
        let e = parse(&["--explain", "0"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ISOSERVE_EXPLAIN: expected a number of features (1 or more) or all, got \"0\""
        );
        let e = parse(&["--explain", "2", "--output-format", "sklearn"]).unwrap_err();
        assert!(e.to_string().contains("no room for explanations"), "{e}");
    }

    #[test]
    fn payload_limit_is_bounded() {
        assert_eq!(
            parse(&["--max-payload-mb", "100"]).unwrap().max_body_bytes,
            100 << 20
        );
        // Asynchronous inference takes bodies up to 1 GB.
        assert_eq!(
            parse(&["--max-payload-mb", "1024"]).unwrap().max_body_bytes,
            1 << 30
        );
        assert!(matches!(
            parse(&["--max-payload-mb", "1025"]),
            Err(ConfigError::Payload(1025))
        ));
        // One body at the limit must fit the in-flight budget.
        assert!(matches!(
            parse(&["--max-payload-mb", "600", "--max-inflight-mb", "512"]),
            Err(ConfigError::InflightBelowPayload {
                inflight: 512,
                payload: 600
            })
        ));
        assert!(matches!(
            parse(&["--max-payload-mb", "0"]),
            Err(ConfigError::Payload(0))
        ));
    }

    #[test]
    fn python_log_levels() {
        let level = |l: &str| parse(&["--log-level", l]).map(|c| c.log_level);
        assert_eq!(level("10").unwrap(), tracing::Level::DEBUG);
        assert_eq!(level("20").unwrap(), tracing::Level::INFO);
        assert_eq!(level("30").unwrap(), tracing::Level::WARN);
        assert_eq!(level("40").unwrap(), tracing::Level::ERROR);
        assert_eq!(level("50").unwrap(), tracing::Level::ERROR);
        assert_eq!(level("warning").unwrap(), tracing::Level::WARN);
        assert!(matches!(level("loud"), Err(ConfigError::LogLevel(_))));
    }

    #[test]
    fn shapes_accept_and_counts_are_validated() {
        assert_eq!(
            parse(&["--output-format", "rcf"]).unwrap().default_shape,
            Some(codec::Shape::Rcf)
        );
        assert!(matches!(
            parse(&["--output-format", "xml"]),
            Err(ConfigError::Shape(_))
        ));
        assert!(matches!(
            parse(&["--default-accept", "image/png"]),
            Err(ConfigError::Accept(_))
        ));
        assert!(matches!(
            parse(&["--timeout-secs", "0"]),
            Err(ConfigError::Timeout(_))
        ));
        assert_eq!(
            parse(&["--timeout-secs", "0.25"]).unwrap().timeout,
            Duration::from_millis(250)
        );
        assert!(matches!(
            parse(&["--workers", "0"]),
            Err(ConfigError::Zero(ENV_WORKERS))
        ));
        assert_eq!(parse(&["--workers", "3"]).unwrap().workers, 3);
    }

    #[test]
    fn client_limits_have_defaults_and_refuse_nonsense() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.header_timeout, Duration::from_secs(10));
        assert_eq!(c.body_timeout, Duration::from_secs(30));
        assert_eq!(c.idle_timeout, Duration::from_secs(75));
        assert_eq!(c.max_connections, 4096);
        assert_eq!(c.max_inflight_bytes, 1 << 30);
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(c.blocking_jobs, cpus + 1);
        for flag in ["--header-timeout", "--body-timeout", "--idle-timeout"] {
            for bad in ["0", "-1", "inf", "NaN", "3601"] {
                let arg = format!("{flag}={bad}");
                assert!(
                    matches!(parse(&[&arg]), Err(ConfigError::Seconds { .. })),
                    "{flag} {bad}"
                );
            }
        }
        assert_eq!(
            parse(&["--idle-timeout", "0.5"]).unwrap().idle_timeout,
            Duration::from_millis(500)
        );
        for (flag, env) in [
            ("--max-connections", ENV_MAX_CONNECTIONS),
            ("--blocking-jobs", ENV_BLOCKING_JOBS),
            ("--max-inflight-mb", ENV_MAX_INFLIGHT_MB),
        ] {
            assert!(matches!(parse(&[flag, "0"]), Err(ConfigError::Zero(e)) if e == env));
        }
    }
}
