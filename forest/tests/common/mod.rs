//! Shared test data: the trainer's generator (`trainer generate`): trending sensor series with
//! injected spikes, so the forest's tests and the trainer's data are the same formula.

#![allow(dead_code)]

use forest::ndarray::Array2;
use trainer::generate::{GenerateParams, Trend, generate};

/// `n × d` rows of the linear trend (feature i is `linspace(0, 100 + 20i, n) + N(0, 5)`) with
/// `anomalies` random rows per feature spiked by ±U(50, 200). Returns the data and the row labels
/// (any feature spiked).
pub(crate) fn trending(
    n: usize,
    d: usize,
    anomalies: usize,
    seed: u64,
) -> (Array2<f64>, Vec<bool>) {
    let data = generate(&GenerateParams {
        rows: n,
        features: d,
        anomalies,
        trend: Trend::Linear,
        seed,
        start: None,
    })
    .expect("valid generator parameters");
    let x = Array2::from_shape_fn((n, d), |(r, f)| data.columns[f][r]);
    let labels = (0..n).map(|r| data.row_anomaly(r)).collect();
    (x, labels)
}
