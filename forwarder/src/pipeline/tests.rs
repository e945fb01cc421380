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

/// Records of devices `d0`..`d2` (and `d9`, which has no model), interleaved; a row's first value
/// encodes its device (`0.1 * device`) so each request's rows can be told apart.
fn fleet_records(json_field: bool) -> Vec<Record> {
    (0..24)
        .map(|i| {
            let device = if i == 7 || i == 20 { 9 } else { i % 3 };
            let value = 0.1 * device as f64;
            let data = if json_field {
                format!(r#"{{"device": "d{device}", "a": {value}, "b": 1, "c": {i}}}"#)
            } else {
                format!("{value},1,{i}")
            };
            record(i, &format!("d{device}"), data.as_bytes())
        })
        .collect()
}

#[tokio::test]
async fn each_entity_goes_to_its_own_model_and_an_unknown_one_is_parked() {
    for (from, json_field) in [
        (TargetModelFrom::PartitionKey, false),
        (TargetModelFrom::Field("device".into()), true),
    ] {
        let endpoint = FakeEndpoint {
            missing_models: vec!["d9.tar.gz".into()],
            ..Default::default()
        };
        let mut fwd = forwarder(endpoint, MemorySinks::default());
        fwd.settings_mut().target_model = Some(from.clone());
        fwd.settings_mut().budget = pack::Budget::new(3, 1 << 20);
        fwd.settings_mut().concurrency = 3;
        let records = fleet_records(json_field);
        let out = fwd.process(&records, None).await;
        assert_eq!((out.done, &out.failure), (24, &None), "{from:?}");
        assert_eq!(out.stats.unknown_model_records, 2, "{from:?}");
        assert_eq!(out.stats.rows, 22);
        // Every request went to one device's model and held only that device's rows.
        let targeted = fwd.endpoint().targeted.lock().unwrap().clone();
        assert!(!targeted.is_empty());
        for (target, firsts) in &targeted {
            let target = target.as_deref().expect("every request names its model");
            let device: usize = target
                .strip_prefix('d')
                .and_then(|t| t.strip_suffix(".tar.gz"))
                .unwrap()
                .parse()
                .unwrap();
            assert!(
                firsts
                    .iter()
                    .all(|v| (v - 0.1 * device as f64).abs() < 1e-9),
                "{target}: {firsts:?}"
            );
            assert!(firsts.len() <= 3, "batched within the row budget");
        }
        // Each device's 7 or 8 rows in requests of at most 3: 3 requests per device.
        assert_eq!(targeted.len(), 9, "{targeted:?}");
        // The records without a model are dead-lettered with the reason, and nothing else is lost.
        let dead = fwd.sinks().dead.lock().unwrap().clone();
        assert_eq!(dead.len(), 2);
        for (letter, i) in dead.iter().zip([7, 20]) {
            assert!(letter.contains(&records[i].sequence_number), "{letter}");
            assert!(letter.contains("no model d9.tar.gz"), "{letter}");
        }
        let stored: Vec<u64> = stored_rows(fwd.sinks())
            .iter()
            .map(|r| r["values"][2].as_f64().unwrap() as u64)
            .collect();
        let want: Vec<u64> = (0..24).filter(|i| *i != 7 && *i != 20).collect();
        assert_eq!(stored, want);
    }
}

#[tokio::test]
async fn a_record_without_a_usable_entity_is_dead_lettered_with_the_reason() {
    let mut fwd = forwarder(FakeEndpoint::default(), MemorySinks::default());
    fwd.settings_mut().target_model = Some(TargetModelFrom::Field("device".into()));
    let records = vec![
        record(0, "k", br#"{"device": "d1", "a": 0.1, "b": 1, "c": 1}"#),
        record(1, "k", b"0.1,1,1"),
        record(2, "k", br#"{"a": 0.1, "b": 1, "c": 1}"#),
        record(3, "k", br#"{"device": "d/1", "a": 0.1, "b": 1, "c": 1}"#),
    ];
    let out = fwd.process(&records, None).await;
    assert_eq!(
        (out.done, out.stats.rows, out.stats.decode_errors),
        (4, 1, 3)
    );
    let dead = fwd.sinks().dead.lock().unwrap().clone();
    assert!(dead[0].contains("this one is CSV"), "{}", dead[0]);
    assert!(dead[1].contains("no field \\\"device\\\""), "{}", dead[1]);
    assert!(dead[2].contains("cannot be in a model name"), "{}", dead[2]);
}

#[tokio::test]
async fn a_failing_model_replays_from_its_first_record_whatever_the_other_models_did() {
    // d1's model is down for good; d0 and d2 answer. Requests are interleaved by their first
    // rows, so the replay must start at d1's first unanswered record, not after the last answer.
    let endpoint = FakeEndpoint {
        unavailable: Some(0.1),
        ..Default::default()
    };
    let mut fwd = forwarder(endpoint, MemorySinks::default());
    fwd.settings_mut().target_model = Some(TargetModelFrom::PartitionKey);
    fwd.settings_mut().budget = pack::Budget::new(3, 1 << 20);
    let records: Vec<Record> = (0..12)
        .map(|i| {
            record(
                i,
                &format!("d{}", i % 3),
                format!("{},1,{i}", 0.1 * (i % 3) as f64).as_bytes(),
            )
        })
        .collect();
    let out = fwd.process(&records, None).await;
    assert!(matches!(out.failure, Some(Failure::Endpoint(_))));
    assert_eq!(out.done, 1, "record 1 is d1's first row");
    let stored: Vec<u64> = stored_rows(fwd.sinks())
        .iter()
        .map(|r| r["values"][2].as_f64().unwrap() as u64)
        .collect();
    assert_eq!(stored, [0], "only the finished prefix is delivered");
}

#[tokio::test]
async fn every_row_has_a_stable_event_id_shared_by_its_alert_and_its_result() {
    let agg = codec::kpl::aggregate("k", [b"0.8,0,0".as_slice(), b"0.2,0,0\n0.9,0,0".as_slice()]);
    let records = vec![rec(0, b"0.7,1,1\n0.1,1,1"), rec(1, &agg)];
    let ids = |sinks: &MemorySinks| -> Vec<String> {
        stored_rows(sinks)
            .iter()
            .map(|r| r["event_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let fwd = forwarder(FakeEndpoint::default(), MemorySinks::default());
    fwd.process(&records, None).await;
    let first = ids(fwd.sinks());
    let seq = |i: usize| records[i].sequence_number.clone();
    assert_eq!(
        first,
        [
            format!("shardId-000000000000:{}:-:0", seq(0)),
            format!("shardId-000000000000:{}:-:1", seq(0)),
            format!("shardId-000000000000:{}:0:0", seq(1)),
            format!("shardId-000000000000:{}:1:0", seq(1)),
            format!("shardId-000000000000:{}:1:1", seq(1)),
        ]
    );
    // A replay of the same records names the same events.
    fwd.process(&records, None).await;
    assert_eq!(ids(fwd.sinks())[5..], first[..]);
    // Each alerted anomaly carries the id its result has.
    let alerts = fwd.sinks().alerts.lock().unwrap().clone();
    let alerted: Vec<String> = alerts
        .iter()
        .flat_map(|(_, body)| {
            let doc: serde_json::Value = serde_json::from_str(body).unwrap();
            doc["anomalies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["event_id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        alerted.contains(&first[0]) && alerted.contains(&first[2]) && alerted.contains(&first[4])
    );
    assert!(!alerted.contains(&first[1]), "0.1 is not an anomaly");
}
