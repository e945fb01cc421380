//! The stream side: Kinesis records as the forwarder reads them. Input: a selector byte (feature
//! names and row limit, see the crate docs), then the record.
//!
//! * `codec::sniff_record` picks JSON or CSV, and `codec::decode_record(_with)` never panics and
//!   gives well-formed rows or a renderable error.
//! * `codec::record_field` (the forwarder's `--target-model-from field:NAME`) never panics, reads a
//!   field only from a JSON record, and whatever it reads is judged by
//!   `codec::entity::unusable_name` without panicking.
//! * `codec::kpl::deaggregate` never panics; a record without the KPL magic passes through as one
//!   user record, and every user record of an aggregated one decodes like a record. The record is also tried
//!   with its trailing MD5 rewritten to match, so mutations reach the protobuf decoding.
//! * A round trip of arbitrary payloads through `codec::kpl::aggregate` and `aggregate_keyed` and
//!   back through `deaggregate` gives the payloads, their order and their partition keys back. The
//!   payloads are cut from the record: a length byte (low 7 bits; the top bit picks one of two
//!   partition keys), then that many bytes.
#![no_main]

use codec::kpl::{self, UserRecord};
use codec::{InputFormat, Limits};
use isoserve_fuzz::{check_rows, limits, names};
use libfuzzer_sys::fuzz_target;
use md5::{Digest, Md5};

const KEYS: [&str; 2] = ["pk", "partition-key-\u{e9}"];

fn decode(record: &[u8], names: &[String], limits: &Limits) {
    let format = codec::sniff_record(record);
    assert!(
        matches!(format, InputFormat::Json | InputFormat::Csv),
        "{format:?}"
    );
    let rows = if *limits == Limits::default() {
        codec::decode_record(record, names)
    } else {
        codec::decode_record_with(record, names, limits)
    };
    check_rows(&rows, names.len(), limits);
    for field in ["device", &names[0]] {
        match codec::record_field(record, field) {
            Ok(text) => {
                assert_eq!(format, InputFormat::Json, "a field read from a CSV record");
                let _ = codec::entity::unusable_name(&text);
            }
            Err(reason) => assert!(!reason.is_empty()),
        }
    }
}

fn deaggregate(record: &[u8], names: &[String], limits: &Limits) {
    match kpl::deaggregate(record) {
        Ok(users) => {
            if kpl::is_aggregated(record) {
                for (i, user) in users.iter().enumerate() {
                    assert_eq!(user.sub_sequence_number, Some(i as u64));
                    assert!(user.partition_key.is_some());
                    decode(&user.data, names, limits);
                }
            } else {
                // Passed through whole: the caller has decoded it already.
                let whole = UserRecord {
                    sub_sequence_number: None,
                    partition_key: None,
                    data: record.to_vec(),
                };
                assert_eq!(users, [whole], "an ordinary record did not pass through");
            }
        }
        Err(e) => {
            assert!(
                kpl::is_aggregated(record),
                "an ordinary record was refused: {e}"
            );
            assert!(!e.to_string().is_empty());
        }
    }
}

/// The user records cut from `bytes` for the round trip.
fn payloads(mut bytes: &[u8]) -> Vec<(&'static str, &[u8])> {
    let mut out = Vec::new();
    while let Some((&n, tail)) = bytes.split_first() {
        let len = usize::from(n & 0x7F).min(tail.len());
        out.push((KEYS[usize::from(n >> 7)], &tail[..len]));
        bytes = &tail[len..];
    }
    out
}

fn round_trip(body: &[u8]) {
    let entries = payloads(body);
    let expect = |keyed: bool| -> Vec<UserRecord> {
        entries
            .iter()
            .enumerate()
            .map(|(i, (key, data))| UserRecord {
                sub_sequence_number: Some(i as u64),
                partition_key: Some(if keyed { key } else { KEYS[0] }.to_string()),
                data: data.to_vec(),
            })
            .collect()
    };
    let keyed = kpl::aggregate_keyed(entries.iter().copied());
    assert!(kpl::is_aggregated(&keyed));
    assert_eq!(
        kpl::deaggregate(&keyed),
        Ok(expect(true)),
        "aggregate_keyed round trip"
    );
    let single = kpl::aggregate(KEYS[0], entries.iter().map(|(_, data)| *data));
    assert_eq!(
        kpl::deaggregate(&single),
        Ok(expect(false)),
        "aggregate round trip"
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let (names, limits) = (names(sel), limits(sel));
    decode(body, &names, &limits);
    deaggregate(body, &names, &limits);
    // The same record with a checksum that matches its payload.
    if kpl::is_aggregated(body) && body.len() >= kpl::MAGIC.len() + 16 {
        let mut fixed = body.to_vec();
        let digest_at = body.len() - 16;
        fixed[digest_at..].copy_from_slice(&Md5::digest(&body[kpl::MAGIC.len()..digest_at]));
        if fixed != body {
            deaggregate(&fixed, &names, &limits);
        }
    }
    round_trip(body);
});
