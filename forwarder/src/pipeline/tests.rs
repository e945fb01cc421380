use std::sync::atomic::Ordering;

use super::*;
use crate::fakes::{FakeEndpoint, forwarder, record, stored_rows};
use crate::sinks::MemorySinks;

/// Record `i`, keyed by its index.
fn rec(i: usize, data: &[u8]) -> Record {
    record(i, &i.to_string(), data)
}

#[tokio::test]
async fn every_format_is_scored_and_mapped_back_to_its_record() {
    let agg = codec::kpl::aggregate("k", [b"0.8,0,0".as_slice(), b"0.2,0,0\n0.3,0,0".as_slice()]);
    let records = vec![
        rec(0, b"0.1,0.2,0.3"),
        rec(1, b"a,b,c\n0.6,1,2\n0.4,1,2\n"),
        rec(2, br#"{"c": 3, "a": 0.7, "b": 1}"#),
        rec(3, b"[[0.2,1,1],[0.9,1,1]]"),
        rec(4, &agg),
    ];
    let fwd = forwarder(FakeEndpoint::default(), MemorySinks::default());
    let out = fwd.process(&records, Some(5.0)).await;
    assert_eq!(out.done, 5);
    assert_eq!(out.failure, None);
    assert_eq!(out.stats.rows, 9);
    assert_eq!(out.stats.anomalies, 4);
    assert_eq!(out.stats.decode_errors, 0);
    let rows = stored_rows(fwd.sinks());
    let origins: Vec<(String, Option<u64>, u64, f64)> = rows
        .iter()
        .map(|r| {
            (
                r["partition_key"].as_str().unwrap().to_string(),
                r["sub_sequence_number"].as_u64(),
                r["row"].as_u64().unwrap(),
                r["score"].as_f64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, Option<u64>, u64, f64)> = vec![
        ("0".into(), None, 0, 0.1),
        ("1".into(), None, 0, 0.6),
        ("1".into(), None, 1, 0.4),
        ("2".into(), None, 0, 0.7),
        ("3".into(), None, 0, 0.2),
        ("3".into(), None, 1, 0.9),
        ("4".into(), Some(0), 0, 0.8),
        ("4".into(), Some(1), 0, 0.2),
        ("4".into(), Some(1), 1, 0.3),
    ];
    assert_eq!(origins, want);
    // JSON keyed by name comes back in the model's column order.
    assert_eq!(rows[3]["values"], serde_json::json!([0.7, 1.0, 3.0]));
    // One alert per key with anomalies (this test keys each record by its index).
    let alerts = fwd.sinks().alerts.lock().unwrap().clone();
    let subjects: Vec<&str> = alerts.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        subjects,
        [
            "1: 1 anomaly on test-stream",
            "2: 1 anomaly on test-stream",
            "3: 1 anomaly on test-stream",
            "4: 1 anomaly on test-stream"
        ]
    );
}

#[tokio::test]
async fn undecodable_records_are_dead_lettered_and_skipped() {
    let mut bad_kpl = codec::kpl::aggregate("k", [b"0.1,0,0".as_slice()]);
    let last = bad_kpl.len() - 1;
    bad_kpl[last] ^= 0x55;
    let records = vec![
        rec(0, b"0.1,0.2"),
        rec(1, b"0.9,1,1"),
        rec(2, &bad_kpl),
        rec(3, b"{\"a\": 1}"),
        rec(4, b"0.2,1,1"),
    ];
    let fwd = forwarder(FakeEndpoint::default(), MemorySinks::default());
    let out = fwd.process(&records, None).await;
    assert_eq!((out.done, out.failure.clone()), (5, None));
    assert_eq!(out.stats.decode_errors, 3);
    assert_eq!(out.stats.rows, 2);
    let dead: Vec<serde_json::Value> = fwd
        .sinks()
        .dead
        .lock()
        .unwrap()
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let seqs: Vec<&str> = dead
        .iter()
        .map(|d| d["sequence_number"].as_str().unwrap())
        .collect();
    assert_eq!(
        seqs,
        [
            &records[0].sequence_number,
            &records[2].sequence_number,
            &records[3].sequence_number
        ]
    );
    assert!(
        dead[0]["reason"]
            .as_str()
            .unwrap()
            .contains("expected 3 values, found 2"),
        "{}",
        dead[0]
    );
    assert!(
        dead[1]["reason"].as_str().unwrap().contains("checksum"),
        "{}",
        dead[1]
    );
    assert!(
        dead[2]["reason"].as_str().unwrap().contains("missing key"),
        "{}",
        dead[2]
    );
    assert_eq!(dead[0]["data_base64"], "MC4xLDAuMg==");
}

#[tokio::test]
async fn requests_respect_the_row_budget() {
    let records: Vec<Record> = (0..25).map(|i| rec(i, b"0.1,1,1\n0.2,1,1")).collect();
    let mut fwd = forwarder(FakeEndpoint::default(), MemorySinks::default());
    fwd.settings_mut().budget = crate::pipeline::pack::Budget::new(7, 1 << 20);
    fwd.settings_mut().concurrency = 3;
    let out = fwd.process(&records, None).await;
    assert_eq!(out.done, 25);
    let mut batches = fwd.endpoint().batches.lock().unwrap().clone();
    batches.sort();
    assert_eq!(batches.iter().sum::<usize>(), 50);
    assert!(batches.iter().all(|b| *b <= 7));
    assert_eq!(out.stats.latencies_ms.len(), batches.len());
}

#[tokio::test]
async fn transient_errors_are_retried_and_nothing_is_lost() {
    let endpoint = FakeEndpoint::default();
    endpoint.script.lock().unwrap().extend([
        InvokeError::Throttled("ThrottlingException".into()),
        InvokeError::Service {
            status: 503,
            message: "busy".into(),
        },
    ]);
    let records: Vec<Record> = (0..4).map(|i| rec(i, b"0.1,1,1")).collect();
    let fwd = forwarder(endpoint, MemorySinks::default());
    let out = fwd.process(&records, None).await;
    assert_eq!((out.done, out.failure), (4, None));
    assert_eq!(out.stats.endpoint_errors, 2);
    assert_eq!(out.stats.rows, 4);
    assert_eq!(fwd.endpoint().calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_container_4xx_isolates_the_rejected_record() {
    let endpoint = FakeEndpoint {
        poison: Some(0.66),
        ..Default::default()
    };
    let records: Vec<Record> = (0..9)
        .map(|i| {
            if i == 5 {
                rec(i, b"0.66,1,1")
            } else {
                rec(i, b"0.1,1,1")
            }
        })
        .collect();
    let fwd = forwarder(endpoint, MemorySinks::default());
    let out = fwd.process(&records, None).await;
    assert_eq!((out.done, out.failure), (9, None));
    assert_eq!(out.stats.poison_records, 1);
    assert_eq!(out.stats.rows, 8);
    let dead = fwd.sinks().dead.lock().unwrap().clone();
    assert_eq!(dead.len(), 1);
    assert!(dead[0].contains(&records[5].sequence_number));
    assert!(dead[0].contains("HTTP 400"), "{}", dead[0]);
    // Bisection, not one call per record: 1 + 2 + 2 + 2 failing/succeeding halves at most.
    assert!(fwd.endpoint().calls.load(Ordering::SeqCst) <= 9);
}

#[tokio::test]
async fn an_outage_stops_at_the_first_unprocessed_record() {
    let endpoint = FakeEndpoint {
        unavailable: Some(0.77),
        ..Default::default()
    };
    let records: Vec<Record> = (0..12)
        .map(|i| {
            if i == 7 {
                rec(i, b"0.77,1,1")
            } else {
                rec(i, b"0.9,1,1")
            }
        })
        .collect();
    let mut fwd = forwarder(endpoint, MemorySinks::default());
    fwd.settings_mut().budget = crate::pipeline::pack::Budget::new(3, 1 << 20);
    fwd.settings_mut().concurrency = 4;
    let out = fwd.process(&records, None).await;
    // Requests hold records 0-2, 3-5, 6-8, 9-11; the third never succeeds.
    assert_eq!(out.done, 6);
    assert!(matches!(
        out.failure,
        Some(Failure::Endpoint(InvokeError::Service { status: 503, .. }))
    ));
    assert_eq!(out.stats.rows, 6);
    let stored = stored_rows(fwd.sinks());
    let keys: Vec<&str> = stored
        .iter()
        .map(|r| r["partition_key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["0", "1", "2", "3", "4", "5"]);
    let alerts = fwd.sinks().alerts.lock().unwrap().clone();
    assert_eq!(alerts.len(), 6, "one alert per key");
    assert_eq!(alerts[0].0, "0: 1 anomaly on test-stream");
}

#[tokio::test]
async fn a_failed_alert_replays_the_whole_batch() {
    let sinks = MemorySinks::default();
    sinks.fail_alerts.store(true, Ordering::SeqCst);
    let records: Vec<Record> = (0..3).map(|i| rec(i, b"0.9,1,1")).collect();
    let fwd = forwarder(FakeEndpoint::default(), sinks);
    let out = fwd.process(&records, None).await;
    assert_eq!(out.done, 0);
    assert!(matches!(out.failure, Some(Failure::Sink(_))));
}

#[tokio::test]
async fn explanations_from_the_endpoint_reach_the_results_and_the_alerts() {
    let records = vec![rec(0, b"0.9,0,0"), rec(1, b"0.2,0,0")];
    let endpoint = FakeEndpoint {
        explain: true,
        ..Default::default()
    };
    let fwd = forwarder(endpoint, MemorySinks::default());
    let out = fwd.process(&records, Some(5.0)).await;
    assert_eq!((out.done, out.stats.anomalies), (2, 1));
    let rows = stored_rows(fwd.sinks());
    assert_eq!(
        rows[0]["explanation"],
        serde_json::json!([{"feature": "a", "attribution": 1.0, "direction": "high", "value": 0.9, "expected": 0.0}])
    );
    let alerts = fwd.sinks().alerts.lock().unwrap().clone();
    assert_eq!(alerts.len(), 1);
    let body: serde_json::Value = serde_json::from_str(&alerts[0].1).unwrap();
    assert_eq!(
        body["summary"],
        "0: 1 anomaly on test-stream, peak score 0.9: a = 0.9, expected about 0 (100 % of the score)"
    );
}
