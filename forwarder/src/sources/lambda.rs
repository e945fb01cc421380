//! Lambda mode: a handler for Kinesis and Kafka (Amazon MSK, self-managed) events that reports
//! a partial batch response.
//!
//! Lambda's event-source mapping delivers the records of one Kinesis shard, or of several Kafka
//! topic-partitions, in order. When the endpoint still fails after retries, the handler reports
//! the first record it did not process (per topic-partition for Kafka); with
//! `ReportBatchItemFailures` enabled, Lambda checkpoints everything before it and retries from
//! there. Undecodable records never fail the batch (they are dead-lettered and skipped). The
//! stream named in alerts and dead letters is the event's (the Kinesis stream in
//! `eventSourceARN`, the Kafka topic) unless `STREAM_NAME` sets one.
//!
//! Lambda stops an invocation at its timeout and retries the whole batch, losing the progress
//! made. The handler therefore stops calling the endpoint a margin before the invocation's
//! deadline ([`stop_at`]) and reports what it finished, so an endpoint slower than the function's
//! timeout still moves the shard forward.

pub mod kafka;
pub mod kinesis;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::KinesisEventResponse;
use serde::{Deserialize, Serialize};
use tracing::Instrument;

use crate::config::LambdaConfig;
use crate::endpoint::Endpoint;
use crate::pipeline::Forwarder;
use crate::record::Record;
use crate::sinks::Sinks;
use kafka::{KafkaEvent, KafkaEventResponse};

/// An event the handler accepts. Kafka events are told apart by their `eventSource`, tumbling
/// window events by their `window`; anything else must be a plain Kinesis event.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StreamEvent {
    /// Amazon MSK or self-managed Kafka.
    Kafka(KafkaEvent),
    /// Kinesis Data Streams with a tumbling window (`TumblingWindowInSeconds` on the mapping).
    KinesisWindow(KinesisWindowEvent),
    /// Kinesis Data Streams.
    Kinesis(KinesisEvent),
}

/// The partial batch response, in the shape of the event's source.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum StreamResponse {
    /// For a Kafka event.
    Kafka(KafkaEventResponse),
    /// For a tumbling-window event: the state for the window's next invocation as well.
    KinesisWindow(KinesisWindowResponse),
    /// For a Kinesis event.
    Kinesis(KinesisEventResponse),
}

/// A Kinesis event of a tumbling window: the records, plus the state the window's previous
/// invocation returned (`null` or `{}` on its first).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KinesisWindowEvent {
    /// The records.
    #[serde(flatten)]
    pub kinesis: KinesisEvent,
    /// The window's bounds.
    pub window: Window,
    /// What the window's previous invocation returned. Read as any JSON, not only strings: an
    /// entry this handler did not write (a state left by another function on the same mapping)
    /// must not make the whole event unreadable, which would stall the shard.
    #[serde(default)]
    pub state: Option<HashMap<String, serde_json::Value>>,
    /// The shard.
    #[serde(default)]
    pub shard_id: Option<String>,
    /// The stream's ARN.
    #[serde(default, rename = "eventSourceARN")]
    pub event_source_arn: Option<String>,
    /// The window's last invocation: Lambda drops the state after it.
    #[serde(default)]
    pub is_final_invoke_for_window: bool,
    /// The window ended before its time (its state reached 1 MB).
    #[serde(default)]
    pub is_window_terminated_early: bool,
}

/// A tumbling window's bounds (RFC 3339).
#[derive(Debug, Clone, Deserialize)]
pub struct Window {
    /// Start.
    pub start: String,
    /// End.
    pub end: String,
}

/// The response to a tumbling-window event: `state` (the shard's trend contexts) and the partial
/// batch failures. `aws_lambda_events`' `KinesisTimeWindowEventResponse` cannot carry the latter.
#[derive(Debug, Clone, Serialize)]
pub struct KinesisWindowResponse {
    /// Handed to the window's next invocation.
    pub state: BTreeMap<String, String>,
    /// `batchItemFailures`.
    #[serde(flatten)]
    pub failures: KinesisEventResponse,
}

/// Most bytes of state returned: Lambda ends a window early when its state passes 1 MB; the rest
/// is headroom for the response around it.
pub const MAX_WINDOW_STATE_BYTES: usize = 900 * 1024;

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

/// Handles one event, calling the endpoint until `deadline` at most.
pub async fn handle<E: Endpoint, S: Sinks>(
    forwarder: &Forwarder<E, S>,
    event: &StreamEvent,
    deadline: Option<tokio::time::Instant>,
) -> StreamResponse {
    match event {
        StreamEvent::Kinesis(event) => {
            StreamResponse::Kinesis(handle_kinesis(forwarder, event, deadline).await)
        }
        StreamEvent::Kafka(event) => {
            StreamResponse::Kafka(handle_kafka(forwarder, event, deadline).await)
        }
        StreamEvent::KinesisWindow(event) => {
            StreamResponse::KinesisWindow(handle_kinesis_window(forwarder, event, deadline).await)
        }
    }
}

/// One invocation of a tumbling window: the trend contexts of the shard's keys come in with the
/// state and go out with it, so in trend-context mode each key is scored against its previous
/// rows whichever execution environment runs the invocation. (Lambda drops the state when a
/// window ends: the next window's first invocation falls back on what this process remembers.)
pub async fn handle_kinesis_window<E: Endpoint, S: Sinks>(
    forwarder: &Forwarder<E, S>,
    event: &KinesisWindowEvent,
    deadline: Option<tokio::time::Instant>,
) -> KinesisWindowResponse {
    if let Some(state) = &event.state {
        forwarder.load_window_state(
            state
                .iter()
                .filter_map(|(name, value)| Some((name, value.as_str()?))),
        );
    }
    let failures = handle_kinesis(forwarder, &event.kinesis, deadline).await;
    let records = &event.kinesis.records;
    let shard = event.shard_id.clone().or_else(|| {
        records
            .first()
            .and_then(|r| r.event_id.as_deref()?.split_once(':'))
            .map(|(shard, _)| shard.to_string())
    });
    let state = shard.map_or_else(BTreeMap::new, |shard| {
        forwarder.window_state(&shard, MAX_WINDOW_STATE_BYTES)
    });
    if event.is_window_terminated_early {
        tracing::warn!(
            "the tumbling window ended early; the next one starts from this process's memory"
        );
    }
    KinesisWindowResponse { state, failures }
}

/// One Kinesis shard's batch.
pub async fn handle_kinesis<E: Endpoint, S: Sinks>(
    forwarder: &Forwarder<E, S>,
    event: &KinesisEvent,
    deadline: Option<tokio::time::Instant>,
) -> KinesisEventResponse {
    let records = kinesis::records(event);
    let outcome = forwarder
        .process_until(&records, iterator_age_ms(&records), deadline)
        .await;
    let unfinished = outcome.failure.and_then(|_| records.get(outcome.done));
    kinesis::response(unfinished)
}

/// Every topic-partition of a Kafka event, one after another (each is ordered on its own; the
/// deadline is shared, so the partitions after it report their first record unprocessed).
pub async fn handle_kafka<E: Endpoint, S: Sinks>(
    forwarder: &Forwarder<E, S>,
    event: &KafkaEvent,
    deadline: Option<tokio::time::Instant>,
) -> KafkaEventResponse {
    let mut response = KafkaEventResponse::default();
    for (partition, batch) in &event.records {
        let records = kafka::records(partition, batch);
        let outcome = forwarder
            .process_until(&records, iterator_age_ms(&records), deadline)
            .await;
        if outcome.failure.is_some()
            && let Some(first) = batch.get(outcome.done)
        {
            response
                .batch_item_failures
                .push(kafka::failure(partition, first));
        }
    }
    response
}

/// The iterator age Lambda reports: the age of the batch's last record.
fn iterator_age_ms(records: &[Record]) -> Option<f64> {
    records
        .last()
        .and_then(|r| r.arrival)
        .map(|t| (chrono::Utc::now() - t).num_milliseconds().max(0) as f64)
}

/// The Lambda function as its binary runs it: builds the forwarder from `config` and serves
/// invocations from the Runtime API until the sandbox ends.
pub async fn serve(config: LambdaConfig) -> Result<(), lambda_runtime::Error> {
    let forwarder = std::sync::Arc::new(config.core.build().await);
    let margin = config.deadline_margin;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<StreamEvent>| {
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
    const MSK: &str = include_str!("../../tests/fixtures/msk-event.json");
    const SELF_MANAGED: &str = include_str!("../../tests/fixtures/self-managed-kafka-event.json");

    fn event() -> StreamEvent {
        serde_json::from_str(FIXTURE).unwrap()
    }

    fn kinesis_event() -> KinesisEvent {
        serde_json::from_str(FIXTURE).unwrap()
    }

    #[test]
    fn events_map_to_records() {
        assert!(matches!(event(), StreamEvent::Kinesis(_)));
        let recs = kinesis::records(&kinesis_event());
        assert_eq!(recs[0].source.as_deref(), Some("test-stream"));
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
        // One alert per key: the fixture's rows with a first value above 0.5 are flagged.
        assert_eq!(
            alert_subjects(&fwd),
            [
                "s1: 1 anomaly on test-stream",
                "s3: 1 anomaly on test-stream"
            ]
        );
    }

    #[tokio::test]
    async fn each_record_of_an_event_goes_to_its_keys_model_and_a_missing_one_is_parked() {
        let endpoint = FakeEndpoint {
            missing_models: vec!["s3.tar.gz".into()],
            ..Default::default()
        };
        let mut fwd = forwarder(endpoint, MemorySinks::default());
        fwd.settings_mut().target_model = Some(crate::pipeline::TargetModelFrom::PartitionKey);
        let json = serde_json::to_value(handle(&fwd, &event(), None).await).unwrap();
        // Parked, not failed: the batch is done.
        assert_eq!(json, serde_json::json!({"batchItemFailures": []}));
        let mut targets: Vec<Option<String>> = fwd
            .endpoint()
            .targeted
            .lock()
            .unwrap()
            .iter()
            .map(|(t, _)| t.clone())
            .collect();
        targets.sort();
        // s2 is the fixture's undecodable record; s3 has no model; s4 is KPL-aggregated, and its
        // user record's own key (sensor-7) names its model.
        assert_eq!(
            targets,
            [
                Some("s0.tar.gz".into()),
                Some("s1.tar.gz".into()),
                Some("sensor-7.tar.gz".into())
            ]
        );
        let dead = fwd.sinks().dead.lock().unwrap().clone();
        assert_eq!(dead.len(), 2, "{dead:?}");
        assert!(
            dead.iter().any(|d| d.contains("no model s3.tar.gz")),
            "{dead:?}"
        );
        assert_eq!(alert_subjects(&fwd), ["s1: 1 anomaly on test-stream"]);
    }

    #[tokio::test]
    async fn trend_context_carries_from_one_event_to_the_next() {
        let mut fwd = forwarder(FakeEndpoint::default(), MemorySinks::default());
        fwd.settings_mut().trend_context = 3;
        let mut first = kinesis_event();
        for r in &mut first.records {
            r.kinesis.partition_key = "s".into();
        }
        // The next batch of the shard: the same payloads, later sequence numbers.
        let mut second = first.clone();
        for r in &mut second.records {
            r.kinesis.sequence_number.push('0');
        }
        for ev in [first, second] {
            let ev = StreamEvent::Kinesis(ev);
            let json = serde_json::to_value(handle(&fwd, &ev, None).await).unwrap();
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

    /// The fixture's records keyed "s", then the same payloads later in the shard.
    fn two_batches() -> (KinesisEvent, KinesisEvent) {
        let mut first = kinesis_event();
        for r in &mut first.records {
            r.kinesis.partition_key = "s".into();
        }
        let mut second = first.clone();
        for r in &mut second.records {
            r.kinesis.sequence_number.push('0');
        }
        (first, second)
    }

    /// `batch` as an invocation of a tumbling window holding `state`.
    fn window_event(batch: &KinesisEvent, state: serde_json::Value, early: bool) -> StreamEvent {
        let mut json = serde_json::to_value(batch).unwrap();
        let extra = serde_json::json!({
            "window": {"start": "2026-12-02T10:00:00Z", "end": "2026-12-02T10:15:00Z"},
            "state": state,
            "shardId": "shardId-000000000000",
            "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/test-stream",
            "isFinalInvokeForWindow": false,
            "isWindowTerminatedEarly": early
        });
        json.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let event: StreamEvent = serde_json::from_value(json).unwrap();
        assert!(matches!(event, StreamEvent::KinesisWindow(_)));
        event
    }

    fn trend_forwarder(endpoint: FakeEndpoint) -> Forwarder<FakeEndpoint, MemorySinks> {
        let mut fwd = forwarder(endpoint, MemorySinks::default());
        fwd.settings_mut().trend_context = 3;
        fwd
    }

    type Requests = Vec<(Option<usize>, Vec<f64>)>;

    fn requests(fwd: &Forwarder<FakeEndpoint, MemorySinks>) -> Requests {
        fwd.endpoint().requests.lock().unwrap().clone()
    }

    #[tokio::test]
    async fn a_tumbling_window_carries_each_keys_context_between_environments() {
        let (first, second) = two_batches();
        // Reference: one process scoring both batches, as the standalone mode does.
        let whole = trend_forwarder(FakeEndpoint::default());
        for ev in [&first, &second] {
            handle(&whole, &StreamEvent::Kinesis(ev.clone()), None).await;
        }
        let want_second: Requests = requests(&whole)[2..].to_vec();
        assert_eq!(want_second[0].0, Some(3), "the reference uses the context");

        // The window's first invocation (state null) in one environment ...
        let one = trend_forwarder(FakeEndpoint::default());
        let response = handle(
            &one,
            &window_event(&first, serde_json::Value::Null, false),
            None,
        )
        .await;
        let response = serde_json::to_value(response).unwrap();
        assert_eq!(response["batchItemFailures"], serde_json::json!([]));
        let state = response["state"].clone();
        assert!(
            state["ctx:s"].is_string() && state["ctx:sensor-7"].is_string(),
            "{state}"
        );

        // ... and its second in another: the same requests as the whole series'.
        let two = trend_forwarder(FakeEndpoint::default());
        let out = handle(&two, &window_event(&second, state.clone(), false), None).await;
        assert_eq!(requests(&two), want_second);
        let again = serde_json::to_value(out).unwrap()["state"].clone();
        assert_ne!(again, state, "the state moves on with the window");

        // A retried batch (Lambda hands the same state again) is scored the same way.
        let retry = trend_forwarder(FakeEndpoint::default());
        handle(&retry, &window_event(&second, state.clone(), false), None).await;
        assert_eq!(requests(&retry), want_second);

        // A window that ended early hands its state over like any other invocation ...
        let early = trend_forwarder(FakeEndpoint::default());
        handle(&early, &window_event(&second, state, true), None).await;
        assert_eq!(requests(&early), want_second);
        // ... and the next window starts empty: a new environment has no context to give,
        // the environment that scored the previous rows still has them.
        let fresh = trend_forwarder(FakeEndpoint::default());
        handle(
            &fresh,
            &window_event(&second, serde_json::json!({}), false),
            None,
        )
        .await;
        assert_eq!(requests(&fresh)[0].0, Some(0));
        handle(
            &one,
            &window_event(&second, serde_json::json!({}), false),
            None,
        )
        .await;
        assert_eq!(requests(&one)[2..].to_vec(), want_second);
    }

    #[tokio::test]
    async fn the_documented_window_event_with_a_foreign_state_is_read() {
        // AWS's example event: its state holds numbers another function returned.
        const WINDOW: &str = include_str!("../../tests/fixtures/kinesis-window-event.json");
        let event: StreamEvent = serde_json::from_str(WINDOW).unwrap();
        let StreamEvent::KinesisWindow(window) = &event else {
            panic!("not read as a window event")
        };
        assert_eq!(window.shard_id.as_deref(), Some("shardId-000000000006"));
        assert_eq!(window.window.end, "2020-12-09T07:06:00Z");
        let fwd = trend_forwarder(FakeEndpoint::default());
        let response = serde_json::to_value(handle(&fwd, &event, None).await).unwrap();
        assert_eq!(response["batchItemFailures"], serde_json::json!([]));
        // The foreign entries are ignored; the key's context is returned.
        let state = response["state"].as_object().unwrap();
        assert_eq!(state.keys().collect::<Vec<_>>(), ["ctx:1"]);
        assert_eq!(alert_subjects(&fwd), Vec::<String>::new());
    }

    #[tokio::test]
    async fn a_window_still_reports_partial_failures_and_keeps_its_state_bounded() {
        let (first, _) = two_batches();
        let mut fwd = two_rows_a_request(FakeEndpoint::failing_after(1));
        fwd.settings_mut().trend_context = 3;
        let response = handle(
            &fwd,
            &window_event(&first, serde_json::Value::Null, false),
            None,
        )
        .await;
        let response = serde_json::to_value(response).unwrap();
        assert_eq!(response["batchItemFailures"].as_array().unwrap().len(), 1);
        assert!(response["state"].is_object());
        // Many keys in a small budget: the most recently used ones are kept, within it.
        let many = trend_forwarder(FakeEndpoint::default());
        let mut batch = kinesis_event();
        batch.records.truncate(1);
        let template = batch.records[0].clone();
        batch.records = (0..200)
            .map(|i| {
                let mut r = template.clone();
                r.kinesis.partition_key = format!("key-{i:03}");
                r.kinesis.sequence_number = format!("{}", 1_000_000 + i);
                r
            })
            .collect();
        handle(&many, &StreamEvent::Kinesis(batch), None).await;
        let state = many.window_state("shardId-000000000000", 4096);
        let bytes = serde_json::to_string(&state).unwrap().len();
        assert!(
            bytes <= 4096 && state.len() > 10 && state.len() < 200,
            "{bytes} {}",
            state.len()
        );
        assert!(state.contains_key("ctx:key-199") && !state.contains_key("ctx:key-000"));
        assert!(many.window_state("shardId-000000000000", 1 << 20).len() == 200);
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
        resp: &StreamResponse,
    ) {
        assert_eq!(
            serde_json::to_value(resp).unwrap(),
            serde_json::json!({"batchItemFailures": [
                {"itemIdentifier": "49568167373333333334444444444444444444444444444444444446"}
            ]})
        );
        // Alerts cover only processed records.
        assert_eq!(alert_subjects(fwd), ["s1: 1 anomaly on test-stream"]);
    }

    fn alert_subjects(fwd: &Forwarder<FakeEndpoint, MemorySinks>) -> Vec<String> {
        let alerts = fwd.sinks().alerts.lock().unwrap().clone();
        alerts.into_iter().map(|(subject, _)| subject).collect()
    }

    #[tokio::test]
    async fn alerts_name_the_stream_of_the_event_unless_one_is_configured() {
        let mut fwd = forwarder(FakeEndpoint::default(), MemorySinks::default());
        fwd.settings_mut().stream = None;
        handle(&fwd, &event(), None).await;
        assert_eq!(
            alert_subjects(&fwd),
            [
                "s1: 1 anomaly on test-stream",
                "s3: 1 anomaly on test-stream"
            ]
        );
        let letter: serde_json::Value =
            serde_json::from_str(&fwd.sinks().dead.lock().unwrap()[0]).unwrap();
        assert_eq!(letter["stream"], "test-stream");

        let mut fwd = forwarder(FakeEndpoint::default(), MemorySinks::default());
        fwd.settings_mut().stream = Some("plant-7".into());
        handle(&fwd, &event(), None).await;
        assert_eq!(
            alert_subjects(&fwd),
            ["s1: 1 anomaly on plant-7", "s3: 1 anomaly on plant-7"]
        );
    }

    #[tokio::test]
    async fn msk_and_self_managed_kafka_events_are_scored_per_topic_partition() {
        for fixture in [MSK, SELF_MANAGED] {
            let event: StreamEvent = serde_json::from_str(fixture).unwrap();
            let StreamEvent::Kafka(kafka) = &event else {
                panic!("a Kafka event read as Kinesis")
            };
            assert_eq!(kafka.records.len(), 2);
            let mut fwd = forwarder(FakeEndpoint::default(), MemorySinks::default());
            fwd.settings_mut().stream = None;
            let response = serde_json::to_value(handle(&fwd, &event, None).await).unwrap();
            assert_eq!(response, serde_json::json!({"batchItemFailures": []}));
            // 0.9 from sensor-1 (in sensors-0) and 0.7 from sensor-2 (in sensors-1), named by
            // topic.
            assert_eq!(
                alert_subjects(&fwd),
                [
                    "sensor-1: 1 anomaly on sensors",
                    "sensor-2: 1 anomaly on sensors"
                ]
            );
            // The four-column record is dead-lettered by topic-partition and offset.
            let dead = fwd.sinks().dead.lock().unwrap().clone();
            assert_eq!(dead.len(), 1);
            let letter: serde_json::Value = serde_json::from_str(&dead[0]).unwrap();
            assert_eq!(
                (
                    &letter["stream"],
                    &letter["shard_id"],
                    &letter["sequence_number"]
                ),
                (
                    &serde_json::json!("sensors"),
                    &serde_json::json!("sensors-0"),
                    &serde_json::json!("17")
                )
            );
            assert_eq!(letter["partition_key"], "sensor-2");
        }
    }

    #[test]
    fn kafka_records_map_offsets_keys_and_times() {
        let StreamEvent::Kafka(event) = serde_json::from_str(MSK).unwrap() else {
            panic!("not read as Kafka")
        };
        let recs = kafka::records("sensors-1", &event.records["sensors-1"]);
        assert_eq!(recs[0].source.as_deref(), Some("sensors"));
        assert_eq!(recs[0].shard_id, "sensors-1");
        assert_eq!(recs[0].sequence_number, "40");
        // No key: the topic-partition keys the record.
        assert_eq!(recs[0].partition_key, "sensors-1");
        assert_eq!(recs[1].partition_key, "sensor-2");
        assert_eq!(recs[0].data, b"0.2,0.2,0.2");
        assert_eq!(recs[0].arrival.unwrap().timestamp_millis(), 1545084650990);
    }

    #[tokio::test]
    async fn a_kafka_partition_that_fails_reports_its_first_unprocessed_offset() {
        // Two rows a request; only the first request succeeds. sensors-0 finishes with it (its
        // third record is undecodable, so skipped); sensors-1's request fails.
        let fwd = two_rows_a_request(FakeEndpoint::failing_after(1));
        let event: StreamEvent = serde_json::from_str(MSK).unwrap();
        let response = serde_json::to_value(handle(&fwd, &event, None).await).unwrap();
        assert_eq!(
            response,
            serde_json::json!({"batchItemFailures": [
                {"itemIdentifier": {"partition": "sensors-1", "offset": 40}}
            ]})
        );
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
