//! Kinesis tools for the anomaly-detection endpoint.
//!
//! * `produce` replays a CSV file into a Kinesis stream ([`produce`]).
//! * The forwarder reads a stream, scores every row on the SageMaker endpoint and routes the
//!   results. Its modules follow a record's path:
//!   - [`sources`]: where records come from: Lambda events ([`sources::lambda`]) or the shards
//!     read directly, with checkpoints ([`sources::kinesis`]);
//!   - [`pipeline`]: decode, pack into requests, score (all keys together or per-key series);
//!   - [`endpoint`]: the InvokeEndpoint call, its error classes and retry policy;
//!   - [`sinks`]: anomalies to SNS, every result to S3, undecodable or refused records to an SQS
//!     dead-letter queue, metrics as CloudWatch EMF lines;
//!   - [`record`]: the records and results that pass between them;
//!   - [`config`]: the settings, parsed once from flags and environment variables.
//!
//! `docs/architecture.md` draws the tree and follows one record through it.

pub mod config;
pub mod endpoint;
pub mod pipeline;
pub mod produce;
pub mod record;
pub mod sinks;
pub mod sources;

#[cfg(test)]
mod fakes;
