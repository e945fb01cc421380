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
use crate::state::{AppState, Lease, Readiness};

/// SageMaker's per-request options header (`format=rcf`, `format=sklearn`, `context=N`,
/// `explain=K`).
pub const CUSTOM_ATTRIBUTES: &str = "x-amzn-sagemaker-custom-attributes";

/// Bodies at least this long are decoded, scored and encoded on the blocking pool.
///
/// About 60 rows of a 5-feature model, a few tens of microseconds of work: the longest we let one
/// request hold an executor thread, whatever its content (every decoder is linear in its input,
/// so no body under this size costs more). The hand-off costs about 12 µs
/// (`benches/invocations.rs`, `offload`).
pub const OFFLOAD_BYTES: usize = 4 * 1024;

/// [`OFFLOAD_BYTES`] for a request that asks for explanations: explaining a row costs a few times
/// scoring it (`docs/benchmarks.md`), so the same time bound is reached with a smaller body.
pub const OFFLOAD_EXPLAINED_BYTES: usize = OFFLOAD_BYTES / 8;

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
    /// How many features each prediction explains, if any.
    explain: Option<codec::Explain>,
    limits: codec::Limits,
    parallel_rows: usize,
}

/// `POST /invocations`. A request refused before its body is read still has its body drained
/// (see [`refuse`]) so the client reads the answer and may reuse the connection.
pub async fn invocations(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let model = || match state.readiness() {
        Readiness::Ready(model) => Ok(model),
        Readiness::Loading => Err(AppError::Loading),
        Readiness::Failed(reason) => Err(AppError::ModelFailed(reason.to_string())),
    };
    serve(&state, &headers, body, model).await
}

/// Answers one scoring request with the model `model` finds (after the cheap header checks, so
/// a bad header is reported before a missing model): `/invocations` and a multi-model server's
/// `/models/{name}/invoke` alike.
pub async fn serve(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    model: impl FnOnce() -> Result<Arc<Model>, AppError>,
) -> Response {
    match plan(state, headers, model) {
        Err(err) => refuse(err, body, headers, &state.config).await,
        Ok((plan, model)) => match answer(state, headers, body, plan, model).await {
            Ok(response) => response,
            // The body was not read to its end: say that the connection will not be reused.
            Err(
                err @ (AppError::PayloadTooLarge { .. }
                | AppError::BodyTimeout(_)
                | AppError::BodyRead(_)
                | AppError::Busy),
            ) => closing(err.into_response()),
            Err(err) => err.into_response(),
        },
    }
}

/// What the headers ask for, and the model to ask it of: everything checked before the body.
fn plan(
    state: &AppState,
    headers: &HeaderMap,
    model: impl FnOnce() -> Result<Arc<Model>, AppError>,
) -> Result<(Plan, Arc<Model>), AppError> {
    let config = &state.config;
    let attributes = codec::CustomAttributes::parse(header_str(headers, CUSTOM_ATTRIBUTES))?;
    let input = codec::InputFormat::from_content_type(header_str(headers, header::CONTENT_TYPE))?;
    let output =
        codec::OutputFormat::negotiate(header_str(headers, header::ACCEPT), config.default_accept)?;
    let model = model()?;
    // The request's `format=`, then the server's setting, then the model's own, then native.
    let shape = attributes
        .format
        .or(config.default_shape)
        .or(model.metadata().answer_shape.map(wire_shape))
        .unwrap_or_default();
    // The rcf and sklearn shapes stay exactly as those systems answer: no room for explanations.
    let explain = match (attributes.explain, shape) {
        (Some(_), codec::Shape::Rcf | codec::Shape::Sklearn) => {
            return Err(codec::DecodeError::ExplainNeedsNative {
                shape: shape.name(),
            }
            .into());
        }
        (Some(explain), codec::Shape::Native) => Some(explain),
        (None, codec::Shape::Native) => config.default_explain,
        (None, _) => None,
    };
    let plan = Plan {
        input,
        output,
        shape,
        context: attributes.context.unwrap_or(0),
        explain,
        limits: codec::Limits::with_max_rows(config.max_rows),
        parallel_rows: config.parallel_rows,
    };
    Ok((plan, model))
}

/// The wire shape of the answer shape a model file names (codec does not depend on the model
/// library, so the two enums meet here).
fn wire_shape(shape: forest::AnswerShape) -> codec::Shape {
    match shape {
        forest::AnswerShape::Native => codec::Shape::Native,
        forest::AnswerShape::Rcf => codec::Shape::Rcf,
        forest::AnswerShape::Sklearn => codec::Shape::Sklearn,
    }
}

/// Reads the body within its budgets, then decodes, scores and encodes it: inline when it is
/// small, otherwise on the blocking pool, at most `blocking_jobs` at a time.
async fn answer(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    plan: Plan,
    model: Arc<Model>,
) -> Result<Response, AppError> {
    let config = &state.config;
    let started = Instant::now();
    let deadline = started + config.timeout;
    let (bytes, memory) = read_body(body, headers, state, deadline).await?;

    let inline = match plan.explain {
        None => OFFLOAD_BYTES,
        Some(_) => OFFLOAD_EXPLAINED_BYTES,
    };
    let (encoded, rows) = if bytes.len() < inline {
        process(&model, &bytes, plan, false)?
    } else {
        let Some(job) = state.budgets.blocking_job(deadline).await else {
            return Err(AppError::Deadline(config.timeout.as_secs_f64()));
        };
        let work = tokio::task::spawn_blocking(move || {
            // Both leases go back when the work is done, even if the client has given up:
            // abandoned work still occupies a core and its memory.
            let _leases = (job, memory);
            process(&model, &bytes, plan, true)
        });
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

/// Answers `err` for a request whose body was not read. The body is read and discarded first,
/// up to the body limit and within the body timeout, so that the client, which may still be
/// sending, receives the answer instead of a reset and can send its next request on the same
/// connection. A body too large or too slow to drain gets the answer with `Connection: close`.
pub async fn refuse(
    err: AppError,
    body: Body,
    headers: &HeaderMap,
    config: &crate::config::Config,
) -> Response {
    let declared = header_str(headers, header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    let drained = declared.is_none_or(|len| len <= config.max_body_bytes as u64)
        && drain(body, config.max_body_bytes, config.body_timeout).await;
    let response = err.into_response();
    if drained { response } else { closing(response) }
}

/// `response` with `Connection: close`, which hyper honours by closing after it.
fn closing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Reads and discards `body` to its end; false if it is longer than `limit`, fails, or is not
/// over within `timeout`.
async fn drain(body: Body, limit: usize, timeout: std::time::Duration) -> bool {
    let read = Limited::new(body, limit).collect();
    matches!(tokio::time::timeout(timeout, read).await, Ok(Ok(_)))
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
    let parallel = offloaded && rows.n_rows - plan.context >= plan.parallel_rows;
    // The codec already checked every row's width, so a mismatch here is our bug, not the client's.
    let internal = |e: forest::Error| AppError::Internal(e.to_string());
    let encoded = match plan.explain {
        None => {
            let scores = if parallel {
                model.score_slice_parallel_with_context(&rows.values, plan.context)
            } else {
                model.score_slice_with_context(&rows.values, plan.context)
            }
            .map_err(internal)?;
            let predictions: Vec<codec::Prediction> =
                scores.into_iter().map(|s| prediction(model, s)).collect();
            codec::encode(&predictions, plan.output, plan.shape)
        }
        Some(explain) => {
            let explained = if parallel {
                model.explain_slice_parallel_with_context(&rows.values, plan.context)
            } else {
                model.explain_slice_with_context(&rows.values, plan.context)
            }
            .map_err(internal)?;
            let k = explain.count(model.n_features());
            let predictions: Vec<codec::Prediction> = explained
                .iter()
                .map(|e| prediction(model, e.score))
                .collect();
            let attributions: Vec<codec::Attribution> = explained
                .iter()
                .flat_map(|e| e.top(k).iter().map(wire_attribution))
                .collect();
            codec::encode_explained(
                &predictions,
                &attributions,
                k,
                model.feature_names(),
                plan.output,
            )
        }
    };
    Ok((encoded, rows.n_rows - plan.context))
}

fn prediction(model: &Model, score: f64) -> codec::Prediction {
    codec::Prediction {
        score,
        anomaly: model.is_anomaly(score),
    }
}

/// The wire form of one explained feature (codec does not depend on the model library).
fn wire_attribution(a: &forest::FeatureAttribution) -> codec::Attribution {
    codec::Attribution {
        feature: a.feature,
        attribution: a.attribution,
        direction: match a.direction {
            forest::Direction::High => codec::Direction::High,
            forest::Direction::Low => codec::Direction::Low,
        },
        value: a.value,
        expected: a.expected,
    }
}

/// Reads the whole body, refusing it as soon as it is known to exceed the body limit, and holding
/// its share of the in-flight memory budget while it is read and processed.
///
/// The body must arrive within the body timeout (and the request's deadline); the memory share is
/// the declared length, or the whole limit for a body of unknown length, and a request that cannot
/// get it before the body timeout is answered 503.
async fn read_body(
    body: Body,
    headers: &HeaderMap,
    state: &AppState,
    deadline: Instant,
) -> Result<(Bytes, Lease), AppError> {
    let config = &state.config;
    let limit = config.max_body_bytes;
    let too_large = || AppError::PayloadTooLarge {
        limit_mb: config.max_payload_mb,
    };
    let declared = header_str(headers, header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(too_large());
    }
    let body_deadline = deadline.min(Instant::now() + config.body_timeout);
    let memory = declared.map_or(limit, |len| len as usize);
    let Some(memory) = state.budgets.body_memory(memory, body_deadline).await else {
        return Err(AppError::Busy);
    };
    match tokio::time::timeout_at(body_deadline, Limited::new(body, limit).collect()).await {
        Err(_) => Err(AppError::BodyTimeout(
            config.body_timeout.min(config.timeout).as_secs_f64(),
        )),
        Ok(Ok(collected)) => Ok((collected.to_bytes(), memory)),
        Ok(Err(err)) if err.is::<LengthLimitError>() => Err(too_large()),
        Ok(Err(err)) => Err(AppError::BodyRead(err.to_string())),
    }
}

/// A header's text; a value with bytes outside visible ASCII reads as U+FFFD, so it matches no
/// media type (415/406) instead of silently counting as absent.
fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"))
}
