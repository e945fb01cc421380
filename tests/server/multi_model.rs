//! SageMaker's multi-model container API, in-process: every route and status, the memory budget,
//! and loads, unloads and invocations running at the same time.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode, header};
use forest::{DetectorParams, ForestParams, Model};
use http_body::Frame;
use isoserve::AppState;

use crate::common::*;

/// A small model of the test's three features, different for every `seed`.
pub(crate) fn small_model(seed: u64) -> Model {
    let rows = 64;
    let data: Vec<f64> = noise(rows * 3, seed)
        .iter()
        .enumerate()
        .map(|(i, v)| [20.0, 1.0, 0.5][i % 3] + v * (1.0 + seed as f64 % 5.0))
        .collect();
    let view = forest::ndarray::ArrayView2::from_shape((rows, 3), &data).unwrap();
    let names = FEATURES.iter().map(|s| s.to_string()).collect();
    let params = DetectorParams::IsolationForest(ForestParams {
        n_trees: 10,
        max_samples: forest::MaxSamples::Count(64),
        seed,
        ..ForestParams::default()
    });
    Model::fit(view, names, &params).unwrap()
}

/// What `model` holds once loaded from its file, as the server charges it.
fn loaded_heap(model: &Model) -> u64 {
    Model::from_bytes(&model.to_bytes()).unwrap().heap_bytes() as u64
}

/// Saves `model` as SageMaker unpacks a `model.tar.gz`: `<root>/<name>/model/model.isof`.
/// Returns the directory to give as `url`.
pub(crate) fn unpacked(root: &Path, name: &str, model: &Model) -> PathBuf {
    let dir = root.join(name).join("model");
    std::fs::create_dir_all(&dir).unwrap();
    model.save(&dir.join("model.isof")).unwrap();
    dir
}

fn multi_model(flags: &[&str]) -> (AppState, Router) {
    let mut all = vec!["--multi-model"];
    all.extend_from_slice(flags);
    let state = AppState::new(config(&all));
    (state.clone(), isoserve::app(state))
}

fn load_request(name: &str, url: &Path) -> Request<Body> {
    let body = serde_json::json!({"model_name": name, "url": url.to_str().unwrap()});
    Request::post("/models")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn invoke(name: &str, content_type: &str, attributes: Option<&str>, body: String) -> Request<Body> {
    let mut builder = Request::post(format!("/models/{name}/invoke"))
        .header(header::CONTENT_TYPE, content_type)
        // What SageMaker adds; the server does not need it, and it must not disturb anything.
        .header("X-Amzn-SageMaker-Target-Model", format!("{name}.tar.gz"));
    if let Some(attributes) = attributes {
        builder = builder.header("X-Amzn-SageMaker-Custom-Attributes", attributes);
    }
    builder.body(Body::from(body)).unwrap()
}

fn delete(path: &str) -> Request<Body> {
    Request::delete(path).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn without_the_variable_the_server_has_no_models_routes() {
    let app = app();
    let message = send(&app, get("/models"))
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    assert!(message.contains("POST /invocations"), "{message}");
    let rows = sample_rows();
    send(&app, post(Some("text/csv"), None, csv(&rows)))
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn every_route_and_status_of_the_container_api() {
    let root = tempfile::tempdir().unwrap();
    let (_, app) = multi_model(&[]);
    // Healthy with nothing loaded; /invocations is not part of this contract.
    send(&app, get("/ping")).await.expect(StatusCode::OK);
    let message = send(&app, post(Some("text/csv"), None, "1,2,3\n"))
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    assert!(message.contains("/models/{model_name}/invoke"), "{message}");

    let a = small_model(1);
    let url = unpacked(root.path(), "a", &a);
    let loaded = send(&app, load_request("a", &url))
        .await
        .expect(StatusCode::OK)
        .json();
    assert!(loaded["message"].as_str().unwrap().contains("loaded"));
    let message = send(&app, load_request("a", &url))
        .await
        .expect_error(StatusCode::CONFLICT, "model_already_loaded");
    assert!(message.contains("\"a\""), "{message}");

    let described = send(&app, get("/models/a"))
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(
        described,
        serde_json::json!({"modelName": "a", "modelUrl": url.to_str().unwrap()})
    );
    let listed = send(&app, get("/models"))
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(listed, serde_json::json!({"models": [described]}));

    // Invocations: the formats, attributes and errors of /invocations, with this model.
    let rows = sample_rows();
    let want = library_scores(&a, &rows);
    let json = send(&app, invoke("a", "text/csv", None, csv(&rows)))
        .await
        .expect(StatusCode::OK)
        .json();
    let got: Vec<f64> = native_scores(&json).iter().map(|p| p.0).collect();
    assert_eq!(got, want);
    let names: Vec<String> = FEATURES.iter().map(|s| s.to_string()).collect();
    let lines = send(
        &app,
        invoke(
            "a",
            "application/json",
            Some("format=rcf"),
            records(&names, &rows).to_string(),
        ),
    )
    .await
    .expect(StatusCode::OK)
    .json();
    assert_eq!(lines["scores"].as_array().unwrap().len(), rows.len());
    let explained = send(
        &app,
        invoke("a", "text/csv", Some("explain=1,context=1"), csv(&rows)),
    )
    .await
    .expect(StatusCode::OK)
    .json();
    let predictions = explained["predictions"].as_array().unwrap();
    assert_eq!(predictions.len(), rows.len() - 1);
    assert_eq!(predictions[0]["explanation"].as_array().unwrap().len(), 1);
    send(&app, invoke("a", "text/csv", None, "1,2\n".into()))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "bad_request");
    send(&app, invoke("a", "text/plain", None, csv(&rows)))
        .await
        .expect_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let message = send(&app, invoke("b", "text/csv", None, csv(&rows)))
        .await
        .expect_error(StatusCode::NOT_FOUND, "model_not_found");
    assert!(message.contains("\"b\" is not loaded"), "{message}");

    send(&app, delete("/models/a")).await.expect(StatusCode::OK);
    send(&app, delete("/models/a"))
        .await
        .expect_error(StatusCode::NOT_FOUND, "model_not_found");
    send(&app, get("/models/a"))
        .await
        .expect_error(StatusCode::NOT_FOUND, "model_not_found");
    send(&app, invoke("a", "text/csv", None, csv(&rows)))
        .await
        .expect_error(StatusCode::NOT_FOUND, "model_not_found");
    let listed = send(&app, get("/models"))
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(listed, serde_json::json!({"models": []}));
    // Loaded again after an unload, from the same place.
    send(&app, load_request("a", &url))
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn bad_load_requests_are_400s_that_say_what_is_wrong() {
    let root = tempfile::tempdir().unwrap();
    let (state, app) = multi_model(&[]);
    let post = |body: &str| {
        Request::post("/models")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    for (body, says) in [
        ("not json", "must be JSON"),
        (r#"{"model_name": "a"}"#, "missing field `url`"),
        (r#"{"url": "/x"}"#, "missing field `model_name`"),
        (r#"{"model_name": "", "url": "/x"}"#, "1 to 1024 bytes"),
    ] {
        let message = send(&app, post(body))
            .await
            .expect_error(StatusCode::BAD_REQUEST, "bad_request");
        assert!(message.contains(says), "{body}: {message}");
    }
    let huge = format!(r#"{{"model_name": "a", "url": "{}"}}"#, "x".repeat(100_000));
    let message = send(&app, post(&huge))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "bad_request");
    assert!(message.contains("at most 65536 bytes"), "{message}");

    // A directory with no model, and a file that is not one.
    let empty = root.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let message = send(&app, load_request("e", &empty))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "model_load_failed");
    assert!(message.contains("no .isof file"), "{message}");
    let junk = root.path().join("junk");
    std::fs::create_dir_all(&junk).unwrap();
    std::fs::write(junk.join("model.isof"), b"not a model").unwrap();
    let message = send(&app, load_request("j", &junk))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "model_load_failed");
    assert!(message.contains("cannot load model"), "{message}");
    // Nothing is left behind by a failed load: no slot, no memory.
    assert_eq!(state.registry.used_bytes(), 0);
    let listed = send(&app, get("/models"))
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(listed["models"], serde_json::json!([]));
    let message = send(&app, get("/models?next_page_token=a&next_page_token=b"))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "bad_request");
    assert!(message.contains("duplicate field"), "{message}");
}

#[tokio::test]
async fn the_memory_budget_answers_507_until_a_model_is_unloaded() {
    let root = tempfile::tempdir().unwrap();
    let model = small_model(2);
    let heap = loaded_heap(&model);
    // Room for two models of this size, not three.
    let budget_mb = 1;
    let per_mb = (1u64 << 20) / heap;
    assert!(per_mb >= 3, "the test model is {heap} bytes");
    let (state, app) = multi_model(&["--model-memory-mb", &budget_mb.to_string()]);
    let mut loaded = 0;
    let message = loop {
        let name = format!("m{loaded}");
        let url = unpacked(root.path(), &name, &model);
        let reply = send(&app, load_request(&name, &url)).await;
        if reply.status != StatusCode::OK {
            break reply.expect_error(StatusCode::INSUFFICIENT_STORAGE, "insufficient_memory");
        }
        loaded += 1;
        assert!(loaded <= per_mb, "more models than the budget holds");
    };
    assert!(loaded >= per_mb - 1, "{loaded} of {per_mb}");
    assert!(message.contains("ISOSERVE_MODEL_MEMORY_MB"), "{message}");
    assert!(state.registry.used_bytes() <= 1 << 20);
    assert_eq!(state.registry.used_bytes(), loaded * heap);
    send(&app, delete("/models/m0"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(state.registry.used_bytes(), (loaded - 1) * heap);
    let url = unpacked(root.path(), "again", &model);
    send(&app, load_request("again", &url))
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn a_first_explanation_is_charged_to_the_model() {
    let root = tempfile::tempdir().unwrap();
    let (state, app) = multi_model(&[]);
    let url = unpacked(root.path(), "x", &small_model(3));
    send(&app, load_request("x", &url))
        .await
        .expect(StatusCode::OK);
    let before = state.registry.used_bytes();
    send(&app, invoke("x", "text/csv", None, csv(&sample_rows())))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        state.registry.used_bytes(),
        before,
        "plain scoring builds nothing"
    );
    send(
        &app,
        invoke("x", "text/csv", Some("explain=all"), csv(&sample_rows())),
    )
    .await
    .expect(StatusCode::OK);
    assert!(
        state.registry.used_bytes() > before,
        "the explanation tables are counted"
    );
    send(&app, delete("/models/x")).await.expect(StatusCode::OK);
    assert_eq!(state.registry.used_bytes(), 0);
}

#[tokio::test]
async fn listing_pages_through_every_model_once() {
    let root = tempfile::tempdir().unwrap();
    let (_, app) = multi_model(&[]);
    let model = small_model(4);
    let url = unpacked(root.path(), "shared", &model);
    let mut names: Vec<String> = (0..250).map(|i| format!("model-{i:03}")).collect();
    for name in &names {
        send(&app, load_request(name, &url))
            .await
            .expect(StatusCode::OK);
    }
    let mut seen = Vec::new();
    let mut path = "/models".to_owned();
    let mut pages = 0;
    loop {
        let page = send(&app, get(&path)).await.expect(StatusCode::OK).json();
        pages += 1;
        for m in page["models"].as_array().unwrap() {
            seen.push(m["modelName"].as_str().unwrap().to_owned());
        }
        match page["nextPageToken"].as_str() {
            Some(token) => path = format!("/models?next_page_token={token}"),
            None => break,
        }
    }
    names.sort();
    assert_eq!(seen, names);
    assert_eq!(pages, 3, "pages of {}", isoserve::registry::PAGE_SIZE);
}

#[tokio::test]
async fn concurrent_loads_of_one_name_load_it_once() {
    let root = tempfile::tempdir().unwrap();
    let (state, app) = multi_model(&[]);
    let model = small_model(5);
    let url = unpacked(root.path(), "same", &model);
    let attempts: Vec<_> = (0..8)
        .map(|_| {
            let app = app.clone();
            let url = url.clone();
            tokio::spawn(async move { send(&app, load_request("same", &url)).await.status })
        })
        .collect();
    let mut statuses = Vec::new();
    for attempt in attempts {
        statuses.push(attempt.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT)
    );
    assert_eq!(state.registry.used_bytes(), loaded_heap(&model));
}

#[tokio::test]
async fn an_unloaded_model_finishes_its_requests_in_flight() {
    let root = tempfile::tempdir().unwrap();
    let (state, app) = multi_model(&[]);
    let model = small_model(6);
    let url = unpacked(root.path(), "busy", &model);
    send(&app, load_request("busy", &url))
        .await
        .expect(StatusCode::OK);
    // A request whose body is still arriving when the model is unloaded.
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(1);
    let body = Body::new(Fed(rx));
    let rows = sample_rows();
    let text = csv(&rows);
    let request = invoke("busy", "text/csv", None, String::new());
    let (parts, _) = request.into_parts();
    let in_flight = tokio::spawn({
        let app = app.clone();
        async move { send(&app, Request::from_parts(parts, body)).await }
    });
    tx.send(text.as_bytes()[..5].to_vec()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    send(&app, delete("/models/busy"))
        .await
        .expect(StatusCode::OK);
    assert!(
        state.registry.used_bytes() > 0,
        "held by the request in flight"
    );
    send(&app, invoke("busy", "text/csv", None, text.clone()))
        .await
        .expect_error(StatusCode::NOT_FOUND, "model_not_found");
    tx.send(text.as_bytes()[5..].to_vec()).await.unwrap();
    drop(tx);
    let json = in_flight.await.unwrap().expect(StatusCode::OK).json();
    let got: Vec<f64> = native_scores(&json).iter().map(|p| p.0).collect();
    assert_eq!(got, library_scores(&model, &rows));
    assert_eq!(
        state.registry.used_bytes(),
        0,
        "freed when the last request ended"
    );
}

#[tokio::test]
async fn a_slow_load_never_holds_up_other_models() {
    let root = tempfile::tempdir().unwrap();
    let (_, app) = multi_model(&[]);
    let ready = small_model(7);
    let url = unpacked(root.path(), "ready", &ready);
    send(&app, load_request("ready", &url))
        .await
        .expect(StatusCode::OK);
    // A FIFO (named as the url: a file is loaded as given) holds the loader inside its read
    // until the test writes the model.
    let fifo = root.path().join("slow.isof");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let loading = tokio::spawn({
        let app = app.clone();
        let fifo = fifo.clone();
        async move { send(&app, load_request("slow", &fifo)).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let rows = sample_rows();
    for _ in 0..20 {
        let json = send(&app, invoke("ready", "text/csv", None, csv(&rows)))
            .await
            .expect(StatusCode::OK)
            .json();
        assert_eq!(native_scores(&json).len(), rows.len());
    }
    send(&app, invoke("slow", "text/csv", None, csv(&rows)))
        .await
        .expect_error(StatusCode::CONFLICT, "model_loading");
    send(&app, delete("/models/slow"))
        .await
        .expect_error(StatusCode::CONFLICT, "model_loading");
    assert!(!loading.is_finished());
    let bytes = small_model(8).to_bytes();
    tokio::task::spawn_blocking(move || std::fs::write(fifo, bytes))
        .await
        .unwrap()
        .unwrap();
    loading.await.unwrap().expect(StatusCode::OK);
    send(&app, invoke("slow", "text/csv", None, csv(&rows)))
        .await
        .expect(StatusCode::OK);
}

/// A request body fed through a channel, a chunk at a time, ending when the sender is dropped.
struct Fed(tokio::sync::mpsc::Receiver<Vec<u8>>);

impl http_body::Body for Fed {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| Ok(Frame::data(Bytes::from(c)))))
    }
}
