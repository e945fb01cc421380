//! Loading the single-model server's model in the background, after the listener is bound.

use crate::model_source::{SourceError, discover};
use crate::state::AppState;

/// Discovers and loads the model on the blocking pool, then publishes the outcome in `state`.
///
/// Called after the listener is bound, so connections are accepted while a large model loads.
pub(crate) async fn load_in_background(state: AppState) {
    let config = state.config.clone();
    let started = std::time::Instant::now();
    let outcome = tokio::task::spawn_blocking(move || {
        let path = discover(config.model.as_deref(), &config.model_dir)?;
        tracing::info!(path = %path.display(), "loading model");
        forest::Model::load(&path)
            .map(|model| (path.clone(), model))
            .map_err(|source| SourceError::Load { path, source })
    })
    .await;
    match outcome {
        Ok(Ok((path, model))) => {
            tracing::info!(
                path = %path.display(),
                features = model.n_features(),
                threshold = model.threshold(),
                kernel = model.kernel().map_or("none", forest::Kernel::name),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "model loaded; ready"
            );
            state.set_ready(model);
        }
        Ok(Err(err)) => fail(&state, err.to_string()),
        Err(join) => fail(&state, format!("model loader panicked: {join}")),
    }
}

fn fail(state: &AppState, reason: String) {
    // Logged once, at error level: the endpoint will never become healthy.
    tracing::error!(reason = %reason, "model failed to load; /ping answers 503 for good");
    state.set_failed(reason);
}
