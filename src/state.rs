//! Shared server state and the readiness latch.
//!
//! The model slot is a `OnceLock`: written once by the loader, then read lock-free by `/ping` and
//! every scoring request. `/ping` therefore never waits behind scoring work, and a failed load is
//! final (SageMaker replaces the instance rather than waiting for it to heal).

use std::sync::{Arc, OnceLock};

use forest::Model;
use tokio::sync::Semaphore;

use crate::config::Config;

/// Where the model is in its life.
#[derive(Debug, Clone)]
pub enum Readiness {
    /// Still loading (or not started).
    Loading,
    /// Loaded and serving.
    Ready(Arc<Model>),
    /// Loading failed; the reason, as logged.
    Failed(Arc<str>),
}

/// Everything a handler needs; cloned per request, so it is a bundle of `Arc`s.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Validated configuration.
    pub config: Arc<Config>,
    /// What all requests share and none may hold alone.
    pub budgets: Arc<Budgets>,
    /// The models of a multi-model server (empty otherwise).
    pub registry: Arc<crate::registry::Registry>,
    slot: Arc<OnceLock<Result<Arc<Model>, Arc<str>>>>,
}

/// Server-wide budgets, each a semaphore a request holds while it uses the resource.
#[derive(Debug)]
pub struct Budgets {
    /// Requests decoding and scoring on the blocking pool (`config.blocking_jobs` permits).
    pub blocking: Semaphore,
    /// Request-body memory in KiB (`config.max_inflight_bytes / 1024` permits).
    pub inflight_kib: Semaphore,
    /// The `inflight_kib` permits in all, the most one request can be given.
    pub inflight_kib_total: u32,
}

/// Permits taken from one of the [`Budgets`], given back when dropped. Owned, so it can move
/// into a blocking task that outlives the request (abandoned work still uses the resource).
#[derive(Debug)]
pub struct Lease {
    budgets: Arc<Budgets>,
    pick: fn(&Budgets) -> &Semaphore,
    permits: u32,
}

impl Drop for Lease {
    fn drop(&mut self) {
        (self.pick)(&self.budgets).add_permits(self.permits as usize);
    }
}

impl Budgets {
    /// Waits until `deadline` for `permits` of the semaphore `pick` chooses; `None` if they did
    /// not come in time.
    pub async fn lease(
        self: &Arc<Self>,
        pick: fn(&Budgets) -> &Semaphore,
        permits: u32,
        deadline: tokio::time::Instant,
    ) -> Option<Lease> {
        let acquired = tokio::time::timeout_at(deadline, pick(self).acquire_many(permits)).await;
        acquired.ok()?.ok()?.forget();
        Some(Lease {
            budgets: Arc::clone(self),
            pick,
            permits,
        })
    }

    /// A lease of the blocking pool: one job.
    pub async fn blocking_job(self: &Arc<Self>, deadline: tokio::time::Instant) -> Option<Lease> {
        self.lease(|b| &b.blocking, 1, deadline).await
    }

    /// A lease of body memory for `bytes` bytes (at most the whole budget).
    pub async fn body_memory(
        self: &Arc<Self>,
        bytes: usize,
        deadline: tokio::time::Instant,
    ) -> Option<Lease> {
        let kib = u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .clamp(1, self.inflight_kib_total);
        self.lease(|b| &b.inflight_kib, kib, deadline).await
    }

    fn new(config: &Config) -> Budgets {
        let kib = u32::try_from(config.max_inflight_bytes / 1024)
            .unwrap_or(u32::MAX)
            .clamp(1, Semaphore::MAX_PERMITS as u32);
        Budgets {
            blocking: Semaphore::new(config.blocking_jobs),
            inflight_kib: Semaphore::new(kib as usize),
            inflight_kib_total: kib,
        }
    }
}

impl AppState {
    /// State with no model yet.
    pub fn new(config: Config) -> AppState {
        AppState {
            budgets: Arc::new(Budgets::new(&config)),
            registry: Arc::new(crate::registry::Registry::new(config.model_memory_bytes)),
            config: Arc::new(config),
            slot: Arc::new(OnceLock::new()),
        }
    }

    /// State with a model already loaded (tests and embedders).
    pub fn with_model(config: Config, model: Model) -> AppState {
        let state = AppState::new(config);
        state.set_ready(model);
        state
    }

    /// Publishes a loaded model. A second publication is ignored: the first outcome is final.
    pub fn set_ready(&self, model: Model) {
        let _ = self.slot.set(Ok(Arc::new(model)));
    }

    /// Records that loading failed for good.
    pub fn set_failed(&self, reason: impl Into<Arc<str>>) {
        let _ = self.slot.set(Err(reason.into()));
    }

    /// Current readiness, without blocking.
    pub fn readiness(&self) -> Readiness {
        match self.slot.get() {
            None => Readiness::Loading,
            Some(Ok(model)) => Readiness::Ready(Arc::clone(model)),
            Some(Err(reason)) => Readiness::Failed(Arc::clone(reason)),
        }
    }

    /// The model if loaded.
    pub fn model(&self) -> Option<Arc<Model>> {
        match self.slot.get() {
            Some(Ok(model)) => Some(Arc::clone(model)),
            _ => None,
        }
    }
}
