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
//! On x86-64 the same padded trees are also interleaved several to a vector ([`interleaved`]) and
//! walked by the AVX-512 ([`avx512`], sixteen trees per vector) or AVX2 ([`avx2`], eight) kernel,
//! which give the same sums bit for bit several times faster; the [`Kernel`] is chosen once per
//! process at run time. This scalar walk is what every other CPU runs. Another vector ISA (NEON
//! on aarch64) would be one more file walking the same interleaved layout.

use crate::kernel::Kernel;
use crate::tree::{AxisTree, LEAF};

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
mod interleaved;
#[cfg(target_arch = "x86_64")]
mod ranks;
#[cfg(test)]
mod tests;

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
    /// The same trees interleaved for a vector walk, when this CPU has one.
    vector: Option<Vector>,
}

/// The interleaved trees of a vector kernel.
#[derive(Debug, Clone)]
enum Vector {
    #[cfg(target_arch = "x86_64")]
    Avx2(avx2::Avx2Forest),
    #[cfg(target_arch = "x86_64")]
    Avx512(avx512::Avx512Forest),
}

impl PerfectForest {
    /// Builds the layout for [`Kernel::selected`], or `None` when the forest is deeper than
    /// [`MAX_PERFECT_DEPTH`].
    pub(crate) fn build(trees: &[AxisTree], n_features: usize) -> Option<Self> {
        Self::build_for(trees, n_features, Kernel::selected())
    }

    /// Builds the layout walked by `kernel`, or by the scalar walk when the CPU lacks `kernel` or
    /// the forest does not fit its layout (more than 32 features); [`PerfectForest::kernel`] says
    /// which.
    pub(crate) fn build_for(trees: &[AxisTree], n_features: usize, kernel: Kernel) -> Option<Self> {
        let mut forest = Self::build_scalar(trees)?;
        #[cfg(target_arch = "x86_64")]
        {
            let width = 1usize << forest.depth;
            let split = |t: usize, i: usize| {
                let s = forest.splits[t * width + i];
                (s.feature, s.threshold)
            };
            let leaf = |t: usize, j: usize| forest.leaves[t * width + j];
            let (depth, n) = (forest.depth, trees.len());
            forest.vector = match kernel {
                Kernel::Scalar => None,
                Kernel::Avx2 => {
                    avx2::Avx2Forest::build(depth, n_features, n, split, leaf).map(Vector::Avx2)
                }
                Kernel::Avx512 => avx512::Avx512Forest::build(depth, n_features, n, split, leaf)
                    .map(Vector::Avx512),
            };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (n_features, kernel);
        Some(forest)
    }

    /// The kernel that walks this forest.
    pub(crate) fn kernel(&self) -> Kernel {
        self.vector.as_ref().map_or(Kernel::Scalar, Vector::kernel)
    }

    /// The layout without a vector walk.
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
            vector: None,
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
        if let Some(v) = &self.vector {
            return v.add_path_lengths(xs, stride, sums);
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

    /// See [`crate::Model::heap_bytes`].
    pub(crate) fn heap_bytes(&self) -> usize {
        let vector = match &self.vector {
            None => 0,
            #[cfg(target_arch = "x86_64")]
            Some(Vector::Avx2(v)) => v.heap_bytes(),
            #[cfg(target_arch = "x86_64")]
            Some(Vector::Avx512(v)) => v.heap_bytes(),
        };
        crate::vec_bytes(&self.splits) + crate::vec_bytes(&self.leaves) + vector
    }

    /// Depth of the padded trees: each has `2^depth` leaf slots.
    pub(crate) fn depth(&self) -> usize {
        self.depth
    }

    /// The leaf slot (`0..2^depth`) each row reaches in each tree: `slots[t * rows + r]` for tree
    /// `t` and row `r`. `xs` holds `rows` rows as [`PerfectForest::add_path_lengths`] reads them.
    /// The explanation walk ([`crate::explain`]) reads each slot's precomputed path from it.
    pub(crate) fn leaf_slots(&self, xs: &[f32], stride: usize, rows: usize, slots: &mut [u16]) {
        macro_rules! dispatch {
            ($($d:literal),*) => {
                match (self.depth, stride) {
                    $(
                        ($d, 4) => self.slots_fixed::<$d, 4>(xs, rows, slots),
                        ($d, 8) => self.slots_fixed::<$d, 8>(xs, rows, slots),
                        ($d, 16) => self.slots_fixed::<$d, 16>(xs, rows, slots),
                    )*
                    _ => self.slots_any(xs, stride, rows, slots),
                }
            };
        }
        dispatch!(7, 8, 9)
    }

    fn slots_fixed<const D: usize, const S: usize>(
        &self,
        xs: &[f32],
        rows: usize,
        slots: &mut [u16],
    ) {
        let width = 1usize << D;
        let mask = width - 1;
        let full = rows / LANES * LANES;
        for (splits, out) in self
            .splits
            .chunks_exact(width)
            .zip(slots.chunks_exact_mut(rows))
        {
            for (x8, o8) in xs[..full * S]
                .chunks_exact(LANES * S)
                .zip(out[..full].chunks_exact_mut(LANES))
            {
                let mut idx = [0usize; LANES];
                for _ in 0..D {
                    for (r, i) in idx.iter_mut().enumerate() {
                        let s = splits[*i & mask];
                        let v = x8[r * S + (s.feature as usize & (S - 1))];
                        *i = 2 * *i + 1 + usize::from(v > s.threshold);
                    }
                }
                for (o, i) in o8.iter_mut().zip(idx) {
                    *o = ((i - mask) & mask) as u16;
                }
            }
            for (x, o) in xs[full * S..].chunks_exact(S).zip(&mut out[full..]) {
                *o = slot(splits, x, D) as u16;
            }
        }
    }

    fn slots_any(&self, xs: &[f32], stride: usize, rows: usize, slots: &mut [u16]) {
        let width = 1usize << self.depth;
        for (splits, out) in self
            .splits
            .chunks_exact(width)
            .zip(slots.chunks_exact_mut(rows))
        {
            for (x, o) in xs.chunks_exact(stride).zip(out.iter_mut()) {
                *o = slot(splits, x, self.depth) as u16;
            }
        }
    }

    /// [`PerfectForest::add_path_lengths`] and [`PerfectForest::leaf_slots`] in one walk: the same
    /// sums bit for bit, and the slots. `slots.len()` is the tree count times `sums.len()`.
    pub(crate) fn add_path_lengths_and_slots(
        &self,
        xs: &[f32],
        stride: usize,
        sums: &mut [f64],
        slots: &mut [u16],
    ) {
        let rows = sums.len();
        if rows == 0 {
            return;
        }
        match &self.vector {
            Some(v) => v.add_path_lengths_and_slots(xs, stride, sums, slots),
            None => {
                self.leaf_slots(xs, stride, rows, slots);
                // Tree by tree, as the scalar walk adds them: the same sums bit for bit.
                let width = 1usize << self.depth;
                for (leaves, slots) in self
                    .leaves
                    .chunks_exact(width)
                    .zip(slots.chunks_exact(rows))
                {
                    for (s, &slot) in sums.iter_mut().zip(slots) {
                        *s += leaves[slot as usize];
                    }
                }
            }
        }
    }

    /// Path length of one row (f32, no NaN) summed over all trees.
    pub(crate) fn path_length_sum(&self, x: &[f32]) -> f64 {
        if let Some(v) = &self.vector {
            return v.path_length_sum(x);
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

impl Vector {
    fn kernel(&self) -> Kernel {
        match *self {
            #[cfg(target_arch = "x86_64")]
            Vector::Avx2(_) => Kernel::Avx2,
            #[cfg(target_arch = "x86_64")]
            Vector::Avx512(_) => Kernel::Avx512,
        }
    }

    fn add_path_lengths(&self, xs: &[f32], stride: usize, sums: &mut [f64]) {
        self.add_path_lengths_and_slots(xs, stride, sums, &mut []);
    }

    /// The sums, and the leaf slots unless `slots` is empty.
    fn add_path_lengths_and_slots(
        &self,
        xs: &[f32],
        stride: usize,
        sums: &mut [f64],
        slots: &mut [u16],
    ) {
        match *self {
            #[cfg(target_arch = "x86_64")]
            Vector::Avx2(ref v) => v.add_path_lengths_and_slots(xs, stride, sums, slots),
            #[cfg(target_arch = "x86_64")]
            Vector::Avx512(ref v) => v.add_path_lengths_and_slots(xs, stride, sums, slots),
        }
    }

    /// One row as a block of one (the kernels walk blocks of rows).
    fn path_length_sum(&self, x: &[f32]) -> f64 {
        let mut sum = [0.0];
        self.add_path_lengths(x, x.len(), &mut sum);
        sum[0]
    }
}

/// Values per row in the buffer [`PerfectForest::add_path_lengths`] reads: the feature count
/// rounded up to a power of two (at least 4) when that is at most 32, so a mask bounds the feature
/// index; the feature count itself otherwise.
pub(crate) fn row_stride(d: usize) -> usize {
    let p = d.next_power_of_two().max(4);
    if p <= 32 { p } else { d }
}

/// The leaf slot one row reaches in one padded tree.
fn slot(splits: &[Split], x: &[f32], depth: usize) -> usize {
    let mut i = 0usize;
    for _ in 0..depth {
        let s = splits[i];
        i = 2 * i + 1 + usize::from(x[s.feature as usize] > s.threshold);
    }
    i + 1 - (1 << depth)
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
