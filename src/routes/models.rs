//! SageMaker's multi-model container API: `/models` to load, list, describe and unload models,
//! `/models/{name}/invoke` to score with one of them.
//!
//! Mounted only when the server runs with `SAGEMAKER_MULTI_MODEL=true`. SageMaker's agent names
//! each model with an id of its own and unpacks its `model.tar.gz` into the directory given as
//! `url`; a model is loaded on its first invocation and unloaded when the instance runs short of
//! memory (our 507 tells it to).

use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Limited};
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::registry::Listed;
use crate::routes::invocations;
use crate::state::AppState;

/// Largest `POST /models` body: a name and a path, far below this.
pub const MAX_LOAD_BODY_BYTES: usize = 64 * 1024;

/// Longest model name accepted (SageMaker's ids are far shorter).
pub const MAX_NAME_BYTES: usize = 1024;

/// What SageMaker sends to load a model.
#[derive(Debug, Deserialize)]
struct LoadRequest {
    model_name: String,
    url: String,
}

/// The `GET /models` query.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// The `nextPageToken` of the previous page.
    next_page_token: Option<String>,
}

/// One page of loaded models.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    models: Vec<Listed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

#[derive(Debug, Serialize)]
struct Message {
    message: String,
}

fn ok(message: String) -> Response {
    Json(Message { message }).into_response()
}

/// `POST /models`: loads the model under `url` as `model_name`. 200 once it is loaded, 409 when
/// the name is taken, 507 when the memory budget has no room for it, 400 when the body or the
/// model file is not usable.
pub async fn load(State(state): State<AppState>, body: Body) -> Response {
    let timeout = state.config.body_timeout.min(Duration::from_secs(10));
    let read = tokio::time::timeout(timeout, Limited::new(body, MAX_LOAD_BODY_BYTES).collect());
    let bytes = match read.await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(err)) => {
            return bad(format!(
                "could not read the body (at most {MAX_LOAD_BODY_BYTES} bytes): {err}"
            ));
        }
        Err(_) => return bad(format!("the body did not arrive within {timeout:?}")),
    };
    let request: LoadRequest = match serde_json::from_slice(&bytes) {
        Ok(request) => request,
        Err(err) => {
            return bad(format!(
                "the body must be JSON {{\"model_name\": \"...\", \"url\": \"...\"}}: {err}"
            ));
        }
    };
    if let Err(err) = check_name(&request.model_name) {
        return err.into_response();
    }
    let name = request.model_name.clone();
    let registry = state.registry.clone();
    // A task of its own: a client that hangs up mid-load must not leave the model half-loaded.
    let load = tokio::spawn(async move { registry.load(request.model_name, request.url).await });
    match load.await {
        Ok(Ok(())) => {
            tracing::info!(
                model = %name,
                used_bytes = state.registry.used_bytes(),
                budget_bytes = state.registry.budget_bytes(),
                "model loaded"
            );
            ok(format!("model {name:?} loaded"))
        }
        Ok(Err(err)) => AppError::from(err).into_response(),
        Err(join) => AppError::Internal(format!("model load task failed: {join}")).into_response(),
    }
}

/// `GET /models`: the loaded models in name order, a page at a time.
pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let Query(query) = query.map_err(|r| AppError::BadRequest(r.body_text()))?;
    let (models, next_page_token) = state.registry.page(query.next_page_token.as_deref());
    Ok(Json(Page {
        models,
        next_page_token,
    })
    .into_response())
}

/// `GET /models/{name}`: where a loaded model came from; 404 when it is not loaded.
pub async fn describe(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    let loaded = state.registry.get(&named(name)?)?;
    Ok(Json(Listed {
        model_name: loaded.name.clone(),
        model_url: loaded.url.clone(),
    })
    .into_response())
}

/// `DELETE /models/{name}`: unloads a model; the requests already running on it finish.
pub async fn unload(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    let name = named(name)?;
    state.registry.unload(&name)?;
    tracing::info!(model = %name, "model unloaded");
    Ok(ok(format!("model {name:?} unloaded")))
}

/// `POST /models/{name}/invoke`: `/invocations` with the named model (every input and output
/// format, custom attribute and error alike).
pub async fn invoke(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let name = match named(name) {
        Ok(name) => name,
        Err(err) => return invocations::refuse(err, body, &headers, &state.config).await,
    };
    let mut used = None;
    let model = || {
        let loaded = state.registry.get(&name)?;
        let model = loaded.model.clone();
        used = Some(loaded);
        Ok(model)
    };
    let response = invocations::serve(&state, &headers, body, model).await;
    // A first explanation builds the model's explanation tables: charge what it holds now.
    if let Some(loaded) = used {
        loaded.recharge();
    }
    response
}

fn named(name: Result<Path<String>, PathRejection>) -> Result<String, AppError> {
    let Path(name) = name.map_err(|r| AppError::BadRequest(r.body_text()))?;
    check_name(&name)?;
    Ok(name)
}

fn check_name(name: &str) -> Result<(), AppError> {
    if name.is_empty() || name.len() > MAX_NAME_BYTES {
        return Err(AppError::BadRequest(format!(
            "a model name must have 1 to {MAX_NAME_BYTES} bytes, got {}",
            name.len()
        )));
    }
    Ok(())
}

fn bad(message: String) -> Response {
    AppError::BadRequest(message).into_response()
}
