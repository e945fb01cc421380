//! Standalone forwarder: reads every shard of a stream itself, scores the rows on the SageMaker
//! endpoint and routes the results. Checkpoints go to a local file; SIGTERM or Ctrl-C finishes
//! the batch in flight, checkpoints and exits.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use forwarder::checkpoint::CheckpointStore;
use forwarder::config::{ForwarderArgs, init_logging};
use forwarder::retry::RetryPolicy;
use forwarder::shard::{ReaderOptions, StartPosition};

#[derive(Debug, Parser)]
#[command(
    name = "forwarder",
    version,
    about = "Kinesis -> SageMaker endpoint forwarder (standalone)"
)]
struct Args {
    #[command(flatten)]
    core: ForwarderArgs,
    /// Checkpoint file (one per stream; written atomically after each batch).
    #[arg(
        long,
        env = "CHECKPOINT_FILE",
        default_value = "forwarder-checkpoint.json"
    )]
    checkpoint_file: PathBuf,
    /// Where shards without a checkpoint start.
    #[arg(long, value_enum, default_value = "trim-horizon")]
    start_position: StartPosition,
    /// Records per GetRecords call (at most 10,000).
    #[arg(long, default_value_t = 1000)]
    records_per_read: i32,
    /// Wait after an empty read, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    idle_wait_ms: u64,
    /// How often to look for new shards, in seconds.
    #[arg(long, default_value_t = 10.0)]
    discovery_interval_secs: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_logging();
    let args = Args::parse();
    // Signals are caught from here on: a SIGTERM while the clients are built still ends in a clean
    // exit rather than the default action.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        tracing::info!("shutdown requested: finishing the batch in flight");
        let _ = tx.send(true);
    });
    let sdk = args.core.aws.sdk_config().await;
    let kinesis = args.core.aws.kinesis(&sdk);
    let forwarder = Arc::new(args.core.build().await?);
    let store = Arc::new(CheckpointStore::open(
        &args.checkpoint_file,
        &args.core.stream,
    )?);
    let options = ReaderOptions {
        limit: args.records_per_read.clamp(1, 10_000),
        min_interval: Duration::from_millis(200),
        idle_wait: Duration::from_millis(args.idle_wait_ms),
        backoff: RetryPolicy {
            max_attempts: u32::MAX,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(30),
        },
        start: args.start_position,
    };
    tracing::info!(stream = %args.core.stream, checkpoint = %args.checkpoint_file.display(), "forwarder started");
    forwarder::standalone::run(
        kinesis,
        args.core.stream.clone(),
        forwarder,
        store,
        options,
        Duration::from_secs_f64(args.discovery_interval_secs.max(0.1)),
        rx,
    )
    .await?;
    tracing::info!("forwarder stopped; checkpoints written");
    Ok(())
}
