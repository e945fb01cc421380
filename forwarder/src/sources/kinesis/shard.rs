//! Reading one shard: GetShardIterator from the checkpoint, GetRecords within the per-shard read
//! limit, process, checkpoint, until the shard is closed and drained or a shutdown is asked for.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_kinesis::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kinesis::operation::get_records::GetRecordsError;
use aws_sdk_kinesis::types::ShardIteratorType;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::endpoint::Endpoint;
use crate::endpoint::retry::RetryPolicy;
use crate::pipeline::Forwarder;
use crate::record::Record;
use crate::sinks::Sinks;
use crate::sources::kinesis::checkpoint::CheckpointStore;

/// Where a shard without a checkpoint starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StartPosition {
    /// The oldest record still in the stream.
    TrimHorizon,
    /// Only records written after the forwarder starts.
    Latest,
}

/// Options of the shard readers.
#[derive(Debug, Clone)]
pub struct ReaderOptions {
    /// Records per GetRecords call (at most 10,000).
    pub limit: i32,
    /// Minimum time between two GetRecords calls on one shard (Kinesis allows 5 per second).
    pub min_interval: Duration,
    /// Wait after a GetRecords call that returned nothing.
    pub idle_wait: Duration,
    /// Backoff for throttled reads and for batches that could not be processed.
    pub backoff: RetryPolicy,
    /// Where shards without a checkpoint (and without a parent) start.
    pub start: StartPosition,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions {
            limit: 1000,
            min_interval: Duration::from_millis(200),
            idle_wait: Duration::from_secs(1),
            backoff: RetryPolicy {
                max_attempts: u32::MAX,
                base_delay: Duration::from_millis(200),
                max_delay: Duration::from_secs(30),
            },
            start: StartPosition::TrimHorizon,
        }
    }
}

/// How a shard reader ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardEnd {
    /// The shard is closed and every record is processed (its children may start).
    Finished,
    /// Shutdown was requested; the last batch was finished and checkpointed.
    Shutdown,
}

/// Reads one shard.
pub struct ShardReader<E, S> {
    /// Kinesis client.
    pub kinesis: aws_sdk_kinesis::Client,
    /// Stream name.
    pub stream: String,
    /// Shard id.
    pub shard_id: String,
    /// Whether the shard has a parent (children always start at their beginning).
    pub has_parent: bool,
    /// The forwarder core.
    pub forwarder: Arc<Forwarder<E, S>>,
    /// Checkpoints.
    pub store: Arc<CheckpointStore>,
    /// Options.
    pub options: ReaderOptions,
    /// Becomes `true` when the process should stop.
    pub shutdown: watch::Receiver<bool>,
}

impl<E: Endpoint, S: Sinks> ShardReader<E, S> {
    /// Runs until the shard is drained or shutdown is requested. Transient errors are retried
    /// with backoff forever: a reader never gives up on its shard.
    pub async fn run(
        mut self,
    ) -> Result<ShardEnd, crate::sources::kinesis::checkpoint::CheckpointError> {
        let mut failures = 0u32;
        let mut iterator: Option<String> = None;
        let mut last_call = Instant::now() - self.options.min_interval;
        loop {
            if *self.shutdown.borrow() {
                return Ok(ShardEnd::Shutdown);
            }
            let it = match iterator.take() {
                Some(it) => it,
                None => match self.iterator().await {
                    Ok(it) => it,
                    Err(e) => {
                        tracing::warn!(shard = %self.shard_id, error = %e, "GetShardIterator failed");
                        self.pause(&mut failures).await;
                        continue;
                    }
                },
            };
            tokio::time::sleep_until(last_call + self.options.min_interval).await;
            last_call = Instant::now();
            let out = match self
                .kinesis
                .get_records()
                .shard_iterator(&it)
                .limit(self.options.limit)
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) => {
                    if is_expired(&e) {
                        tracing::info!(shard = %self.shard_id, "iterator expired; resuming from the checkpoint");
                    } else {
                        iterator = Some(it).filter(|_| is_throttled(&e));
                        tracing::warn!(shard = %self.shard_id, error = %aws_sdk_kinesis::error::DisplayErrorContext(&e), "GetRecords failed");
                        self.pause(&mut failures).await;
                    }
                    continue;
                }
            };
            let records: Vec<Record> = out
                .records()
                .iter()
                .map(|r| Record {
                    source: None,
                    shard_id: self.shard_id.clone(),
                    sequence_number: r.sequence_number().to_string(),
                    partition_key: r.partition_key().unwrap_or_default().to_string(),
                    data: r.data().as_ref().to_vec(),
                    arrival: r
                        .approximate_arrival_timestamp()
                        .and_then(|t| chrono::DateTime::from_timestamp_millis(t.to_millis().ok()?)),
                })
                .collect();
            if !records.is_empty() {
                let age = out.millis_behind_latest().map(|ms| ms as f64);
                let outcome = self.forwarder.process(&records, age).await;
                if outcome.done > 0 {
                    self.store
                        .commit(&self.shard_id, &records[outcome.done - 1].sequence_number)?;
                }
                if outcome.failure.is_some() {
                    // Re-read from the checkpoint: the first unprocessed record comes again.
                    self.pause(&mut failures).await;
                    continue;
                }
                failures = 0;
            }
            match out.next_shard_iterator() {
                None => {
                    self.store.finish(&self.shard_id)?;
                    tracing::info!(shard = %self.shard_id, "shard closed and drained");
                    return Ok(ShardEnd::Finished);
                }
                Some(next) => iterator = Some(next.to_string()),
            }
            if records.is_empty() {
                self.wait(self.options.idle_wait).await;
            }
        }
    }

    async fn iterator(&self) -> Result<String, String> {
        let state = self.store.get(&self.shard_id);
        let mut req = self
            .kinesis
            .get_shard_iterator()
            .stream_name(&self.stream)
            .shard_id(&self.shard_id);
        req = match (&state.sequence_number, self.options.start) {
            (Some(seq), _) => req
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .starting_sequence_number(seq),
            (None, StartPosition::Latest) if !self.has_parent => {
                req.shard_iterator_type(ShardIteratorType::Latest)
            }
            (None, _) => req.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        let out = req
            .send()
            .await
            .map_err(|e| aws_sdk_kinesis::error::DisplayErrorContext(e).to_string())?;
        out.shard_iterator()
            .map(str::to_string)
            .ok_or_else(|| "GetShardIterator returned no iterator".to_string())
    }

    async fn pause(&mut self, failures: &mut u32) {
        let delay = self.options.backoff.backoff(*failures);
        *failures = failures.saturating_add(1);
        self.wait(delay).await;
    }

    /// Sleeps, waking early on shutdown.
    async fn wait(&mut self, delay: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = self.shutdown.changed() => {}
        }
    }
}

fn is_throttled<R>(e: &SdkError<GetRecordsError, R>) -> bool {
    matches!(
        e.as_service_error(),
        Some(GetRecordsError::ProvisionedThroughputExceededException(_))
            | Some(GetRecordsError::KmsThrottlingException(_))
    )
}

fn is_expired<R>(e: &SdkError<GetRecordsError, R>) -> bool {
    matches!(
        e.as_service_error(),
        Some(GetRecordsError::ExpiredIteratorException(_))
    ) || e.as_service_error().and_then(|s| s.code()) == Some("ExpiredIteratorException")
}
