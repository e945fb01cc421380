//! Where results go: anomaly alerts to SNS, every result to S3 (optional), undecodable records to
//! an SQS dead-letter queue (optional).

use std::future::Future;

use aws_sdk_s3::primitives::ByteStream;
use thiserror::Error;

pub mod metrics;
pub mod policy;
pub mod route;

/// A sink call that failed (after the SDK's own retries).
#[derive(Debug, Error, PartialEq)]
#[error("{sink}: {message}")]
pub struct SinkError {
    /// Which sink: `sns`, `s3` or `sqs`.
    pub sink: &'static str,
    /// What went wrong.
    pub message: String,
}

/// The forwarder's outputs. Implemented by [`AwsSinks`] and by in-memory fakes in tests.
pub trait Sinks: Send + Sync {
    /// Publishes one alert message.
    fn alert(
        &self,
        subject: String,
        message: String,
    ) -> impl Future<Output = Result<(), SinkError>> + Send;
    /// Whether results are stored at all (lets the forwarder skip building them).
    fn stores_results(&self) -> bool;
    /// Stores a JSON Lines object under `key`.
    fn store(
        &self,
        key: String,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<(), SinkError>> + Send;
    /// Sends a dead-letter message (a JSON document); a no-op when no queue is configured.
    fn dead_letter(&self, message: String) -> impl Future<Output = Result<(), SinkError>> + Send;
}

/// The real sinks. Each one is optional; an absent sink drops its messages (alerts are then
/// only logged).
#[derive(Debug, Clone, Default)]
pub struct AwsSinks {
    /// SNS client and topic ARN for alerts.
    pub sns: Option<(aws_sdk_sns::Client, String)>,
    /// S3 client, bucket and key prefix for results.
    pub s3: Option<(aws_sdk_s3::Client, String, String)>,
    /// SQS client and queue URL for dead letters.
    pub sqs: Option<(aws_sdk_sqs::Client, String)>,
}

impl Sinks for AwsSinks {
    async fn alert(&self, subject: String, message: String) -> Result<(), SinkError> {
        let Some((client, topic)) = &self.sns else {
            tracing::warn!(%subject, "anomalies found but no SNS topic is configured");
            return Ok(());
        };
        client
            .publish()
            .topic_arn(topic)
            .subject(subject)
            .message(message)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| SinkError {
                sink: "sns",
                message: format!("{}", aws_sdk_sns::error::DisplayErrorContext(e)),
            })
    }

    fn stores_results(&self) -> bool {
        self.s3.is_some()
    }

    async fn store(&self, key: String, body: Vec<u8>) -> Result<(), SinkError> {
        let Some((client, bucket, prefix)) = &self.s3 else {
            return Ok(());
        };
        client
            .put_object()
            .bucket(bucket)
            .key(format!("{prefix}{key}"))
            .content_type("application/x-ndjson")
            .body(ByteStream::from(body))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| SinkError {
                sink: "s3",
                message: format!("{}", aws_sdk_s3::error::DisplayErrorContext(e)),
            })
    }

    async fn dead_letter(&self, message: String) -> Result<(), SinkError> {
        let Some((client, url)) = &self.sqs else {
            return Ok(());
        };
        client
            .send_message()
            .queue_url(url)
            .message_body(message)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| SinkError {
                sink: "sqs",
                message: format!("{}", aws_sdk_sqs::error::DisplayErrorContext(e)),
            })
    }
}

/// In-memory sinks that record every call (for tests of the pipeline and the Lambda handler).
#[cfg(test)]
#[derive(Debug, Default)]
pub struct MemorySinks {
    /// `(subject, message)` of each alert.
    pub alerts: std::sync::Mutex<Vec<(String, String)>>,
    /// `(key, body)` of each stored object.
    pub objects: std::sync::Mutex<Vec<(String, Vec<u8>)>>,
    /// Each dead-letter message.
    pub dead: std::sync::Mutex<Vec<String>>,
    /// When set, alerts fail.
    pub fail_alerts: std::sync::atomic::AtomicBool,
}

#[cfg(test)]
impl Sinks for MemorySinks {
    async fn alert(&self, subject: String, message: String) -> Result<(), SinkError> {
        if self.fail_alerts.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(SinkError {
                sink: "sns",
                message: "unavailable".into(),
            });
        }
        self.alerts.lock().unwrap().push((subject, message));
        Ok(())
    }
    fn stores_results(&self) -> bool {
        true
    }
    async fn store(&self, key: String, body: Vec<u8>) -> Result<(), SinkError> {
        self.objects.lock().unwrap().push((key, body));
        Ok(())
    }
    async fn dead_letter(&self, message: String) -> Result<(), SinkError> {
        self.dead.lock().unwrap().push(message);
        Ok(())
    }
}
