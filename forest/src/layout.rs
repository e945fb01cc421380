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
//!
//! On a CPU with AVX-512F the same padded trees are also interleaved sixteen to a vector and walked
//! by [`lanes`], which gives the same sums bit for bit several times faster; this scalar walk is
//! what every other CPU runs.

use crate::tree::{AxisTree, LEAF};

#[cfg(target_arch = "x86_64")]
mod lanes;

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

const PAD: Split = Split {
    feature: 0,
    threshold: f32::INFINITY,
};

/// All trees of one forest in the perfect layout.
#[derive(Debug, Clone)]
pub(crate) struct PerfectForest {
    depth: usize,
    splits: Vec<Split>,
    leaves: Vec<f64>,
    /// The same trees interleaved for the AVX-512 walk, when this CPU has it.
    #[cfg(target_arch = "x86_64")]
    lanes: Option<lanes::LaneForest>,
}

impl PerfectForest {
    /// Builds the layout, or `None` when the forest is deeper than [`MAX_PERFECT_DEPTH`].
    pub(crate) fn build(trees: &[AxisTree], n_features: usize) -> Option<Self> {
        let mut forest = Self::build_scalar(trees)?;
        #[cfg(target_arch = "x86_64")]
        {
            let width = 1usize << forest.depth;
            forest.lanes = lanes::LaneForest::build(
                forest.depth,
                n_features,
                trees.len(),
                |t, i| {
                    let s = forest.splits[t * width + i];
                    (s.feature, s.threshold)
                },
                |t, j| forest.leaves[t * width + j],
            );
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = n_features;
        Some(forest)
    }

    /// The layout without the vector walk: what CPUs without AVX-512F run.
    pub(crate) fn build_scalar(trees: &[AxisTree]) -> Option<Self> {
        let depth = trees.iter().map(AxisTree::depth).max().unwrap_or(0);
        if depth > MAX_PERFECT_DEPTH {
            return None;
        }
        let n_leaves = 1usize << depth;
        let mut forest = Self {
            depth,
            splits: vec![PAD; n_leaves * trees.len()],
            leaves: vec![0.0; n_leaves * trees.len()],
            #[cfg(target_arch = "x86_64")]
            lanes: None,
        };
        for (t, tree) in trees.iter().enumerate() {
            let splits = &mut forest.splits[t * n_leaves..(t + 1) * n_leaves - 1];
            let leaves = &mut forest.leaves[t * n_leaves..(t + 1) * n_leaves];
            place(tree, 0, 0, 0, depth, splits, leaves);
        }
        Some(forest)
    }

    /// Adds each row's path length summed over all trees to `sums`. `xs` holds the rows (f32,
    /// row-major, no NaN), each padded to `stride` values (see [`row_stride`]); `sums.len()` rows.
    pub(crate) fn add_path_lengths(&self, xs: &[f32], stride: usize, sums: &mut [f64]) {
        #[cfg(target_arch = "x86_64")]
        if let Some(lanes) = &self.lanes {
            return lanes.add_path_lengths(xs, stride, sums);
        }
        // Const depth and stride unroll the walk and let the masks `& (2^D - 1)` and
        // `& (stride - 1)` prove every index in bounds. Depths 7-9 cover ψ = 65..512 (256 is the
        // default); other shapes take the same loop with run-time sizes.
        macro_rules! dispatch {
            ($($d:literal),*) => {
                match (self.depth, stride) {
                    $(
                        ($d, 4) => self.add_fixed::<$d, 4>(xs, sums),
                        ($d, 8) => self.add_fixed::<$d, 8>(xs, sums),
                        ($d, 16) => self.add_fixed::<$d, 16>(xs, sums),
                        ($d, 32) => self.add_fixed::<$d, 32>(xs, sums),
                    )*
                    _ => self.add_any(xs, stride, sums),
                }
            };
        }
        dispatch!(7, 8, 9)
    }

    fn add_fixed<const D: usize, const S: usize>(&self, xs: &[f32], sums: &mut [f64]) {
        let width = 1usize << D;
        let mask = width - 1;
        let full = sums.len() / LANES * LANES;
        for (splits, leaves) in self
            .splits
            .chunks_exact(width)
            .zip(self.leaves.chunks_exact(width))
        {
            for (x8, s8) in xs[..full * S]
                .chunks_exact(LANES * S)
                .zip(sums[..full].chunks_exact_mut(LANES))
            {
                let mut idx = [0usize; LANES];
                for _ in 0..D {
                    for (r, i) in idx.iter_mut().enumerate() {
                        let s = splits[*i & mask];
                        let v = x8[r * S + (s.feature as usize & (S - 1))];
                        *i = 2 * *i + 1 + usize::from(v > s.threshold);
                    }
                }
                for (s, i) in s8.iter_mut().zip(idx) {
                    *s += leaves[(i - mask) & mask];
                }
            }
            for (x, s) in xs[full * S..].chunks_exact(S).zip(&mut sums[full..]) {
                *s += walk(splits, leaves, x, D);
            }
        }
    }

    fn add_any(&self, xs: &[f32], stride: usize, sums: &mut [f64]) {
        let width = 1usize << self.depth;
        for (splits, leaves) in self
            .splits
            .chunks_exact(width)
            .zip(self.leaves.chunks_exact(width))
        {
            for (x, s) in xs.chunks_exact(stride).zip(sums.iter_mut()) {
                *s += walk(splits, leaves, x, self.depth);
            }
        }
    }

    /// Path length of one row (f32, no NaN) summed over all trees.
    pub(crate) fn path_length_sum(&self, x: &[f32]) -> f64 {
        #[cfg(target_arch = "x86_64")]
        if let Some(lanes) = &self.lanes {
            return lanes.path_length_sum(x);
        }
        let width = 1usize << self.depth;
        let mut sum = 0.0;
        for (splits, leaves) in self
            .splits
            .chunks_exact(width)
            .zip(self.leaves.chunks_exact(width))
        {
            sum += walk(splits, leaves, x, self.depth);
        }
        sum
    }
}

/// Values per row in the buffer [`PerfectForest::add_path_lengths`] reads: the feature count
/// rounded up to a power of two (at least 4) when that is at most 32, so a mask bounds the feature
/// index; the feature count itself otherwise.
pub(crate) fn row_stride(d: usize) -> usize {
    let p = d.next_power_of_two().max(4);
    if p <= 32 { p } else { d }
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
fn place(
    tree: &AxisTree,
    node: usize,
    pos: usize,
    level: usize,
    depth: usize,
    splits: &mut [Split],
    leaves: &mut [f64],
) {
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
    splits[pos] = Split {
        feature: n.feature,
        threshold: n.threshold,
    };
    place(
        tree,
        n.left as usize,
        2 * pos + 1,
        level + 1,
        depth,
        splits,
        leaves,
    );
    place(
        tree,
        n.right as usize,
        2 * pos + 2,
        level + 1,
        depth,
        splits,
        leaves,
    );
}
