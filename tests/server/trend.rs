//! Ordered multi-row requests: a trend-aware model detrends over the request, and the `context=N`
//! custom attribute marks leading rows as baseline only, for every model kind.

use std::sync::OnceLock;

use axum::http::StatusCode;
use forest::{DetectorParams, ForestParams, Model, TrendSpec};
use isoserve::AppState;

use crate::common::*;

const WINDOW: usize = 5;

/// A 3-feature trend-aware forest fitted on drifting series around the test model's centre.
fn trend_model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        let data = drifting(600, 21);
        let view = forest::ndarray::ArrayView2::from_shape((600, 3), &data).unwrap();
        let names = FEATURES.iter().map(|s| s.to_string()).collect();
        let params = DetectorParams::IsolationForest(ForestParams {
            n_trees: 50,
            seed: 5,
            ..ForestParams::default()
        });
        let spec = TrendSpec::rolling_median(WINDOW).unwrap();
        Model::fit_with_trend(view, names, &params, spec).expect("fit trend model")
    })
}

/// `n` rows whose features climb steadily, with noise; row-major.
fn drifting(n: usize, seed: u64) -> Vec<f64> {
    let slope = [0.5, -0.2, 0.05];
    noise(n * 3, seed)
        .iter()
        .enumerate()
        .map(|(k, v)| {
            let (row, f) = (k / 3, k % 3);
            20.0 + slope[f] * row as f64 + v
        })
        .collect()
}

fn rows_of(flat: &[f64]) -> Vec<Vec<f64>> {
    flat.chunks(3).map(<[f64]>::to_vec).collect()
}

fn trend_app(flags: &[&str]) -> axum::Router {
    let model = Model::from_bytes(&trend_model().to_bytes()).expect("model round-trips");
    isoserve::app(AppState::with_model(config(flags), model))
}

fn with_flags(model: &Model, scores: Vec<f64>) -> Vec<(f64, bool)> {
    scores
        .into_iter()
        .map(|s| (s, model.is_anomaly(s)))
        .collect()
}

async fn answer(app: &axum::Router, attributes: Option<&str>, rows: &[Vec<f64>]) -> Reply {
    let request = post_with(
        Some("text/csv"),
        Some("application/json"),
        attributes,
        csv(rows),
    );
    send(app, request).await
}

#[tokio::test]
async fn a_multi_row_request_is_detrended_as_one_sequence() {
    let mut flat = drifting(40, 22);
    flat[30 * 3 + 1] += 25.0; // a spike on row 31
    let model = trend_model();
    let want = with_flags(model, model.score_slice(&flat).unwrap());
    let reply = answer(&trend_app(&[]), None, &rows_of(&flat))
        .await
        .expect(StatusCode::OK);
    let got = native_scores(&reply.json());
    assert_eq!(got, want);
    // The spike stands out against its neighbours although its level is unremarkable.
    let calm = model.score_slice(&drifting(40, 22)).unwrap()[30];
    assert!(got[30].0 > calm + 0.1, "spike {} vs calm {calm}", got[30].0);
    assert!(got[30].1, "the spike is flagged");
}

#[tokio::test]
async fn context_rows_are_baseline_only_and_match_the_whole_sequence() {
    let flat = drifting(60, 23);
    let model = trend_model();
    let whole = model.score_slice(&flat).unwrap();
    // Rows 21..60 sent after the WINDOW rows before them, marked as context.
    let piece = &flat[(20 - WINDOW) * 3..];
    let attributes = format!("context={WINDOW}");
    let reply = answer(&trend_app(&[]), Some(&attributes), &rows_of(piece))
        .await
        .expect(StatusCode::OK);
    let got = native_scores(&reply.json());
    assert_eq!(got.len(), 40);
    assert_eq!(got, with_flags(model, whole[20..].to_vec()));
    assert_eq!(
        got,
        with_flags(
            model,
            model.score_slice_with_context(piece, WINDOW).unwrap()
        )
    );
}

#[tokio::test]
async fn context_works_with_every_shape_and_output_type() {
    let flat = drifting(12, 24);
    let model = trend_model();
    let want = model.score_slice_with_context(&flat, 4).unwrap();
    let app = trend_app(&[]);
    let request = post_with(
        Some("text/csv"),
        Some("application/json"),
        Some("format=rcf; context=4"),
        csv(&rows_of(&flat)),
    );
    let json = send(&app, request).await.expect(StatusCode::OK).json();
    let scores: Vec<f64> = json["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["score"].as_f64().unwrap())
        .collect();
    assert_eq!(scores, want);
    let request = post_with(
        Some("text/csv"),
        Some("text/csv"),
        Some("context=4"),
        csv(&rows_of(&flat)),
    );
    let reply = send(&app, request).await.expect(StatusCode::OK);
    assert_eq!(reply.text().lines().count(), 8);
}

#[tokio::test]
async fn context_on_a_global_model_drops_the_leading_rows() {
    let rows = sample_rows();
    let want = expected(&rows[1..]);
    let reply = answer(&app(), Some("context=1"), &rows)
        .await
        .expect(StatusCode::OK);
    assert_eq!(native_scores(&reply.json()), want);
}

#[tokio::test]
async fn a_single_row_to_a_trend_aware_model_is_scored_on_trend() {
    let model = trend_model();
    let row = vec![1000.0, -5.0, 3.0];
    let reply = answer(&trend_app(&[]), None, std::slice::from_ref(&row))
        .await
        .expect(StatusCode::OK);
    let want = model.score_row(&row).unwrap();
    assert_eq!(
        native_scores(&reply.json()),
        vec![(want, model.is_anomaly(want))]
    );
    assert_eq!(want, model.score_row(&[0.0, 0.0, 0.0]).unwrap());
}

#[tokio::test]
async fn large_offloaded_batches_score_like_the_library() {
    let flat = drifting(3000, 25);
    let model = trend_model();
    let rows = rows_of(&flat);
    assert!(csv(&rows).len() > isoserve::routes::invocations::OFFLOAD_BYTES);
    let app = trend_app(&["--parallel-rows", "100"]);
    let reply = answer(&app, Some("context=7"), &rows)
        .await
        .expect(StatusCode::OK);
    let want = with_flags(model, model.score_slice(&flat).unwrap()[7..].to_vec());
    assert_eq!(native_scores(&reply.json()), want);
}

#[tokio::test]
async fn bad_context_values_are_400_naming_the_attribute() {
    let rows = sample_rows();
    for app in [app(), trend_app(&[])] {
        for bad in ["-1", "x", "1.5"] {
            let attributes = format!("context={bad}");
            let message = answer(&app, Some(&attributes), &rows)
                .await
                .expect_error(StatusCode::BAD_REQUEST, "bad_request");
            assert!(
                message.starts_with(&format!(
                    "invalid context \"{bad}\" in X-Amzn-SageMaker-Custom-Attributes"
                )),
                "{message}"
            );
        }
        let message = answer(&app, Some("context=5"), &rows)
            .await
            .expect_error(StatusCode::BAD_REQUEST, "bad_request");
        assert_eq!(
            message,
            "context=5 in X-Amzn-SageMaker-Custom-Attributes exceeds the request's 4 rows"
        );
        // Every row as context: nothing to predict, an empty answer.
        let reply = answer(&app, Some("context=4"), &rows)
            .await
            .expect(StatusCode::OK);
        assert_eq!(reply.json(), serde_json::json!({ "predictions": [] }));
    }
}
