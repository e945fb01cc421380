//! Kinesis stream tools: the stream writer and the forwarder to a SageMaker endpoint.
