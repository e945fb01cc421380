//! Kinesis events: records, the stream they name, and the partial batch response.

use std::sync::Arc;

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::KinesisEventResponse;

use crate::record::Record;

/// The forwarder's records for a Kinesis event. The shard id is the part of `eventID` before the
/// colon (`shardId-000000000000:4959...`); the source is the stream named by `eventSourceARN`.
pub fn records(event: &KinesisEvent) -> Vec<Record> {
    let mut last: Option<(&str, Arc<str>)> = None;
    event
        .records
        .iter()
        .map(|r| {
            // Every record of an event names the same stream: share one string.
            let source = r.event_source_arn.as_deref().map(|arn| match &last {
                Some((seen, name)) if *seen == arn => name.clone(),
                _ => {
                    let name: Arc<str> = stream_name(arn).into();
                    last = Some((arn, name.clone()));
                    name
                }
            });
            Record {
                source,
                shard_id: r
                    .event_id
                    .as_deref()
                    .and_then(|id| id.split_once(':'))
                    .map_or_else(|| "unknown".to_string(), |(shard, _)| shard.to_string()),
                sequence_number: r.kinesis.sequence_number.clone(),
                partition_key: r.kinesis.partition_key.clone(),
                data: r.kinesis.data.0.clone(),
                arrival: Some(*r.kinesis.approximate_arrival_timestamp),
            }
        })
        .collect()
}

/// The stream's name in a Kinesis ARN (`arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`, or a
/// consumer's `.../stream/NAME/consumer/...`); the ARN itself when it has no such part.
pub fn stream_name(arn: &str) -> &str {
    arn.split_once(":stream/")
        .map_or(arn, |(_, rest)| rest.split('/').next().unwrap_or(rest))
}

/// The response that makes Lambda retry from `first_unprocessed` (or nothing, when `None`).
pub fn response(first_unprocessed: Option<&Record>) -> KinesisEventResponse {
    let mut response = KinesisEventResponse::default();
    if let Some(first) = first_unprocessed {
        response.add_failure(first.sequence_number.clone());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::stream_name;

    #[test]
    fn the_stream_name_comes_from_the_arn() {
        assert_eq!(
            stream_name("arn:aws:kinesis:us-east-1:123456789012:stream/sensors"),
            "sensors"
        );
        assert_eq!(
            stream_name("arn:aws:kinesis:eu-west-1:1:stream/s-1/consumer/c:1700000000"),
            "s-1"
        );
        assert_eq!(stream_name("not-an-arn"), "not-an-arn");
    }
}
