//! The pieces of an explanation that the detectors themselves use: each node's gain, recovered
//! from the tree alone, and the buffer a row's directional contributions are added into. Kept
//! apart from [`super`] so that the detectors need nothing of the model that holds them.

use crate::average_path_length;

/// Each feature's contribution split by direction, for one row: the part of its gains where the
/// row went to the low side of a split (`sides[2f]`) and the part where it went to the high side
/// (`sides[2f + 1]`), a directional attribution like Random Cut Forest's `DiVector`.
/// `A_f = sides[2f] + sides[2f + 1]`.
pub(crate) struct Contributions<'a> {
    pub sides: &'a mut [f64],
}

impl Contributions<'_> {
    /// Credits `gain` to `feature`, on the side the row went.
    #[inline]
    pub(crate) fn add(&mut self, feature: usize, gain: f64, high: bool) {
        self.sides[2 * feature + usize::from(high)] += gain;
    }

    /// Divides every sum by `n` (the trees of a forest: contributions are averages).
    pub(crate) fn average_over(&mut self, n: usize) {
        let n = n.max(1) as f64;
        self.sides.iter_mut().for_each(|a| *a /= n);
    }
}

/// Per node, the gain of arriving there from the parent (`c(n(p)) − 1 − c(n(v))`; 0 at the
/// root), from a tree given as preorder nodes: `children(i)` is `None` for a leaf, whose path
/// length (`depth + c(n)`) is `leaf_value(i)`. Children always follow their parent.
pub(crate) fn node_gains(
    len: usize,
    children: impl Fn(usize) -> Option<(usize, usize)>,
    leaf_value: impl Fn(usize) -> f64,
    sample_size: usize,
) -> Vec<f64> {
    let mut depth = vec![0usize; len];
    for i in 0..len {
        if let Some((l, r)) = children(i) {
            depth[l] = depth[i] + 1;
            depth[r] = depth[i] + 1;
        }
    }
    let table = CTable::new(sample_size);
    let mut count = vec![0usize; len];
    // Children come after their parent, so a reverse sweep sees every child before its parent.
    for i in (0..len).rev() {
        count[i] = match children(i) {
            Some((l, r)) => count[l] + count[r],
            None => table.rows_at_leaf(depth[i], leaf_value(i)),
        };
    }
    let mut gain = vec![0.0; len];
    for i in 0..len {
        if let Some((l, r)) = children(i) {
            let before = average_path_length(count[i]);
            for c in [l, r] {
                gain[c] = before - 1.0 - average_path_length(count[c]);
            }
        }
    }
    gain
}

/// `c(n)` for `n = 1..=max`, to recover a leaf's row count from its path length.
pub(crate) struct CTable(Vec<f64>);

impl CTable {
    pub(crate) fn new(max: usize) -> Self {
        // A leaf never holds more rows than a tree is grown from; a little slack costs nothing.
        CTable((0..=max.max(2) + 1).map(average_path_length).collect())
    }

    /// The row count `n ≥ 1` whose leaf at `depth` has path length `value`, exactly as
    /// `tree::leaf_value` computes it; the nearest when no count matches exactly (a leaf of 0
    /// rows, which only a hyperplane split can leave, reads as 1).
    pub(crate) fn rows_at_leaf(&self, depth: usize, value: f64) -> usize {
        let c = &self.0;
        let target = value - depth as f64;
        // c[1..] is strictly increasing.
        let i = c[1..].partition_point(|&v| v < target) + 1;
        let candidates = [i.saturating_sub(1).max(1), i.min(c.len() - 1)];
        let exact = candidates
            .into_iter()
            .find(|&n| crate::tree::leaf_value(depth, n) == value);
        exact.unwrap_or_else(|| {
            candidates
                .into_iter()
                .min_by(|&a, &b| {
                    (c[a] - target)
                        .abs()
                        .total_cmp(&(c[b] - target).abs())
                        .then(a.cmp(&b))
                })
                .expect("two candidates")
        })
    }
}
