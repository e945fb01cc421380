//! `GET /execution-parameters`: what batch transform should send us.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::state::AppState;

/// The body batch transform reads before its first `/invocations` call.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecutionParameters {
    /// Parallel requests SageMaker may send to one container.
    pub max_concurrent_transforms: usize,
    /// Always `MULTI_RECORD`: one request carries many lines, which is where batch scoring pays.
    pub batch_strategy: &'static str,
    /// The body limit, so SageMaker never builds a request we would refuse.
    #[serde(rename = "MaxPayloadInMB")]
    pub max_payload_in_mb: u64,
}

/// SageMaker rejects a transform job whose `MaxConcurrentTransforms × MaxPayloadInMB` exceeds this,
/// and a `MaxPayloadInMB` above it.
pub const CONCURRENCY_PAYLOAD_BUDGET_MB: u64 = 100;

/// Answers from the configuration. The payload is the body limit up to batch transform's 100 MiB
/// (a limit raised for asynchronous inference is more than a transform job may ask for); the
/// worker count is capped so that the product stays within SageMaker's budget (6 MiB allows 16
/// workers, 100 MiB only 1).
pub async fn execution_parameters(State(state): State<AppState>) -> Json<ExecutionParameters> {
    let payload = state
        .config
        .max_payload_mb
        .min(CONCURRENCY_PAYLOAD_BUDGET_MB);
    let budget = (CONCURRENCY_PAYLOAD_BUDGET_MB / payload).max(1) as usize;
    Json(ExecutionParameters {
        max_concurrent_transforms: state.config.workers.min(budget),
        batch_strategy: "MULTI_RECORD",
        max_payload_in_mb: payload,
    })
}
