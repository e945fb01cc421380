//! Kafka events, from Amazon MSK (`aws:kafka`) and self-managed Apache Kafka
//! (`SelfManagedKafka`) event-source mappings.
//!
//! An event holds records grouped by topic-partition (`"<topic>-<partition>"`), each with a
//! base64 key and value. Each topic-partition is an ordered stream of its own, so the handler
//! processes them one at a time, exactly as it processes a Kinesis shard: the topic-partition is
//! the shard, the offset the sequence number, the record's key the partition key (the
//! topic-partition when the record has no key), and the topic names the stream in alerts.
//!
//! Partial failures: the response lists, per topic-partition that did not finish, the first
//! offset not processed (`{"itemIdentifier": {"partition": "<topic>-<partition>", "offset": N}}`),
//! so that with `ReportBatchItemFailures` Lambda commits the offsets before it and retries from
//! it. The types are ours: `aws_lambda_events` has no Kafka response type, and its event type
//! requires fields (`headers`) that are not needed here.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::record::Record;

/// A Kafka event (both sources).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaEvent {
    /// Which kind of cluster sent it.
    pub event_source: KafkaSource,
    /// The MSK cluster's ARN (absent for self-managed clusters).
    #[serde(default)]
    pub event_source_arn: Option<String>,
    /// Records by `"<topic>-<partition>"`, each list in offset order.
    pub records: BTreeMap<String, Vec<KafkaRecord>>,
}

/// The event source of a Kafka event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum KafkaSource {
    /// Amazon MSK.
    #[serde(rename = "aws:kafka")]
    Msk,
    /// A self-managed Apache Kafka cluster.
    #[serde(rename = "SelfManagedKafka")]
    SelfManaged,
}

/// One Kafka record as Lambda delivers it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaRecord {
    /// The topic.
    pub topic: String,
    /// The partition within the topic.
    pub partition: i64,
    /// The record's offset in its partition.
    pub offset: i64,
    /// Milliseconds since the epoch (create or log-append time).
    #[serde(default)]
    pub timestamp: Option<i64>,
    /// The record's key, base64-encoded; often absent.
    #[serde(default)]
    pub key: Option<String>,
    /// The record's value, base64-encoded.
    #[serde(default)]
    pub value: Option<String>,
}

/// The partial batch response for a Kafka event.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaEventResponse {
    /// One entry per topic-partition that did not finish: its first unprocessed record.
    pub batch_item_failures: Vec<KafkaBatchItemFailure>,
}

/// A topic-partition's first unprocessed record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaBatchItemFailure {
    /// Which record.
    pub item_identifier: KafkaItemIdentifier,
}

/// A record by topic-partition (the event's `records` key) and offset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KafkaItemIdentifier {
    /// `"<topic>-<partition>"`.
    pub partition: String,
    /// The offset.
    pub offset: i64,
}

/// The forwarder's records for one topic-partition of an event. A value that is absent or not
/// base64 becomes an empty payload, which the pipeline dead-letters as undecodable (it cannot
/// fail the batch: Lambda would redeliver it forever).
pub fn records(partition: &str, records: &[KafkaRecord]) -> Vec<Record> {
    let decode = |s: &Option<String>| {
        s.as_deref()
            .and_then(|v| aws_smithy_types::base64::decode(v).ok())
    };
    let mut topic: Option<Arc<str>> = None;
    records
        .iter()
        .map(|r| {
            let source = match &topic {
                Some(t) if **t == *r.topic => t.clone(),
                _ => topic.insert(Arc::from(r.topic.as_str())).clone(),
            };
            Record {
                source: Some(source),
                shard_id: partition.to_string(),
                sequence_number: r.offset.to_string(),
                partition_key: decode(&r.key).map_or_else(
                    || partition.to_string(),
                    |k| String::from_utf8_lossy(&k).into_owned(),
                ),
                data: decode(&r.value).unwrap_or_default(),
                arrival: r
                    .timestamp
                    .and_then(chrono::DateTime::from_timestamp_millis),
            }
        })
        .collect()
}

/// The failure entry for `partition`, whose records from `first_unprocessed` on were not
/// processed.
pub fn failure(partition: &str, first_unprocessed: &KafkaRecord) -> KafkaBatchItemFailure {
    KafkaBatchItemFailure {
        item_identifier: KafkaItemIdentifier {
            partition: partition.to_string(),
            offset: first_unprocessed.offset,
        },
    }
}
