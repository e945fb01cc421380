use std::cell::RefCell;

use super::*;

const CSV: &[u8] = b"temp,vib,site\n20.5,0.1,3\n21.0,,4\n";

#[test]
fn header_is_detected_and_optional() {
    let s = Source::parse("f.csv", CSV, None).unwrap();
    assert_eq!(s.header.as_deref().unwrap(), ["temp", "vib", "site"]);
    assert_eq!(s.rows.len(), 2);
    let s = Source::parse("f.csv", b"1,2\n3,4\n", None).unwrap();
    assert!(s.header.is_none());
    assert_eq!(s.rows.len(), 2);
    let err = Source::parse("f.csv", b"a,b\n", None).unwrap_err();
    assert_eq!(err.to_string(), "f.csv: no data rows");
    let err = Source::parse("f.csv", b"1,2\n3\n", None).unwrap_err();
    assert_eq!(err.to_string(), "f.csv: line 2: expected 2 fields, found 1");
}

#[test]
fn payloads_in_both_formats() {
    let s = Source::parse("f.csv", CSV, None).unwrap();
    assert_eq!(s.payload(0, Format::Csv).unwrap(), b"20.5,0.1,3");
    let json: serde_json::Value =
        serde_json::from_slice(&s.payload(1, Format::Json).unwrap()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"temp": 21.0, "vib": null, "site": 4.0})
    );
    let bare = Source::parse("f.csv", b"1,2\n", None).unwrap();
    assert!(matches!(
        bare.payload(0, Format::Json),
        Err(ProduceError::Usage(_))
    ));
    let named = Source::parse("f.csv", b"1,2\n", Some(vec!["a".into(), "b".into()])).unwrap();
    assert_eq!(
        named.payload(0, Format::Json).unwrap(),
        br#"{"a":1.0,"b":2.0}"#
    );
}

#[test]
fn partition_keys() {
    let s = Source::parse("f.csv", CSV, None).unwrap();
    assert_eq!(s.key(1, &PartitionKey::Row).unwrap(), "1");
    assert_eq!(s.key(1, &"column:site".parse().unwrap()).unwrap(), "4");
    assert_eq!(s.key(1, &"column:vib".parse().unwrap()).unwrap(), "-");
    assert!(s.key(0, &"column:nope".parse().unwrap()).is_err());
    let a = s.key(0, &PartitionKey::Random).unwrap();
    let b = s.key(0, &PartitionKey::Random).unwrap();
    assert_ne!(a, b);
    assert!("column:".parse::<PartitionKey>().is_err());
    assert!("rows".parse::<PartitionKey>().is_err());
}

/// Rejects the entries whose key is listed, once each.
struct Flaky {
    reject_once: RefCell<Vec<String>>,
    seen: RefCell<Vec<Vec<String>>>,
}

impl PutRecords for Flaky {
    async fn put(&self, entries: &[Entry]) -> Result<Vec<Option<String>>, String> {
        self.seen
            .borrow_mut()
            .push(entries.iter().map(|e| e.key.clone()).collect());
        let mut reject = self.reject_once.borrow_mut();
        Ok(entries
            .iter()
            .map(|e| {
                let pos = reject.iter().position(|k| *k == e.key)?;
                reject.remove(pos);
                Some("ProvisionedThroughputExceededException".to_string())
            })
            .collect())
    }
}

fn entries(n: usize) -> Vec<Entry> {
    (0..n)
        .map(|i| Entry {
            key: i.to_string(),
            data: vec![b'x'],
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn rejected_entries_are_sent_again() {
    let flaky = Flaky {
        reject_once: RefCell::new(vec!["1".into(), "3".into(), "3".into()]),
        seen: RefCell::new(vec![]),
    };
    let mut stats = PutStats::default();
    put_with_retries(&flaky, entries(5), &RetryPolicy::default(), &mut stats)
        .await
        .unwrap();
    let seen = flaky.seen.borrow().clone();
    assert_eq!(
        seen,
        vec![vec!["0", "1", "2", "3", "4"], vec!["1", "3"], vec!["3"]]
    );
    assert_eq!(
        stats,
        PutStats {
            calls: 3,
            retried_entries: 3,
            failed_calls: 0
        }
    );
}

#[tokio::test(start_paused = true)]
async fn retries_are_bounded() {
    let flaky = Flaky {
        reject_once: RefCell::new(vec!["0".into(); 10]),
        seen: RefCell::new(vec![]),
    };
    let policy = RetryPolicy {
        max_attempts: 3,
        ..RetryPolicy::default()
    };
    let mut stats = PutStats::default();
    let err = put_with_retries(&flaky, entries(2), &policy, &mut stats)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("1 entries rejected"), "{err}");
    assert_eq!(stats.calls, 3);
}

fn config(batch_size: usize, pause: Option<Duration>) -> Plan {
    Plan {
        batch_size,
        pause,
        partition_key: PartitionKey::Row,
        format: Format::Csv,
        limit: None,
        looping: false,
        aggregate: 1,
        retry: RetryPolicy::default(),
    }
}

fn recorder() -> Flaky {
    Flaky {
        reject_once: RefCell::new(vec![]),
        seen: RefCell::new(vec![]),
    }
}

#[tokio::test(start_paused = true)]
async fn a_run_writes_every_row_once_in_batches_at_the_rate() {
    let source = Source::parse("f.csv", b"a,b\n1,2\n3,4\n5,6\n", None).unwrap();
    let put = recorder();
    let mut progress = vec![];
    let config = config(2, Some(Duration::from_secs(1)));
    let summary = run(&config, &source, &put, |n| progress.push(n))
        .await
        .unwrap();
    assert_eq!(put.seen.borrow().clone(), vec![vec!["0", "1"], vec!["2"]]);
    assert_eq!(progress, [2, 3]);
    assert_eq!(
        (summary.rows, summary.records, summary.stats.calls),
        (3, 3, 2)
    );
    // The second batch waited one pause (virtual time).
    assert_eq!(summary.elapsed, Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn a_looping_run_stops_at_its_limit_and_aggregates_rows() {
    let source = Source::parse("f.csv", b"a,b\n1,2\n3,4\n5,6\n", None).unwrap();
    let put = recorder();
    let mut config = config(10, None);
    config.looping = true;
    config.limit = Some(5);
    config.aggregate = 2;
    let summary = run(&config, &source, &put, |_| {}).await.unwrap();
    // Rows 0-1 in one KPL record, row 2 alone (the file ends), then rows 0-1 again.
    assert_eq!(put.seen.borrow().clone(), vec![vec!["0", "2", "0"]]);
    assert_eq!((summary.rows, summary.records), (5, 3));
    assert_eq!(total_rows(&config, &source), Some(5));
}
