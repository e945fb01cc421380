//! Kinesis tools for the anomaly-detection endpoint.
//!
//! * `produce` replays a CSV file into a Kinesis stream ([`produce`]).
//! * The forwarder reads a stream, scores every row on the SageMaker endpoint and routes the
//!   results: anomalies to SNS, everything to S3, metrics as CloudWatch EMF lines, undecodable
//!   records to an SQS dead-letter queue. Its core ([`pipeline`]) runs either in AWS Lambda
//!   ([`lambda`]) or as a standalone process that reads the shards itself ([`standalone`]).

pub mod batch;
pub mod checkpoint;
pub mod codecs;
pub mod config;
pub mod context;
pub mod emf;
pub mod invoke;
pub mod lambda;
pub mod pipeline;
pub mod produce;
pub mod record;
pub mod retry;
pub mod route;
pub mod shard;
pub mod sinks;
pub mod standalone;
#[cfg(test)]
mod testing;
