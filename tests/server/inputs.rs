//! Every request body shape decodes into the same rows and gets the library's scores.

use axum::http::StatusCode;
use serde_json::json;

use crate::common::*;

async fn native(content_type: &str, body: impl Into<axum::body::Body>) -> Vec<(f64, bool)> {
    let reply = send(&app(), post(Some(content_type), None, body)).await;
    let reply = reply.expect(StatusCode::OK);
    assert_eq!(reply.content_type(), "application/json");
    native_scores(&reply.json())
}

#[tokio::test]
async fn csv_rows_score_like_the_library() {
    let rows = sample_rows();
    assert_eq!(native("text/csv", csv(&rows)).await, expected(&rows));
}

#[tokio::test]
async fn csv_accepts_crlf_missing_final_newline_and_parameters() {
    let rows = sample_rows();
    let crlf = csv(&rows).replace('\n', "\r\n");
    let unterminated = csv(&rows).trim_end().to_owned();
    for (content_type, body) in [
        ("text/csv", crlf),
        ("text/csv; charset=utf-8", unterminated.clone()),
        ("text/csv; label_size=0", unterminated.clone()),
        ("Text/CSV", unterminated),
    ] {
        assert_eq!(
            native(content_type, body).await,
            expected(&rows),
            "{content_type}"
        );
    }
}

#[tokio::test]
async fn csv_header_may_reorder_columns() {
    let rows = sample_rows();
    let mut body = String::from("vibration,temperature,pressure\n");
    for r in &rows {
        body += &format!("{},{},{}\n", r[2], r[0], r[1]);
    }
    assert_eq!(native("text/csv", body).await, expected(&rows));
}

#[tokio::test]
async fn json_array_of_arrays() {
    let rows = sample_rows();
    assert_eq!(
        native("application/json", json!(rows).to_string()).await,
        expected(&rows)
    );
}

#[tokio::test]
async fn json_records_keyed_by_feature_name_in_any_key_order() {
    let rows = sample_rows();
    let body: Vec<_> = rows
        .iter()
        .map(|r| json!({"vibration": r[2], "pressure": r[1], "temperature": r[0]}))
        .collect();
    assert_eq!(
        native("application/json; charset=utf-8", json!(body).to_string()).await,
        expected(&rows)
    );
}

#[tokio::test]
async fn json_sagemaker_instances_forms() {
    let rows = sample_rows();
    let arrays = json!({ "instances": rows });
    let features: Vec<_> = rows.iter().map(|r| json!({ "features": r })).collect();
    let features = json!({ "instances": features });
    for body in [arrays, features] {
        assert_eq!(
            native("application/json", body.to_string()).await,
            expected(&rows),
            "{body}"
        );
    }
}

#[tokio::test]
async fn json_single_row_as_flat_array_or_one_record() {
    let row = sample_rows().remove(3);
    let flat = json!(row);
    let record = json!({"temperature": row[0], "pressure": row[1], "vibration": row[2]});
    for body in [flat, record] {
        assert_eq!(
            native("application/json", body.to_string()).await,
            expected(std::slice::from_ref(&row)),
            "{body}"
        );
    }
}

#[tokio::test]
async fn jsonlines_rows_in_any_json_row_shape() {
    let rows = sample_rows();
    let body = format!(
        "{}\n{}\n{}\n{}",
        json!(rows[0]),
        json!({"pressure": rows[1][1], "vibration": rows[1][2], "temperature": rows[1][0]}),
        json!({"features": rows[2]}),
        json!(rows[3]),
    );
    assert_eq!(native("application/jsonlines", body).await, expected(&rows));
}

/// An npy file (format 1.0) holding `values` with the given dtype and shape.
#[tokio::test]
async fn npy_float64_matrix_and_float32_row() {
    let rows = sample_rows();
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    let matrix = npy("<f8", &format!("({}, 3)", rows.len()), &flat);
    assert_eq!(native("application/x-npy", matrix).await, expected(&rows));

    // float32 rounds the values; the expected scores are those of the rounded row.
    let row: Vec<f64> = rows[3].iter().map(|v| *v as f32 as f64).collect();
    let single = npy("<f4", "(3,)", &row);
    assert_eq!(
        native("application/x-npy", single).await,
        expected(std::slice::from_ref(&row))
    );
}

#[tokio::test]
async fn multi_record_batches_answer_one_line_per_input_line_in_order() {
    let rows: Vec<Vec<f64>> = noise(3 * 500, 5)
        .chunks(3)
        .map(|c| vec![20.0 + c[0] * 3.0, 1.0 + c[1] * 3.0, 0.5 + c[2] * 3.0])
        .collect();
    let want = expected(&rows);

    let reply = send(&app(), post(Some("text/csv"), Some("text/csv"), csv(&rows))).await;
    let reply = reply.expect(StatusCode::OK);
    assert_eq!(reply.content_type(), "text/csv");
    let lines: Vec<&str> = reply.text().lines().collect();
    assert_eq!(lines.len(), rows.len());
    for (line, (score, anomaly)) in lines.iter().zip(&want) {
        let (s, a) = line.split_once(',').expect("score,anomaly");
        assert_eq!(s.parse::<f64>().unwrap(), *score);
        assert_eq!(a, anomaly.to_string());
    }

    let jsonl: String = rows.iter().map(|r| json!(r).to_string() + "\n").collect();
    let accept = Some("application/jsonlines");
    let reply = send(&app(), post(Some("application/jsonlines"), accept, jsonl)).await;
    let reply = reply.expect(StatusCode::OK);
    assert_eq!(reply.content_type(), "application/jsonlines");
    let got: Vec<(f64, bool)> = reply
        .text()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["score"].as_f64().unwrap(),
                v["anomaly"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn large_batches_offloaded_and_parallel_score_the_same() {
    let _heavy = HEAVY.lock().await;
    // Above the offload size and the parallel threshold: the blocking pool and rayon path.
    let rows: Vec<Vec<f64>> = noise(3 * 20_000, 9)
        .chunks(3)
        .map(|c| vec![20.0 + c[0] * 4.0, 1.0 + c[1] * 4.0, 0.5 + c[2] * 4.0])
        .collect();
    let body = csv(&rows);
    assert!(body.len() > isoserve::routes::invocations::OFFLOAD_BYTES);
    let app = app_with(&["--parallel-rows", "1000"]);
    let reply = send(&app, post(Some("text/csv"), None, body)).await;
    assert_eq!(
        native_scores(&reply.expect(StatusCode::OK).json()),
        expected(&rows)
    );
}

#[tokio::test]
async fn empty_fields_nan_and_null_are_missing_values_and_score_like_the_library() {
    // The rule (codec): an empty CSV field, `nan` in any case and JSON null are a missing value
    // (NaN), which the forest routes as scikit-learn does; infinity is refused.
    let row = vec![20.2, f64::NAN, 0.4];
    let want = model().score_row(&row).unwrap();
    for (content_type, body) in [
        ("text/csv", "20.2,,0.4\n"),
        ("text/csv", "20.2,NaN,0.4\n"),
        ("application/json", "[[20.2, null, 0.4]]"),
        (
            "application/json",
            r#"[{"temperature": 20.2, "pressure": null, "vibration": 0.4}]"#,
        ),
    ] {
        let got = native(content_type, body).await;
        assert_eq!(got, vec![(want, model().is_anomaly(want))], "{body}");
    }
    let reply = send(&app(), post(Some("text/csv"), None, "20.2,inf,0.4\n")).await;
    let message = reply.expect_error(StatusCode::BAD_REQUEST, "bad_request");
    assert!(message.starts_with("row 1, pressure:"), "{message}");
}
