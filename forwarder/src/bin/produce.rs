//! Replays a CSV file into a Kinesis stream with PutRecords.

use std::time::{Duration, Instant};

use clap::Parser;
use forwarder::config::{AwsArgs, init_logging};
use forwarder::produce::{
    Entry, Format, KinesisPut, PartitionKey, PutStats, Source, interval, put_with_retries,
};
use forwarder::retry::RetryPolicy;
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug, Parser)]
#[command(
    name = "produce",
    version,
    about = "Replay a CSV file into a Kinesis stream"
)]
struct Args {
    /// Stream name.
    #[arg(long, env = "STREAM_NAME")]
    stream: String,
    /// CSV file (the header line is optional).
    #[arg(long)]
    file: std::path::PathBuf,
    /// Records per PutRecords call (at most 500).
    #[arg(long, default_value_t = 10)]
    batch_size: usize,
    /// PutRecords calls per second (0: as fast as possible).
    #[arg(long, default_value_t = 1.0)]
    rate: f64,
    /// Partition key: row (the row index), column:NAME, or random.
    #[arg(long, default_value = "row")]
    partition_key: PartitionKey,
    /// Record format.
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    /// Column names when the file has no header (needed for --format json).
    #[arg(long, value_delimiter = ',')]
    feature_names: Option<Vec<String>>,
    /// Stop after this many rows.
    #[arg(long)]
    limit: Option<u64>,
    /// Start over at the end of the file (until --limit, or forever).
    #[arg(long = "loop")]
    looping: bool,
    /// Pack this many rows into one KPL-aggregated record (1: no aggregation).
    #[arg(long, default_value_t = 1)]
    aggregate: usize,
    /// Attempts per PutRecords batch before giving up.
    #[arg(long, default_value_t = 8)]
    max_attempts: u32,
    #[command(flatten)]
    aws: AwsArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_logging();
    let args = Args::parse();
    let path = args.file.display().to_string();
    let text = std::fs::read(&args.file).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
    let source = Source::parse(&path, &text, args.feature_names.clone())?;
    let total = match (args.limit, args.looping) {
        (Some(n), _) => Some(n),
        (None, false) => Some(source.rows.len() as u64),
        (None, true) => None,
    };
    let sdk = args.aws.sdk_config().await;
    let put = KinesisPut {
        client: args.aws.kinesis(&sdk),
        stream: args.stream.clone(),
    };
    let policy = RetryPolicy {
        max_attempts: args.max_attempts.max(1),
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(5),
    };
    // indicatif draws nothing when stderr is not a terminal.
    let bar = match total {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} rows ({per_sec})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let pause = interval(args.rate);
    let batch_size = args.batch_size.clamp(1, 500);
    let group = args.aggregate.max(1);
    let started = Instant::now();
    let mut stats = PutStats::default();
    let mut sent: u64 = 0;
    let mut records: u64 = 0;
    let mut row = 0usize;
    let mut next_batch = tokio::time::Instant::now();
    'outer: loop {
        let mut entries = Vec::with_capacity(batch_size);
        let mut rows_in_batch = 0u64;
        while entries.len() < batch_size {
            if total.is_some_and(|t| sent + rows_in_batch >= t) {
                break;
            }
            if row >= source.rows.len() {
                if !args.looping {
                    break;
                }
                row = 0;
            }
            let key = source.key(row, &args.partition_key)?;
            let mut payloads = Vec::with_capacity(group);
            while payloads.len() < group
                && row < source.rows.len()
                && total.is_none_or(|t| sent + rows_in_batch < t)
            {
                payloads.push(source.payload(row, args.format)?);
                row += 1;
                rows_in_batch += 1;
            }
            let data = if group > 1 {
                codec::kpl::aggregate(&key, payloads.iter().map(Vec::as_slice))
            } else {
                payloads.pop().unwrap_or_default()
            };
            entries.push(Entry { key, data });
        }
        if entries.is_empty() {
            break 'outer;
        }
        if let Some(p) = pause {
            tokio::time::sleep_until(next_batch).await;
            next_batch = tokio::time::Instant::now() + p;
        }
        records += entries.len() as u64;
        put_with_retries(&put, entries, &policy, &mut stats).await?;
        sent += rows_in_batch;
        bar.set_position(sent);
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "produced {sent} rows in {records} records to {} with {} PutRecords calls in {secs:.1} s ({:.0} rows/s); {} entries retried, {} calls failed and were retried",
        args.stream,
        stats.calls,
        sent as f64 / secs.max(1e-9),
        stats.retried_entries,
        stats.failed_calls
    );
    Ok(())
}
