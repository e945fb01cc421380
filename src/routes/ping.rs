//! `GET /ping`: SageMaker's health check.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::state::{AppState, Readiness};

/// 200 with an empty body once the model is loaded; 503 (JSON) while loading and after a failed
/// load. Reads the readiness latch only, so it answers at once even while every core is scoring.
/// A multi-model server is healthy as soon as it listens: its models come and go through
/// `/models`.
pub async fn ping(State(state): State<AppState>) -> Response {
    if state.config.multi_model {
        return StatusCode::OK.into_response();
    }
    match state.readiness() {
        Readiness::Ready(_) => StatusCode::OK.into_response(),
        Readiness::Loading => AppError::Loading.into_response(),
        Readiness::Failed(reason) => AppError::ModelFailed(reason.to_string()).into_response(),
    }
}
