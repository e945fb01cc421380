//! De-aggregation of records written by the Kinesis Producer Library (KPL).
//!
//! An aggregated record is `MAGIC (F3 89 9A C2) | protobuf AggregatedRecord | MD5(protobuf)`.
//! Anything that does not start with the magic bytes is an ordinary record and passes through
//! unchanged, exactly as the KCL treats it. A record that carries the magic but fails the checksum
//! or the protobuf decoding is an error: it is reported, never silently passed on as data.

use md5::{Digest, Md5};
use prost::Message;
use thiserror::Error;

/// The four bytes that open every KPL-aggregated record.
pub const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];
const DIGEST_LEN: usize = 16;

/// The protobuf message of the KPL aggregation format (proto2).
#[derive(Clone, PartialEq, Message)]
pub struct AggregatedRecord {
    /// Partition keys, referenced by index from the records.
    #[prost(string, repeated, tag = "1")]
    pub partition_key_table: Vec<String>,
    /// Explicit hash keys, referenced by index from the records.
    #[prost(string, repeated, tag = "2")]
    pub explicit_hash_key_table: Vec<String>,
    /// The user records.
    #[prost(message, repeated, tag = "3")]
    pub records: Vec<AggregatedEntry>,
}

/// One user record inside an [`AggregatedRecord`].
#[derive(Clone, PartialEq, Message)]
pub struct AggregatedEntry {
    /// Index into `partition_key_table`.
    #[prost(uint64, required, tag = "1")]
    pub partition_key_index: u64,
    /// Index into `explicit_hash_key_table`.
    #[prost(uint64, optional, tag = "2")]
    pub explicit_hash_key_index: Option<u64>,
    /// The user payload.
    #[prost(bytes = "vec", required, tag = "3")]
    pub data: Vec<u8>,
    /// Tags (unused by the forwarder, kept so the message round-trips).
    #[prost(message, repeated, tag = "4")]
    pub tags: Vec<Tag>,
}

/// A key/value tag of the aggregation format.
#[derive(Clone, PartialEq, Message)]
pub struct Tag {
    /// Tag key.
    #[prost(string, required, tag = "1")]
    pub key: String,
    /// Tag value.
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
}

/// Why an aggregated record could not be de-aggregated.
#[derive(Debug, Error, PartialEq)]
pub enum KplError {
    /// The record carries the magic bytes but is too short to hold a digest.
    #[error("KPL aggregated record of {len} bytes is too short (magic + protobuf + 16-byte MD5)")]
    Truncated {
        /// Record length in bytes.
        len: usize,
    },
    /// The MD5 digest does not match the protobuf payload.
    #[error(
        "KPL aggregated record checksum mismatch: expected MD5 {expected}, computed {computed}"
    )]
    Checksum {
        /// The digest stored in the record (hex).
        expected: String,
        /// The digest of the payload (hex).
        computed: String,
    },
    /// The payload is not a valid `AggregatedRecord`.
    #[error("KPL aggregated record is not a valid protobuf AggregatedRecord: {0}")]
    Protobuf(String),
    /// A user record points past the partition key table.
    #[error(
        "KPL user record {index} refers to partition key {key_index}, but the table holds {table_len}"
    )]
    BadKeyIndex {
        /// 0-based index of the user record.
        index: usize,
        /// The index it refers to.
        key_index: u64,
        /// Size of the table.
        table_len: usize,
    },
}

/// A user record: either the whole Kinesis record, or one entry of an aggregated one.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    /// Position inside the aggregated record (`None` for an ordinary record).
    pub sub_sequence_number: Option<u64>,
    /// The user record's own partition key (`None` for an ordinary record, whose key is the
    /// Kinesis record's).
    pub partition_key: Option<String>,
    /// The user payload.
    pub data: Vec<u8>,
}

/// Whether `data` is in the aggregated format (starts with the magic bytes).
pub fn is_aggregated(data: &[u8]) -> bool {
    data.starts_with(&MAGIC)
}

/// Splits a Kinesis record payload into its user records, verifying the checksum of aggregated
/// records.
pub fn deaggregate(data: &[u8]) -> Result<Vec<UserRecord>, KplError> {
    if !is_aggregated(data) {
        return Ok(vec![UserRecord {
            sub_sequence_number: None,
            partition_key: None,
            data: data.to_vec(),
        }]);
    }
    if data.len() < MAGIC.len() + DIGEST_LEN {
        return Err(KplError::Truncated { len: data.len() });
    }
    let (payload, digest) = data[MAGIC.len()..].split_at(data.len() - MAGIC.len() - DIGEST_LEN);
    let computed = Md5::digest(payload);
    if computed.as_slice() != digest {
        return Err(KplError::Checksum {
            expected: hex(digest),
            computed: hex(&computed),
        });
    }
    let aggregated =
        AggregatedRecord::decode(payload).map_err(|e| KplError::Protobuf(e.to_string()))?;
    let table_len = aggregated.partition_key_table.len();
    let keys = aggregated.partition_key_table;
    aggregated
        .records
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            if entry.partition_key_index as usize >= table_len {
                return Err(KplError::BadKeyIndex {
                    index,
                    key_index: entry.partition_key_index,
                    table_len,
                });
            }
            Ok(UserRecord {
                sub_sequence_number: Some(index as u64),
                partition_key: Some(keys[entry.partition_key_index as usize].clone()),
                data: entry.data,
            })
        })
        .collect()
}

/// Builds an aggregated record from user payloads that share one partition key (what the KPL
/// writes). Used by tests and by `produce --aggregate`.
pub fn aggregate<'a>(partition_key: &str, payloads: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    aggregate_keyed(payloads.into_iter().map(|data| (partition_key, data)))
}

/// Builds an aggregated record from (partition key, payload) user records; the KPL packs user
/// records of different keys into one record when they map to the same shard.
pub fn aggregate_keyed<'a>(entries: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Vec<u8> {
    let mut table: Vec<String> = Vec::new();
    let mut records = Vec::new();
    for (key, data) in entries {
        let index = match table.iter().position(|k| k == key) {
            Some(i) => i,
            None => {
                table.push(key.to_string());
                table.len() - 1
            }
        };
        records.push(AggregatedEntry {
            partition_key_index: index as u64,
            explicit_hash_key_index: None,
            data: data.to_vec(),
            tags: Vec::new(),
        });
    }
    let message = AggregatedRecord {
        partition_key_table: table,
        explicit_hash_key_table: Vec::new(),
        records,
    };
    let payload = message.encode_to_vec();
    let mut out = Vec::with_capacity(MAGIC.len() + payload.len() + DIGEST_LEN);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&payload);
    out.extend_from_slice(&Md5::digest(&payload));
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_records_pass_through() {
        let out = deaggregate(b"1.0,2.0").unwrap();
        assert_eq!(
            out,
            vec![UserRecord {
                sub_sequence_number: None,
                partition_key: None,
                data: b"1.0,2.0".to_vec()
            }]
        );
    }

    #[test]
    fn aggregated_records_round_trip() {
        let rows: [&[u8]; 3] = [b"1,2", b"3,4", b"{\"a\":5}"];
        let agg = aggregate("pk", rows);
        assert!(is_aggregated(&agg));
        let out = deaggregate(&agg).unwrap();
        assert_eq!(out.len(), 3);
        for (i, (user, want)) in out.iter().zip(rows).enumerate() {
            assert_eq!(user.sub_sequence_number, Some(i as u64));
            assert_eq!(user.partition_key.as_deref(), Some("pk"));
            assert_eq!(user.data, want);
        }
    }

    #[test]
    fn each_user_record_keeps_its_own_partition_key() {
        let agg = aggregate_keyed([
            ("a", b"1".as_slice()),
            ("b", b"2".as_slice()),
            ("a", b"3".as_slice()),
        ]);
        let keys: Vec<Option<String>> = deaggregate(&agg)
            .unwrap()
            .into_iter()
            .map(|u| u.partition_key)
            .collect();
        assert_eq!(keys, [Some("a".into()), Some("b".into()), Some("a".into())]);
    }

    #[test]
    fn checksum_mismatch_is_rejected() {
        let mut agg = aggregate("pk", [b"1,2".as_slice(), b"3,4".as_slice()]);
        // Flip one payload byte: the protobuf may still parse, the digest must not match.
        let n = agg.len();
        agg[n - DIGEST_LEN - 1] ^= 0x01;
        match deaggregate(&agg) {
            Err(KplError::Checksum { expected, computed }) => assert_ne!(expected, computed),
            other => panic!("expected a checksum error, got {other:?}"),
        }
        let mut agg = aggregate("pk", [b"1,2".as_slice()]);
        let last = agg.len() - 1;
        agg[last] ^= 0xFF;
        assert!(matches!(deaggregate(&agg), Err(KplError::Checksum { .. })));
    }

    #[test]
    fn truncated_and_garbage_payloads_are_errors() {
        assert_eq!(
            deaggregate(&[0xF3, 0x89, 0x9A, 0xC2, 1, 2]),
            Err(KplError::Truncated { len: 6 })
        );
        // A valid digest over bytes that are not an AggregatedRecord.
        let payload = [0xFFu8, 0xFF, 0xFF];
        let mut rec = MAGIC.to_vec();
        rec.extend_from_slice(&payload);
        rec.extend_from_slice(&Md5::digest(payload));
        assert!(matches!(deaggregate(&rec), Err(KplError::Protobuf(_))));
    }

    #[test]
    fn bad_partition_key_index_is_an_error() {
        let message = AggregatedRecord {
            partition_key_table: vec!["pk".into()],
            explicit_hash_key_table: vec![],
            records: vec![AggregatedEntry {
                partition_key_index: 3,
                explicit_hash_key_index: None,
                data: b"1".to_vec(),
                tags: vec![],
            }],
        };
        let payload = message.encode_to_vec();
        let mut rec = MAGIC.to_vec();
        rec.extend_from_slice(&payload);
        rec.extend_from_slice(&Md5::digest(&payload));
        assert!(matches!(
            deaggregate(&rec),
            Err(KplError::BadKeyIndex { key_index: 3, .. })
        ));
    }
}
