//! The isoserve inference server: the SageMaker container contract over the `forest` detectors.
//!
//! [`app`] builds the router (tested in-process with `tower::ServiceExt::oneshot`); [`run`] serves
//! it on a bound listener until a shutdown future resolves, loading the model in the background so
//! that connections are accepted at once.

pub mod config;
pub mod error;
pub mod logging;
pub mod model_source;
pub mod routes;
pub mod shutdown;
pub mod state;
pub mod train_job;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;

pub use config::{Config, ServeArgs};
pub use error::AppError;
pub use state::{AppState, Readiness};

/// The router with every route and the layer stack.
pub fn app(state: AppState) -> Router {
    let routes = Router::new()
        .route("/ping", get(routes::ping))
        .route("/invocations", post(routes::invocations))
        .route("/execution-parameters", get(routes::execution_parameters))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);
    with_layers(routes)
}

/// Wraps a router in the server's layers: panics become the JSON 500, and every request is
/// logged once at debug level (`/ping` at trace, so health checks never flood the logs).
pub fn with_layers(router: Router) -> Router {
    router
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(middleware::from_fn(access_log))
}

async fn not_found(uri: axum::http::Uri) -> AppError {
    AppError::NotFound(uri.path().to_owned())
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> AppError {
    AppError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
}

/// SageMaker's per-request id (also written to Data Capture), worth having in the access log.
const INFERENCE_ID: &str = "x-amzn-sagemaker-inference-id";

async fn access_log(request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let inference_id = request
        .headers()
        .get(INFERENCE_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let latency_us = started.elapsed().as_micros() as u64;
    if path == "/ping" {
        tracing::trace!(%method, path, status, latency_us, "request");
    } else {
        let rows = response
            .extensions()
            .get::<routes::invocations::RowCount>()
            .map(|r| r.0);
        tracing::debug!(%method, path, status, rows, latency_us, inference_id, "request");
    }
    response
}

/// Serves `app(state)` on `listener` until `shutdown` resolves, then drains in-flight requests
/// for at most the configured grace period. Starts loading the model if `state` has none yet.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;

    if matches!(state.readiness(), Readiness::Loading) {
        tokio::spawn(model_source::load_in_background(state.clone()));
    }
    let grace = state.config.shutdown_grace;
    let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        shutdown.await;
        let _ = signalled_tx.send(());
    };
    // Small answers must leave at once, not wait for Nagle's algorithm.
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(%err, "cannot set TCP_NODELAY");
        }
    });
    let server = axum::serve(listener, app(state)).with_graceful_shutdown(shutdown);
    tokio::select! {
        result = server => result,
        () = grace_expired(signalled_rx, grace) => {
            tracing::warn!(grace_secs = grace.as_secs(), "grace period over; exiting with requests in flight");
            Ok(())
        }
    }
}

/// Resolves `grace` after the shutdown signal; never, if the server stops first.
async fn grace_expired(signalled: tokio::sync::oneshot::Receiver<()>, grace: Duration) {
    if signalled.await.is_ok() {
        tokio::time::sleep(grace).await;
    } else {
        std::future::pending::<()>().await;
    }
}
