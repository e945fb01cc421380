//! Shared server state and the readiness latch.
//!
//! The model slot is a `OnceLock`: written once by the loader, then read lock-free by `/ping` and
//! every scoring request. `/ping` therefore never waits behind scoring work, and a failed load is
//! final (SageMaker replaces the instance rather than waiting for it to heal).

use std::sync::{Arc, OnceLock};

use forest::Model;

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
    slot: Arc<OnceLock<Result<Arc<Model>, Arc<str>>>>,
}

impl AppState {
    /// State with no model yet.
    pub fn new(config: Config) -> AppState {
        AppState {
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
