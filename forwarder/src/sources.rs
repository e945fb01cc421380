//! Where records come from: Lambda's Kinesis events, or the stream's shards read by this process.

pub mod kinesis;
pub mod lambda;
