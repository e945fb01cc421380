//! `POST /invocations`: decode, score, encode.
//!
//! The cheap checks (Content-Type, Accept, custom attributes, readiness, declared length) run before
//! the body is read. Small bodies are then handled inline on the async executor, where they take
//! microseconds; large ones move to the blocking pool and score with rayon, so `/ping` and small
//! requests keep their latency while a batch-transform payload occupies the cores.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use forest::Model;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::time::Instant;

use crate::error::AppError;
use crate::state::{AppState, Readiness};

/// SageMaker's per-request options header (`format=rcf`, `format=sklearn`, `context=N`).
pub const CUSTOM_ATTRIBUTES: &str = "x-amzn-sagemaker-custom-attributes";

/// Bodies at least this long are decoded, scored and encoded on the blocking pool.
///
/// About 150–250 rows of a 5-feature model, a few hundred microseconds of work: the longest we let
/// one request hold an executor thread. The hand-off costs about 12 µs (`benches/invocations.rs`,
/// `offload`), a few percent of the work at this size and less above it.
pub const OFFLOAD_BYTES: usize = 16 * 1024;

/// Rows in a successful answer, for the access log.
#[derive(Debug, Clone, Copy)]
pub struct RowCount(pub usize);

/// What one request asked for, fixed before the body is read.
#[derive(Debug, Clone, Copy)]
struct Plan {
    input: codec::InputFormat,
    output: codec::OutputFormat,
    shape: codec::Shape,
    /// Leading rows that are a baseline only: not scored, not answered.
    context: usize,
    limits: codec::Limits,
    parallel_rows: usize,
}

/// The handler.
pub async fn invocations(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let config = &state.config;
    let deadline = Instant::now() + config.timeout;
    let plan = Plan {
        input: codec::InputFormat::from_content_type(header_str(&headers, header::CONTENT_TYPE))?,
        output: codec::OutputFormat::negotiate(
            header_str(&headers, header::ACCEPT),
            config.default_accept,
        )?,
        shape: codec::Shape::from_custom_attributes(header_str(&headers, CUSTOM_ATTRIBUTES))?
            .unwrap_or(config.default_shape),
        context: codec::context_from_custom_attributes(header_str(&headers, CUSTOM_ATTRIBUTES))?,
        limits: codec::Limits::with_max_rows(config.max_rows),
        parallel_rows: config.parallel_rows,
    };
    let model = match state.readiness() {
        Readiness::Ready(model) => model,
        Readiness::Loading => return Err(AppError::Loading),
        Readiness::Failed(reason) => return Err(AppError::ModelFailed(reason.to_string())),
    };
    let bytes = read_body(body, &headers, config.max_body_bytes, config, deadline).await?;

    let (encoded, rows) = if bytes.len() < OFFLOAD_BYTES {
        process(&model, &bytes, plan, false)?
    } else {
        let work = tokio::task::spawn_blocking(move || process(&model, &bytes, plan, true));
        // On timeout the blocking task runs to completion unobserved: scoring cannot be
        // interrupted, but the client gets its answer at the deadline.
        match tokio::time::timeout_at(deadline, work).await {
            Err(_) => return Err(AppError::Deadline(config.timeout.as_secs_f64())),
            Ok(Err(join)) => {
                return Err(AppError::Internal(format!("scoring task failed: {join}")));
            }
            Ok(Ok(result)) => result?,
        }
    };
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(plan.output.content_type()),
        )],
        encoded,
    )
        .into_response();
    response.extensions_mut().insert(RowCount(rows));
    Ok(response)
}

/// Decodes, scores and encodes one body. `offloaded` says whether we are on the blocking pool,
/// where a large batch may use rayon. The rows are one ordered sequence: a trend-aware model
/// detrends them over the request, against the `context` leading rows, which get no prediction.
fn process(
    model: &Arc<Model>,
    bytes: &[u8],
    plan: Plan,
    offloaded: bool,
) -> Result<(Vec<u8>, usize), AppError> {
    // Every format agrees on what an empty body is, whatever its own parser would say.
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(codec::DecodeError::NoRows.into());
    }
    let rows = codec::decode(plan.input, bytes, model.feature_names(), &plan.limits)?;
    codec::check_context(plan.context, rows.n_rows)?;
    let scores = if offloaded && rows.n_rows - plan.context >= plan.parallel_rows {
        model.score_slice_parallel_with_context(&rows.values, plan.context)
    } else {
        model.score_slice_with_context(&rows.values, plan.context)
    }
    // The codec already checked every row's width, so a mismatch here is our bug, not the client's.
    .map_err(|e| AppError::Internal(e.to_string()))?;
    let predictions: Vec<codec::Prediction> = scores
        .into_iter()
        .map(|score| codec::Prediction {
            score,
            anomaly: model.is_anomaly(score),
        })
        .collect();
    let encoded = codec::encode(&predictions, plan.output, plan.shape);
    Ok((encoded, predictions.len()))
}

/// Reads the whole body, refusing it as soon as it is known to exceed `limit`.
async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
    config: &crate::config::Config,
    deadline: Instant,
) -> Result<Bytes, AppError> {
    let too_large = || AppError::PayloadTooLarge {
        limit_mb: config.max_payload_mb,
    };
    let declared = header_str(headers, header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(too_large());
    }
    match tokio::time::timeout_at(deadline, Limited::new(body, limit).collect()).await {
        Err(_) => Err(AppError::BodyTimeout(config.timeout.as_secs_f64())),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(err)) if err.is::<LengthLimitError>() => Err(too_large()),
        Ok(Err(err)) => Err(AppError::BodyRead(err.to_string())),
    }
}

/// A header's text; a value with bytes outside visible ASCII reads as U+FFFD, so it matches no
/// media type (415/406) instead of silently counting as absent.
fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"))
}
