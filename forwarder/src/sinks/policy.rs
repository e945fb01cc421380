//! When anomalies become alerts: the alert policy.
//!
//! One message per flagged row is how on-call engineers learn to ignore a detector. Per partition
//! key (one device), in stream order:
//! - **Persistence**: an alert is raised only once `min_anomalies` of the key's last `window` rows
//!   are anomalous; a lone blip never pages anyone.
//! - **Grouping**: the anomalies of one key that raised an alert, and those that follow it in the
//!   same batch, make one alert with its start, end, count and peak.
//! - **Cool-down**: after an alert, the key's anomalies are folded into it (counted as grouped)
//!   for `cooldown`, measured on the records' arrival times.
//! - **Suppression**: an anomaly whose every feature lies within `max(absolute_margin,
//!   relative_margin × |expected|)` of its expected value is not counted at all. The expected
//!   value of a feature is the median of the key's last `baseline_rows` normal rows, so a
//!   deviation is judged against what that device usually reads; a key with fewer than
//!   [`MIN_BASELINE`] normal rows has no baseline yet and is never suppressed.
//!
//! State is per key, bounded (`max_keys`, least recently seen evicted first) and only committed
//! once the batch's alerts were sent, so a replayed batch raises the alerts it failed to send.
//! [`AlertPolicy::every_anomaly`] turns all of it off: every anomaly is alerted, grouped per key
//! and batch.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::record::ScoredRow;

/// Normal rows a key needs before its anomalies can be suppressed.
pub const MIN_BASELINE: usize = 5;
/// Longest persistence window (the window is a 64-bit mask of the key's last rows).
pub const MAX_WINDOW: usize = 64;

/// The alert policy's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertPolicy {
    /// Anomalous rows among the key's last `window` rows that raise an alert.
    pub min_anomalies: usize,
    /// Rows the persistence rule looks back over (`min_anomalies..=64`).
    pub window: usize,
    /// How long after an alert the key's anomalies fold into it.
    pub cooldown: Duration,
    /// Suppress an anomaly within this fraction of the expected value on every feature.
    pub relative_margin: f64,
    /// Suppress an anomaly within this distance of the expected value on every feature.
    pub absolute_margin: f64,
    /// Normal rows per key whose median is the expected value.
    pub baseline_rows: usize,
    /// Keys whose state is kept.
    pub max_keys: usize,
}

impl Default for AlertPolicy {
    /// 3 anomalies among the last 5 rows, 10 minutes of cool-down, 20 % relative margin (as
    /// OpenSearch Anomaly Detection's default), medians over 32 rows, 10,000 keys.
    fn default() -> Self {
        AlertPolicy {
            min_anomalies: 3,
            window: 5,
            cooldown: Duration::from_secs(600),
            relative_margin: 0.2,
            absolute_margin: 0.0,
            baseline_rows: 32,
            max_keys: 10_000,
        }
    }
}

impl AlertPolicy {
    /// Every anomaly alerted (grouped per key and batch), nothing suppressed or held back.
    pub fn every_anomaly() -> Self {
        AlertPolicy {
            min_anomalies: 1,
            window: 1,
            cooldown: Duration::ZERO,
            relative_margin: 0.0,
            absolute_margin: 0.0,
            ..AlertPolicy::default()
        }
    }
}

/// One key's alert: its anomalies in this batch (the first possibly preceded by anomalies of
/// earlier batches that made it persist), when it started and ended, and its peak.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode<'a> {
    /// The key (device).
    pub partition_key: &'a str,
    /// When its run of anomalies started (arrival time, RFC 3339), when known.
    pub start: Option<String>,
    /// The arrival time of its last anomaly in this batch, when known.
    pub end: Option<String>,
    /// Anomalies in the episode, including those of earlier batches that led to it.
    pub count: usize,
    /// The episode's anomalies in this batch, in stream order.
    pub anomalies: Vec<&'a ScoredRow>,
}

impl Episode<'_> {
    /// The anomaly with the highest score (the first of equals).
    pub fn peak(&self) -> Option<&ScoredRow> {
        self.anomalies
            .iter()
            .copied()
            .reduce(|a, b| if b.score > a.score { b } else { a })
    }
}

/// What the policy made of one batch's rows. Apply it with [`PolicyState::commit`] once the
/// alerts are sent.
#[derive(Debug)]
pub struct Decision<'a> {
    /// The alerts to send, in the order they were raised.
    pub episodes: Vec<Episode<'a>>,
    /// Anomalies folded into an alert: into this batch's (after the one that raised it) or into
    /// one sent earlier, during its cool-down.
    pub grouped: usize,
    /// Anomalies within the margins of their expected values.
    pub suppressed: usize,
    /// Anomalies that have not (yet) persisted enough to raise an alert.
    pub held: usize,
    updates: HashMap<String, KeyState>,
}

/// The policy's memory of each key.
#[derive(Debug, Default)]
pub struct PolicyState {
    keys: HashMap<String, KeyState>,
    tick: u64,
}

#[derive(Debug, Clone, Default)]
struct KeyState {
    /// Anomaly flags of the key's last rows, newest in bit 0.
    recent: u64,
    /// Arrival of the first anomaly of the current run (while the window holds anomalies).
    run_start: Option<String>,
    /// When the key's last alert was raised.
    last_alert: Option<DateTime<Utc>>,
    /// The key's last normal rows (values in column order).
    baseline: VecDeque<Vec<Option<f64>>>,
    /// For eviction: when the key was last seen.
    seen: u64,
}

impl PolicyState {
    /// Keys with state.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key has state.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Applies `policy` to `rows` (one batch, in stream order) without changing the state.
    pub fn plan<'a>(&self, policy: &AlertPolicy, rows: &'a [ScoredRow]) -> Decision<'a> {
        let mask = if policy.window >= 64 {
            u64::MAX
        } else {
            (1u64 << policy.window) - 1
        };
        let mut decision = Decision {
            episodes: Vec::new(),
            grouped: 0,
            suppressed: 0,
            held: 0,
            updates: HashMap::new(),
        };
        // This batch's open episode per key, and the key's anomalies not yet in an alert.
        let mut open: HashMap<&str, usize> = HashMap::new();
        let mut pending: HashMap<&str, Vec<&'a ScoredRow>> = HashMap::new();
        let now = Utc::now();
        for row in rows {
            let key = row.origin.partition_key.as_str();
            let state = decision
                .updates
                .entry(key.to_string())
                .or_insert_with(|| self.keys.get(key).cloned().unwrap_or_default());
            if !row.anomaly {
                state.recent <<= 1;
                if state.recent & mask == 0 {
                    // The run is over without raising an alert: its anomalies were held back.
                    state.run_start = None;
                    decision.held += pending.remove(key).map_or(0, |p| p.len());
                }
                state.baseline.push_back(row.values.clone());
                while state.baseline.len() > policy.baseline_rows {
                    state.baseline.pop_front();
                }
                continue;
            }
            if within_margins(policy, &state.baseline, &row.values) {
                decision.suppressed += 1;
                state.recent <<= 1;
                if state.recent & mask == 0 {
                    state.run_start = None;
                    decision.held += pending.remove(key).map_or(0, |p| p.len());
                }
                continue;
            }
            state.recent = (state.recent << 1) | 1;
            if state.run_start.is_none() {
                state.run_start = Some(row.arrival.clone().unwrap_or_default());
            }
            if let Some(&at) = open.get(key) {
                let episode = &mut decision.episodes[at];
                episode.anomalies.push(row);
                episode.count += 1;
                episode.end.clone_from(&row.arrival);
                decision.grouped += 1;
                continue;
            }
            let time = row
                .arrival
                .as_deref()
                .and_then(|a| DateTime::parse_from_rfc3339(a).ok())
                .map_or(now, |t| t.with_timezone(&Utc));
            let cooling = state.last_alert.is_some_and(|last| {
                time.signed_duration_since(last)
                    .to_std()
                    .map_or(true, |since| since < policy.cooldown)
            });
            if cooling {
                decision.grouped += 1;
                continue;
            }
            let persisted = (state.recent & mask).count_ones() as usize;
            let waiting = pending.entry(key).or_default();
            if persisted < policy.min_anomalies {
                waiting.push(row);
                continue;
            }
            // The anomalies of this batch that led here join the alert; those of earlier
            // batches are counted.
            let mut anomalies = std::mem::take(waiting);
            anomalies.push(row);
            decision.grouped += anomalies.len() - 1;
            state.last_alert = Some(time);
            open.insert(key, decision.episodes.len());
            decision.episodes.push(Episode {
                partition_key: key,
                start: state.run_start.clone().filter(|s| !s.is_empty()),
                end: row.arrival.clone(),
                count: persisted,
                anomalies,
            });
        }
        decision.held += pending.values().map(Vec::len).sum::<usize>();
        decision
    }

    /// Keeps what `decision` learnt about each key, evicting the least recently seen keys past
    /// `policy.max_keys`.
    pub fn commit(&mut self, policy: &AlertPolicy, decision: Decision<'_>) {
        for (key, mut state) in decision.updates {
            self.tick += 1;
            state.seen = self.tick;
            self.keys.insert(key, state);
        }
        if self.keys.len() > policy.max_keys {
            let mut seen: Vec<u64> = self.keys.values().map(|s| s.seen).collect();
            seen.sort_unstable();
            let cut = seen[self.keys.len() - policy.max_keys - 1];
            self.keys.retain(|_, s| s.seen > cut);
        }
    }
}

/// Whether every feature of `values` lies within the margins of the baseline's median (never,
/// without a baseline or without margins).
fn within_margins(
    policy: &AlertPolicy,
    baseline: &VecDeque<Vec<Option<f64>>>,
    values: &[Option<f64>],
) -> bool {
    if baseline.len() < MIN_BASELINE
        || (policy.relative_margin <= 0.0 && policy.absolute_margin <= 0.0)
    {
        return false;
    }
    values.iter().enumerate().all(|(j, v)| {
        let mut column: Vec<f64> = baseline
            .iter()
            .filter_map(|r| r.get(j).copied().flatten())
            .collect();
        let (Some(v), Some(expected)) = (v, median(&mut column)) else {
            // A missing value, or a feature the baseline never saw, cannot be judged normal.
            return false;
        };
        let margin = policy
            .absolute_margin
            .max(policy.relative_margin * expected.abs());
        (v - expected).abs() < margin
    })
}

/// The median of `xs` (the mean of the middle two for an even count), `None` when empty.
pub fn median(xs: &mut [f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let mid = xs.len() / 2;
    Some(if xs.len() % 2 == 1 {
        xs[mid]
    } else {
        (xs[mid - 1] + xs[mid]) / 2.0
    })
}

#[cfg(test)]
mod tests;
