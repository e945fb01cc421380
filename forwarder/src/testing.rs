//! Test doubles for the pipeline: an endpoint that scores rows by their first value and can be
//! told to fail, and a forwarder wired to it with in-memory sinks.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::emf::Emf;
use crate::invoke::{Endpoint, Score};
use crate::pipeline::{Forwarder, Settings};
use crate::retry::{InvokeError, RetryPolicy};
use crate::sinks::MemorySinks;

/// Scores a row with its first value; anomalous above 0.5.
#[derive(Debug, Default)]
pub struct FakeEndpoint {
    /// Calls made so far.
    pub calls: AtomicUsize,
    /// Row counts of the successful calls.
    pub batches: Mutex<Vec<usize>>,
    /// Calls after this many answer 503.
    pub fail_after: Option<usize>,
    /// A request holding a row whose first value is this answers a container 400.
    pub poison: Option<f64>,
    /// A request holding a row whose first value is this answers 503, always.
    pub unavailable: Option<f64>,
    /// Errors answered first, one per call.
    pub script: Mutex<VecDeque<InvokeError>>,
}

impl FakeEndpoint {
    /// An endpoint that answers `n` calls and then only 503s.
    pub fn failing_after(n: usize) -> Self {
        FakeEndpoint {
            fail_after: Some(n),
            ..Default::default()
        }
    }
}

impl Endpoint for FakeEndpoint {
    async fn invoke(&self, body: Vec<u8>, n_rows: usize) -> Result<Vec<Score>, InvokeError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        if let Some(e) = self.script.lock().unwrap().pop_front() {
            return Err(e);
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
        assert_eq!(firsts.len(), n_rows, "row count matches the body");
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
        Ok(firsts
            .into_iter()
            .map(|v| Score {
                score: v,
                anomaly: v > 0.5,
            })
            .collect())
    }
}

/// A forwarder for features `a, b, c` on stream `test-stream`, one request at a time, quick
/// retries, metrics discarded.
pub fn forwarder(
    endpoint: FakeEndpoint,
    sinks: MemorySinks,
) -> Forwarder<FakeEndpoint, MemorySinks> {
    let settings = Settings {
        stream: "test-stream".into(),
        feature_names: vec!["a".into(), "b".into(), "c".into()],
        budget: crate::batch::Budget::default(),
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: std::time::Duration::from_millis(10),
            max_delay: std::time::Duration::from_millis(50),
        },
        concurrency: 1,
    };
    let metrics = Arc::new(Emf::new("Test", vec![], Box::new(std::io::sink())));
    Forwarder::new(endpoint, sinks, settings, metrics)
}
