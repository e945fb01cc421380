//! Limits and errors: every client mistake is a 4xx with the uniform JSON body.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use http_body::Frame;
use isoserve::AppState;

use crate::common::*;

#[tokio::test]
async fn unsupported_content_type_is_415_listing_the_supported_types() {
    let reply = send(&app(), post(Some("text/plain"), None, "1,2,3")).await;
    let reply = reply.expect(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let json = reply.json();
    assert_eq!(json["error"], "unsupported_media_type");
    let supported: Vec<&str> = json["supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for t in [
        "text/csv",
        "application/json",
        "application/jsonlines",
        "application/x-npy",
    ] {
        assert!(supported.contains(&t), "{t} missing from {supported:?}");
    }
}

#[tokio::test]
async fn unacceptable_accept_is_406_listing_the_supported_types() {
    let reply = send(&app(), post(Some("text/csv"), Some("image/png"), "1,2,3")).await;
    let reply = reply.expect(StatusCode::NOT_ACCEPTABLE);
    let json = reply.json();
    assert_eq!(json["error"], "not_acceptable");
    assert!(
        json["supported"]
            .as_array()
            .unwrap()
            .contains(&"text/csv".into())
    );
}

#[tokio::test]
async fn unknown_format_attribute_is_400() {
    let request = post_with(Some("text/csv"), None, Some("format=xml"), "1,2,3");
    let message = send(&app(), request)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "bad_request");
    assert!(message.contains("\"xml\""), "{message}");
}

async fn bad_request(content_type: &str, body: &str) -> String {
    send(&app(), post(Some(content_type), None, body.to_owned()))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "bad_request")
}

#[tokio::test]
async fn bad_rows_name_the_row_column_and_expectation() {
    assert_eq!(
        bad_request("text/csv", "1,2,3\n4,5\n").await,
        "row 2: expected 3 values, found 2"
    );
    assert_eq!(
        bad_request("text/csv", "1,2,3\n4,5,6\n7,abc,9\n").await,
        "row 3, pressure: \"abc\" is not a number"
    );
    let records =
        r#"[{"temperature":1,"pressure":2,"vibration":3},{"temperature":1,"pressure":2}]"#;
    assert_eq!(
        bad_request("application/json", records).await,
        "record 2: missing key \"vibration\""
    );
    let message = bad_request("application/json", "[[1,2,3],[4,5,").await;
    assert!(message.contains("invalid JSON"), "{message}");
}

#[tokio::test]
async fn empty_body_is_400() {
    for content_type in ["text/csv", "application/json", "application/jsonlines"] {
        let message = bad_request(content_type, "").await;
        assert!(message.contains("no rows"), "{content_type}: {message}");
    }
}

/// A body delivered in chunks without a declared length; optionally stalls forever afterwards.
struct Chunks {
    chunks: Vec<Bytes>,
    stall: bool,
}

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.chunks.pop() {
            Some(chunk) => Poll::Ready(Some(Ok(Frame::data(chunk)))),
            // Never woken again: the client has gone quiet.
            None if self.stall => Poll::Pending,
            None => Poll::Ready(None),
        }
    }
}

#[tokio::test]
async fn bodies_above_the_limit_are_413_json_declared_or_streamed() {
    let app = app_with(&["--max-payload-mb", "1"]);
    let over = "1,2,3\n".repeat((1 << 20) / 6 + 1);
    assert!(over.len() > 1 << 20);
    let message = send(&app, post(Some("text/csv"), None, over))
        .await
        .expect_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert!(message.contains("1 MiB"), "{message}");

    let chunks = Chunks {
        chunks: vec![Bytes::from(vec![b'1'; 64 * 1024]); 17],
        stall: false,
    };
    send(&app, post(Some("text/csv"), None, Body::new(chunks)))
        .await
        .expect_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

#[tokio::test]
async fn bodies_above_axums_default_2mb_are_served_under_the_6mib_default() {
    let row = "20.5,1.25,0.5\n";
    let body = row.repeat((3 << 20) / row.len());
    let rows = body.len() / row.len();
    let reply = send(&app(), post(Some("text/csv"), Some("text/csv"), body)).await;
    assert_eq!(reply.expect(StatusCode::OK).text().lines().count(), rows);
}

#[tokio::test]
async fn too_many_rows_is_413() {
    let app = app_with(&["--max-rows", "3"]);
    let message = send(&app, post(Some("text/csv"), None, csv(&sample_rows())))
        .await
        .expect_error(StatusCode::PAYLOAD_TOO_LARGE, "too_many_rows");
    assert!(message.contains('3'), "{message}");
}

#[tokio::test]
async fn a_stalled_body_ends_with_408_at_the_deadline() {
    let app = app_with(&["--timeout-secs", "0.05"]);
    let chunks = Chunks {
        chunks: vec![Bytes::from_static(b"1,2,3\n")],
        stall: true,
    };
    send(&app, post(Some("text/csv"), None, Body::new(chunks)))
        .await
        .expect_error(StatusCode::REQUEST_TIMEOUT, "request_timeout");
}

#[tokio::test]
async fn scoring_past_the_deadline_ends_with_504() {
    let app = app_with(&["--timeout-secs", "0.001"]);
    let body = "20.5,1.25,0.5\n".repeat(200_000);
    send(&app, post(Some("text/csv"), None, body))
        .await
        .expect_error(StatusCode::GATEWAY_TIMEOUT, "timeout");
}

#[tokio::test]
async fn no_model_yet_is_503_on_ping_and_invocations() {
    let state = AppState::new(config(&[]));
    let app = isoserve::app(state.clone());
    send(&app, get("/ping"))
        .await
        .expect_error(StatusCode::SERVICE_UNAVAILABLE, "model_not_ready");
    send(&app, post(Some("text/csv"), None, "1,2,3"))
        .await
        .expect_error(StatusCode::SERVICE_UNAVAILABLE, "model_not_ready");

    // Readiness flips without rebuilding the router.
    state.set_ready(model_copy());
    send(&app, get("/ping")).await.expect(StatusCode::OK);
}

#[tokio::test]
async fn a_failed_load_is_503_for_good() {
    let state = AppState::new(config(&[]));
    state.set_failed("model.isof: not a model file (bad magic number)");
    state.set_ready(model_copy());
    let app = isoserve::app(state);
    let message = send(&app, get("/ping"))
        .await
        .expect_error(StatusCode::SERVICE_UNAVAILABLE, "model_not_ready");
    assert!(message.contains("bad magic number"), "{message}");
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json_errors() {
    send(&app(), get("/predict"))
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    let message = send(&app(), get("/invocations"))
        .await
        .expect_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert_eq!(message, "GET is not allowed on /invocations");
}

#[tokio::test]
async fn a_panic_becomes_the_json_500() {
    let router = axum::Router::new().route(
        "/boom",
        axum::routing::get(|| async {
            let empty: Vec<String> = Vec::new();
            // An out-of-bounds index stands in for any bug reached by a request.
            empty[usize::from(empty.is_empty())].clone()
        }),
    );
    send(&isoserve::with_layers(router), get("/boom"))
        .await
        .expect_error(StatusCode::INTERNAL_SERVER_ERROR, "internal");
}

/// The header that held a worker for minutes under a backtracking parser: a dict whose
/// fourth entry opens bracket after bracket.
fn crafted_npy(depth: usize) -> Vec<u8> {
    let header = format!(
        "{{'descr': '<f4', 'fortran_order': False, {}",
        "[".repeat(depth)
    );
    let mut body = b"\x93NUMPY\x02\x00".to_vec();
    body.extend_from_slice(&(header.len() as u32).to_le_bytes());
    body.extend_from_slice(header.as_bytes());
    body
}

#[tokio::test]
async fn nested_npy_headers_are_refused_at_once_at_any_depth() {
    let _heavy = HEAVY.lock().await;
    let app = app();
    for depth in [10, 14, 18, 22, 100, 1_000, 9_000, 10_000] {
        let started = std::time::Instant::now();
        let message = send(
            &app,
            post(Some("application/x-npy"), None, crafted_npy(depth)),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST, "bad_request");
        let took = started.elapsed();
        assert!(
            took < std::time::Duration::from_millis(50),
            "depth {depth}: {took:?}"
        );
        let expected = if depth < 9_960 {
            "expected a quoted key or '}' at byte 41 of the header, found '['"
        } else {
            "at most 10000 are accepted"
        };
        assert!(message.contains(expected), "depth {depth}: {message}");
    }
}
