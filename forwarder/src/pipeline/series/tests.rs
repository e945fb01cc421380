use std::sync::atomic::Ordering;

use super::*;
use crate::fakes::{FakeEndpoint, forwarder, record as rec, residuals, stored_rows};
use crate::sinks::MemorySinks;

fn row(v: f64) -> Vec<u8> {
    format!("{v},1,1").into_bytes()
}

/// A trend-mode forwarder over an endpoint that scores like the trend-aware server.
fn trend_forwarder(window: usize, endpoint: FakeEndpoint) -> Forwarder<FakeEndpoint, MemorySinks> {
    let endpoint = FakeEndpoint {
        trend_window: Some(window),
        ..endpoint
    };
    let mut fwd = forwarder(endpoint, MemorySinks::default());
    fwd.settings_mut().trend_context = window;
    fwd
}

/// Two interleaved series: key "a" holds values 0.x, key "b" values about 20.
fn interleaved(n: usize) -> (Vec<Record>, Vec<f64>, Vec<f64>) {
    let a: Vec<f64> = (0..n)
        .map(|i| [0.1, 0.5, 0.2, 0.9, 0.3][i % 5] + i as f64 / 100.0)
        .collect();
    let b: Vec<f64> = (0..n)
        .map(|i| 20.0 + [0.4, 0.1, 0.7][i % 3] - i as f64 / 50.0)
        .collect();
    let mut records = Vec::new();
    for i in 0..n {
        records.push(rec(records.len(), "a", &row(a[i])));
        records.push(rec(records.len(), "b", &row(b[i])));
    }
    (records, a, b)
}

/// The reported scores of `key`, in the order they were stored.
fn scores_of(sinks: &MemorySinks, key: &str) -> Vec<f64> {
    stored_rows(sinks)
        .into_iter()
        .filter(|r| r["partition_key"] == key)
        .map(|r| r["score"].as_f64().unwrap())
        .collect()
}

fn requests(fwd: &Forwarder<FakeEndpoint, MemorySinks>) -> Vec<(Option<usize>, Vec<f64>)> {
    fwd.endpoint().requests.lock().unwrap().clone()
}

#[tokio::test]
async fn keys_are_scored_as_separate_series_with_context_across_batches() {
    let (records, a, b) = interleaved(9);
    let fwd = trend_forwarder(3, FakeEndpoint::default());
    // Three batches, cut so that every key's rows span them.
    for chunk in [&records[..5], &records[5..11], &records[11..]] {
        let out = fwd.process(chunk, None).await;
        assert_eq!((out.done, out.failure), (chunk.len(), None));
    }
    // Every request holds one key only: values below 10 are key a, the others key b.
    for (_, values) in requests(&fwd) {
        let first_is_a = values[0] < 10.0;
        assert!(
            values.iter().all(|v| (*v < 10.0) == first_is_a),
            "{values:?}"
        );
    }
    let reqs = requests(&fwd);
    // A new key starts with context=0; later requests carry the key's last 3 rows.
    assert_eq!(reqs[0], (Some(0), a[..3].to_vec()));
    assert_eq!(reqs[1], (Some(0), b[..2].to_vec()));
    // The second batch opens with key b (record 5): its 2 stored rows, then 3 new ones.
    assert_eq!(reqs[2], (Some(2), b[..5].to_vec()));
    assert_eq!(reqs[3], (Some(3), a[..6].to_vec()));
    // The forwarder's scores equal the server's scores for each key's whole series.
    assert_eq!(scores_of(fwd.sinks(), "a"), residuals(&a, 3));
    assert_eq!(scores_of(fwd.sinks(), "b"), residuals(&b, 3));
}

#[tokio::test]
async fn kpl_user_records_join_the_series_of_their_own_key() {
    let agg = codec::kpl::aggregate_keyed([
        ("a", b"0.2,1,1".as_slice()),
        ("b", b"10.5,1,1".as_slice()),
        ("a", b"0.4,1,1\n0.9,1,1".as_slice()),
    ]);
    let records = vec![
        rec(0, "a", b"0.1,1,1"),
        rec(1, "a", &agg),
        rec(2, "b", b"10.1,1,1"),
    ];
    let fwd = trend_forwarder(2, FakeEndpoint::default());
    let out = fwd.process(&records, None).await;
    assert_eq!(out.done, 3);
    assert_eq!(
        requests(&fwd),
        [
            (Some(0), vec![0.1, 0.2, 0.4, 0.9]),
            (Some(0), vec![10.5, 10.1])
        ]
    );
    // Rows report the key of their series, not the aggregated record's.
    assert_eq!(
        scores_of(fwd.sinks(), "b"),
        residuals(&[10.5, 10.1], 2),
        "the sub-record keyed b is reported under b"
    );
    assert_eq!(scores_of(fwd.sinks(), "a").len(), 4);
}

#[tokio::test]
async fn context_counts_toward_the_row_budget() {
    let values: Vec<f64> = (0..7).map(|i| 0.1 * i as f64).collect();
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| rec(i, "k", &row(*v)))
        .collect();
    let mut fwd = trend_forwarder(2, FakeEndpoint::default());
    fwd.settings_mut().budget = crate::pipeline::pack::Budget::new(4, 1 << 20);
    fwd.process(&records, None).await;
    let shape: Vec<(Option<usize>, usize)> =
        requests(&fwd).iter().map(|(k, v)| (*k, v.len())).collect();
    // 4 new rows; then 2 context + 2 new; then 2 context + 1 new.
    assert_eq!(shape, [(Some(0), 4), (Some(2), 4), (Some(2), 3)]);
    assert_eq!(scores_of(fwd.sinks(), "k"), residuals(&values, 2));
}

#[test]
fn fit_keeps_context_first_within_the_byte_budget() {
    let h: Vec<&[u8]> = vec![b"1111\n", b"2222\n", b"3333\n"];
    let budget = |rows, bytes| crate::pipeline::pack::Budget::new(rows, bytes);
    // Room for everything: all 3 context rows and both new rows.
    assert_eq!(fit(budget(10, 100), 3, &h, [5, 5]), (3, 2));
    // The window limits the context.
    assert_eq!(fit(budget(10, 100), 1, &h, [5, 5]), (1, 2));
    // 12 bytes: two context rows would leave no room for a 5-byte new row, so one is dropped.
    assert_eq!(fit(budget(10, 12), 3, &h, [5, 5]), (1, 1));
    // 20 bytes: three context rows and one new row; the second new row waits.
    assert_eq!(fit(budget(10, 20), 3, &h, [5, 5]), (3, 1));
    // The row budget leaves room for one new row.
    assert_eq!(fit(budget(2, 100), 3, &h, [5, 5]), (1, 1));
    assert_eq!(fit(budget(1, 100), 3, &h, [5, 5]), (0, 1));
}

#[tokio::test]
async fn a_failed_request_does_not_advance_the_context() {
    let (_, a, b) = interleaved(6);
    // Key b opens the batch (runs first, one key at a time): b_i is record 2i, a_i record 2i+1.
    let mut records = Vec::new();
    for i in 0..6 {
        records.push(rec(records.len(), "b", &row(b[i])));
        records.push(rec(records.len(), "a", &row(a[i])));
    }
    // Key a's fourth row (record 7) meets an outage that outlasts the retries.
    let endpoint = FakeEndpoint {
        unavailable: Some(a[3]),
        ..FakeEndpoint::default()
    };
    let mut fwd = trend_forwarder(2, endpoint);
    fwd.settings_mut().budget = crate::pipeline::pack::Budget::new(3, 1 << 20);
    let out = fwd.process(&records, None).await;
    assert_eq!(
        out.done, 7,
        "records 0-6 are done, the replay starts at record 7"
    );
    assert!(matches!(out.failure, Some(Failure::Endpoint(_))));
    // All of key b was scored, but only its rows before record 7 are reported...
    let b_scored = scores_of(fwd.sinks(), "b");
    assert_eq!(b_scored, residuals(&b, 2)[..4]);
    // ...and kept as context: the replay from record 7 sees exactly the rows before it.
    let healthy = FakeEndpoint {
        trend_window: Some(2),
        ..FakeEndpoint::default()
    };
    let mut replay = forwarder(healthy, MemorySinks::default());
    replay.settings_mut().trend_context = 2;
    *replay.contexts.lock().unwrap() = std::mem::take(&mut *fwd.contexts.lock().unwrap());
    let out = replay.process(&records[7..], None).await;
    assert_eq!((out.done, out.failure), (5, None));
    assert_eq!(
        requests(&replay),
        [(Some(2), a[1..].to_vec()), (Some(2), b[2..].to_vec())]
    );
    // Together the two runs report each series' scores exactly once.
    let mut all_a = scores_of(fwd.sinks(), "a");
    all_a.extend(scores_of(replay.sinks(), "a"));
    assert_eq!(all_a, residuals(&a, 2));
    let mut all_b = b_scored;
    all_b.extend(scores_of(replay.sinks(), "b"));
    assert_eq!(all_b, residuals(&b, 2));
}

#[tokio::test]
async fn transient_errors_retry_the_same_request_and_context() {
    let endpoint = FakeEndpoint::default();
    endpoint
        .script
        .lock()
        .unwrap()
        .extend([InvokeError::Throttled("slow down".into())]);
    let fwd = trend_forwarder(2, endpoint);
    let values = [0.1, 0.4, 0.2];
    let records: Vec<Record> = (0..3).map(|i| rec(i, "k", &row(values[i]))).collect();
    fwd.process(&records[..2], None).await;
    fwd.endpoint()
        .script
        .lock()
        .unwrap()
        .extend([InvokeError::Throttled("slow down".into())]);
    let out = fwd.process(&records[2..], None).await;
    assert_eq!((out.done, out.stats.endpoint_errors), (1, 1));
    assert_eq!(requests(&fwd).last().unwrap(), &(Some(2), values.to_vec()));
    assert_eq!(scores_of(fwd.sinks(), "k"), residuals(&values, 2));
}

#[tokio::test]
async fn a_failed_sink_or_a_replay_of_scored_rows_leaves_no_wrong_context() {
    let fwd = trend_forwarder(2, FakeEndpoint::default());
    let records: Vec<Record> = (0..3).map(|i| rec(i, "k", &row(0.1 * i as f64))).collect();
    fwd.sinks().fail_alerts.store(true, Ordering::SeqCst);
    // An anomaly (0.9 after 0.1) makes the alert fail: nothing is done, nothing becomes context.
    let spiky = vec![rec(0, "k", b"0.1,1,1"), rec(1, "k", b"0.9,1,1")];
    assert_eq!(fwd.process(&spiky, None).await.done, 0);
    assert!(fwd.contexts.lock().unwrap().is_empty());
    fwd.sinks().fail_alerts.store(false, Ordering::SeqCst);
    assert_eq!(fwd.process(&records, None).await.done, 3);
    // The same records delivered again (a re-delivered Lambda batch): the stored context ends at
    // them, so it would put later rows in front; the key starts over instead.
    fwd.process(&records, None).await;
    let reqs = requests(&fwd);
    assert_eq!(reqs.last().unwrap().0, Some(0));
}

#[tokio::test]
async fn the_least_recently_used_key_loses_its_context() {
    let mut fwd = trend_forwarder(2, FakeEndpoint::default());
    fwd.settings_mut().trend_keys = 2;
    let first: Vec<Record> = ["a", "b", "c"]
        .iter()
        .enumerate()
        .map(|(i, k)| rec(i, k, &row(0.1)))
        .collect();
    fwd.process(&first, None).await;
    assert_eq!(fwd.contexts.lock().unwrap().len(), 2);
    let second: Vec<Record> = ["a", "b", "c"]
        .iter()
        .enumerate()
        .map(|(i, k)| rec(10 + i, k, &row(0.2)))
        .collect();
    fwd.process(&second, None).await;
    let contexts: Vec<Option<usize>> = requests(&fwd)[3..].iter().map(|r| r.0).collect();
    // "a" was committed first and evicted when "c" arrived.
    assert_eq!(contexts, [Some(0), Some(1), Some(1)]);
}

#[tokio::test]
async fn a_rejected_record_is_isolated_and_never_becomes_context() {
    let values = [0.1, 0.3, 0.2, 0.66, 0.25, 0.35];
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| rec(i, "k", &row(*v)))
        .collect();
    let endpoint = FakeEndpoint {
        poison: Some(0.66),
        ..FakeEndpoint::default()
    };
    let fwd = trend_forwarder(2, endpoint);
    let out = fwd.process(&records, None).await;
    assert_eq!((out.done, out.stats.poison_records), (6, 1));
    let clean = [0.1, 0.3, 0.2, 0.25, 0.35];
    assert_eq!(scores_of(fwd.sinks(), "k"), residuals(&clean, 2));
    assert_eq!(fwd.sinks().dead.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn trend_mode_off_sends_no_context() {
    let fwd = forwarder(FakeEndpoint::default(), MemorySinks::default());
    let records = vec![rec(0, "a", b"0.1,1,1"), rec(1, "b", b"0.2,1,1")];
    fwd.process(&records, None).await;
    // Today's behaviour: keys share one request and no custom attribute is sent.
    assert_eq!(requests(&fwd), [(None, vec![0.1, 0.2])]);
    assert!(fwd.contexts.lock().unwrap().is_empty());
}
