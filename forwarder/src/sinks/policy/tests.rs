use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::record::Origin;

/// Row `t` of `key`, arriving at second `t`, with one feature.
fn row(key: &str, t: i64, value: f64, anomaly: bool) -> ScoredRow {
    ScoredRow {
        origin: Origin {
            shard_id: "shardId-000000000000".into(),
            sequence_number: format!("{t:020}"),
            sub_sequence_number: None,
            partition_key: key.into(),
            row: 0,
        },
        score: if anomaly { 0.6 + value / 10_000.0 } else { 0.4 },
        anomaly,
        values: vec![Some(value)],
        explanation: vec![],
        arrival: Some(
            DateTime::from_timestamp(1_800_000_000 + t, 0)
                .unwrap()
                .to_rfc3339(),
        ),
    }
}

/// An episode as (key, count, last four digits of the first and last sequence number of the
/// batch's anomalies).
type Summary = (String, usize, String, String);

/// Plans and commits one batch; returns the episodes and the grouped, suppressed and held counts.
fn run(
    state: &mut PolicyState,
    policy: &AlertPolicy,
    rows: &[ScoredRow],
) -> (Vec<Summary>, usize, usize, usize) {
    let d = state.plan(policy, rows);
    let episodes = d
        .episodes
        .iter()
        .map(|e| {
            (
                e.partition_key.to_string(),
                e.count,
                e.anomalies[0].origin.sequence_number[16..].to_string(),
                e.anomalies.last().unwrap().origin.sequence_number[16..].to_string(),
            )
        })
        .collect();
    let counts = (d.grouped, d.suppressed, d.held);
    state.commit(policy, d);
    (episodes, counts.0, counts.1, counts.2)
}

#[test]
fn every_anomaly_is_alerted_grouped_per_key() {
    let policy = AlertPolicy::every_anomaly();
    let mut state = PolicyState::default();
    let rows = [
        row("a", 0, 1.0, false),
        row("a", 1, 90.0, true),
        row("b", 2, 90.0, true),
        row("a", 3, 1.0, false),
        row("a", 4, 95.0, true),
    ];
    let (episodes, grouped, suppressed, held) = run(&mut state, &policy, &rows);
    assert_eq!(
        episodes,
        [
            ("a".into(), 2, "0001".into(), "0004".into()),
            ("b".into(), 1, "0002".into(), "0002".into())
        ]
    );
    assert_eq!((grouped, suppressed, held), (1, 0, 0));
    // The next batch alerts again: no cool-down.
    let (episodes, ..) = run(&mut state, &policy, &[row("a", 5, 90.0, true)]);
    assert_eq!(episodes.len(), 1);
}

#[test]
fn an_alert_needs_persistence_then_groups_and_cools_down() {
    let policy = AlertPolicy {
        relative_margin: 0.0,
        ..AlertPolicy::default()
    };
    let mut state = PolicyState::default();
    let mut rows: Vec<ScoredRow> = (0..10).map(|t| row("k", t, 1.0, false)).collect();
    // A blip at 10, then anomalies at 20, 21 (normal 22), 23: three of the last five at 23.
    rows.push(row("k", 10, 50.0, true));
    rows.extend((11..20).map(|t| row("k", t, 1.0, false)));
    rows.extend([
        row("k", 20, 50.0, true),
        row("k", 21, 80.0, true),
        row("k", 22, 1.0, false),
        row("k", 23, 60.0, true),
        row("k", 24, 55.0, true),
    ]);
    let d = state.plan(&policy, &rows);
    assert_eq!(d.episodes.len(), 1);
    let e = &d.episodes[0];
    assert_eq!(e.count, 4);
    assert_eq!(e.anomalies.len(), 4, "20, 21, 23 raised it; 24 joined");
    assert_eq!(e.start, rows[20].arrival);
    assert_eq!(e.end, rows[24].arrival);
    assert_eq!(e.peak().unwrap().values, vec![Some(80.0)]);
    assert_eq!(
        (d.grouped, d.held),
        (3, 1),
        "the blip at 10 never persisted"
    );
    // Not committed: planning again gives the same alert (a failed send is retried).
    assert_eq!(state.plan(&policy, &rows).episodes.len(), 1);
    state.commit(&policy, d);
    // Within the cool-down, a new run folds into the alert already sent.
    let later: Vec<ScoredRow> = (300..305).map(|t| row("k", t, 70.0, true)).collect();
    let (episodes, grouped, ..) = run(&mut state, &policy, &later);
    assert!(episodes.is_empty());
    assert_eq!(grouped, 5);
    // After it, the next persistent run alerts again.
    let after: Vec<ScoredRow> = (700..705).map(|t| row("k", t, 70.0, true)).collect();
    let (episodes, ..) = run(&mut state, &policy, &after);
    assert_eq!(episodes.len(), 1);
}

#[test]
fn small_deviations_from_the_keys_median_are_suppressed() {
    let policy = AlertPolicy {
        min_anomalies: 1,
        window: 1,
        ..AlertPolicy::default()
    };
    let mut state = PolicyState::default();
    // Before a baseline exists nothing is suppressed.
    let (episodes, _, suppressed, _) = run(&mut state, &policy, &[row("k", 0, 101.0, true)]);
    assert_eq!((episodes.len(), suppressed), (1, 0));
    let mut state = PolicyState::default();
    let mut rows: Vec<ScoredRow> = (0..20)
        .map(|t| row("k", t, 100.0 + (t % 3) as f64, false))
        .collect();
    rows.push(row("k", 20, 115.0, true)); // 14 % above the median 101: suppressed
    rows.push(row("k", 21, 130.0, true)); // 29 % above: alerted
    let (episodes, _, suppressed, _) = run(&mut state, &policy, &rows);
    assert_eq!(suppressed, 1);
    assert_eq!(episodes, [("k".into(), 1, "0021".into(), "0021".into())]);
    // An absolute margin widens it.
    let wide = AlertPolicy {
        absolute_margin: 40.0,
        ..policy
    };
    let d = PolicyState::default().plan(&wide, &rows);
    assert_eq!(
        (d.suppressed, d.episodes.len()),
        (2, 0),
        "both within 40 of the median 101"
    );
}

#[test]
fn state_is_bounded_to_the_most_recent_keys() {
    let policy = AlertPolicy {
        max_keys: 10,
        ..AlertPolicy::default()
    };
    let mut state = PolicyState::default();
    for k in 0..50 {
        run(&mut state, &policy, &[row(&k.to_string(), k, 1.0, false)]);
    }
    assert_eq!(state.len(), 10);
    assert!(state.keys.contains_key("49") && !state.keys.contains_key("39"));
}

/// A generated fleet: 50 devices, one reading a second for two hours, each with injected
/// episodes (3 to 12 consecutive anomalous readings, 40 % to 200 % off) and, as a detector
/// gives them, false-positive blips (1 % of normal readings flagged). Batches of 500 rows.
#[test]
fn the_defaults_alert_each_episode_once_with_far_fewer_alerts_than_anomalies() {
    let mut rng = StdRng::seed_from_u64(18);
    let (devices, seconds) = (50, 7200);
    let mut rows = Vec::new();
    let mut episodes_injected = Vec::new();
    for d in 0..devices {
        let key = format!("device-{d:02}");
        let level = rng.random_range(20.0..200.0);
        // Three episodes, at least 20 minutes apart (more than the cool-down).
        let starts: Vec<i64> = (0..3)
            .map(|i| 600 + i * 2200 + rng.random_range(0..600))
            .collect();
        let mut spans = Vec::new();
        for &s in &starts {
            let len = rng.random_range(3..=12);
            spans.push((s, s + len));
            episodes_injected.push((key.clone(), s, s + len));
        }
        for t in 0..seconds {
            let in_episode = spans.iter().any(|&(s, e)| (s..e).contains(&t));
            let noise = level * rng.random_range(-0.05..0.05);
            let (value, anomaly) = if in_episode {
                (level * rng.random_range(1.4..3.0), true)
            } else {
                (level + noise, rng.random_bool(0.01))
            };
            rows.push((t, d, row(&key, t, value, anomaly)));
        }
    }
    // Stream order: by time, devices interleaved.
    rows.sort_by_key(|(t, d, _)| (*t, *d));
    let rows: Vec<ScoredRow> = rows.into_iter().map(|(.., r)| r).collect();
    let anomalies = rows.iter().filter(|r| r.anomaly).count();

    let policy = AlertPolicy::default();
    let mut state = PolicyState::default();
    let mut alerts: Vec<(String, i64, i64)> = Vec::new();
    let (mut grouped, mut suppressed, mut held) = (0, 0, 0);
    for batch in rows.chunks(500) {
        let d = state.plan(&policy, batch);
        for e in &d.episodes {
            let secs = |r: &ScoredRow| r.origin.sequence_number.parse::<i64>().unwrap();
            alerts.push((
                e.partition_key.to_string(),
                secs(e.anomalies[0]),
                secs(e.anomalies.last().unwrap()),
            ));
        }
        (grouped, suppressed, held) = (
            grouped + d.grouped,
            suppressed + d.suppressed,
            held + d.held,
        );
        state.commit(&policy, d);
    }
    // Every injected episode raised an alert whose anomalies lie inside it.
    for (key, s, e) in &episodes_injected {
        assert!(
            alerts
                .iter()
                .any(|(k, a, b)| k == key && *a >= *s && *b < *e),
            "episode {key} {s}..{e} raised no alert"
        );
    }
    assert!(
        alerts.len() * 5 <= anomalies,
        "{} alerts for {anomalies} anomalies",
        alerts.len()
    );
    assert_eq!(
        anomalies,
        grouped + suppressed + held + alerts.len(),
        "every anomaly is alerted, grouped, suppressed or held"
    );
    eprintln!(
        "{anomalies} anomalies, {} episodes injected: {} alerts ({:.1}x fewer), {grouped} grouped, {suppressed} suppressed, {held} held",
        episodes_injected.len(),
        alerts.len(),
        anomalies as f64 / alerts.len() as f64
    );
}
