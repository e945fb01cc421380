//! The isoserve inference server: the SageMaker container contract over the `forest` detectors.
//!
//! [`app`] builds the router (tested in-process with `tower::ServiceExt::oneshot`); [`run`] serves
//! it on a bound listener until a shutdown future resolves, loading the model in the background so
//! that connections are accepted at once.

pub mod config;
mod connection;
pub mod error;
mod loader;
pub mod logging;
pub mod model_source;
pub mod registry;
pub mod routes;
pub mod state;
pub mod train_job;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_http::catch_panic::CatchPanicLayer;

pub use config::{Config, ServeArgs};
pub use error::AppError;
pub use state::{AppState, Readiness};

/// The routes of a single-model server, for the 404 message.
const SINGLE_MODEL_ROUTES: &str = "GET /ping, POST /invocations, GET /execution-parameters";
/// The routes of a multi-model server, for the 404 message.
const MULTI_MODEL_ROUTES: &str = "GET /ping, GET and POST /models, GET and DELETE \
     /models/{model_name}, POST /models/{model_name}/invoke, GET /execution-parameters";

/// The router with every route and the layer stack: the single-model contract, or SageMaker's
/// multi-model container API when the configuration says so.
pub fn app(state: AppState) -> Router {
    let routes = Router::new()
        .route("/ping", get(routes::ping))
        .route("/execution-parameters", get(routes::execution_parameters));
    let routes = if state.config.multi_model {
        routes
            .route(
                "/models",
                get(routes::models::list).post(routes::models::load),
            )
            .route(
                "/models/{model_name}",
                get(routes::models::describe).delete(routes::models::unload),
            )
            .route("/models/{model_name}/invoke", post(routes::models::invoke))
    } else {
        routes.route("/invocations", post(routes::invocations))
    };
    let routes = routes
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

async fn not_found(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let routes = if state.config.multi_model {
        MULTI_MODEL_ROUTES
    } else {
        SINGLE_MODEL_ROUTES
    };
    let err = AppError::NotFound {
        path: parts.uri.path().to_owned(),
        routes,
    };
    routes::invocations::refuse(err, body, &parts.headers, &state.config).await
}

async fn method_not_allowed(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let err = AppError::MethodNotAllowed {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
    };
    routes::invocations::refuse(err, body, &parts.headers, &state.config).await
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

/// Serves `app(state)` on `listener` until `shutdown` resolves, then stops accepting (new
/// connections are refused), lets every connection finish the request it is answering, and
/// returns when all are closed or the configured grace period is over. Starts loading the model
/// if `state` has none yet.
///
/// Each connection is served by the `connection` module under the configured limits: at most
/// `max_connections` at once (further clients wait in the listen queue), a header timeout, an
/// idle keep-alive timeout, and the body timeout and budgets the handlers enforce.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // A multi-model server starts empty: SageMaker loads models through /models.
    if !state.config.multi_model && matches!(state.readiness(), Readiness::Loading) {
        tokio::spawn(loader::load_in_background(state.clone()));
    }
    let config = Arc::clone(&state.config);
    let limits = connection::ConnectionLimits {
        header_timeout: config.header_timeout,
        idle_timeout: config.idle_timeout,
    };
    let slots = u32::try_from(config.max_connections).unwrap_or(u32::MAX);
    let connections = Arc::new(Semaphore::new(slots as usize));
    let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
    let router = app(state);
    let serve = |stream: tokio::net::TcpStream, permit| {
        // Small answers must leave at once, not wait for Nagle's algorithm.
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(%err, "cannot set TCP_NODELAY");
        }
        tokio::spawn(connection::serve(
            stream,
            router.clone(),
            limits,
            stopping.clone(),
            permit,
        ));
    };
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = Arc::clone(&connections).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    // Out of descriptors or a connection reset before it was taken: keep
                    // serving the others, and do not spin while the condition lasts.
                    tracing::warn!(%err, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        serve(stream, permit);
    }
    let _ = stopping_tx.send(true);
    // Connections the kernel completed before the signal are taken and served (one request each,
    // as every connection now), not reset with the listener; later ones are refused.
    while let Ok(Ok((stream, _))) = tokio::time::timeout(Duration::ZERO, listener.accept()).await {
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            break;
        };
        serve(stream, permit);
    }
    drop(listener);
    let grace = config.shutdown_grace;
    if tokio::time::timeout(grace, connections.acquire_many(slots))
        .await
        .is_err()
    {
        tracing::warn!(
            grace_secs = grace.as_secs(),
            "grace period over; exiting with requests in flight"
        );
    }
    Ok(())
}
