//! The server's one error type and its HTTP mapping.
//!
//! Every error answers with the same JSON body, `{"error": "<code>", "message": "<text>"}` (plus
//! `"supported": [...]` for 415 and 406), and a `Content-Type` and `Content-Length`, so a client
//! (or SageMaker's `ModelError.OriginalMessage`) always gets something readable. Client mistakes
//! are 4xx; only the server's own faults are 5xx, and only those are logged above debug.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Everything `/invocations` can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The body could not be decoded, negotiated or shaped (codec's precise message).
    #[error(transparent)]
    Decode(#[from] codec::DecodeError),
    /// The body is longer than the configured limit.
    #[error("request body exceeds the limit of {limit_mb} MiB (SAGEMAKER_MAX_PAYLOAD_IN_MB)")]
    PayloadTooLarge {
        /// The limit in MiB.
        limit_mb: u64,
    },
    /// The body could not be read from the connection.
    #[error("could not read the request body: {0}")]
    BodyRead(String),
    /// The client did not finish sending the body before the deadline.
    #[error(
        "the request body did not arrive within {0} s \
         (ISOSERVE_BODY_TIMEOUT, bounded by SAGEMAKER_MODEL_SERVER_TIMEOUT)"
    )]
    BodyTimeout(f64),
    /// The in-flight body memory budget stayed full for the whole body timeout.
    #[error(
        "the server holds as many request bodies as its memory budget allows \
         (ISOSERVE_MAX_INFLIGHT_MB); retry shortly"
    )]
    Busy,
    /// Scoring did not finish before the deadline.
    #[error("scoring did not finish within {0} s (SAGEMAKER_MODEL_SERVER_TIMEOUT)")]
    Deadline(f64),
    /// No model is loaded yet.
    #[error("the model is still loading")]
    Loading,
    /// The model failed to load; the endpoint will not recover.
    #[error("the model failed to load: {0}")]
    ModelFailed(String),
    /// No such route.
    #[error("no route for {path}; the routes are {routes}")]
    NotFound {
        /// The path asked for.
        path: String,
        /// The routes this server serves, for the message.
        routes: &'static str,
    },
    /// A multi-model request the model registry refused.
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    /// A multi-model request whose path or body is malformed (the message says how).
    #[error("{0}")]
    BadRequest(String),
    /// The route exists but not for this method.
    #[error("{method} is not allowed on {path}")]
    MethodNotAllowed {
        /// The request method.
        method: String,
        /// The request path.
        path: String,
    },
    /// A fault of the server itself.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The uniform JSON error body.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    /// Stable machine-readable code.
    pub error: &'static str,
    /// Human-readable detail naming the row, column or limit involved.
    pub message: String,
    /// The media types that would have worked (415 and 406 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supported: Option<&'a [&'static str]>,
}

impl AppError {
    /// The status code and stable error code.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        use codec::ErrorKind;
        match self {
            AppError::Decode(e) => match e.kind() {
                ErrorKind::BadInput => (StatusCode::BAD_REQUEST, "bad_request"),
                ErrorKind::UnsupportedMediaType => {
                    (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
                }
                ErrorKind::NotAcceptable => (StatusCode::NOT_ACCEPTABLE, "not_acceptable"),
                ErrorKind::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_many_rows"),
            },
            AppError::PayloadTooLarge { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
            }
            AppError::BodyRead(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            AppError::BodyTimeout(_) => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            AppError::Deadline(_) => (StatusCode::GATEWAY_TIMEOUT, "timeout"),
            AppError::Busy => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            AppError::Loading | AppError::ModelFailed(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "model_not_ready")
            }
            AppError::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            AppError::Registry(e) => {
                use crate::registry::RegistryError as R;
                match e {
                    R::AlreadyLoaded(_) => (StatusCode::CONFLICT, "model_already_loaded"),
                    R::StillLoading(_) => (StatusCode::CONFLICT, "model_loading"),
                    R::NotLoaded(_) => (StatusCode::NOT_FOUND, "model_not_found"),
                    R::NoMemory { .. } => (StatusCode::INSUFFICIENT_STORAGE, "insufficient_memory"),
                    R::Source(_) => (StatusCode::BAD_REQUEST, "model_load_failed"),
                    R::Loader(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
                }
            }
            AppError::MethodNotAllowed { .. } => {
                (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
            }
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    fn supported(&self) -> Option<&'static [&'static str]> {
        match self {
            AppError::Decode(codec::DecodeError::UnsupportedContentType { .. }) => {
                Some(codec::SUPPORTED_CONTENT_TYPES)
            }
            AppError::Decode(codec::DecodeError::NotAcceptable { .. }) => {
                Some(codec::SUPPORTED_ACCEPT_TYPES)
            }
            _ => None,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        // 503 and 507 say the server is busy or full, which it reports, not a fault.
        let fault = status.is_server_error()
            && status != StatusCode::SERVICE_UNAVAILABLE
            && status != StatusCode::INSUFFICIENT_STORAGE;
        if fault {
            tracing::error!(status = status.as_u16(), error = %self, "request failed");
        } else {
            tracing::debug!(status = status.as_u16(), error = %self, "request rejected");
        }
        let body = ErrorBody {
            error: code,
            message: self.to_string(),
            supported: self.supported(),
        };
        (status, Json(body)).into_response()
    }
}

/// Maps a panic caught by `CatchPanicLayer` to the uniform JSON 500.
pub fn panic_response(_payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    // The payload may hold request data; it is not echoed back to the client.
    AppError::Internal("the request could not be completed".into()).into_response()
}
