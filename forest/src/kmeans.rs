//! The k-means detector: Euclidean distance to the nearest centroid (centroids from
//! `linfa-clustering`, seeded k-means++), scored as `d / (d + t)` where `t` is the distance threshold
//! chosen by contamination on the training rows. Scores lie in [0, 1); a row is an anomaly when its
//! score is above 0.5, i.e. when its distance exceeds `t`.

use linfa::DatasetBase;
use linfa::traits::Fit;
use linfa_clustering::KMeans;
use ndarray::ArrayView2;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;

use crate::explain::gains::Contributions;
use crate::{Error, KMeansParams, percentile};

/// Fitted centroids and the distance threshold.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KMeansDetector {
    pub n_features: usize,
    /// Row-major `k × n_features`.
    pub centroids: Vec<f64>,
    /// Distance threshold `t`.
    pub distance_threshold: f64,
}

impl KMeansDetector {
    /// Fits on finite, validated data.
    pub(crate) fn fit(data: ArrayView2<'_, f64>, p: &KMeansParams) -> Result<Self, Error> {
        let rng = Xoshiro256Plus::seed_from_u64(p.seed);
        let dataset = DatasetBase::from(data.to_owned());
        let model = KMeans::params_with_rng(p.k, rng)
            .max_n_iterations(p.max_iter)
            .fit(&dataset)
            .map_err(|e| Error::KMeans(e.to_string()))?;
        let mut det = Self {
            n_features: data.ncols(),
            centroids: model.centroids().iter().copied().collect(),
            distance_threshold: 0.0,
        };
        let dists: Vec<f64> = data
            .rows()
            .into_iter()
            .map(|r| det.distance(&r.to_vec()))
            .collect();
        det.distance_threshold = percentile(&dists, 100.0 * (1.0 - p.contamination));
        Ok(det)
    }

    /// Distance from `row` to the nearest centroid over the row's non-NaN coordinates (a missing
    /// value is left out of the sum, so the row is placed by what it does report).
    pub(crate) fn distance(&self, row: &[f64]) -> f64 {
        self.centroids
            .chunks_exact(self.n_features)
            .map(|c| squared_distance(c, row))
            .fold(f64::INFINITY, f64::min)
            .sqrt()
    }

    /// `d / (d + t)`, kept below 1 so scores stay in [0, 1) even for infinite distances.
    pub(crate) fn score_row(&self, row: &[f64]) -> f64 {
        let d = self.distance(row);
        if d == 0.0 {
            return 0.0;
        }
        let s = d / (d + self.distance_threshold);
        if s.is_nan() {
            MAX_SCORE
        } else {
            s.min(MAX_SCORE)
        }
    }
}

impl KMeansDetector {
    /// The centroid nearest to `row` (over its non-NaN coordinates, as [`Self::distance`]).
    pub(crate) fn nearest(&self, row: &[f64]) -> &[f64] {
        self.centroids
            .chunks_exact(self.n_features)
            .map(|c| (c, squared_distance(c, row)))
            .fold(
                (&self.centroids[..self.n_features], f64::INFINITY),
                |best, (c, d)| {
                    if d < best.1 { (c, d) } else { best }
                },
            )
            .0
    }

    /// Each feature's squared difference from the nearest centroid; a NaN value adds nothing,
    /// as it adds nothing to the distance.
    pub(crate) fn contributions(&self, row: &[f64], mut out: Contributions<'_>) {
        let c = self.nearest(row);
        for (f, (&x, &m)) in row.iter().zip(c).enumerate() {
            if !x.is_nan() {
                out.add(f, (x - m) * (x - m), x > m);
            }
        }
    }
}

/// Squared Euclidean distance over the row's non-NaN coordinates.
fn squared_distance(centroid: &[f64], row: &[f64]) -> f64 {
    centroid
        .iter()
        .zip(row)
        .filter(|(_, b)| !b.is_nan())
        .map(|(a, b)| (a - b) * (a - b))
        .sum()
}

/// The largest f64 below 1.
const MAX_SCORE: f64 = 1.0 - f64::EPSILON / 2.0;
