//! The isoserve inference server: the SageMaker container contract over the `forest` detectors.
