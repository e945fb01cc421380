//! Shared fixtures: a small fitted model, a router around it, and request helpers.

use std::path::PathBuf;
use std::sync::OnceLock;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use clap::Parser;
use forest::{DetectorParams, ForestParams, Model};
use http_body_util::BodyExt;
use isoserve::{AppState, Config, ServeArgs};
use tower::ServiceExt;

/// Feature names of the test model.
pub(crate) const FEATURES: [&str; 3] = ["temperature", "pressure", "vibration"];

#[derive(Parser)]
struct Flags {
    #[command(flatten)]
    args: ServeArgs,
}

/// A config from serve flags (environment fallbacks are not set in the test process).
pub(crate) fn config(flags: &[&str]) -> Config {
    let argv = std::iter::once("isoserve").chain(flags.iter().copied());
    Config::from_args(Flags::parse_from(argv).args).expect("valid test config")
}

/// Deterministic pseudo-random values in [-1, 1) (a fixed LCG: no dependency, same on every run).
pub(crate) fn noise(n: usize, seed: u64) -> Vec<f64> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

/// A 3-feature isolation forest fitted on a tight cluster around (20, 1, 0.5).
pub(crate) fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        let rows = 300;
        let centre = [20.0, 1.0, 0.5];
        let data: Vec<f64> = noise(rows * 3, 7)
            .iter()
            .enumerate()
            .map(|(i, v)| centre[i % 3] + v)
            .collect();
        let view = forest::ndarray::ArrayView2::from_shape((rows, 3), &data).unwrap();
        let names = FEATURES.iter().map(|s| s.to_string()).collect();
        let params = DetectorParams::IsolationForest(ForestParams {
            n_trees: 50,
            seed: 3,
            ..ForestParams::default()
        });
        Model::fit(view, names, &params).expect("fit test model")
    })
}

/// A fresh copy of the test model (through the model file format, as the server loads it).
pub(crate) fn model_copy() -> Model {
    Model::from_bytes(&model().to_bytes()).expect("model round-trips")
}

/// The router over the test model, with extra serve flags.
pub(crate) fn app_with(flags: &[&str]) -> Router {
    isoserve::app(AppState::with_model(config(flags), model_copy()))
}

/// The router over the test model with default settings.
pub(crate) fn app() -> Router {
    app_with(&[])
}

/// The scores the library gives for `rows`.
pub(crate) fn library_scores(model: &Model, rows: &[Vec<f64>]) -> Vec<f64> {
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    let view =
        forest::ndarray::ArrayView2::from_shape((rows.len(), model.n_features()), &flat).unwrap();
    model.score_batch(view).unwrap()
}

/// Some rows: mostly near the cluster, the last one far away.
pub(crate) fn sample_rows() -> Vec<Vec<f64>> {
    let v = noise(12, 11);
    vec![
        vec![20.0 + v[0], 1.0 + v[1], 0.5 + v[2]],
        vec![20.0 + v[3], 1.0 + v[4], 0.5 + v[5]],
        vec![20.0 + v[6], 1.0 + v[7], 0.5 + v[8]],
        vec![95.0, -40.0, 12.0],
    ]
}

/// A POST /invocations request.
pub(crate) fn post(
    content_type: Option<&str>,
    accept: Option<&str>,
    body: impl Into<Body>,
) -> Request<Body> {
    post_with(content_type, accept, None, body)
}

/// A POST /invocations request with custom attributes.
pub(crate) fn post_with(
    content_type: Option<&str>,
    accept: Option<&str>,
    attributes: Option<&str>,
    body: impl Into<Body>,
) -> Request<Body> {
    let mut builder = Request::post("/invocations");
    if let Some(ct) = content_type {
        builder = builder.header(header::CONTENT_TYPE, ct);
    }
    if let Some(accept) = accept {
        builder = builder.header(header::ACCEPT, accept);
    }
    if let Some(attributes) = attributes {
        builder = builder.header("X-Amzn-SageMaker-Custom-Attributes", attributes);
    }
    builder.body(body.into()).unwrap()
}

/// A GET request.
pub(crate) fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

/// A collected response.
#[derive(Debug)]
pub(crate) struct Reply {
    /// Status code.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Whole body.
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// The body as text.
    pub(crate) fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }

    /// The Content-Type header.
    pub(crate) fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .expect("Content-Type set")
            .to_str()
            .unwrap()
    }

    /// Asserts the status and that Content-Type and a correct Content-Length are present.
    pub(crate) fn expect(self, status: StatusCode) -> Reply {
        assert_eq!(
            self.status,
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        let length = self
            .headers
            .get(header::CONTENT_LENGTH)
            .unwrap_or_else(|| panic!("no Content-Length on {status}"));
        assert_eq!(length.to_str().unwrap(), self.body.len().to_string());
        if !self.body.is_empty() {
            assert!(
                self.headers.contains_key(header::CONTENT_TYPE),
                "no Content-Type on {status}"
            );
        }
        self
    }

    /// Asserts a uniform JSON error with the given status and code; returns the message.
    pub(crate) fn expect_error(self, status: StatusCode, code: &str) -> String {
        let reply = self.expect(status);
        assert!(reply.content_type().starts_with("application/json"));
        let json = reply.json();
        assert_eq!(json["error"], code, "{json}");
        json["message"].as_str().expect("message").to_owned()
    }
}

/// Sends one request through the router.
pub(crate) async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body,
    }
}

/// The scores of a native JSON answer.
pub(crate) fn native_scores(json: &serde_json::Value) -> Vec<(f64, bool)> {
    json["predictions"]
        .as_array()
        .expect("predictions array")
        .iter()
        .map(|p| {
            (
                p["score"].as_f64().unwrap(),
                p["anomaly"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// `rows` as CSV text.
pub(crate) fn csv(rows: &[Vec<f64>]) -> String {
    rows.iter()
        .map(|r| r.iter().map(f64::to_string).collect::<Vec<_>>().join(",") + "\n")
        .collect()
}

/// `rows` as JSON records keyed by `names`.
pub(crate) fn records(names: &[String], rows: &[Vec<f64>]) -> serde_json::Value {
    rows.iter()
        .map(|r| {
            names
                .iter()
                .zip(r)
                .map(|(n, v)| (n.clone(), serde_json::json!(v)))
                .collect::<serde_json::Map<_, _>>()
        })
        .collect()
}

/// The repository's default model file.
pub(crate) fn default_model_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/default.isof")
}

/// Expected native predictions for `rows` under the test model.
pub(crate) fn expected(rows: &[Vec<f64>]) -> Vec<(f64, bool)> {
    library_scores(model(), rows)
        .into_iter()
        .map(|s| (s, model().is_anomaly(s)))
        .collect()
}

/// An npy body as `np.save` writes it (version 1.0, C order), `<f8` or `<f4`.
pub(crate) fn npy(descr: &str, shape: &str, values: &[f64]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // Magic (6) + version (2) + length (2) + header + '\n' must be a multiple of 64.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in values {
        if descr == "<f4" {
            out.extend_from_slice(&(*v as f32).to_le_bytes());
        } else {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

/// Taken by the tests that load the machine or time answers over a socket, so that none of them
/// runs while another does: the harness runs tests two at a time, and a load test next to a timed
/// one would measure the neighbour, not the server.
pub(crate) static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
