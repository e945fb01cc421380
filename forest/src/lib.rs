//! Anomaly detectors and their model file.
