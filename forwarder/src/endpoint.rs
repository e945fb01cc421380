//! Calling the SageMaker endpoint: the [`Endpoint`] abstraction and its InvokeEndpoint
//! implementation, which maps the SDK's errors onto [`InvokeError`].

use std::future::Future;
use std::time::Duration;

use aws_sdk_sagemakerruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sagemakerruntime::operation::invoke_endpoint::InvokeEndpointError;
use aws_sdk_sagemakerruntime::primitives::Blob;

/// One row's answer: the score, the flag and, when explanations are asked for (`--explain`),
/// the features that made the score, highest attribution first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Prediction {
    /// The anomaly score.
    pub score: f64,
    /// Whether the model flags the row.
    pub anomaly: bool,
    /// The explained features (empty when none were asked for).
    pub explanation: Vec<codec::NamedAttribution>,
}

use retry::InvokeError;

pub mod retry;

/// Something that scores a CSV body: the SageMaker endpoint in production, a fake in tests.
pub trait Endpoint: Send + Sync {
    /// Scores the rows of `body` (text/csv). With `context: Some(k)` the first `k` rows are
    /// context only (trend mode, custom attribute `context=k`) and `n_rows` rows follow them;
    /// with `None` the body holds exactly `n_rows` rows. `target` names the model of a
    /// multi-model endpoint (`TargetModel`, e.g. `pump-7.tar.gz`). The answer holds `n_rows`
    /// scores.
    fn invoke(
        &self,
        body: Vec<u8>,
        n_rows: usize,
        context: Option<usize>,
        target: Option<&str>,
    ) -> impl Future<Output = Result<Vec<Prediction>, InvokeError>> + Send;
}

/// InvokeEndpoint through the AWS SDK. Build the client with SDK retries disabled: the forwarder's
/// own policy ([`retry`]) decides what to retry.
#[derive(Debug, Clone)]
pub struct SageMakerEndpoint {
    client: aws_sdk_sagemakerruntime::Client,
    name: String,
    explain: Option<codec::Explain>,
}

impl SageMakerEndpoint {
    /// An endpoint called `name` reached through `client`.
    pub fn new(client: aws_sdk_sagemakerruntime::Client, name: impl Into<String>) -> Self {
        SageMakerEndpoint {
            client,
            name: name.into(),
            explain: None,
        }
    }

    /// Asks the endpoint to explain every row (custom attribute `explain=K`).
    pub fn with_explain(mut self, explain: Option<codec::Explain>) -> Self {
        self.explain = explain;
        self
    }

    /// A client for `sdk_config` without SDK-level retries, with `timeout` per attempt and
    /// optionally an explicit endpoint URL.
    pub fn client(
        sdk_config: &aws_config::SdkConfig,
        timeout: Duration,
        endpoint_url: Option<&str>,
    ) -> aws_sdk_sagemakerruntime::Client {
        let mut conf = aws_sdk_sagemakerruntime::config::Builder::from(sdk_config);
        if let Some(url) = endpoint_url {
            conf = conf.endpoint_url(url);
        }
        let conf = conf
            .retry_config(aws_sdk_sagemakerruntime::config::retry::RetryConfig::disabled())
            .timeout_config(
                aws_sdk_sagemakerruntime::config::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(timeout)
                    .build(),
            )
            .build();
        aws_sdk_sagemakerruntime::Client::from_conf(conf)
    }
}

impl Endpoint for SageMakerEndpoint {
    async fn invoke(
        &self,
        body: Vec<u8>,
        n_rows: usize,
        context: Option<usize>,
        target: Option<&str>,
    ) -> Result<Vec<Prediction>, InvokeError> {
        let out = self
            .client
            .invoke_endpoint()
            .endpoint_name(&self.name)
            .set_target_model(target.map(str::to_owned))
            .content_type("text/csv")
            .accept("application/json")
            .set_custom_attributes(
                // The native shape always: a model may name another as its own (an imported
                // scikit-learn model says sklearn), and the forwarder reads scores and flags.
                codec::CustomAttributes {
                    format: Some(codec::Shape::Native),
                    context,
                    explain: self.explain,
                }
                .header_value(),
            )
            .body(Blob::new(body))
            .send()
            .await
            .map_err(|e| unknown_model(classify(e), target))?;
        let body = out.body().map(|b| b.as_ref()).unwrap_or_default();
        decode_scores(body, out.content_type(), n_rows)
    }
}

/// Maps an InvokeEndpoint failure onto the forwarder's error classes.
pub fn classify<R>(err: SdkError<InvokeEndpointError, R>) -> InvokeError
where
    R: std::fmt::Debug + HasStatus,
{
    match err {
        SdkError::TimeoutError(e) => InvokeError::Timeout(format!("{e:?}")),
        SdkError::DispatchFailure(e) => InvokeError::Timeout(format!("{e:?}")),
        SdkError::ConstructionFailure(e) => InvokeError::Validation(format!("{e:?}")),
        SdkError::ResponseError(e) => {
            let status = e.raw().status_code();
            if status >= 500 {
                InvokeError::Service {
                    status,
                    message: "unparseable error response".into(),
                }
            } else {
                InvokeError::BadResponse(format!("HTTP {status}: unparseable response"))
            }
        }
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status_code();
            let err = ctx.into_err();
            let message = match &err {
                InvokeEndpointError::ValidationError(e) => e.message(),
                InvokeEndpointError::ModelError(e) => e.message(),
                InvokeEndpointError::ModelNotReadyException(e) => e.message(),
                InvokeEndpointError::ServiceUnavailable(e) => e.message(),
                InvokeEndpointError::InternalFailure(e) => e.message(),
                InvokeEndpointError::InternalDependencyException(e) => e.message(),
                other => other.message(),
            }
            .unwrap_or_default()
            .to_string();
            match err {
                InvokeEndpointError::ModelError(m) => InvokeError::Model {
                    original_status: m.original_status_code().and_then(|c| u16::try_from(c).ok()),
                    message: m.original_message().map(str::to_string).unwrap_or(message),
                },
                InvokeEndpointError::ModelNotReadyException(_) => {
                    InvokeError::ModelNotReady(message)
                }
                InvokeEndpointError::ServiceUnavailable(_)
                | InvokeEndpointError::InternalFailure(_)
                | InvokeEndpointError::InternalDependencyException(_) => {
                    InvokeError::Service { status, message }
                }
                InvokeEndpointError::ValidationError(_) => InvokeError::Validation(message),
                other => {
                    let code = other.code().unwrap_or_default();
                    if is_throttling(code) || status == 429 {
                        InvokeError::Throttled(format!("{code} {message}"))
                    } else if status >= 500 {
                        InvokeError::Service {
                            status,
                            message: format!("{code} {message}"),
                        }
                    } else {
                        InvokeError::Validation(format!("HTTP {status} {code} {message}"))
                    }
                }
            }
        }
        other => InvokeError::Timeout(format!("{other:?}")),
    }
}

/// A `ValidationError` about the request's own `TargetModel` means the endpoint has no such
/// model: SageMaker says it could not download the model data at the key it built from the
/// target. An unknown endpoint is a `ValidationError` too, and stays fatal: its message names the
/// endpoint, not the target.
pub fn unknown_model(error: InvokeError, target: Option<&str>) -> InvokeError {
    match (error, target) {
        (InvokeError::Validation(message), Some(target))
            if message.contains(target) || message.contains("model data") =>
        {
            InvokeError::UnknownModel {
                target: target.to_owned(),
                message,
            }
        }
        (error, _) => error,
    }
}

/// The throttling error codes the AWS SDKs recognise.
fn is_throttling(code: &str) -> bool {
    matches!(
        code,
        "Throttling"
            | "ThrottlingException"
            | "ThrottledException"
            | "RequestThrottledException"
            | "TooManyRequestsException"
            | "RequestLimitExceeded"
            | "SlowDown"
    )
}

/// Access to the HTTP status of a raw response (lets [`classify`] be tested without a network).
pub trait HasStatus {
    /// The status code.
    fn status_code(&self) -> u16;
}

impl HasStatus for aws_sdk_sagemakerruntime::config::http::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// Reads the endpoint's answer; it must hold exactly `n_rows` predictions.
pub fn decode_scores(
    body: &[u8],
    content_type: Option<&str>,
    n_rows: usize,
) -> Result<Vec<Prediction>, InvokeError> {
    let content_type = content_type.unwrap_or("application/json");
    let bad = |e: codec::DecodeError| InvokeError::BadResponse(e.to_string());
    let answers = codec::decode_response(body, content_type).map_err(bad)?;
    if answers.len() != n_rows {
        return Err(InvokeError::BadResponse(format!(
            "sent {n_rows} rows, got {} predictions",
            answers.len()
        )));
    }
    let mut explanations = codec::decode_explanations(body, content_type)
        .map_err(bad)?
        .into_iter();
    Ok(answers
        .into_iter()
        .map(|a| Prediction {
            score: a.score,
            anomaly: a.anomaly,
            explanation: explanations.next().unwrap_or_default(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sagemakerruntime::config::http::HttpResponse;
    use aws_sdk_sagemakerruntime::error::ErrorMetadata;
    use aws_sdk_sagemakerruntime::types::error::{
        ModelError, ModelNotReadyException, ServiceUnavailable, ValidationError,
    };
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    use retry::Disposition;

    fn service(status: u16, err: InvokeEndpointError) -> InvokeError {
        let raw = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty());
        classify(SdkError::service_error(err, raw))
    }

    #[test]
    fn sdk_errors_map_onto_dispositions() {
        let m4 = ModelError::builder()
            .original_status_code(400)
            .original_message("row 1: expected 4 values")
            .build();
        let e = service(424, InvokeEndpointError::ModelError(m4));
        assert_eq!(
            e,
            InvokeError::Model {
                original_status: Some(400),
                message: "row 1: expected 4 values".into()
            }
        );
        assert_eq!(e.disposition(), Disposition::Poison);

        let m5 = ModelError::builder().original_status_code(500).build();
        let e = service(424, InvokeEndpointError::ModelError(m5));
        assert_eq!(e.disposition(), Disposition::Retry);

        let e = service(
            429,
            InvokeEndpointError::ModelNotReadyException(ModelNotReadyException::builder().build()),
        );
        assert!(matches!(e, InvokeError::ModelNotReady(_)));
        assert_eq!(e.disposition(), Disposition::Retry);

        let e = service(
            503,
            InvokeEndpointError::ServiceUnavailable(ServiceUnavailable::builder().build()),
        );
        assert_eq!(
            e,
            InvokeError::Service {
                status: 503,
                message: String::new()
            }
        );
        assert_eq!(e.disposition(), Disposition::Retry);

        let throttle = InvokeEndpointError::generic(
            ErrorMetadata::builder()
                .code("ThrottlingException")
                .message("Rate exceeded")
                .build(),
        );
        let e = service(400, throttle);
        assert!(matches!(e, InvokeError::Throttled(_)), "{e:?}");
        assert_eq!(e.disposition(), Disposition::Retry);

        let e = service(
            400,
            InvokeEndpointError::ValidationError(
                ValidationError::builder()
                    .message("Endpoint x not found")
                    .build(),
            ),
        );
        assert_eq!(e, InvokeError::Validation("Endpoint x not found".into()));
        assert_eq!(e.disposition(), Disposition::Fatal);
    }

    #[test]
    fn a_missing_target_model_is_parked_and_a_missing_endpoint_stays_fatal() {
        let missing = InvokeError::Validation(
            "Failed to download model data(bucket: b, key: models/pump-9.tar.gz). Please ensure \
             that there is an object located at the URL"
                .into(),
        );
        let e = unknown_model(missing.clone(), Some("pump-9.tar.gz"));
        assert!(
            matches!(&e, InvokeError::UnknownModel { target, .. } if target == "pump-9.tar.gz")
        );
        assert_eq!(e.disposition(), Disposition::Park);
        assert_eq!(
            unknown_model(missing.clone(), None),
            missing,
            "no target, no model to miss"
        );
        let endpoint = InvokeError::Validation("Endpoint x of account 1 not found.".into());
        let e = unknown_model(endpoint, Some("pump-9.tar.gz"));
        assert_eq!(e.disposition(), Disposition::Fatal);
    }

    #[test]
    fn answers_must_match_the_row_count() {
        let body =
            br#"{"predictions":[{"score":0.7,"anomaly":true},{"score":0.4,"anomaly":false}]}"#;
        let scores = decode_scores(body, Some("application/json"), 2).unwrap();
        assert_eq!(
            scores[0],
            Prediction {
                score: 0.7,
                anomaly: true,
                explanation: vec![]
            }
        );
        assert!(matches!(
            decode_scores(body, Some("application/json"), 3),
            Err(InvokeError::BadResponse(_))
        ));
        assert!(matches!(
            decode_scores(b"<html>", Some("text/html"), 1),
            Err(InvokeError::BadResponse(_))
        ));
    }

    #[test]
    fn explanations_are_read_with_the_answers() {
        let body = br#"{"predictions":[{"score":0.8,"anomaly":true,"explanation":[{"feature":"temp","attribution":0.75,"direction":"high","value":412.5,"expected":80.1}]},{"score":0.3,"anomaly":false,"explanation":[]}]}"#;
        let scores = decode_scores(body, Some("application/json"), 2).unwrap();
        assert_eq!(scores[0].explanation.len(), 1);
        let a = &scores[0].explanation[0];
        assert_eq!(
            (
                a.feature.as_str(),
                a.attribution,
                a.direction,
                a.value,
                a.expected
            ),
            (
                "temp",
                0.75,
                codec::Direction::High,
                Some(412.5),
                Some(80.1)
            )
        );
        assert!(scores[1].explanation.is_empty());
    }
}
