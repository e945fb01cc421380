//! Runtime behaviour: scoring work stays off the async executor.

use axum::http::StatusCode;

use crate::common::*;

#[tokio::test]
async fn ping_answers_while_a_large_batch_is_scoring() {
    let _heavy = HEAVY.lock().await;
    // A current-thread runtime (tokio::test's default) has one executor thread: if the batch were
    // scored on it, the ping below could not run until the batch was done.
    let app = app_with(&["--max-payload-mb", "100"]);
    let rows = 1_000_000;
    let body = "20.5,1.25,0.5\n".repeat(rows);
    let batch = tokio::spawn({
        let app = app.clone();
        async move { send(&app, post(Some("text/csv"), Some("text/csv"), body)).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;

    let ping = send(&app, get("/ping")).await.expect(StatusCode::OK);
    assert!(ping.body.is_empty());
    assert!(!batch.is_finished(), "/ping waited for the batch");

    let reply = batch.await.unwrap().expect(StatusCode::OK);
    assert_eq!(reply.text().lines().count(), rows);
}
