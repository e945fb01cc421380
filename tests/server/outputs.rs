//! Accept negotiation and the compatibility shapes.

use axum::http::StatusCode;

use crate::common::*;

async fn answer(app: &axum::Router, accept: Option<&str>, attributes: Option<&str>) -> Reply {
    let request = post_with(Some("text/csv"), accept, attributes, csv(&sample_rows()));
    send(app, request).await.expect(StatusCode::OK)
}

fn lines(reply: &Reply) -> Vec<&str> {
    reply.text().lines().collect()
}

#[tokio::test]
async fn missing_or_wildcard_accept_means_the_default_type() {
    let want = expected(&sample_rows());
    for accept in [None, Some("*/*"), Some("application/*")] {
        let reply = answer(&app(), accept, None).await;
        assert_eq!(reply.content_type(), "application/json", "{accept:?}");
        assert_eq!(native_scores(&reply.json()), want);
    }
    let csv_default = app_with(&["--default-accept", "text/csv"]);
    for accept in [None, Some("*/*")] {
        let reply = answer(&csv_default, accept, None).await;
        assert_eq!(reply.content_type(), "text/csv", "{accept:?}");
    }
}

#[tokio::test]
async fn native_json_jsonlines_and_csv() {
    let want = expected(&sample_rows());
    assert!(
        want.iter().any(|p| p.1) && want.iter().any(|p| !p.1),
        "mixed test rows"
    );

    let json = answer(&app(), Some("application/json"), None).await;
    assert_eq!(native_scores(&json.json()), want);

    let jsonl = answer(&app(), Some("application/jsonlines"), None).await;
    assert_eq!(jsonl.content_type(), "application/jsonlines");
    let got: Vec<(f64, bool)> = lines(&jsonl)
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["score"].as_f64().unwrap(),
                v["anomaly"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, want);

    let csv = answer(&app(), Some("text/csv"), None).await;
    let got: Vec<(f64, bool)> = lines(&csv)
        .iter()
        .map(|l| {
            let (s, a) = l.split_once(',').unwrap();
            (s.parse().unwrap(), a.parse().unwrap())
        })
        .collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn accept_quality_values_choose_the_type() {
    let reply = answer(&app(), Some("application/json;q=0.5, text/csv"), None).await;
    assert_eq!(reply.content_type(), "text/csv");
    let reply = answer(&app(), Some("image/png, application/jsonlines;q=0.1"), None).await;
    assert_eq!(reply.content_type(), "application/jsonlines");
}

#[tokio::test]
async fn rcf_shape_answers_like_random_cut_forest() {
    let want = expected(&sample_rows());
    let reply = answer(&app(), Some("application/json"), Some("format=rcf")).await;
    let json = reply.json();
    let scores: Vec<f64> = json["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s.as_object().unwrap().len(), 1, "only a score: {s}");
            s["score"].as_f64().unwrap()
        })
        .collect();
    assert_eq!(scores, want.iter().map(|p| p.0).collect::<Vec<_>>());

    let reply = answer(&app(), Some("application/jsonlines"), Some("format=rcf")).await;
    let got: Vec<f64> = lines(&reply)
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["score"]
                .as_f64()
                .unwrap()
        })
        .collect();
    assert_eq!(got, want.iter().map(|p| p.0).collect::<Vec<_>>());
}

#[tokio::test]
async fn sklearn_shape_answers_like_the_python_container() {
    let want: Vec<i64> = expected(&sample_rows())
        .iter()
        .map(|p| if p.1 { -1 } else { 1 })
        .collect();
    let reply = answer(&app(), None, Some("format=sklearn")).await;
    assert_eq!(reply.json(), serde_json::json!({ "predictions": want }));
}

#[tokio::test]
async fn server_wide_shape_and_per_request_override() {
    let rcf_server = app_with(&["--output-format", "rcf"]);
    let reply = answer(&rcf_server, None, None).await;
    assert!(reply.json()["scores"].is_array(), "{}", reply.text());
    let reply = answer(&rcf_server, None, Some("trace=1, format=native")).await;
    assert!(reply.json()["predictions"][0]["anomaly"].is_boolean());
    // Attributes without a format key leave the server's default.
    let reply = answer(&rcf_server, None, Some("trace=1")).await;
    assert!(reply.json()["scores"].is_array());
}

#[tokio::test]
async fn execution_parameters_for_batch_transform() {
    let reply = send(&app_with(&["--workers", "4"]), get("/execution-parameters")).await;
    let reply = reply.expect(StatusCode::OK);
    assert_eq!(reply.content_type(), "application/json");
    assert_eq!(
        reply.json(),
        serde_json::json!({"MaxConcurrentTransforms": 4, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6})
    );
    // SageMaker requires MaxConcurrentTransforms x MaxPayloadInMB <= 100.
    let big = app_with(&["--workers", "4", "--max-payload-mb", "40"]);
    let json = send(&big, get("/execution-parameters")).await.json();
    assert_eq!(json["MaxConcurrentTransforms"], 2);
    assert_eq!(json["MaxPayloadInMB"], 40);
    // A limit raised for asynchronous inference is more than a transform job may ask for.
    let huge = app_with(&["--workers", "4", "--max-payload-mb", "1024"]);
    let json = send(&huge, get("/execution-parameters")).await.json();
    assert_eq!(json["MaxConcurrentTransforms"], 1);
    assert_eq!(json["MaxPayloadInMB"], 100);
}

/// Asynchronous inference: a body above batch transform's 100 MiB is read and answered when the
/// limit is raised for it, and refused (413) at the default limit.
#[tokio::test]
async fn bodies_above_100_mib_are_answered_when_the_limit_allows_them() {
    let mut body = vec![b' '; 101 << 20];
    body.extend_from_slice(b"[[20.1, 1.0, 0.5], [95.0, -40.0, 12.0]]");
    let async_app = app_with(&["--max-payload-mb", "128"]);
    let json = send(
        &async_app,
        post(Some("application/json"), None, body.clone()),
    )
    .await
    .expect(StatusCode::OK)
    .json();
    assert_eq!(native_scores(&json).len(), 2);
    assert!(native_scores(&json)[1].1, "the far row is an anomaly");
    send(&app(), post(Some("application/json"), None, body))
        .await
        .expect_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

#[tokio::test]
async fn ping_is_an_empty_200_once_loaded() {
    let reply = send(&app(), get("/ping")).await.expect(StatusCode::OK);
    assert!(reply.body.is_empty());
}
