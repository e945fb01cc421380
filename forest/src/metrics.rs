//! Evaluation metrics on anomaly scores and 0/1 labels.
