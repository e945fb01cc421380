//! Growing axis-parallel isolation trees with scikit-learn's rules, one seeded stream per tree.

use rand::Rng;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::tree::{AxisNode, AxisTree, f32_floor};

/// scikit-learn's `FEATURE_THRESHOLD`: a feature is constant in a node when `max <= min + 1e-7`.
const FEATURE_THRESHOLD: f32 = 1e-7;

/// The random stream of tree `t`: SplitMix64 of the master seed and the tree index, so each tree's
/// stream is fixed by (seed, t) alone and the thread that grows it does not matter.
pub(crate) fn tree_rng(seed: u64, t: usize) -> Xoshiro256PlusPlus {
    let mut z = seed.wrapping_add((t as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    Xoshiro256PlusPlus::seed_from_u64(z ^ (z >> 31))
}

/// The rows one tree is grown from: ψ distinct rows, or ψ draws with replacement (bootstrap).
pub(crate) fn sample_rows(
    rng: &mut Xoshiro256PlusPlus,
    n: usize,
    psi: usize,
    bootstrap: bool,
) -> Vec<usize> {
    if bootstrap {
        (0..psi).map(|_| rng.gen_range(0..n)).collect()
    } else {
        rand::seq::index::sample(rng, n, psi).into_vec()
    }
}

/// `ceil(log2(max(ψ, 2)))`, scikit-learn's depth limit.
pub(crate) fn depth_limit(psi: usize) -> usize {
    let psi = psi.max(2);
    (usize::BITS - (psi - 1).leading_zeros()) as usize
}

/// Grows one tree from `cols`: the training data cast to f32, column-major (`cols[f * n + row]`).
pub(crate) fn grow_axis_tree(
    cols: &[f32],
    n: usize,
    d: usize,
    rows: &[usize],
    max_depth: usize,
    rng: &mut Xoshiro256PlusPlus,
) -> AxisTree {
    // Gather the sample column-major so every node scan reads contiguous memory.
    let psi = rows.len();
    let mut local = vec![0f32; psi * d];
    for f in 0..d {
        let col = &cols[f * n..(f + 1) * n];
        for (dst, &r) in local[f * psi..(f + 1) * psi].iter_mut().zip(rows) {
            *dst = col[r];
        }
    }
    let mut grower = Grower {
        local: &local,
        psi,
        d,
        max_depth,
        rng,
        nodes: Vec::new(),
        features: (0..d).collect(),
    };
    let mut idx: Vec<u32> = (0..psi as u32).collect();
    grower.grow(&mut idx, 0);
    AxisTree {
        nodes: grower.nodes,
    }
}

struct Grower<'a> {
    local: &'a [f32],
    psi: usize,
    d: usize,
    max_depth: usize,
    rng: &'a mut Xoshiro256PlusPlus,
    nodes: Vec<AxisNode>,
    features: Vec<usize>,
}

impl Grower<'_> {
    fn column(&self, f: usize) -> &[f32] {
        &self.local[f * self.psi..(f + 1) * self.psi]
    }

    /// Emits the subtree over `idx` in preorder; returns its root index.
    fn grow(&mut self, idx: &mut [u32], depth: usize) -> u32 {
        let me = self.nodes.len() as u32;
        let n = idx.len();
        if depth >= self.max_depth || n <= 1 {
            self.nodes.push(AxisNode::leaf(depth, n));
            return me;
        }
        let Some((feature, threshold)) = self.draw_split(idx) else {
            // Every feature is constant here: scikit-learn makes this a leaf.
            self.nodes.push(AxisNode::leaf(depth, n));
            return me;
        };
        let col = self.column(feature);
        let mut split = 0;
        for i in 0..n {
            if col[idx[i] as usize] <= threshold {
                idx.swap(i, split);
                split += 1;
            }
        }
        self.nodes.push(AxisNode {
            feature: feature as u32,
            threshold,
            left: 0,
            right: 0,
            nan_left: split > n - split,
            value: 0.0,
        });
        let (l, r) = idx.split_at_mut(split);
        let left = self.grow(l, depth + 1);
        let right = self.grow(r, depth + 1);
        let node = &mut self.nodes[me as usize];
        node.left = left;
        node.right = right;
        me
    }

    /// A uniformly random non-constant feature and a threshold uniform in [min, max); `None` when
    /// all features are constant in the node.
    fn draw_split(&mut self, idx: &[u32]) -> Option<(usize, f32)> {
        let mut remaining = self.d;
        while remaining > 0 {
            let k = self.rng.gen_range(0..remaining);
            let f = self.features[k];
            let col = self.column(f);
            let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
            for &i in idx {
                let v = col[i as usize];
                lo = lo.min(v);
                hi = hi.max(v);
            }
            if hi <= lo + FEATURE_THRESHOLD {
                // Constant: never draw it again in this node.
                remaining -= 1;
                self.features.swap(k, remaining);
                continue;
            }
            let (lo64, hi64) = (f64::from(lo), f64::from(hi));
            let mut t = lo64 + (hi64 - lo64) * self.rng.r#gen::<f64>();
            if t == hi64 {
                t = lo64;
            }
            return Some((f, f32_floor(t)));
        }
        None
    }
}
