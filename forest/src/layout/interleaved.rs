//! The perfect trees interleaved node by node for the vector walks: `LANES` trees to a group,
//! stored `[group][node][lane]`, so one gather fetches the current node of every tree in a group
//! and the upper levels of a group share a few cache lines.

/// Most features a row may have in a vector walk: the row is held in registers (two of sixteen for
/// AVX-512, four of eight for AVX2), so picking each lane's feature value is a permute, not a gather.
pub(super) const MAX_FEATURES: usize = 32;

/// A forest interleaved `LANES` trees to a group, each split held as one word of type `N`, as
/// the kernel's [`NodeCode`] encodes it.
#[derive(Debug, Clone)]
pub(super) struct Interleaved<const LANES: usize, N> {
    pub(super) depth: usize,
    pub(super) n_features: usize,
    pub(super) groups: usize,
    /// Trees in the forest (the last group's lanes after them are padding).
    pub(super) n_trees: usize,
    /// Split per `[group][node][lane]`, one word each, so one gather element fetches a node.
    /// Padding nodes hold the code of feature 0 and `+inf` (every value goes left).
    nodes: Vec<N>,
    /// Leaf path length per `[group][leaf][lane]`; lanes after the last tree hold `+0.0`, which
    /// leaves every sum unchanged.
    leaves: Vec<f64>,
}

/// How a kernel packs a split (feature, threshold) into the one word its gathers fetch.
pub(super) trait NodeCode {
    /// The word.
    type Word: Copy;
    /// The word of the split on `feature` at `threshold`.
    fn encode(&self, feature: u32, threshold: f32) -> Self::Word;
}

impl<const LANES: usize, N: Copy> Interleaved<LANES, N> {
    /// See [`crate::Model::heap_bytes`].
    pub(super) fn heap_bytes(&self) -> usize {
        crate::vec_bytes(&self.nodes) + crate::vec_bytes(&self.leaves)
    }

    /// Interleaves `n_trees` perfect trees of `depth`, whose split `i` of tree `t` is
    /// `split(t, i)` (packed by `code`) and leaf `j` is `leaf(t, j)`. `None` when the rows are
    /// wider than [`MAX_FEATURES`], there are no trees, or the depth is beyond what 32-bit lane
    /// offsets hold.
    pub(super) fn build<C: NodeCode<Word = N>>(
        depth: usize,
        n_features: usize,
        n_trees: usize,
        code: &C,
        split: impl Fn(usize, usize) -> (u32, f32),
        leaf: impl Fn(usize, usize) -> f64,
    ) -> Option<Self> {
        if n_features > MAX_FEATURES || depth > 16 || n_trees == 0 {
            return None;
        }
        let width = 1usize << depth;
        let groups = n_trees.div_ceil(LANES);
        let len = groups * width * LANES;
        let mut forest = Interleaved {
            depth,
            n_features,
            groups,
            n_trees,
            nodes: vec![code.encode(0, f32::INFINITY); len],
            leaves: vec![0.0; len],
        };
        for t in 0..n_trees {
            let (g, lane) = (t / LANES, t % LANES);
            for i in 0..width - 1 {
                let (f, threshold) = split(t, i);
                let at = (g * width + i) * LANES + lane;
                forest.nodes[at] = code.encode(f, threshold);
            }
            for j in 0..width {
                forest.leaves[(g * width + j) * LANES + lane] = leaf(t, j);
            }
        }
        Some(forest)
    }

    /// Records the leaf slots of group `g`'s trees that row `row` of `rows` reached (`leaf` holds
    /// them lane by lane): `slots[t * rows + row]` for tree `t`. Padding lanes are skipped.
    pub(super) fn record_slots(
        &self,
        g: usize,
        leaf: &[i32; LANES],
        slots: &mut [u16],
        rows: usize,
        row: usize,
    ) {
        for (l, &slot) in leaf.iter().enumerate() {
            let t = g * LANES + l;
            if t < self.n_trees {
                slots[t * rows + row] = slot as u16;
            }
        }
    }

    /// The nodes and leaves of group `g`, each `2^depth * LANES` long.
    pub(super) fn group(&self, g: usize) -> (&[N], &[f64]) {
        let len = (1usize << self.depth) * LANES;
        (
            &self.nodes[g * len..][..len],
            &self.leaves[g * len..][..len],
        )
    }
}

/// Where a vector walk records the leaf slots it reaches (see
/// [`Interleaved::record_slots`]): nowhere when `slots` is empty.
pub(super) struct Slots<'a> {
    pub(super) slots: &'a mut [u16],
    /// Rows of the whole call: tree `t`'s slots start at `t * rows`.
    pub(super) rows: usize,
    /// The call's index of the first row the walk is given.
    pub(super) first: usize,
}
