//! Clients written for the containers we replace get the library's scores from the default model.

use axum::http::StatusCode;
use forest::Model;
use isoserve::AppState;

use crate::common::*;

/// Rows spread around the training range of the default model, plus one far outlier.
fn rows_for(model: &Model) -> Vec<Vec<f64>> {
    let n = model.n_features();
    let mut rows: Vec<Vec<f64>> = noise(n * 20, 21).chunks(n).map(|c| c.to_vec()).collect();
    rows.push(vec![1e6; n]);
    rows
}

fn default_app() -> (axum::Router, Model) {
    let path = default_model_path();
    let model = Model::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let app = isoserve::app(AppState::with_model(
        config(&[]),
        Model::load(&path).unwrap(),
    ));
    (app, model)
}

#[tokio::test]
async fn python_container_clients_json_records_get_the_library_scores() {
    let (app, model) = default_app();
    let rows = rows_for(&model);
    let body = records(model.feature_names(), &rows).to_string();
    let reply = send(
        &app,
        post(Some("application/json"), Some("application/json"), body),
    )
    .await;
    let got = native_scores(&reply.expect(StatusCode::OK).json());
    let want: Vec<(f64, bool)> = library_scores(&model, &rows)
        .into_iter()
        .map(|s| (s, model.is_anomaly(s)))
        .collect();
    assert_eq!(got, want);

    // Their own answer shape, too: 1 normal, -1 anomaly.
    let body = records(model.feature_names(), &rows).to_string();
    let request = post_with(Some("application/json"), None, Some("format=sklearn"), body);
    let json = send(&app, request).await.expect(StatusCode::OK).json();
    let labels: Vec<i64> = want.iter().map(|p| if p.1 { -1 } else { 1 }).collect();
    assert_eq!(json, serde_json::json!({ "predictions": labels }));
}

#[tokio::test]
async fn random_cut_forest_clients_csv_with_format_rcf_get_the_library_scores() {
    let (app, model) = default_app();
    let rows = rows_for(&model);
    let request = post_with(
        Some("text/csv"),
        Some("application/json"),
        Some("format=rcf"),
        csv(&rows),
    );
    let json = send(&app, request).await.expect(StatusCode::OK).json();
    // What the RCF sample notebook does: [d['score'] for d in results['scores']].
    let scores: Vec<f64> = json["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["score"].as_f64().unwrap())
        .collect();
    assert_eq!(scores, library_scores(&model, &rows));
}

/// The default model, saying its clients expect `shape`, served with `flags`.
fn app_for_shape(shape: forest::AnswerShape, flags: &[&str]) -> (axum::Router, Model) {
    let (_, model) = default_app();
    let model = Model::from_bytes(&model.with_answer_shape(Some(shape)).to_bytes()).unwrap();
    let app = isoserve::app(AppState::with_model(config(flags), model.clone()));
    (app, model)
}

#[tokio::test]
async fn a_model_that_says_sklearn_answers_the_python_containers_clients_with_no_configuration() {
    let (app, model) = app_for_shape(forest::AnswerShape::Sklearn, &[]);
    let rows = rows_for(&model);
    let labels: Vec<i64> = library_scores(&model, &rows)
        .into_iter()
        .map(|s| if model.is_anomaly(s) { -1 } else { 1 })
        .collect();
    assert!(labels.contains(&-1) && labels.contains(&1));
    // What the Python container's Lambda sends: JSON records, no custom attributes.
    let body = records(model.feature_names(), &rows).to_string();
    let json = send(
        &app,
        post(
            Some("application/json"),
            Some("application/json"),
            body.clone(),
        ),
    )
    .await
    .expect(StatusCode::OK)
    .json();
    assert_eq!(json, serde_json::json!({ "predictions": labels }));
    // The request's own format= still wins.
    let request = post_with(
        Some("application/json"),
        None,
        Some("format=native"),
        body.clone(),
    );
    let json = send(&app, request).await.expect(StatusCode::OK).json();
    assert!(json["predictions"][0]["score"].is_number(), "{json}");
    // So does the server's setting.
    let (app, _) = app_for_shape(forest::AnswerShape::Sklearn, &["--output-format", "rcf"]);
    let json = send(&app, post(Some("application/json"), None, body))
        .await
        .expect(StatusCode::OK)
        .json();
    assert!(json["scores"][0]["score"].is_number(), "{json}");
}

#[tokio::test]
async fn a_model_that_says_rcf_answers_rcf_and_one_that_says_nothing_answers_native() {
    let (app, model) = app_for_shape(forest::AnswerShape::Rcf, &[]);
    let rows = rows_for(&model);
    let json = send(&app, post(Some("text/csv"), None, csv(&rows)))
        .await
        .expect(StatusCode::OK)
        .json();
    let scores: Vec<f64> = json["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["score"].as_f64().unwrap())
        .collect();
    assert_eq!(scores, library_scores(&model, &rows));
    let (app, model) = default_app();
    assert_eq!(model.metadata().answer_shape, None);
    let json = send(&app, post(Some("text/csv"), None, csv(&rows)))
        .await
        .expect(StatusCode::OK)
        .json();
    assert!(json["predictions"][0]["anomaly"].is_boolean(), "{json}");
}
