//! Bounded exponential backoff with full jitter, and the classification of endpoint errors into
//! "try again" and "this input will never succeed".

use std::future::Future;
use std::time::Duration;

use rand::Rng;
use thiserror::Error;

/// Why one InvokeEndpoint call failed, reduced to what the retry policy needs.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum InvokeError {
    /// The endpoint throttled the call (`ThrottlingException`).
    #[error("throttled: {0}")]
    Throttled(String),
    /// A 5xx from SageMaker itself (`InternalFailure`, `ServiceUnavailable`, ...).
    #[error("endpoint service error (HTTP {status}): {message}")]
    Service {
        /// HTTP status of the response.
        status: u16,
        /// What the service said.
        message: String,
    },
    /// The model is still loading (`ModelNotReadyException`).
    #[error("model not ready: {0}")]
    ModelNotReady(String),
    /// No answer in time, or the connection failed.
    #[error("timeout or connection failure: {0}")]
    Timeout(String),
    /// The container answered with an error (`ModelError`).
    #[error("model container answered HTTP {}: {message}", original_status.map_or_else(|| "?".to_string(), |s| s.to_string()))]
    Model {
        /// The container's status code, when SageMaker reports it.
        original_status: Option<u16>,
        /// The container's message.
        message: String,
    },
    /// The request itself is invalid (`ValidationError`: unknown endpoint, body too large, ...).
    #[error("request rejected: {0}")]
    Validation(String),
    /// A 2xx answer that does not hold one prediction per row.
    #[error("unusable endpoint answer: {0}")]
    BadResponse(String),
    /// A multi-model endpoint has no model for the request's `TargetModel` (an entity nobody
    /// trained a model for).
    #[error("no model {target} on the endpoint: {message}")]
    UnknownModel {
        /// The `TargetModel` asked for.
        target: String,
        /// What SageMaker said.
        message: String,
    },
}

/// What to do after a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Transient: back off and call again.
    Retry,
    /// The input is bad for the model (container 4xx): retrying the same rows cannot help.
    Poison,
    /// A configuration or service problem that retrying now will not fix.
    Fatal,
    /// Every row of the request is for a model the endpoint does not have: park those records
    /// (dead-letter them, counted) and go on; retrying cannot help and must not stop the shard.
    Park,
}

impl InvokeError {
    /// Throttling, 5xx, ModelNotReady, timeouts and 5xx/unknown container errors are transient;
    /// a container 4xx means the rows are at fault.
    pub fn disposition(&self) -> Disposition {
        match self {
            InvokeError::Throttled(_)
            | InvokeError::Service { .. }
            | InvokeError::ModelNotReady(_)
            | InvokeError::Timeout(_)
            | InvokeError::BadResponse(_) => Disposition::Retry,
            InvokeError::Model {
                original_status: Some(s),
                ..
            } if (400..500).contains(s) => Disposition::Poison,
            InvokeError::Model { .. } => Disposition::Retry,
            InvokeError::Validation(_) => Disposition::Fatal,
            InvokeError::UnknownModel { .. } => Disposition::Park,
        }
    }
}

/// Bounded exponential backoff: attempt `n` (0-based) sleeps a uniform random time in
/// `[0, min(max_delay, base_delay * 2^n)]` ("full jitter") before the next attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Total attempts including the first (at least 1).
    pub max_attempts: u32,
    /// Backoff ceiling after the first failure.
    pub base_delay: Duration,
    /// Largest single backoff.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The upper bound of the backoff after failed attempt `attempt` (0-based).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(30));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// A jittered backoff for failed attempt `attempt`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        ceiling.mul_f64(rand::rng().random_range(0.0..=1.0))
    }
}

/// The result of [`retry`]: the final error and how many attempts were made.
#[derive(Debug, Clone, PartialEq)]
pub struct Exhausted {
    /// The last error seen.
    pub error: InvokeError,
    /// Attempts made.
    pub attempts: u32,
}

/// Calls `op` until it succeeds, fails with a non-retryable error, or the attempts run out.
/// `on_error` sees every failure (for metrics and logs). Backoffs sleep on tokio's timer, so tests
/// run them on paused time.
pub async fn retry<T, F, Fut>(
    policy: &RetryPolicy,
    mut op: F,
    mut on_error: impl FnMut(&InvokeError, u32),
) -> Result<T, Exhausted>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, InvokeError>>,
{
    let max = policy.max_attempts.max(1);
    let mut attempt = 0;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(error) => {
                attempt += 1;
                on_error(&error, attempt);
                if error.disposition() != Disposition::Retry || attempt >= max {
                    return Err(Exhausted {
                        error,
                        attempts: attempt,
                    });
                }
                tokio::time::sleep(policy.backoff(attempt - 1)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};
    use tokio::time::Instant;

    fn model(status: u16) -> InvokeError {
        InvokeError::Model {
            original_status: Some(status),
            message: "x".into(),
        }
    }

    /// The (virtual) time of every call, so the backoffs between them can be read back.
    #[derive(Default)]
    struct Calls(RefCell<Vec<Instant>>);
    impl Calls {
        fn record(&self) -> usize {
            self.0.borrow_mut().push(Instant::now());
            self.0.borrow().len()
        }
        fn gaps(&self) -> Vec<Duration> {
            self.0.borrow().windows(2).map(|w| w[1] - w[0]).collect()
        }
    }

    #[test]
    fn classification() {
        use Disposition::*;
        assert_eq!(InvokeError::Throttled("".into()).disposition(), Retry);
        let svc = InvokeError::Service {
            status: 503,
            message: "".into(),
        };
        assert_eq!(svc.disposition(), Retry);
        assert_eq!(InvokeError::ModelNotReady("".into()).disposition(), Retry);
        assert_eq!(InvokeError::Timeout("".into()).disposition(), Retry);
        assert_eq!(model(500).disposition(), Retry);
        assert_eq!(model(503).disposition(), Retry);
        assert_eq!(model(400).disposition(), Poison);
        assert_eq!(model(415).disposition(), Poison);
        let unknown = InvokeError::Model {
            original_status: None,
            message: "".into(),
        };
        assert_eq!(unknown.disposition(), Retry);
        assert_eq!(InvokeError::Validation("".into()).disposition(), Fatal);
    }

    #[test]
    fn ceilings_grow_exponentially_up_to_the_cap() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        let c: Vec<u128> = (0..6).map(|a| p.ceiling(a).as_millis()).collect();
        assert_eq!(c, [100, 200, 400, 800, 1000, 1000]);
        let draws: Vec<Duration> = (0..200).map(|_| p.backoff(3)).collect();
        assert!(draws.iter().all(|d| *d <= p.ceiling(3)));
        // Full jitter: the draws spread over the range rather than sitting on the ceiling.
        assert!(draws.iter().any(|d| *d < Duration::from_millis(400)));
        assert!(draws.iter().any(|d| *d > Duration::from_millis(400)));
        assert_eq!(p.ceiling(u32::MAX), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn transient_errors_are_retried_with_bounded_backoff() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
        };
        let calls = Calls::default();
        let out = retry(
            &policy,
            || {
                let n = calls.record();
                async move {
                    match n {
                        1 => Err(InvokeError::Throttled("slow down".into())),
                        2 => Err(InvokeError::Service {
                            status: 503,
                            message: "busy".into(),
                        }),
                        3 => Err(InvokeError::ModelNotReady("loading".into())),
                        _ => Ok(n),
                    }
                }
            },
            |_, _| {},
        )
        .await;
        assert_eq!(out, Ok(4));
        let gaps = calls.gaps();
        assert_eq!(gaps.len(), 3);
        // Each backoff stays under its ceiling: 100, 200, then the 300 ms cap.
        for (d, cap) in gaps.iter().zip([100, 200, 300]) {
            assert!(*d <= Duration::from_millis(cap), "{d:?} > {cap} ms");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_are_bounded() {
        let policy = RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(2),
        };
        let calls = Calls::default();
        let mut seen = Vec::new();
        let started = Instant::now();
        let out: Result<(), _> = retry(
            &policy,
            || {
                calls.record();
                async { Err(InvokeError::Timeout("no answer".into())) }
            },
            |_, n| seen.push(n),
        )
        .await;
        let err = out.unwrap_err();
        assert_eq!(err.attempts, 4);
        assert_eq!(calls.0.borrow().len(), 4);
        assert_eq!(seen, [1, 2, 3, 4]);
        // Three backoffs (none after the last attempt), at most 1 + 2 + 2 s of virtual time.
        assert!(started.elapsed() <= Duration::from_secs(5));
        assert_eq!(Instant::now(), *calls.0.borrow().last().unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn container_4xx_and_validation_are_not_retried() {
        for error in [
            model(400),
            InvokeError::Validation("no such endpoint".into()),
        ] {
            let calls = Cell::new(0u32);
            let started = Instant::now();
            let out: Result<(), _> = retry(
                &RetryPolicy::default(),
                || {
                    calls.set(calls.get() + 1);
                    let e = error.clone();
                    async move { Err(e) }
                },
                |_, _| {},
            )
            .await;
            assert_eq!(out.unwrap_err().attempts, 1);
            assert_eq!(calls.get(), 1);
            assert_eq!(started.elapsed(), Duration::ZERO);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn container_5xx_is_retried() {
        let calls = Calls::default();
        let out = retry(
            &RetryPolicy::default(),
            || {
                let n = calls.record();
                async move { if n < 3 { Err(model(502)) } else { Ok(()) } }
            },
            |_, _| {},
        )
        .await;
        assert!(out.is_ok());
        assert_eq!(calls.gaps().len(), 2);
    }
}
