//! The stream writer: replays a CSV file into a Kinesis stream with PutRecords.

use std::future::Future;
use std::time::Duration;

use rand::Rng;
use serde_json::{Map, Value};
use thiserror::Error;

use crate::endpoint::retry::RetryPolicy;

/// Produce failures.
#[derive(Debug, Error)]
pub enum ProduceError {
    /// The CSV file cannot be read.
    #[error("{path}: {message}")]
    Input {
        /// The file.
        path: String,
        /// What is wrong (with the line number when known).
        message: String,
    },
    /// The options do not fit the input.
    #[error("{0}")]
    Usage(String),
    /// PutRecords kept failing.
    #[error("PutRecords failed: {0}")]
    Put(String),
}

/// How each record's partition key is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartitionKey {
    /// The row's 0-based index in the file.
    Row,
    /// The value of a named column.
    Column(String),
    /// A random key per record.
    Random,
}

impl std::str::FromStr for PartitionKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "row" => Ok(PartitionKey::Row),
            "random" => Ok(PartitionKey::Random),
            _ => match s.strip_prefix("column:") {
                Some(name) if !name.is_empty() => Ok(PartitionKey::Column(name.to_string())),
                _ => Err(format!(
                    "expected row, random or column:NAME, found \"{s}\""
                )),
            },
        }
    }
}

/// The payload format of each record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The CSV line (without header).
    Csv,
    /// A JSON object keyed by feature name.
    Json,
}

/// A CSV file loaded for replay.
#[derive(Debug, Clone)]
pub struct Source {
    /// Column names, from the header line or given explicitly.
    pub header: Option<Vec<String>>,
    /// The data rows.
    pub rows: Vec<Vec<String>>,
}

impl Source {
    /// Reads `text`; the first line is a header when any of its fields is not a number.
    pub fn parse(
        path: &str,
        text: &[u8],
        names: Option<Vec<String>>,
    ) -> Result<Source, ProduceError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(false)
            .from_reader(text);
        let mut rows = Vec::new();
        let mut header = None;
        for (i, rec) in reader.records().enumerate() {
            let rec = rec.map_err(|e| ProduceError::Input {
                path: path.into(),
                message: csv_message(&e),
            })?;
            let fields: Vec<String> = rec.iter().map(|f| f.trim().to_string()).collect();
            if i == 0
                && fields
                    .iter()
                    .any(|f| !f.is_empty() && f.parse::<f64>().is_err())
            {
                header = Some(fields);
            } else {
                rows.push(fields);
            }
        }
        if rows.is_empty() {
            return Err(ProduceError::Input {
                path: path.into(),
                message: "no data rows".into(),
            });
        }
        Ok(Source {
            header: names.or(header),
            rows,
        })
    }

    /// The payload of row `i` in `format`.
    pub fn payload(&self, i: usize, format: Format) -> Result<Vec<u8>, ProduceError> {
        let row = &self.rows[i];
        match format {
            Format::Csv => Ok(row.join(",").into_bytes()),
            Format::Json => {
                let names = self.header.as_ref().ok_or_else(|| {
                    ProduceError::Usage(
                        "--format json needs a header line or --feature-names".into(),
                    )
                })?;
                if names.len() != row.len() {
                    return Err(ProduceError::Usage(format!(
                        "row {}: {} values for {} column names",
                        i + 1,
                        row.len(),
                        names.len()
                    )));
                }
                let mut obj = Map::new();
                for (name, field) in names.iter().zip(row) {
                    let v = match field.parse::<f64>() {
                        Ok(x) => serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number),
                        Err(_) if field.is_empty() => Value::Null,
                        Err(_) => Value::String(field.clone()),
                    };
                    obj.insert(name.clone(), v);
                }
                Ok(Value::Object(obj).to_string().into_bytes())
            }
        }
    }

    /// The partition key of row `i`.
    pub fn key(&self, i: usize, key: &PartitionKey) -> Result<String, ProduceError> {
        match key {
            PartitionKey::Row => Ok(i.to_string()),
            PartitionKey::Random => Ok(format!("{:016x}", rand::rng().random::<u64>())),
            PartitionKey::Column(name) => {
                let col = self
                    .header
                    .as_ref()
                    .and_then(|h| h.iter().position(|n| n == name))
                    .ok_or_else(|| ProduceError::Usage(format!("no column named \"{name}\"")))?;
                let value = self.rows[i].get(col).cloned().unwrap_or_default();
                // Kinesis requires a key of 1 to 256 characters.
                Ok(if value.is_empty() {
                    "-".into()
                } else {
                    value.chars().take(256).collect()
                })
            }
        }
    }
}

/// A CSV error as `line N: ...`.
fn csv_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            pos: Some(pos),
            expected_len,
            len,
        } => format!(
            "line {}: expected {expected_len} fields, found {len}",
            pos.line()
        ),
        _ => match e.position() {
            Some(pos) => format!("line {}: {e}", pos.line()),
            None => e.to_string(),
        },
    }
}

/// One PutRecords entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Partition key (decides the shard).
    pub key: String,
    /// The record's data: a CSV line, a JSON object, or a KPL aggregate.
    pub data: Vec<u8>,
}

/// A PutRecords call: per entry, `None` when accepted or the error code when rejected.
pub trait PutRecords {
    /// Sends `entries`; `Err` when the whole call failed.
    fn put(&self, entries: &[Entry]) -> impl Future<Output = Result<Vec<Option<String>>, String>>;
}

/// Counters of [`put_with_retries`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PutStats {
    /// PutRecords calls made.
    pub calls: u64,
    /// Entries sent again after a partial failure.
    pub retried_entries: u64,
    /// Calls that failed as a whole.
    pub failed_calls: u64,
}

/// Sends `entries`, sending again (after backoff) the ones a partially failed call rejected,
/// until all are accepted or `policy` runs out.
pub async fn put_with_retries<P: PutRecords>(
    client: &P,
    entries: Vec<Entry>,
    policy: &RetryPolicy,
    stats: &mut PutStats,
) -> Result<(), ProduceError> {
    let mut pending = entries;
    let mut attempt = 0;
    loop {
        stats.calls += 1;
        let last_error = match client.put(&pending).await {
            Ok(results) => {
                let rejected: Vec<Entry> = pending
                    .into_iter()
                    .zip(&results)
                    .filter(|(_, r)| r.is_some())
                    .map(|(e, _)| e)
                    .collect();
                if rejected.is_empty() {
                    return Ok(());
                }
                stats.retried_entries += rejected.len() as u64;
                let codes: Vec<&str> = results.iter().flatten().map(String::as_str).collect();
                let msg = format!("{} entries rejected ({})", rejected.len(), codes.join(", "));
                pending = rejected;
                msg
            }
            Err(e) => {
                stats.failed_calls += 1;
                e
            }
        };
        attempt += 1;
        if attempt >= policy.max_attempts {
            return Err(ProduceError::Put(last_error));
        }
        tracing::warn!(attempt, error = %last_error, "retrying PutRecords");
        tokio::time::sleep(policy.backoff(attempt - 1)).await;
    }
}

/// PutRecords through the AWS SDK.
#[derive(Debug, Clone)]
pub struct KinesisPut {
    /// Kinesis client.
    pub client: aws_sdk_kinesis::Client,
    /// Stream written to.
    pub stream: String,
}

impl PutRecords for KinesisPut {
    async fn put(&self, entries: &[Entry]) -> Result<Vec<Option<String>>, String> {
        let records = entries
            .iter()
            .map(|e| {
                aws_sdk_kinesis::types::PutRecordsRequestEntry::builder()
                    .partition_key(&e.key)
                    .data(aws_sdk_kinesis::primitives::Blob::new(e.data.clone()))
                    .build()
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .put_records()
            .stream_name(&self.stream)
            .set_records(Some(records))
            .send()
            .await
            .map_err(|e| aws_sdk_kinesis::error::DisplayErrorContext(e).to_string())?;
        Ok(out
            .records()
            .iter()
            .map(|r| r.error_code().map(str::to_string))
            .collect())
    }
}

/// What a [`run`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    /// Rows written.
    pub rows: u64,
    /// Kinesis records written (fewer than rows with KPL aggregation).
    pub records: u64,
    /// PutRecords counters.
    pub stats: PutStats,
    /// Wall time.
    pub elapsed: Duration,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        write!(
            f,
            "produced {} rows in {} records with {} PutRecords calls in {secs:.1} s ({:.0} rows/s); {} entries retried, {} calls failed and were retried",
            self.rows,
            self.records,
            self.stats.calls,
            self.rows as f64 / secs.max(1e-9),
            self.stats.retried_entries,
            self.stats.failed_calls
        )
    }
}

/// How a [`run`] writes (validated by `crate::config::ProduceConfig`).
#[derive(Debug, Clone)]
pub struct Plan {
    /// Records per PutRecords call (1 to 500).
    pub batch_size: usize,
    /// Pause between two PutRecords calls (`None`: as fast as possible).
    pub pause: Option<Duration>,
    /// How partition keys are chosen.
    pub partition_key: PartitionKey,
    /// Record format.
    pub format: Format,
    /// Stop after this many rows.
    pub limit: Option<u64>,
    /// Start over at the end of the file.
    pub looping: bool,
    /// Rows per KPL-aggregated record (1: no aggregation).
    pub aggregate: usize,
    /// Retries of PutRecords.
    pub retry: RetryPolicy,
}

/// The number of rows a run writes: `--limit`, else the file once, else (looping) no end.
pub fn total_rows(config: &Plan, source: &Source) -> Option<u64> {
    match (config.limit, config.looping) {
        (Some(n), _) => Some(n),
        (None, false) => Some(source.rows.len() as u64),
        (None, true) => None,
    }
}

/// Writes the rows of `source` through `put` as `config` says, batch by batch, reporting the rows
/// written so far to `progress` after each batch.
pub async fn run<P: PutRecords>(
    config: &Plan,
    source: &Source,
    put: &P,
    mut progress: impl FnMut(u64),
) -> Result<Summary, ProduceError> {
    let total = total_rows(config, source);
    let group = config.aggregate;
    let started = tokio::time::Instant::now();
    let mut summary = Summary::default();
    let mut row = 0usize;
    let mut next_batch = started;
    loop {
        let mut entries = Vec::with_capacity(config.batch_size);
        let mut rows_in_batch = 0u64;
        let written = |extra: u64| summary.rows + extra;
        while entries.len() < config.batch_size {
            if total.is_some_and(|t| written(rows_in_batch) >= t) {
                break;
            }
            if row >= source.rows.len() {
                if !config.looping || source.rows.is_empty() {
                    break;
                }
                row = 0;
            }
            let key = source.key(row, &config.partition_key)?;
            let mut payloads = Vec::with_capacity(group);
            while payloads.len() < group
                && row < source.rows.len()
                && total.is_none_or(|t| written(rows_in_batch) < t)
            {
                payloads.push(source.payload(row, config.format)?);
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
            break;
        }
        if let Some(pause) = config.pause {
            tokio::time::sleep_until(next_batch).await;
            next_batch = tokio::time::Instant::now() + pause;
        }
        summary.records += entries.len() as u64;
        put_with_retries(put, entries, &config.retry, &mut summary.stats).await?;
        summary.rows += rows_in_batch;
        progress(summary.rows);
    }
    summary.elapsed = started.elapsed();
    Ok(summary)
}

#[cfg(test)]
mod tests;
