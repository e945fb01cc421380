//! Lambda mode: a handler for Kinesis events that reports a partial batch response.
//!
//! Lambda's event-source mapping delivers the records of one shard in order. When the endpoint
//! still fails after retries, the handler returns the sequence number of the first record it
//! did not process in `batchItemFailures`; with `ReportBatchItemFailures` enabled, Lambda
//! checkpoints everything before it and retries from there. Undecodable records never fail the
//! batch (they are dead-lettered and skipped).
//!
//! Lambda stops an invocation at its timeout and retries the whole batch, losing the progress
//! made. The handler therefore stops calling the endpoint a margin before the invocation's
//! deadline ([`stop_at`]) and reports what it finished, so an endpoint slower than the function's
//! timeout still moves the shard forward.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::KinesisEventResponse;
use tracing::Instrument;

use crate::config::LambdaConfig;
use crate::endpoint::Endpoint;
use crate::pipeline::Forwarder;
use crate::record::Record;
use crate::sinks::Sinks;

/// The forwarder's records for a Lambda event. The shard id is the part of `eventID` before
/// the colon (`shardId-000000000000:4959...`).
pub fn records(event: &KinesisEvent) -> Vec<Record> {
    event
        .records
        .iter()
        .map(|r| Record {
            shard_id: r
                .event_id
                .as_deref()
                .and_then(|id| id.split_once(':'))
                .map_or_else(|| "unknown".to_string(), |(shard, _)| shard.to_string()),
            sequence_number: r.kinesis.sequence_number.clone(),
            partition_key: r.kinesis.partition_key.clone(),
            data: r.kinesis.data.0.clone(),
            arrival: Some(*r.kinesis.approximate_arrival_timestamp),
        })
        .collect()
}

/// When to stop calling the endpoint: `margin` before the invocation's deadline (milliseconds
/// since the epoch, as the Runtime API sends it), or half the time left when less than the margin
/// remains (some progress beats none).
pub fn stop_at(deadline_ms: u64, margin: Duration, now: SystemTime) -> tokio::time::Instant {
    let now_ms = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let left = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
    let budget = if left > margin * 2 {
        left - margin
    } else {
        left / 2
    };
    tokio::time::Instant::now() + budget
}

/// Handles one event, calling the endpoint until `deadline` at most. Lambda's iterator age is the
/// age of the last record of the batch.
pub async fn handle<E: Endpoint, S: Sinks>(
    forwarder: &Forwarder<E, S>,
    event: &KinesisEvent,
    deadline: Option<tokio::time::Instant>,
) -> KinesisEventResponse {
    let records = records(event);
    let age = records
        .last()
        .and_then(|r| r.arrival)
        .map(|t| (chrono::Utc::now() - t).num_milliseconds().max(0) as f64);
    let outcome = forwarder.process_until(&records, age, deadline).await;
    let mut response = KinesisEventResponse::default();
    if outcome.failure.is_some()
        && let Some(first) = records.get(outcome.done)
    {
        response.add_failure(first.sequence_number.clone());
    }
    response
}

/// The Lambda function as its binary runs it: builds the forwarder from `config` and serves
/// invocations from the Runtime API until the sandbox ends.
pub async fn serve(config: LambdaConfig) -> Result<(), lambda_runtime::Error> {
    let forwarder = std::sync::Arc::new(config.core.build().await);
    let margin = config.deadline_margin;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<KinesisEvent>| {
            let forwarder = forwarder.clone();
            // Every log line of the invocation carries its request id.
            let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
            async move {
                let deadline = stop_at(event.context.deadline, margin, SystemTime::now());
                // Boxed: the handler's future nests deep enough to pass the compiler's layout
                // recursion limit inside the runtime's own futures.
                let response = Box::pin(handle(&forwarder, &event.payload, Some(deadline))).await;
                Ok::<_, lambda_runtime::Error>(response)
            }
            .instrument(span)
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::{FakeEndpoint, forwarder};
    use crate::sinks::MemorySinks;

    const FIXTURE: &str = include_str!("../../tests/fixtures/kinesis-event.json");

    fn event() -> KinesisEvent {
        serde_json::from_str(FIXTURE).unwrap()
    }

    #[test]
    fn events_map_to_records() {
        let recs = records(&event());
        assert_eq!(recs.len(), 5);
        assert_eq!(recs[0].shard_id, "shardId-000000000000");
        assert_eq!(
            recs[0].sequence_number,
            "49568167373333333333333333333333333333333333333333333333"
        );
        assert_eq!(recs[0].data, b"0.1,0.2,0.3");
        assert_eq!(recs[0].arrival.unwrap().timestamp(), 1480641523);
    }

    #[tokio::test]
    async fn a_healthy_batch_reports_no_failure() {
        let fwd = forwarder(FakeEndpoint::default(), MemorySinks::default());
        let resp = handle(&fwd, &event(), None).await;
        let json = serde_json::to_value(&resp).unwrap();
        assert_eq!(json, serde_json::json!({"batchItemFailures": []}));
        // The undecodable record went to the dead-letter queue with its sequence number.
        let dead = fwd.sinks().dead.lock().unwrap().clone();
        assert_eq!(dead.len(), 1);
        let letter: serde_json::Value = serde_json::from_str(&dead[0]).unwrap();
        assert_eq!(
            letter["sequence_number"],
            "49568167373333333334444444444444444444444444444444444445"
        );
        // One alert for the batch: the fixture's rows with a first value above 0.5 are flagged.
        let alerts = fwd.sinks().alerts.lock().unwrap().clone();
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].0, "2 anomalies on test-stream");
    }

    #[tokio::test]
    async fn trend_context_carries_from_one_event_to_the_next() {
        let mut fwd = forwarder(FakeEndpoint::default(), MemorySinks::default());
        fwd.settings_mut().trend_context = 3;
        let mut first = event();
        for r in &mut first.records {
            r.kinesis.partition_key = "s".into();
        }
        // The next batch of the shard: the same payloads, later sequence numbers.
        let mut second = first.clone();
        for r in &mut second.records {
            r.kinesis.sequence_number.push('0');
        }
        for ev in [&first, &second] {
            let json = serde_json::to_value(handle(&fwd, ev, None).await).unwrap();
            assert_eq!(json, serde_json::json!({"batchItemFailures": []}));
        }
        let requests = fwd.endpoint().requests.lock().unwrap().clone();
        // Key "s" holds rows 0.1, 0.9 and 0.7; the KPL record's user records are keyed sensor-7.
        assert_eq!(
            requests,
            [
                (Some(0), vec![0.1, 0.9, 0.7]),
                (Some(0), vec![0.1, 0.2]),
                (Some(3), vec![0.1, 0.9, 0.7, 0.1, 0.9, 0.7]),
                (Some(2), vec![0.1, 0.2, 0.1, 0.2]),
            ]
        );
    }

    #[tokio::test]
    async fn an_endpoint_outage_reports_the_first_unprocessed_record() {
        // Calls succeed for the first request only; then the endpoint keeps answering 503.
        let fwd = two_rows_a_request(FakeEndpoint::failing_after(1));
        let resp = handle(&fwd, &event(), None).await;
        assert_only_the_first_request_counted(&fwd, &resp);
    }

    /// A forwarder sending two rows per request, one request at a time.
    fn two_rows_a_request(endpoint: FakeEndpoint) -> Forwarder<FakeEndpoint, MemorySinks> {
        let mut fwd = forwarder(endpoint, MemorySinks::default());
        fwd.settings_mut().budget = crate::pipeline::pack::Budget::new(2, 1 << 20);
        fwd.settings_mut().concurrency = 1;
        fwd
    }

    /// The fixture's first request (records 1 and 2) was scored and routed, nothing after it:
    /// record 3 is undecodable (skipped), so the first record not processed is record 4.
    fn assert_only_the_first_request_counted(
        fwd: &Forwarder<FakeEndpoint, MemorySinks>,
        resp: &KinesisEventResponse,
    ) {
        assert_eq!(
            serde_json::to_value(resp).unwrap(),
            serde_json::json!({"batchItemFailures": [
                {"itemIdentifier": "49568167373333333334444444444444444444444444444444444446"}
            ]})
        );
        // Alerts cover only processed records.
        let alerts = fwd.sinks().alerts.lock().unwrap().clone();
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].0, "1 anomaly on test-stream");
    }

    #[test]
    fn the_stop_time_keeps_the_margin_or_half_of_what_is_left() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let base = tokio::time::Instant::now();
        let margin = Duration::from_secs(2);
        // 30 s left: stop 2 s before the deadline.
        let at = stop_at(1_000_030_000, margin, now) - base;
        assert!(
            at >= Duration::from_secs(28) && at < Duration::from_millis(28_500),
            "{at:?}"
        );
        // 3 s left (under twice the margin): half of it.
        let at = stop_at(1_000_003_000, margin, now) - base;
        assert!(
            at >= Duration::from_millis(1_500) && at < Duration::from_secs(2),
            "{at:?}"
        );
        // Already past: now.
        let at = stop_at(999_000_000, margin, now) - base;
        assert!(at < Duration::from_millis(500), "{at:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_endpoint_slower_than_the_deadline_costs_only_the_unfinished_suffix() {
        // The first request answers at once, every later one takes 60 s: past the deadline.
        let fwd = two_rows_a_request(FakeEndpoint::slow_after(1, Duration::from_secs(60)));
        let started = tokio::time::Instant::now();
        let deadline = started + Duration::from_secs(5);
        let resp = handle(&fwd, &event(), Some(deadline)).await;
        // The handler answered at the deadline, not after the slow call.
        assert_eq!(
            tokio::time::Instant::now() - started,
            Duration::from_secs(5)
        );
        assert_only_the_first_request_counted(&fwd, &resp);
    }
}
