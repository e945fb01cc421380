//! Anomaly detectors and their model file.
//!
//! * Isolation forests with scikit-learn's exact rules (axis-parallel splits) or extended hyperplane
//!   splits, fitted in parallel with one seeded random stream per tree, stored flat for fast scoring.
//! * A k-means distance detector behind the same [`Model`] interface.
//! * A versioned, checksummed binary model file ([`Model::to_bytes`], [`Model::save`]); its layout
//!   is described in `docs/model-format.md`.
//! * Import of scikit-learn `IsolationForest` models ([`sklearn::import_json`]) and evaluation
//!   [`metrics`].
//!
//! Scores: an isolation forest scores `s(x) = 2^(-E[h(x)] / c(ψ))` in (0, 1] (scikit-learn's
//! `score_samples` is `-s`); k-means scores `d / (d + t)` in [0, 1). Higher is more anomalous, and a
//! row is an anomaly when its score is above the model's threshold.
//!
//! Missing values: a NaN feature value follows scikit-learn's rule, at every split that tests it,
//! the row goes to the child that received more training rows (scikit-learn's
//! `missing_go_to_left` when training had no NaN; ties go right). Imported scikit-learn models keep
//! their per-node `missing_go_to_left`. Training data must be finite.

pub use ndarray;

mod axis;
mod error;
mod explain;
mod extended;
mod file;
mod fit;
mod kernel;
mod kmeans;
mod layout;
mod metadata;
pub mod metrics;
mod model;
mod params;
pub mod sklearn;
mod tree;
mod trend;

pub use error::{Error, ModelFileError};
pub use explain::{Direction, Explanation, FeatureAttribution};
pub use file::{BASE_FORMAT_VERSION, FORMAT_VERSION, MAGIC, TREND_FORMAT_VERSION};
pub use kernel::{KERNEL_ENV, Kernel};
pub use metadata::{AnswerShape, Metadata, ThresholdSelection};
pub use model::Model;
pub use params::{
    Contamination, DetectorKind, DetectorParams, ForestParams, KMeansParams, MaxSamples,
};
pub use trend::TrendSpec;

/// Euler–Mascheroni constant, as `np.euler_gamma`.
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// `c(n)`, the average path length of an unsuccessful search in a binary search tree of `n` points:
/// 0 for n ≤ 1, 1 for n = 2, `2(ln(n−1) + γ) − 2(n−1)/n` otherwise (scikit-learn's
/// `_average_path_length`).
pub fn average_path_length(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        _ => {
            let n = n as f64;
            2.0 * ((n - 1.0).ln() + EULER_GAMMA) - 2.0 * (n - 1.0) / n
        }
    }
}

/// `np.percentile(values, q)` with the default linear interpolation; NaN for an empty slice.
/// NaN values are sorted last, as numpy does.
pub fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let vi = (q / 100.0) * (v.len() - 1) as f64;
    let lo = (vi.floor() as usize).min(v.len() - 1);
    let hi = (lo + 1).min(v.len() - 1);
    let (a, b, t) = (v[lo], v[hi], vi - lo as f64);
    // numpy's _lerp: interpolate from the nearer end so the result is exact at t = 0 and t = 1.
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// `2^(-sum / denominator)`; 0.5 when the denominator is 0 (ψ = 1), as scikit-learn's `np.divide`
/// with `out=ones` gives.
/// Heap bytes a vector holds (its capacity, not its length: that is what it occupies).
pub(crate) fn vec_bytes<T>(v: &Vec<T>) -> usize {
    v.capacity() * std::mem::size_of::<T>()
}

pub(crate) fn isolation_score(sum: f64, denominator: f64) -> f64 {
    if denominator == 0.0 {
        0.5
    } else {
        (-sum / denominator).exp2()
    }
}
