//! Axis-parallel isolation forests (fitted here or imported from scikit-learn): scoring.

use std::sync::OnceLock;

use crate::explain::gains::{Contributions, node_gains};
use crate::layout::{PerfectForest, row_stride};
use crate::tree::{AxisTree, LEAF};
use crate::{average_path_length, isolation_score};

/// Rows cast to f32 and scored together; small enough that the rows stay in L1 beside one tree.
const BLOCK: usize = 256;

/// An axis-parallel forest: the stored trees plus the fast layout derived from them.
#[derive(Debug, Clone)]
pub(crate) struct AxisForest {
    pub n_features: usize,
    /// ψ: rows per tree, which sets the normaliser c(ψ).
    pub sample_size: usize,
    pub trees: Vec<AxisTree>,
    perfect: Option<PerfectForest>,
    /// What the explanation walk reads, built on first use.
    explain: OnceLock<Box<Explainer>>,
}

impl AxisForest {
    pub(crate) fn new(n_features: usize, sample_size: usize, trees: Vec<AxisTree>) -> Self {
        let perfect = PerfectForest::build(&trees, n_features);
        Self {
            n_features,
            sample_size,
            trees,
            perfect,
            explain: OnceLock::new(),
        }
    }

    /// The walk that scores rows without NaN; `None` when the forest is too deep for the perfect
    /// layout and every row takes the general path.
    pub(crate) fn kernel(&self) -> Option<crate::Kernel> {
        self.perfect.as_ref().map(PerfectForest::kernel)
    }

    /// Rebuilds the fast layout for `kernel` (see [`crate::Model::use_kernel`]).
    pub(crate) fn use_kernel(&mut self, kernel: crate::Kernel) -> Option<crate::Kernel> {
        self.perfect = PerfectForest::build_for(&self.trees, self.n_features, kernel);
        self.kernel()
    }

    /// See [`crate::Model::heap_bytes`].
    pub(crate) fn heap_bytes(&self) -> usize {
        let trees: usize = self.trees.iter().map(|t| crate::vec_bytes(&t.nodes)).sum();
        let perfect = self.perfect.as_ref().map_or(0, PerfectForest::heap_bytes);
        let explain = self.explain.get().map_or(0, |e| e.heap_bytes());
        crate::vec_bytes(&self.trees) + trees + perfect + explain
    }

    fn denominator(&self) -> f64 {
        self.trees.len() as f64 * average_path_length(self.sample_size)
    }

    /// Score of one row of the right width.
    pub(crate) fn score_row(&self, row: &[f64]) -> f64 {
        let mut buf = [0f32; 64];
        let mut heap = Vec::new();
        let x: &mut [f32] = if row.len() <= buf.len() {
            &mut buf[..row.len()]
        } else {
            heap.resize(row.len(), 0.0);
            &mut heap
        };
        let mut has_nan = false;
        for (xi, &v) in x.iter_mut().zip(row) {
            *xi = v as f32;
            has_nan |= v.is_nan();
        }
        let sum = match &self.perfect {
            Some(p) if !has_nan => p.path_length_sum(x),
            _ => self.general_sum(x),
        };
        isolation_score(sum, self.denominator())
    }

    fn general_sum(&self, x: &[f32]) -> f64 {
        let mut sum = 0.0;
        for t in &self.trees {
            sum += t.path_length(x);
        }
        sum
    }

    /// Scores rows given row-major (`rows.len() == out.len() * d`) into `out`.
    pub(crate) fn score_rows(&self, rows: &[f64], out: &mut [f64]) {
        let d = self.n_features;
        let denom = self.denominator();
        let Some(perfect) = &self.perfect else {
            for (row, o) in rows.chunks_exact(d).zip(out.iter_mut()) {
                *o = self.score_row(row);
            }
            return;
        };
        let stride = row_stride(d);
        let mut xs: Vec<f32> = Vec::with_capacity(BLOCK * stride);
        let mut pos: Vec<usize> = Vec::with_capacity(BLOCK);
        let mut sums = vec![0.0; BLOCK];
        for (block, out_block) in rows.chunks(BLOCK * d).zip(out.chunks_mut(BLOCK)) {
            xs.clear();
            pos.clear();
            for (r, row) in block.chunks_exact(d).enumerate() {
                if push_row(&mut xs, row, stride) {
                    pos.push(r);
                } else {
                    out_block[r] = self.score_row(row);
                }
            }
            let sums = &mut sums[..pos.len()];
            sums.fill(0.0);
            perfect.add_path_lengths(&xs, stride, sums);
            for (&r, &s) in pos.iter().zip(sums.iter()) {
                out_block[r] = isolation_score(s, denom);
            }
        }
    }

    /// Adds each feature's gains along each row's path in every tree, averaged over the trees,
    /// for a block of rows (row-major, `d` wide) into `acc` (`2d` per row: feature f's low side
    /// at 2f, its high side at 2f + 1; see [`Contributions`]). Rows are compared
    /// in f32 as scoring compares them, so the paths are the scored ones.
    ///
    /// A tree's gains along a path depend only on the leaf the path ends in, so they are
    /// precomputed per leaf slot of the perfect layout ([`LeafPaths`]): a row without NaN is
    /// walked as scoring walks it, branch-free and several rows at a time, to its leaf slots, and
    /// then adds each slot's few gains. Rows with NaN (and forests too deep for the layout) walk
    /// the stored trees.
    /// Also scores the rows into `scores`, as [`AxisForest::score_rows`] does (bit for bit): the
    /// walk to the leaf slots is the scoring walk.
    /// `typical` is the model's typical value per feature, if it records them: a row that differs
    /// from it on every feature is explained from net gains only (see [`LeafPaths`]).
    pub(crate) fn contributions_block(
        &self,
        rows: &[f64],
        typical: Option<&[f64]>,
        acc: &mut [f64],
        scores: &mut [f64],
        buffers: &mut WalkBuffers,
    ) {
        let d = self.n_features;
        let n = rows.len() / d;
        let explain = self.explain.get_or_init(|| Box::new(Explainer::new(self)));
        let WalkBuffers {
            walked,
            xs,
            clean,
            netted,
            slots,
            sums,
        } = buffers;
        walked.clear();
        match (&self.perfect, &explain.leaves) {
            (Some(perfect), Some(paths)) => {
                let stride = row_stride(d);
                xs.clear();
                clean.clear();
                netted.clear();
                for (r, row) in rows.chunks_exact(d).enumerate() {
                    if !push_row(xs, row, stride) {
                        walked.push(r);
                    } else {
                        clean.push(r);
                        // The direction comes from the difference to the typical value unless it
                        // is zero (or there is none): then it needs both sides' gains.
                        netted.push(typical.is_some_and(|t| {
                            row.iter().zip(t).all(|(v, m)| {
                                let off = v - m;
                                off != 0.0 && !off.is_nan()
                            })
                        }));
                    }
                }
                let m = clean.len();
                slots.clear();
                slots.resize(m * self.trees.len(), 0);
                sums.clear();
                sums.resize(m, 0.0);
                perfect.add_path_lengths_and_slots(xs, stride, sums, slots);
                let denom = self.denominator();
                for (&r, &s) in clean.iter().zip(sums.iter()) {
                    scores[r] = isolation_score(s, denom);
                }
                for &r in walked.iter() {
                    scores[r] = self.score_row(&rows[r * d..(r + 1) * d]);
                }
                paths.add_all(slots, clean, netted, acc, d);
            }
            _ => {
                self.score_rows(rows, scores);
                walked.extend(0..n);
            }
        }
        for tree in &explain.trees {
            for &r in walked.iter() {
                tree.walk(
                    &rows[r * d..(r + 1) * d],
                    &mut acc[r * 2 * d..(r + 1) * 2 * d],
                );
            }
        }
        Contributions { sides: acc }.average_over(self.trees.len());
    }
}

/// The scratch space of [`AxisForest::contributions_block`], kept from one block of rows to the
/// next so that explaining a large batch does not allocate (and fault in) it per block.
#[derive(Debug, Default)]
pub(crate) struct WalkBuffers {
    /// Rows with NaN, walked node by node.
    walked: Vec<usize>,
    /// The other rows, as the perfect layout reads them.
    xs: Vec<f32>,
    /// Their indices in the block.
    clean: Vec<usize>,
    /// Whether each of them is explained from net gains only.
    netted: Vec<bool>,
    /// Their leaf slot in each tree.
    slots: Vec<u16>,
    /// Their path-length sums.
    sums: Vec<f64>,
}

/// What the explanation walk reads, built from the trees on first use.
#[derive(Debug, Clone)]
pub(crate) struct Explainer {
    /// The stored trees with each node's split and its children's gains.
    trees: Vec<ExplainTree>,
    /// Per leaf slot of the perfect layout, the gains along the path to it.
    leaves: Option<LeafPaths>,
}

impl Explainer {
    fn heap_bytes(&self) -> usize {
        let trees: usize = self.trees.iter().map(|t| crate::vec_bytes(&t.nodes)).sum();
        let leaves = self.leaves.as_ref().map_or(0, |l| {
            l.dense.as_ref().map_or(0, crate::vec_bytes)
                + l.net.as_ref().map_or(0, crate::vec_bytes)
                + crate::vec_bytes(&l.starts)
                + crate::vec_bytes(&l.pairs)
        });
        std::mem::size_of::<Explainer>() + crate::vec_bytes(&self.trees) + trees + leaves
    }

    fn new(forest: &AxisForest) -> Self {
        let trees: Vec<ExplainTree> = forest
            .trees
            .iter()
            .map(|t| ExplainTree::new(t, forest.sample_size))
            .collect();
        let leaves = forest
            .perfect
            .as_ref()
            .map(|p| LeafPaths::new(&trees, p.depth(), forest.n_features));
        Explainer { trees, leaves }
    }
}

/// A tree as the explanation walk reads it: per node, the split and the gains of reaching
/// either child (`explain`'s gains), left then right.
#[derive(Debug, Clone)]
struct ExplainTree {
    nodes: Vec<ExplainNode>,
}

#[derive(Debug, Clone, Copy)]
struct ExplainNode {
    /// Split feature, or [`LEAF`].
    feature: u32,
    threshold: f32,
    left: u32,
    right: u32,
    nan_left: bool,
    gains: [f64; 2],
}

impl ExplainTree {
    fn new(t: &AxisTree, sample_size: usize) -> Self {
        let n = &t.nodes;
        let gains = node_gains(
            n.len(),
            |i| (n[i].feature != LEAF).then(|| (n[i].left as usize, n[i].right as usize)),
            |i| n[i].value,
            sample_size,
        );
        let nodes = n
            .iter()
            .map(|node| {
                let leaf = node.feature == LEAF;
                let gain = |c: u32| if leaf { 0.0 } else { gains[c as usize] };
                ExplainNode {
                    feature: node.feature,
                    threshold: node.threshold,
                    left: node.left,
                    right: node.right,
                    nan_left: node.nan_left,
                    gains: [gain(node.left), gain(node.right)],
                }
            })
            .collect();
        ExplainTree { nodes }
    }

    /// Adds the gains along `row`'s path into `acc` (low side of feature f at 2f, high at 2f + 1).
    fn walk(&self, row: &[f64], acc: &mut [f64]) {
        let mut n = &self.nodes[0];
        while n.feature != LEAF {
            let f = n.feature as usize;
            let v = row[f] as f32;
            let left = if v.is_nan() {
                n.nan_left
            } else {
                v <= n.threshold
            };
            let side = usize::from(!left);
            acc[2 * f + side] += n.gains[side];
            n = &self.nodes[if left { n.left } else { n.right } as usize];
        }
    }

    /// Calls `each(slot, path)` for every leaf, with its slot in a perfect tree of `depth` (a leaf
    /// above the bottom takes its leftmost descendant slot, where padding sends every value) and
    /// its path as `(2f + side, gain)` pairs.
    fn leaves(&self, depth: usize, mut each: impl FnMut(usize, &[(u32, f64)])) {
        let mut path = Vec::with_capacity(depth);
        self.visit(0, 0, 0, depth, &mut path, &mut each);
    }

    fn visit(
        &self,
        node: usize,
        pos: usize,
        level: usize,
        depth: usize,
        path: &mut Vec<(u32, f64)>,
        each: &mut impl FnMut(usize, &[(u32, f64)]),
    ) {
        let n = &self.nodes[node];
        if n.feature == LEAF {
            let mut p = pos;
            for _ in level..depth {
                p = 2 * p + 1;
            }
            each(p + 1 - (1 << depth), path);
            return;
        }
        for (side, child) in [(0, n.left), (1, n.right)] {
            path.push((2 * n.feature + side, n.gains[side as usize]));
            self.visit(
                child as usize,
                2 * pos + 1 + side as usize,
                level + 1,
                depth,
                path,
                each,
            );
            path.pop();
        }
    }
}

/// Most features for which [`LeafPaths`] stores each slot's gains densely.
const DENSE_FEATURES: usize = 16;

/// Per tree and leaf slot of the perfect layout, the gains along the path to it: densely, as the
/// `2d` sums a row adds at once (low side of feature f at 2f, high at 2f + 1), when the model has at
/// most [`DENSE_FEATURES`] features; otherwise as the path's `(2f + side, gain)` pairs, flat.
///
/// The dense form also keeps each slot's `d` net gains (low plus high side). A row whose every
/// value differs from the model's typical value takes its direction from that difference and
/// needs only the net: half the bytes to add per tree.
#[derive(Debug, Clone)]
struct LeafPaths {
    width: usize,
    /// `2d` sums per `[tree][slot]`, when dense.
    dense: Option<Vec<f64>>,
    /// `d` net sums per `[tree][slot]`, when dense.
    net: Option<Vec<f64>>,
    /// `starts[t * width + slot]..starts[t * width + slot + 1]` indexes `pairs`.
    starts: Vec<u32>,
    pairs: Vec<(u32, f64)>,
}

impl LeafPaths {
    fn new(trees: &[ExplainTree], depth: usize, n_features: usize) -> Self {
        let width = 1usize << depth;
        let mut by_slot: Vec<Vec<(u32, f64)>> = vec![Vec::new(); width * trees.len()];
        for (t, tree) in trees.iter().enumerate() {
            tree.leaves(depth, |slot, path| {
                // One pair per (feature, side): fewer additions, none waiting on the last.
                let mut merged: Vec<(u32, f64)> = Vec::with_capacity(path.len());
                for &(at, gain) in path {
                    match merged.iter_mut().find(|(a, _)| *a == at) {
                        Some((_, g)) => *g += gain,
                        None => merged.push((at, gain)),
                    }
                }
                by_slot[t * width + slot] = merged;
            });
        }
        if n_features <= DENSE_FEATURES {
            let w = 2 * n_features;
            let mut dense = vec![0.0; by_slot.len() * w];
            for (sums, path) in dense.chunks_exact_mut(w).zip(&by_slot) {
                for &(at, gain) in path {
                    sums[at as usize] = gain;
                }
            }
            let net = dense
                .chunks_exact(2)
                .map(|side| side[0] + side[1])
                .collect();
            return LeafPaths {
                width,
                dense: Some(dense),
                net: Some(net),
                starts: Vec::new(),
                pairs: Vec::new(),
            };
        }
        let mut starts = Vec::with_capacity(by_slot.len() + 1);
        let mut pairs = Vec::new();
        for path in by_slot {
            starts.push(pairs.len() as u32);
            pairs.extend(path);
        }
        starts.push(pairs.len() as u32);
        LeafPaths {
            width,
            dense: None,
            net: None,
            starts,
            pairs,
        }
    }

    /// Adds, for every tree, the gains of the leaf slot each row reached: `slots[t * m + k]` is
    /// the slot of row `rows[k]` (of `m`) in tree `t`; `acc` holds `2d` sums per row. A row whose
    /// `netted[k]` is set gets each feature's net sum in its low side (and nothing in its high
    /// side), when the dense form is there.
    fn add_all(&self, slots: &[u16], rows: &[usize], netted: &[bool], acc: &mut [f64], d: usize) {
        let m = rows.len();
        if m == 0 {
            return;
        }
        let Some(dense) = &self.dense else {
            for (t, slots) in slots.chunks_exact(m).enumerate() {
                for (&r, &slot) in rows.iter().zip(slots) {
                    let i = t * self.width + slot as usize;
                    for &(at, gain) in
                        &self.pairs[self.starts[i] as usize..self.starts[i + 1] as usize]
                    {
                        acc[r * 2 * d + at as usize] += gain;
                    }
                }
            }
            return;
        };
        // A fixed width lets the compiler add a slot's sums as a few vector additions.
        macro_rules! widths {
            ($($d:literal),*) => {
                match d {
                    $($d => self.add_dense::<$d, { 2 * $d }>(dense, slots, rows, netted, acc),)*
                    _ => unreachable!("dense paths hold at most {DENSE_FEATURES} features"),
                }
            };
        }
        widths!(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)
    }

    fn add_dense<const D: usize, const W: usize>(
        &self,
        dense: &[f64],
        slots: &[u16],
        rows: &[usize],
        netted: &[bool],
        acc: &mut [f64],
    ) {
        let (dense, _) = dense.as_chunks::<W>();
        let net = self.net.as_deref().map(|n| n.as_chunks::<D>().0);
        let (acc, _) = acc.as_chunks_mut::<W>();
        let m = rows.len();
        let trees = slots.len() / m;
        // Row by row, the row's sums held in registers across the trees: no load and store of
        // the accumulator per tree.
        for (i, &r) in rows.iter().enumerate() {
            match net.filter(|_| netted[i]) {
                Some(net) => {
                    let mut a = [0.0f64; D];
                    for t in 0..trees {
                        let g = &net[t * self.width + slots[t * m + i] as usize];
                        for k in 0..D {
                            a[k] += g[k];
                        }
                    }
                    for f in 0..D {
                        acc[r][2 * f] += a[f];
                    }
                }
                None => {
                    let mut a = [0.0f64; W];
                    for t in 0..trees {
                        let g = &dense[t * self.width + slots[t * m + i] as usize];
                        for k in 0..W {
                            a[k] += g[k];
                        }
                    }
                    for k in 0..W {
                        acc[r][k] += a[k];
                    }
                }
            }
        }
    }
}

/// Appends `row` to `xs` as the vector walks read it (f32, zero-padded to `stride`) and returns
/// true, or returns false and leaves `xs` as it was when the row holds a NaN (such rows walk the
/// stored trees). The check runs over the whole row without an early exit, alongside the
/// conversion, so both vectorise: at d = 20 this loop was a tenth of the scoring time.
fn push_row(xs: &mut Vec<f32>, row: &[f64], stride: usize) -> bool {
    let start = xs.len();
    xs.resize(start + stride, 0.0);
    let mut nan = false;
    for (x, &v) in xs[start..].iter_mut().zip(row) {
        *x = v as f32;
        nan |= v.is_nan();
    }
    if nan {
        xs.truncate(start);
    }
    !nan
}
