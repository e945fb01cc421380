//! `explain=K` and `ISOSERVE_EXPLAIN`: every native output format carries the library's
//! explanation, combined with `context=`; the other shapes refuse it; answers without it stay
//! byte-identical.

use axum::http::StatusCode;
use forest::{Model, TrendSpec};
use isoserve::AppState;

use crate::common::*;

const JSON: Option<&str> = Some("application/json");

/// The library's explanation of `rows`, as the server should write it: (feature name,
/// attribution, direction, value, expected) for the top `k`.
fn library(
    model: &Model,
    rows: &[Vec<f64>],
    context: usize,
    k: usize,
) -> Vec<Vec<serde_json::Value>> {
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    model
        .explain_slice_with_context(&flat, context)
        .unwrap()
        .iter()
        .map(|e| {
            e.top(k)
                .iter()
                .map(|a| {
                    serde_json::json!({
                        "feature": model.feature_names()[a.feature],
                        "attribution": a.attribution,
                        "direction": a.direction.name(),
                        "value": a.value,
                        "expected": a.expected,
                    })
                })
                .collect()
        })
        .collect()
}

fn explanations(json: &serde_json::Value) -> Vec<Vec<serde_json::Value>> {
    json["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["explanation"].as_array().unwrap().clone())
        .collect()
}

#[tokio::test]
async fn json_answers_carry_the_top_k_features_of_the_library_explanation() {
    let rows = sample_rows();
    let reply = send(
        &app(),
        post_with(Some("text/csv"), JSON, Some("explain=2"), csv(&rows)),
    )
    .await;
    let json = reply.expect(StatusCode::OK).json();
    assert_eq!(
        native_scores(&json),
        expected(&rows),
        "scores are unchanged"
    );
    let got = explanations(&json);
    assert_eq!(got, library(model(), &rows, 0, 2));
    // The far outlier (95, -40, 12) is explained with directions and the training medians.
    let outlier = &got[3];
    assert_eq!(outlier.len(), 2);
    let medians = model().expected_values().unwrap();
    for item in outlier {
        let f = FEATURES.iter().position(|n| *n == item["feature"]).unwrap();
        let value = item["value"].as_f64().unwrap();
        let want = if value > medians[f] { "high" } else { "low" };
        assert_eq!(item["direction"], want, "{item}");
        assert_eq!(item["expected"].as_f64().unwrap(), medians[f]);
    }
    let total: f64 = library(model(), &rows, 0, 3)[3]
        .iter()
        .map(|a| a["attribution"].as_f64().unwrap())
        .sum();
    assert!((total - 1.0).abs() < 1e-12);
}

#[tokio::test]
async fn json_lines_and_csv_carry_the_same_explanations() {
    let rows = sample_rows();
    let want = library(model(), &rows, 0, 3);
    let request = post_with(
        Some("text/csv"),
        Some("application/jsonlines"),
        Some("explain=all"),
        csv(&rows),
    );
    let reply = send(&app(), request).await.expect(StatusCode::OK);
    let lines: Vec<serde_json::Value> = reply
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got: Vec<Vec<serde_json::Value>> = lines
        .iter()
        .map(|l| l["explanation"].as_array().unwrap().clone())
        .collect();
    assert_eq!(got, want);

    let request = post_with(
        Some("text/csv"),
        Some("text/csv"),
        Some("explain=1"),
        csv(&rows),
    );
    let reply = send(&app(), request).await.expect(StatusCode::OK);
    let back = codec::decode_explanations(reply.body.as_ref(), "text/csv").unwrap();
    for (line, (got, want)) in
        reply
            .text()
            .lines()
            .zip(back.iter().zip(library(model(), &rows, 0, 1)))
    {
        assert_eq!(
            line.split(',').count(),
            7,
            "score,anomaly + 5 columns: {line}"
        );
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].feature, want[0]["feature"].as_str().unwrap());
        assert_eq!(got[0].attribution, want[0]["attribution"].as_f64().unwrap());
        assert_eq!(
            got[0].direction.name(),
            want[0]["direction"].as_str().unwrap()
        );
    }
}

#[tokio::test]
async fn explain_combines_with_context_on_a_trend_aware_model() {
    let data: Vec<f64> = noise(900, 31)
        .iter()
        .enumerate()
        .map(|(k, v)| 20.0 + 0.3 * (k / 3) as f64 + v)
        .collect();
    let view = forest::ndarray::ArrayView2::from_shape((300, 3), &data).unwrap();
    let names = FEATURES.iter().map(|s| s.to_string()).collect();
    let params = forest::DetectorParams::IsolationForest(forest::ForestParams {
        n_trees: 50,
        seed: 2,
        ..Default::default()
    });
    let model =
        Model::fit_with_trend(view, names, &params, TrendSpec::rolling_median(5).unwrap()).unwrap();
    let app = isoserve::app(AppState::with_model(
        config(&[]),
        Model::from_bytes(&model.to_bytes()).unwrap(),
    ));
    let mut rows: Vec<Vec<f64>> = data[..8 * 3].chunks(3).map(<[f64]>::to_vec).collect();
    rows[7][1] += 40.0;
    let request = post_with(
        Some("text/csv"),
        JSON,
        Some("format=native;context=5;explain=1"),
        csv(&rows),
    );
    let json = send(&app, request).await.expect(StatusCode::OK).json();
    let got = explanations(&json);
    assert_eq!(got.len(), 3, "predictions for the rows after the context");
    assert_eq!(got, library(&model, &rows, 5, 1));
    let spike = &got[2][0];
    assert_eq!(
        (spike["feature"].as_str(), spike["direction"].as_str()),
        (Some("pressure"), Some("high"))
    );
    // The expected value is the rolling baseline, not the training median of raw values.
    assert!(spike["value"].as_f64().unwrap() - spike["expected"].as_f64().unwrap() > 35.0);
}

#[tokio::test]
async fn the_server_wide_setting_explains_native_answers_and_a_request_overrides_it() {
    let rows = sample_rows();
    let app = app_with(&["--explain", "1"]);
    let json = send(&app, post(Some("text/csv"), JSON, csv(&rows)))
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(explanations(&json), library(model(), &rows, 0, 1));
    let request = post_with(Some("text/csv"), JSON, Some("explain=all"), csv(&rows));
    let json = send(&app, request).await.expect(StatusCode::OK).json();
    assert_eq!(explanations(&json), library(model(), &rows, 0, 3));
    // An rcf answer asked for by the request stays exactly rcf.
    let request = post_with(Some("text/csv"), JSON, Some("format=rcf"), csv(&rows));
    let json = send(&app, request).await.expect(StatusCode::OK).json();
    assert!(json["scores"][0].get("explanation").is_none(), "{json}");
}

#[tokio::test]
async fn without_explain_answers_stay_byte_identical() {
    let rows = sample_rows();
    for accept in ["application/json", "application/jsonlines", "text/csv"] {
        let plain = send(&app(), post(Some("text/csv"), Some(accept), csv(&rows)))
            .await
            .expect(StatusCode::OK);
        let predictions: Vec<codec::Prediction> = expected(&rows)
            .into_iter()
            .map(|(score, anomaly)| codec::Prediction { score, anomaly })
            .collect();
        let format: codec::OutputFormat = accept.parse().unwrap();
        assert_eq!(
            plain.body.as_ref(),
            codec::encode(&predictions, format, codec::Shape::Native)
        );
    }
}

#[tokio::test]
async fn explain_with_the_rcf_or_sklearn_shape_or_a_bad_value_is_a_400_naming_it() {
    let rows = sample_rows();
    for shape in ["rcf", "sklearn"] {
        let attributes = format!("format={shape},explain=2");
        let request = post_with(Some("text/csv"), JSON, Some(&attributes), csv(&rows));
        let message = send(&app(), request)
            .await
            .expect_error(StatusCode::BAD_REQUEST, "bad_request");
        assert_eq!(
            message,
            format!(
                "explain= cannot be combined with format={shape}: the {shape} answer stays exactly as that system answers; ask for format=native (the default) to get explanations"
            )
        );
    }
    // A model whose own shape is sklearn refuses it too, and says how to get one.
    let model = model_copy().with_answer_shape(Some(forest::AnswerShape::Sklearn));
    let sklearn_app = isoserve::app(AppState::with_model(config(&[]), model));
    let request = post_with(Some("text/csv"), JSON, Some("explain=1"), csv(&rows));
    let message = send(&sklearn_app, request)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "bad_request");
    assert!(message.contains("format=native"), "{message}");
    let request = post_with(
        Some("text/csv"),
        JSON,
        Some("format=native,explain=1"),
        csv(&rows),
    );
    send(&sklearn_app, request).await.expect(StatusCode::OK);

    for bad in ["0", "many", "-2"] {
        let attributes = format!("explain={bad}");
        let request = post_with(Some("text/csv"), JSON, Some(&attributes), csv(&rows));
        let message = send(&app(), request)
            .await
            .expect_error(StatusCode::BAD_REQUEST, "bad_request");
        assert!(
            message.starts_with(&format!("invalid explain \"{bad}\"")),
            "{message}"
        );
    }
}

#[tokio::test]
async fn large_explained_batches_are_explained_in_parallel_off_the_executor() {
    let rows: Vec<Vec<f64>> = noise(3 * 3000, 41)
        .chunks(3)
        .map(|c| vec![20.0 + c[0], 1.0 + c[1], 0.5 + c[2]])
        .collect();
    let app = app_with(&["--parallel-rows", "100"]);
    let request = post_with(Some("text/csv"), JSON, Some("explain=2"), csv(&rows));
    let json = send(&app, request).await.expect(StatusCode::OK).json();
    assert_eq!(explanations(&json), library(model(), &rows, 0, 2));
}
