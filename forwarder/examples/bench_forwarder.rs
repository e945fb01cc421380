//! Throughput of the forwarder core with a real endpoint behind it: records built from a CSV file
//! go through `Forwarder::process` (decode, batch, InvokeEndpoint, route, metrics) in batches the
//! size of a GetRecords answer or a Lambda event. Prints one JSON line.
//!
//! cargo run --release -p forwarder --example bench_forwarder -- --csv test.csv --records 200000 \
//!     --endpoint-name bench --feature-names f1,f2,...   (endpoint from AWS_ENDPOINT_URL_*)

use std::time::Instant;

use clap::Parser;
use forwarder::config::{ForwarderArgs, ForwarderConfig};
use forwarder::produce::{Format, Source};
use forwarder::record::Record;

#[derive(Debug, Parser)]
struct Args {
    /// CSV file whose rows become records (cycled).
    #[arg(long)]
    csv: std::path::PathBuf,
    /// Records to push through.
    #[arg(long, default_value_t = 100_000)]
    records: usize,
    /// Records per `process` call (a GetRecords answer holds up to 10,000).
    #[arg(long, default_value_t = 10_000)]
    batch: usize,
    /// Record payload format.
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    #[command(flatten)]
    core: ForwarderArgs,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let path = args.csv.display().to_string();
    let source = Source::parse(&path, &std::fs::read(&args.csv)?, None)?;
    let payloads: Vec<Vec<u8>> = (0..source.rows.len())
        .map(|i| source.payload(i, args.format))
        .collect::<Result<_, _>>()?;
    let records: Vec<Record> = (0..args.records)
        .map(|i| Record {
            source: None,
            shard_id: "shardId-000000000000".into(),
            sequence_number: format!("{:056}", i),
            partition_key: i.to_string(),
            data: payloads[i % payloads.len()].clone(),
            arrival: None,
        })
        .collect();
    let config = ForwarderConfig::from_args(args.core)?;
    let forwarder = config.build().await;
    // One warm-up batch opens the connections.
    forwarder
        .process(&records[..args.batch.min(records.len())], None)
        .await;
    let started = Instant::now();
    let (mut rows, mut anomalies, mut errors) = (0usize, 0usize, 0usize);
    for chunk in records.chunks(args.batch.max(1)) {
        let out = forwarder.process(chunk, None).await;
        anyhow::ensure!(out.failure.is_none(), "batch failed: {:?}", out.failure);
        rows += out.stats.rows;
        anomalies += out.stats.anomalies;
        errors += out.stats.errors();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "records": records.len(),
            "rows": rows,
            "anomalies": anomalies,
            "errors": errors,
            "seconds": secs,
            "records_per_second": records.len() as f64 / secs,
            "format": format!("{:?}", args.format).to_lowercase(),
            "batch": args.batch,
            "max_rows_per_request": config.settings.budget.max_rows,
            "concurrency": config.settings.concurrency,
        })
    );
    Ok(())
}
