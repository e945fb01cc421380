//! Test doubles for the pipeline: an endpoint that scores rows by their first value (or, like the
//! trend-aware server, by its residual against the rows before it) and can be told to fail, and a
//! forwarder wired to it with in-memory sinks.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::endpoint::retry::{InvokeError, RetryPolicy};
use crate::endpoint::{Endpoint, Prediction};
use crate::pipeline::{Forwarder, Settings};
use crate::record::Record;
use crate::sinks::MemorySinks;
use crate::sinks::metrics::Emf;

/// Scores a row with its first value; anomalous above 0.5.
#[derive(Debug, Default)]
pub(crate) struct FakeEndpoint {
    /// Calls made so far.
    pub calls: AtomicUsize,
    /// Row counts of the successful calls.
    pub batches: Mutex<Vec<usize>>,
    /// Calls after this many answer 503.
    pub fail_after: Option<usize>,
    /// Calls after this many (the count, the delay) answer only after the delay.
    pub slow_after: Option<(usize, std::time::Duration)>,
    /// A request holding a row whose first value is this answers a container 400.
    pub poison: Option<f64>,
    /// A request holding a row whose first value is this answers 503, always.
    pub unavailable: Option<f64>,
    /// Errors answered first, one per call.
    pub script: Mutex<VecDeque<InvokeError>>,
    /// Every call that got past the scripted errors: its `context` and the first value of every
    /// body row (context rows included), in body order.
    pub requests: Mutex<Vec<(Option<usize>, Vec<f64>)>>,
    /// Scores like the trend-aware server: a row's score is its first value minus the median of
    /// the first values of up to this many rows before it in the same request (context rows
    /// included); a request's first row, with nothing before it, scores 0 (as the server does).
    pub trend_window: Option<usize>,
    /// Explains every row as the server does with `explain=1`: the first feature, `a`, holds the
    /// whole score, its value is the row's first value and its expected value 0.
    pub explain: bool,
    /// Every successful call's `TargetModel` and the first value of each body row.
    pub targeted: Mutex<Vec<(Option<String>, Vec<f64>)>>,
    /// A multi-model endpoint without these models: a call naming one answers as SageMaker does
    /// for a missing model.
    pub missing_models: Vec<String>,
}

/// The fake's explanation of a row whose first value is `v`.
fn explained(v: f64) -> codec::NamedAttribution {
    codec::NamedAttribution {
        feature: "a".into(),
        attribution: 1.0,
        direction: if v > 0.0 {
            codec::Direction::High
        } else {
            codec::Direction::Low
        },
        value: Some(v),
        expected: Some(0.0),
    }
}

/// The trend residual of every value of `series` over a `window` of previous values; 0 for the
/// first value.
pub(crate) fn residuals(series: &[f64], window: usize) -> Vec<f64> {
    (0..series.len())
        .map(|i| {
            let mut past = series[i.saturating_sub(window)..i].to_vec();
            // The alert policy's median: the mean of the middle two for an even count.
            crate::sinks::policy::median(&mut past).map_or(0.0, |m| series[i] - m)
        })
        .collect()
}

impl FakeEndpoint {
    /// An endpoint that answers `n` calls and then only 503s.
    pub(crate) fn failing_after(n: usize) -> Self {
        FakeEndpoint {
            fail_after: Some(n),
            ..Default::default()
        }
    }

    /// An endpoint that answers `n` calls at once and each later one after `delay`.
    pub(crate) fn slow_after(n: usize, delay: std::time::Duration) -> Self {
        FakeEndpoint {
            slow_after: Some((n, delay)),
            ..Default::default()
        }
    }
}

impl Endpoint for FakeEndpoint {
    async fn invoke(
        &self,
        body: Vec<u8>,
        n_rows: usize,
        context: Option<usize>,
        target: Option<&str>,
    ) -> Result<Vec<Prediction>, InvokeError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        if let Some(target) = target.filter(|t| self.missing_models.iter().any(|m| m == t)) {
            let message = format!("Failed to download model data(bucket: b, key: m/{target})");
            return Err(crate::endpoint::unknown_model(
                InvokeError::Validation(message),
                Some(target),
            ));
        }
        if let Some(e) = self.script.lock().unwrap().pop_front() {
            return Err(e);
        }
        if let Some((n, delay)) = self.slow_after
            && call >= n
        {
            tokio::time::sleep(delay).await;
        }
        if self.fail_after.is_some_and(|n| call >= n) {
            return Err(InvokeError::Service {
                status: 503,
                message: "down".into(),
            });
        }
        let text = String::from_utf8(body).map_err(|e| InvokeError::BadResponse(e.to_string()))?;
        let firsts: Vec<f64> = text
            .lines()
            .map(|l| {
                l.split(',')
                    .next()
                    .unwrap_or("")
                    .parse()
                    .unwrap_or(f64::NAN)
            })
            .collect();
        let k = context.unwrap_or(0);
        assert_eq!(firsts.len(), k + n_rows, "row count matches the body");
        self.requests
            .lock()
            .unwrap()
            .push((context, firsts.clone()));
        self.targeted
            .lock()
            .unwrap()
            .push((target.map(str::to_owned), firsts.clone()));
        let scored = match self.trend_window {
            Some(w) => residuals(&firsts, w).split_off(k),
            None => firsts[k..].to_vec(),
        };
        let firsts = firsts[k..].to_vec();
        if let Some(p) = self.poison
            && firsts.contains(&p)
        {
            return Err(InvokeError::Model {
                original_status: Some(400),
                message: "bad row".into(),
            });
        }
        if let Some(p) = self.unavailable
            && firsts.contains(&p)
        {
            return Err(InvokeError::Service {
                status: 503,
                message: "unavailable".into(),
            });
        }
        self.batches.lock().unwrap().push(n_rows);
        Ok(scored
            .into_iter()
            .map(|v| Prediction {
                score: v,
                anomaly: v > 0.5,
                explanation: self.explain.then(|| explained(v)).into_iter().collect(),
            })
            .collect())
    }
}

/// A forwarder for features `a, b, c` on stream `test-stream`, one request at a time, quick
/// retries, every anomaly alerted (no alert policy), metrics discarded.
pub(crate) fn forwarder(
    endpoint: FakeEndpoint,
    sinks: MemorySinks,
) -> Forwarder<FakeEndpoint, MemorySinks> {
    let settings = Settings {
        stream: Some("test-stream".into()),
        feature_names: vec!["a".into(), "b".into(), "c".into()],
        budget: crate::pipeline::pack::Budget::default(),
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: std::time::Duration::from_millis(10),
            max_delay: std::time::Duration::from_millis(50),
        },
        concurrency: 1,
        trend_context: 0,
        trend_keys: 10_000,
        alert: crate::sinks::policy::AlertPolicy::every_anomaly(),
        target_model: None,
    };
    let metrics = Arc::new(Emf::new("Test", vec![], Box::new(std::io::sink())));
    Forwarder::new(endpoint, sinks, settings, metrics)
}

/// Every result line the forwarder stored in `sinks`, in the order they were stored.
pub(crate) fn stored_rows(sinks: &MemorySinks) -> Vec<serde_json::Value> {
    sinks
        .objects
        .lock()
        .unwrap()
        .iter()
        .flat_map(|(_, body)| {
            std::str::from_utf8(body)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Record `i` of shard 0 (sequence numbers grow with `i`) with partition key `key`.
pub(crate) fn record(i: usize, key: &str, data: &[u8]) -> Record {
    Record {
        source: None,
        shard_id: "shardId-000000000000".into(),
        sequence_number: format!("{:056}", 1000 + i),
        partition_key: key.into(),
        data: data.to_vec(),
        arrival: None,
    }
}
