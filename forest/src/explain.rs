//! Why a row scored as it did: a per-feature attribution of the score for every detector kind.
//!
//! # Isolation forests: the path-length deficit, split by the splits that made it
//!
//! A row's score is `2^(−E[h]/c(ψ))`: it is anomalous when its average path length `E[h]` falls
//! short of `c(ψ)`, the path length of a typical row. Along one tree, a row reaching node `v` from
//! its parent `p` spends one level of depth and narrows the training rows around it from `n(p)` to
//! `n(v)`; before the split its expected remaining path was `c(n(p))`, after it `1 + c(n(v))`. The
//! split's *gain* is the difference, `c(n(p)) − 1 − c(n(v))`: large when the row is cut off from
//! most of its neighbours at once (what a spiked value does), about zero for an ordinary split.
//! The gains along a path add up exactly to `c(ψ) − h(x)` (the leaf's own `c(n)` included), so
//! crediting each gain to the feature its node tests gives an **exact decomposition** of the
//! path-length deficit, averaged over the trees:
//!
//! `Σ_f A_f = c(ψ) − E[h(x)] = c(ψ) · (1 + log2 s(x))`.
//!
//! It costs one more walk of each tree, with one addition per node visited. Node row counts are
//! not stored: they are recovered from the leaves (a leaf's path length is its depth plus `c(n)`,
//! and `c` is strictly increasing for `n ≥ 1`), so every model file, old or imported, is
//! explained. A hyperplane split (extended forests) shares its gain between the features of its
//! normal vector in proportion to `|w_f| · |x_f − m_f|` (each feature's part in how far the
//! projection is from typical; `|w_f|` alone when the expected values are unknown).
//!
//! # k-means
//!
//! `A_f = (x_f − c_f)²` for the nearest centroid `c`: each feature's share of the squared
//! distance. The expected value is the centroid's coordinate.
//!
//! # Trend-aware models
//!
//! The detector sees residuals; the attribution is that of the residual row, and the expected
//! value is the baseline the residual was taken against plus the typical training residual, so
//! `value − expected` is how far the row is off its own recent trend.
//!
//! # Normalised shares and directions
//!
//! Features whose splits on balance made the row look *more* ordinary have `A_f ≤ 0` and get a
//! share of 0; the others share 1 in proportion to `A_f` (when no feature has `A_f > 0`, shares
//! follow `|A_f|`, and a forest that never splits gives every feature 0). A feature's direction
//! is `high` when its value is above the model's expected value, `low` when below; without an
//! expected value (models written before version 3), the side its splits sent the row to, weighted
//! by their gains, decides.

use std::cmp::Ordering;

use rayon::prelude::*;

use crate::model::Detector;

use gains::Contributions;

/// Rows explained together: the forest's trees are walked over a block at a time, so each is
/// read from the cache once per block.
const EXPLAIN_BLOCK: usize = 256;
use crate::{Error, Model};

/// Which side of its typical value a feature's value lies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Above the expected value.
    High,
    /// Below the expected value.
    Low,
}

impl Direction {
    /// `high` or `low`, as the server and the alerts write it.
    pub fn name(self) -> &'static str {
        match self {
            Direction::High => "high",
            Direction::Low => "low",
        }
    }
}

/// One feature's part in a row's score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeatureAttribution {
    /// Index of the feature in the model's feature order.
    pub feature: usize,
    /// Normalised share of the score, in [0, 1]; the shares of a row sum to 1 (see the module
    /// documentation for the rule and its edge cases).
    pub attribution: f64,
    /// Whether the value is above or below what the model takes as typical.
    pub direction: Direction,
    /// The row's value, as sent.
    pub value: f64,
    /// The feature's typical value under the model: the training median, the nearest centroid's
    /// coordinate (k-means) or the rolling baseline (trend-aware); `None` for a model file that
    /// does not record it.
    pub expected: Option<f64>,
    /// The unnormalised contribution `A_f` (path-length units for a forest, squared distance for
    /// k-means); the contributions of a forest's row add up to `c(ψ) − E[h]`.
    pub contribution: f64,
}

/// A row's score and every feature's part in it, highest attribution first (ties in feature
/// order).
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The score, the same as the scoring methods give.
    pub score: f64,
    /// One entry per feature, highest attribution first.
    pub features: Vec<FeatureAttribution>,
}

impl Explanation {
    /// The `k` features with the highest attribution (all of them when `k` is larger).
    pub fn top(&self, k: usize) -> &[FeatureAttribution] {
        &self.features[..k.min(self.features.len())]
    }
}

impl Model {
    /// Scores and explains the rows after the first `context` of a flat row-major slice, as
    /// [`Model::score_slice_with_context`] scores them (a trend-aware model detrends the whole
    /// slice first). One [`Explanation`] per row after the context, its score bit for bit the one
    /// the scoring methods give.
    pub fn explain_slice_with_context(
        &self,
        rows: &[f64],
        context: usize,
    ) -> Result<Vec<Explanation>, Error> {
        self.explain_flat(rows, context, false)
    }

    /// [`Model::explain_slice_with_context`] with the work split across rayon's thread pool; the
    /// same explanations.
    pub fn explain_slice_parallel_with_context(
        &self,
        rows: &[f64],
        context: usize,
    ) -> Result<Vec<Explanation>, Error> {
        self.explain_flat(rows, context, true)
    }

    /// Explains one row, as [`Model::score_row`] scores it (a trend-aware model sees no context:
    /// every residual is 0).
    pub fn explain_row(&self, row: &[f64]) -> Result<Explanation, Error> {
        let mut out = self.explain_slice_with_context(row, 0)?;
        if out.len() != 1 {
            return Err(Error::WidthMismatch {
                row: 1,
                expected: self.n_features(),
                found: row.len(),
            });
        }
        Ok(out.pop().expect("one row"))
    }

    /// The per-feature typical values as the detector sees them (the medians of its training
    /// rows, residuals for a trend-aware model), if the model file records them.
    pub fn expected_values(&self) -> Option<&[f64]> {
        self.metadata.expected_values.as_deref()
    }

    fn explain_flat(
        &self,
        rows: &[f64],
        context: usize,
        parallel: bool,
    ) -> Result<Vec<Explanation>, Error> {
        self.check_flat(rows, context)?;
        let d = self.n_features();
        let raw = &rows[context * d..];
        let scored = self.detrended(rows, context);
        let trend = self.metadata.trend.is_some();
        let expected = self.expected_values();
        // One block of rows into `out`, with the scratch space of the thread doing it.
        let block =
            |scratch: &mut Scratch, (raw, x): (&[f64], &[f64]), out: &mut Vec<Explanation>| {
                let n = x.len() / d;
                scratch.sides.clear();
                scratch.sides.resize(2 * x.len(), 0.0);
                scratch.scores.clear();
                scratch.scores.resize(n, 0.0);
                self.contributions_block(
                    x,
                    &mut scratch.sides,
                    &mut scratch.scores,
                    &mut scratch.walk,
                );
                let (sides, scores) = (&scratch.sides, &scratch.scores);
                out.extend((0..n).map(|r| {
                    let at = r * d..(r + 1) * d;
                    // A k-means row is typical of its nearest centroid.
                    let typical = match &self.detector {
                        Detector::KMeans(k) => Some(k.nearest(&x[at.clone()])),
                        _ => expected,
                    };
                    explanation(
                        scores[r],
                        &raw[at.clone()],
                        &x[at.clone()],
                        trend,
                        typical,
                        &sides[2 * r * d..2 * (r + 1) * d],
                    )
                }));
            };
        let chunk = EXPLAIN_BLOCK * d;
        Ok(if parallel {
            raw.par_chunks(chunk)
                .zip(scored.par_chunks(chunk))
                .map_init(Scratch::default, |scratch, pair| {
                    let mut out = Vec::with_capacity(pair.0.len() / d);
                    block(scratch, pair, &mut out);
                    out
                })
                .flat_map_iter(|v| v)
                .collect()
        } else {
            let mut scratch = Scratch::default();
            let mut out = Vec::with_capacity(raw.len() / d);
            for pair in raw.chunks(chunk).zip(scored.chunks(chunk)) {
                block(&mut scratch, pair, &mut out);
            }
            out
        })
    }

    /// Scores a block of rows as the detector sees them into `scores` (as the scoring methods
    /// do, bit for bit) and adds each feature's contribution.
    fn contributions_block(
        &self,
        x: &[f64],
        sides: &mut [f64],
        scores: &mut [f64],
        walk: &mut crate::axis::WalkBuffers,
    ) {
        let d = self.n_features();
        if !matches!(self.detector, Detector::Axis(_)) {
            self.score_flat(x, scores);
        }
        match &self.detector {
            Detector::Axis(f) => {
                f.contributions_block(x, self.expected_values(), sides, scores, walk)
            }
            Detector::Extended(f) => {
                for (x, sides) in x.chunks(d).zip(sides.chunks_mut(2 * d)) {
                    f.contributions(x, self.expected_values(), Contributions { sides });
                }
            }
            Detector::KMeans(k) => {
                for (x, sides) in x.chunks(d).zip(sides.chunks_mut(2 * d)) {
                    k.contributions(x, Contributions { sides });
                }
            }
        }
    }
}

/// What explaining a block of rows writes into, reused from block to block.
#[derive(Default)]
struct Scratch {
    sides: Vec<f64>,
    scores: Vec<f64>,
    walk: crate::axis::WalkBuffers,
}

/// Normalises the contributions of one row and sorts its features.
fn explanation(
    score: f64,
    raw: &[f64],
    scored: &[f64],
    trend: bool,
    typical: Option<&[f64]>,
    sides: &[f64],
) -> Explanation {
    let d = raw.len();
    let net = |f: usize| sides[2 * f] + sides[2 * f + 1];
    let positive: f64 = (0..d).map(net).filter(|a| *a > 0.0).sum();
    let total: f64 = (0..d).map(|f| net(f).abs()).sum();
    let weight = |a: f64| -> f64 {
        if positive > 0.0 {
            a.max(0.0) / positive
        } else if total > 0.0 {
            a.abs() / total
        } else {
            0.0
        }
    };
    let mut features: Vec<FeatureAttribution> = (0..d)
        .map(|f| {
            let m = typical.map(|t| t[f]);
            let off = m.map(|m| scored[f] - m);
            // What the detector saw is the raw value less the baseline (trend-aware) or itself.
            let baseline = if trend { raw[f] - scored[f] } else { 0.0 };
            let direction = match off {
                Some(o) if o > 0.0 => Direction::High,
                Some(o) if o < 0.0 => Direction::Low,
                _ if sides[2 * f + 1] >= sides[2 * f] => Direction::High,
                _ => Direction::Low,
            };
            FeatureAttribution {
                feature: f,
                attribution: weight(net(f)),
                direction,
                value: raw[f],
                expected: m.map(|m| m + baseline).filter(|e| e.is_finite()),
                contribution: net(f),
            }
        })
        .collect();
    features.sort_by(|a, b| {
        b.attribution
            .partial_cmp(&a.attribution)
            .unwrap_or(Ordering::Equal)
            .then(a.feature.cmp(&b.feature))
    });
    Explanation { score, features }
}

pub(crate) mod gains;
#[cfg(test)]
mod tests;
