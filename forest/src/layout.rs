//! The perfect-tree scoring layout for axis-parallel forests.
//!
//! Every tree is padded to the forest's depth `D` and stored in heap order: `2^D - 1` internal
//! splits (u32 feature + f32 threshold, 8 bytes; one unused slot rounds the array to `2^D`) and
//! `2^D` leaf values. A leaf that ends early becomes
//! a chain of `+inf` thresholds that every non-NaN value passes on the left, so a walk is exactly `D`
//! branch-free steps `i = 2i + 1 + (x > t)`. Rows are walked 8 at a time to overlap the dependent
//! loads, and one tree is applied to a whole block of rows before the next (tree-major) so the tree
//! stays in L1. Rows containing NaN never come here: padding sends NaN the wrong way, so they take
//! the general path in [`crate::tree`].

use crate::tree::{AxisTree, LEAF};

/// Deepest forest stored in this layout (2^12 leaves = 48 KiB per tree); deeper imported forests
/// use the general path.
pub(crate) const MAX_PERFECT_DEPTH: usize = 12;

/// Rows walked together through one tree.
const LANES: usize = 8;

#[derive(Debug, Clone, Copy)]
struct Split {
    feature: u32,
    threshold: f32,
}

const PAD: Split = Split { feature: 0, threshold: f32::INFINITY };

/// All trees of one forest in the perfect layout.
#[derive(Debug, Clone)]
pub(crate) struct PerfectForest {
    depth: usize,
    splits: Vec<Split>,
    leaves: Vec<f64>,
}

impl PerfectForest {
    /// Builds the layout, or `None` when the forest is deeper than [`MAX_PERFECT_DEPTH`].
    pub(crate) fn build(trees: &[AxisTree]) -> Option<Self> {
        let depth = trees.iter().map(AxisTree::depth).max().unwrap_or(0);
        if depth > MAX_PERFECT_DEPTH {
            return None;
        }
        let n_leaves = 1usize << depth;
        let mut forest = Self {
            depth,
            splits: vec![PAD; n_leaves * trees.len()],
            leaves: vec![0.0; n_leaves * trees.len()],
        };
        for (t, tree) in trees.iter().enumerate() {
            let splits = &mut forest.splits[t * n_leaves..(t + 1) * n_leaves - 1];
            let leaves = &mut forest.leaves[t * n_leaves..(t + 1) * n_leaves];
            place(tree, 0, 0, 0, depth, splits, leaves);
        }
        Some(forest)
    }

    /// Adds each row's path length summed over all trees to `sums`. `xs` holds the rows (f32,
    /// row-major, `d` wide, no NaN); `sums.len()` rows.
    pub(crate) fn add_path_lengths(&self, xs: &[f32], d: usize, sums: &mut [f64]) {
        match self.depth {
            // Const depths unroll the walk and let `& (2^D - 1)` prove the split index in bounds;
            // 8 is ψ = 256, the default.
            1 => self.add_fixed::<1>(xs, d, sums),
            2 => self.add_fixed::<2>(xs, d, sums),
            3 => self.add_fixed::<3>(xs, d, sums),
            4 => self.add_fixed::<4>(xs, d, sums),
            5 => self.add_fixed::<5>(xs, d, sums),
            6 => self.add_fixed::<6>(xs, d, sums),
            7 => self.add_fixed::<7>(xs, d, sums),
            8 => self.add_fixed::<8>(xs, d, sums),
            9 => self.add_fixed::<9>(xs, d, sums),
            10 => self.add_fixed::<10>(xs, d, sums),
            11 => self.add_fixed::<11>(xs, d, sums),
            12 => self.add_fixed::<12>(xs, d, sums),
            _ => {
                for (x, s) in xs.chunks_exact(d).zip(sums.iter_mut()) {
                    *s += self.path_length_sum(x);
                }
            }
        }
    }

    fn add_fixed<const D: usize>(&self, xs: &[f32], d: usize, sums: &mut [f64]) {
        let width = 1usize << D;
        let mask = width - 1;
        let full = sums.len() / LANES * LANES;
        for (splits, leaves) in self.splits.chunks_exact(width).zip(self.leaves.chunks_exact(width)) {
            for (x8, s8) in xs[..full * d].chunks_exact(LANES * d).zip(sums[..full].chunks_exact_mut(LANES)) {
                let mut idx = [0usize; LANES];
                for _ in 0..D {
                    for (r, i) in idx.iter_mut().enumerate() {
                        let s = splits[*i & mask];
                        let v = x8[r * d + s.feature as usize];
                        *i = 2 * *i + 1 + usize::from(v > s.threshold);
                    }
                }
                for (s, i) in s8.iter_mut().zip(idx) {
                    *s += leaves[(i - mask) & mask];
                }
            }
            for (x, s) in xs[full * d..].chunks_exact(d).zip(&mut sums[full..]) {
                *s += walk(splits, leaves, x, D);
            }
        }
    }

    /// Path length of one row (f32, no NaN) summed over all trees.
    pub(crate) fn path_length_sum(&self, x: &[f32]) -> f64 {
        let width = 1usize << self.depth;
        let mut sum = 0.0;
        for (splits, leaves) in self.splits.chunks_exact(width).zip(self.leaves.chunks_exact(width)) {
            sum += walk(splits, leaves, x, self.depth);
        }
        sum
    }
}

#[inline(always)]
fn walk(splits: &[Split], leaves: &[f64], x: &[f32], depth: usize) -> f64 {
    let mut i = 0usize;
    for _ in 0..depth {
        let s = splits[i];
        i = 2 * i + 1 + usize::from(x[s.feature as usize] > s.threshold);
    }
    leaves[i + 1 - leaves.len()]
}

/// Copies `tree`'s subtree at `node` (at heap position `pos`, depth `level`) into the layout.
fn place(tree: &AxisTree, node: usize, pos: usize, level: usize, depth: usize, splits: &mut [Split], leaves: &mut [f64]) {
    let n = &tree.nodes[node];
    if n.feature == LEAF {
        // Padding sends every non-NaN value left: the leaf lands on the leftmost descendant slot.
        let mut p = pos;
        for _ in level..depth {
            p = 2 * p + 1;
        }
        leaves[p + 1 - leaves.len()] = n.value;
        return;
    }
    splits[pos] = Split { feature: n.feature, threshold: n.threshold };
    place(tree, n.left as usize, 2 * pos + 1, level + 1, depth, splits, leaves);
    place(tree, n.right as usize, 2 * pos + 2, level + 1, depth, splits, leaves);
}
