//! Splits coded as ranks: the thresholds of each feature sorted, a node coded as its threshold's
//! place among them, and a row's value as how many of them lie below it, so that a vector walk
//! compares 32-bit integers and gets the float comparison bit for bit ([`Ranks`]). Shared by the
//! AVX-512 and AVX2 walks, which each place a block of rows' values by their own vector search
//! ([`Buckets`] narrows it).

use super::interleaved::{MAX_FEATURES, NodeCode};

/// Bits of a node's code below its rank: the feature, which the value permutes read.
pub(super) const FEATURE_BITS: u32 = 5;
/// The rank of a split no value passes (`+inf`, and the padding): above every value's rank.
pub(super) const NEVER: i32 = i32::MAX >> FEATURE_BITS;

/// The splits' thresholds of each feature, sorted and distinct, so that a node is coded as one
/// 32-bit word, `rank << 5 | feature`, and a row's value `x` of feature `f` as
/// `(thresholds of f below x) << 5`. For a threshold `t` of `f` and any `x` that is not NaN,
/// `x > t` exactly when fewer thresholds lie below `t` than below `x` (every one below `t` is
/// below `x`, and so is `t`), so comparing the value's code with the node's code as integers
/// gives the float comparison bit for bit (the feature bits break no tie: equal ranks compare
/// `0 > feature`, false). Nodes of 32 bits instead of 64 need no permutes to split a gathered
/// node into threshold and feature, and one gather fetches a whole vector of them (sixteen with
/// AVX-512, eight with AVX2) instead of two gathers of half as many.
#[derive(Debug, Clone)]
pub(super) struct Ranks(pub(super) Vec<FeatureRanks>);

/// One feature's split thresholds, sorted and distinct, and the buckets that narrow a search
/// among them.
#[derive(Debug, Clone)]
pub(super) struct FeatureRanks {
    /// The `len` thresholds, then `+inf` as far as a bucket's window reaches past the last.
    pub(super) thresholds: Vec<f32>,
    pub(super) len: usize,
    pub(super) buckets: Option<Buckets>,
}

/// A monotone map from a value to a bucket, `clamp((x - lo) * scale, 0, top)` truncated, and for
/// each bucket the count of thresholds in the buckets before it.
///
/// Why it is exact: the map is monotone (each f32 operation rounds monotonically, and the vector
/// code runs the same operations as [`Buckets::of`]), so a threshold in an earlier bucket lies
/// below `x` and one in a later bucket does not; only the thresholds of `x`'s own bucket need
/// comparing, and those are the `2^window_log2 - 1` after `start[bucket]` at most. The ones
/// beyond the bucket in that window compare as not below `x`, like the `+inf` padding.
#[derive(Debug, Clone)]
pub(super) struct Buckets {
    pub(super) lo: f32,
    pub(super) scale: f32,
    pub(super) top: f32,
    pub(super) start: Vec<i32>,
    pub(super) window_log2: u32,
}

/// Buckets per threshold: more make each bucket's window shorter and the table larger.
const BUCKETS_PER_THRESHOLD: usize = 1;

impl Buckets {
    /// Buckets for the sorted, distinct, finite-or-`-inf` `thresholds`, when a search through
    /// them takes clearly fewer gathers than the binary search over all of them.
    fn new(thresholds: &[f32]) -> Option<Self> {
        let (&lo, &hi) = (thresholds.first()?, thresholds.last()?);
        let n = (thresholds.len() * BUCKETS_PER_THRESHOLD).next_power_of_two();
        let scale = (n as f64 / (f64::from(hi) - f64::from(lo))) as f32;
        if !(lo.is_finite() && scale.is_finite() && scale > 0.0) {
            return None;
        }
        let mut buckets = Self {
            lo,
            scale,
            top: (n - 1) as f32,
            start: vec![0; n],
            window_log2: 0,
        };
        let mut counts = vec![0i32; n];
        for &t in thresholds {
            counts[buckets.of(t)] += 1;
        }
        let mut below = 0;
        for (start, &count) in buckets.start.iter_mut().zip(&counts) {
            *start = below;
            below += count;
        }
        let widest = counts.iter().copied().max().unwrap_or(0) as usize;
        buckets.window_log2 = (widest + 1).next_power_of_two().trailing_zeros();
        // One gather for the bucket's start, then one per window step, against about log2(n)
        // gathers of the binary search (the AVX-512 one broadcasts its first two probes).
        let binary = thresholds.len().ilog2().saturating_sub(1);
        (buckets.window_log2 + 2 <= binary).then_some(buckets)
    }

    /// The bucket of `x` (not NaN): what the vector code computes, operation for operation.
    fn of(&self, x: f32) -> usize {
        ((x - self.lo) * self.scale).max(0.0).min(self.top) as usize
    }
}

impl FeatureRanks {
    pub(super) fn new(mut thresholds: Vec<f32>) -> Self {
        thresholds.sort_unstable_by(f32::total_cmp);
        // `==` merges -0 with +0: they compare alike.
        thresholds.dedup_by(|a, b| a == b);
        let len = thresholds.len();
        let buckets = Buckets::new(&thresholds);
        if let Some(b) = &buckets {
            thresholds.resize(len + (1 << b.window_log2), f32::INFINITY);
        }
        Self {
            thresholds,
            len,
            buckets,
        }
    }

    /// The thresholds without the padding.
    pub(super) fn sorted(&self) -> &[f32] {
        &self.thresholds[..self.len]
    }

    /// How many thresholds lie below `x` (not NaN). With buckets only `x`'s own bucket is
    /// searched, as the vector coders do ([`Buckets`]): the window may run into the `+inf`
    /// padding, which is never below `x`.
    pub(super) fn rank(&self, x: f32) -> usize {
        match &self.buckets {
            Some(b) => {
                let start = b.start[b.of(x)] as usize;
                let window = &self.thresholds[start..start + (1 << b.window_log2) - 1];
                start + window.partition_point(|&t| t < x)
            }
            None => self.sorted().partition_point(|&t| t < x),
        }
    }
}

impl Ranks {
    /// The ranks of the splits of `n_trees` trees padded to `depth` (`split(t, i)` is node `i` of
    /// tree `t`); `None` when the forest has more than [`MAX_FEATURES`] features or a feature has
    /// too many thresholds to code.
    pub(super) fn for_trees(
        depth: usize,
        n_features: usize,
        n_trees: usize,
        split: impl Fn(usize, usize) -> (u32, f32),
    ) -> Option<Self> {
        // A row's codes are held in registers of at most MAX_FEATURES: a wider forest has no
        // vector walk (and a model file may claim any count, so nothing is sized by it first).
        if n_features > MAX_FEATURES {
            return None;
        }
        let width = 1usize << depth;
        let mut by_feature = vec![Vec::new(); n_features];
        for (t, i) in (0..n_trees).flat_map(|t| (0..width - 1).map(move |i| (t, i))) {
            let (f, threshold) = split(t, i);
            if threshold < f32::INFINITY {
                by_feature.get_mut(f as usize)?.push(threshold);
            }
        }
        let features: Vec<FeatureRanks> = by_feature.into_iter().map(FeatureRanks::new).collect();
        if features.iter().any(|f| f.len >= NEVER as usize) {
            return None;
        }
        Some(Self(features))
    }

    /// Codes rows by the scalar search: quicker than a vector search's chain of gathers for a
    /// few rows (one row: about 0.7 µs less with AVX-512).
    pub(super) fn code_rows_scalar(
        &self,
        xs: &[f32],
        stride: usize,
        codes: &mut [[i32; MAX_FEATURES]],
    ) {
        for (r, code) in codes.iter_mut().enumerate() {
            for (f, feature) in self.0.iter().enumerate() {
                code[f] = (feature.rank(xs[r * stride + f]) as i32) << FEATURE_BITS;
            }
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        let feature = |f: &FeatureRanks| {
            crate::vec_bytes(&f.thresholds)
                + f.buckets.as_ref().map_or(0, |b| crate::vec_bytes(&b.start))
        };
        crate::vec_bytes(&self.0) + self.0.iter().map(feature).sum::<usize>()
    }
}

impl NodeCode for Ranks {
    type Word = i32;
    fn encode(&self, feature: u32, threshold: f32) -> i32 {
        let rank = if threshold < f32::INFINITY {
            self.0[feature as usize].rank(threshold) as i32
        } else {
            NEVER
        };
        (rank << FEATURE_BITS) | feature as i32
    }
}

#[cfg(test)]
mod tests;
