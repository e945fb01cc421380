//! The records the forwarder consumes and what it reports about them.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// A stream record as the forwarder sees it, whether it came from GetRecords or a Lambda event
/// (Kinesis, or Kafka: then the shard is the topic-partition and the sequence number the offset).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The stream (or Kafka topic) the event says the record came from, when it says so: Lambda
    /// events carry it, the standalone reader knows its stream from its configuration.
    pub source: Option<std::sync::Arc<str>>,
    /// The shard the record was read from.
    pub shard_id: String,
    /// The record's sequence number.
    pub sequence_number: String,
    /// The producer's partition key.
    pub partition_key: String,
    /// The payload (possibly KPL-aggregated).
    pub data: Vec<u8>,
    /// When Kinesis accepted the record (for the iterator-age metric and date partitions).
    pub arrival: Option<DateTime<Utc>>,
}

/// Where a scored row came from. Serialized with its [`Origin::event_id`].
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    /// Shard of the Kinesis record.
    pub shard_id: String,
    /// Sequence number of the Kinesis record.
    pub sequence_number: String,
    /// Position inside a KPL-aggregated record, if the record was aggregated.
    pub sub_sequence_number: Option<u64>,
    /// The producer's partition key.
    pub partition_key: String,
    /// 0-based row inside the (user) record.
    pub row: usize,
}

impl Origin {
    /// The row's stable id, the same in its alert, its S3 result and every replay of its record:
    /// `<shard>:<sequence number>:<sub-sequence number, or ->:<row>`. An operator's verdict on an
    /// alert names it (`trainer retune --feedback`).
    pub fn event_id(&self) -> String {
        let sub = self
            .sub_sequence_number
            .map_or_else(|| "-".to_string(), |s| s.to_string());
        format!(
            "{}:{}:{sub}:{}",
            self.shard_id, self.sequence_number, self.row
        )
    }
}

impl Serialize for Origin {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("event_id", &self.event_id())?;
        map.serialize_entry("shard_id", &self.shard_id)?;
        map.serialize_entry("sequence_number", &self.sequence_number)?;
        if let Some(sub) = self.sub_sequence_number {
            map.serialize_entry("sub_sequence_number", &sub)?;
        }
        map.serialize_entry("partition_key", &self.partition_key)?;
        map.serialize_entry("row", &self.row)?;
        map.end()
    }
}

/// One scored row, as written to the results sink and (for anomalies) into alerts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoredRow {
    /// Where the row came from.
    #[serde(flatten)]
    pub origin: Origin,
    /// The anomaly score.
    pub score: f64,
    /// Whether the model flags the row.
    pub anomaly: bool,
    /// The row's feature values in the model's column order (missing values are `null`).
    pub values: Vec<Option<f64>>,
    /// Why the model scored the row so, when explanations are turned on (`--explain`): the top
    /// features with their share of the score, direction, value and expected value.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub explanation: Vec<codec::NamedAttribution>,
    /// When Kinesis accepted the record (RFC 3339), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arrival: Option<String>,
}

/// A record that was skipped because it cannot be processed (sent to the dead-letter queue).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetter {
    /// Stream name (or ARN) as configured.
    pub stream: String,
    /// Shard of the Kinesis record.
    pub shard_id: String,
    /// Sequence number of the Kinesis record.
    pub sequence_number: String,
    /// Position inside a KPL-aggregated record, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_sequence_number: Option<u64>,
    /// The producer's partition key.
    pub partition_key: String,
    /// Why the record was skipped.
    pub reason: String,
    /// The payload, base64-encoded.
    pub data_base64: String,
}
