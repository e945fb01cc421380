//! Extended isolation forests (Hariri, Kind & Brunner, 2019): hyperplane splits.
//!
//! A node's normal vector has `extension_level + 1` nonzero N(0, 1) coordinates on distinct, randomly
//! chosen features; its intercept point `p` is uniform in the node's bounding box. A row goes left
//! iff `x · n <= b` with `b = p · n`, evaluated in f64. Only the nonzero coordinates are stored
//! (sparse indices + coefficients, flat per tree). When the projection is NaN (a NaN in a coordinate
//! the node uses) the row goes to the child that received more training rows, the same rule as the
//! axis-parallel trees.

use rand::Rng;
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;

use std::sync::OnceLock;

use crate::explain::gains::{Contributions, node_gains};
use crate::tree::leaf_value;
use crate::{average_path_length, isolation_score};

/// One node; `left == 0` marks a leaf (the root is never a child).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ExtNode {
    pub left: u32,
    pub right: u32,
    /// Internal: first of this node's `k` entries in the coefficient arrays.
    pub coef: u32,
    pub nan_left: bool,
    /// Internal: intercept `b`. Leaf: path length `depth + c(n)`.
    pub value: f64,
}

/// One tree: preorder nodes plus the flat sparse normal vectors of its internal nodes.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ExtTree {
    pub nodes: Vec<ExtNode>,
    pub coef_features: Vec<u32>,
    pub coefs: Vec<f64>,
}

/// An extended forest.
#[derive(Debug, Clone)]
pub(crate) struct ExtForest {
    pub n_features: usize,
    pub sample_size: usize,
    /// Nonzero coordinates per normal vector (`extension_level + 1`).
    pub k: usize,
    pub trees: Vec<ExtTree>,
    /// Per tree and node, the gain of reaching the node (see `explain`), built on first use.
    pub gains: OnceLock<Vec<Vec<f64>>>,
}

impl ExtTree {
    fn path_length(&self, x: &[f64], k: usize) -> f64 {
        let mut i = 0usize;
        loop {
            let n = &self.nodes[i];
            if n.left == 0 {
                return n.value;
            }
            i = if self.goes_left(n, x, k) {
                n.left
            } else {
                n.right
            } as usize;
        }
    }

    /// Whether row `x` goes left at internal node `n`: `x · w <= b`, NaN by the node's rule.
    #[inline]
    fn goes_left(&self, n: &ExtNode, x: &[f64], k: usize) -> bool {
        let c = n.coef as usize;
        let mut dot = 0.0;
        for (&f, &w) in self.coef_features[c..c + k]
            .iter()
            .zip(&self.coefs[c..c + k])
        {
            dot += x[f as usize] * w;
        }
        if dot.is_nan() {
            n.nan_left
        } else {
            dot <= n.value
        }
    }

    /// Checks the invariants scoring relies on.
    pub(crate) fn validate(&self, n_features: usize, k: usize) -> Result<(), String> {
        let len = self.nodes.len();
        if len == 0 {
            return Err("tree has no nodes".into());
        }
        if self.coef_features.len() != self.coefs.len() {
            return Err("coefficient arrays differ in length".into());
        }
        if let Some(f) = self
            .coef_features
            .iter()
            .find(|&&f| f as usize >= n_features)
        {
            return Err(format!(
                "coefficient feature {f} >= feature count {n_features}"
            ));
        }
        let mut has_parent = vec![false; len];
        for (i, n) in self.nodes.iter().enumerate() {
            if n.left == 0 {
                continue;
            }
            for c in [n.left, n.right] {
                crate::tree::check_child(i, c as usize, &mut has_parent)?;
            }
            if n.coef as usize + k > self.coefs.len() {
                return Err(format!(
                    "node {i}: coefficients {}..{} out of range",
                    n.coef,
                    n.coef as usize + k
                ));
            }
        }
        crate::tree::every_node_reached(&has_parent)
    }
}

impl ExtForest {
    /// See [`crate::Model::heap_bytes`].
    pub(crate) fn heap_bytes(&self) -> usize {
        let trees: usize = self
            .trees
            .iter()
            .map(|t| {
                crate::vec_bytes(&t.nodes)
                    + crate::vec_bytes(&t.coef_features)
                    + crate::vec_bytes(&t.coefs)
            })
            .sum();
        let gains = self.gains.get().map_or(0, |g| {
            crate::vec_bytes(g) + g.iter().map(crate::vec_bytes).sum::<usize>()
        });
        crate::vec_bytes(&self.trees) + trees + gains
    }

    /// A forest of `trees` grown from `sample_size` rows each, with `k` coordinates per split.
    pub(crate) fn new(
        n_features: usize,
        sample_size: usize,
        k: usize,
        trees: Vec<ExtTree>,
    ) -> Self {
        Self {
            n_features,
            sample_size,
            k,
            trees,
            gains: OnceLock::new(),
        }
    }

    /// Adds each feature's share of the gains along the row's path in every tree, averaged over
    /// the trees. A split's gain is shared by `|w_f| · |x_f − m_f|` (`expected` gives `m`; `|w_f|`
    /// alone without it or when every deviation is 0); when a coordinate is NaN or infinite, the
    /// features that are share it, since they alone decided the side.
    pub(crate) fn contributions(
        &self,
        row: &[f64],
        expected: Option<&[f64]>,
        mut out: Contributions<'_>,
    ) {
        let gains = self.gains.get_or_init(|| {
            self.trees
                .iter()
                .map(|t| {
                    let n = &t.nodes;
                    node_gains(
                        n.len(),
                        |i| (n[i].left != 0).then(|| (n[i].left as usize, n[i].right as usize)),
                        |i| n[i].value,
                        self.sample_size,
                    )
                })
                .collect()
        });
        let k = self.k;
        let mut weights = vec![0.0; k];
        for (t, g) in self.trees.iter().zip(gains) {
            let mut i = 0usize;
            loop {
                let n = &t.nodes[i];
                if n.left == 0 {
                    break;
                }
                let c = n.coef as usize;
                let features = &t.coef_features[c..c + k];
                let coefs = &t.coefs[c..c + k];
                let left = t.goes_left(n, row, k);
                i = if left { n.left } else { n.right } as usize;
                share_weights(row, expected, features, coefs, &mut weights);
                let total: f64 = weights.iter().sum();
                for ((&f, &w), &s) in features.iter().zip(coefs).zip(&weights) {
                    // Going right means a larger projection: higher along a positive coefficient.
                    out.add(f as usize, g[i] * s / total, left == (w < 0.0));
                }
            }
        }
        out.average_over(self.trees.len());
    }
    /// Score of one row of the right width.
    pub(crate) fn score_row(&self, row: &[f64]) -> f64 {
        let mut sum = 0.0;
        for t in &self.trees {
            sum += t.path_length(row, self.k);
        }
        let denom = self.trees.len() as f64 * average_path_length(self.sample_size);
        isolation_score(sum, denom)
    }
}

/// Grows one extended tree from the rows `rows` of `data` (row-major, `d` wide).
pub(crate) fn grow_ext_tree(
    data: &[f64],
    d: usize,
    rows: &[usize],
    k: usize,
    max_depth: usize,
    rng: &mut Xoshiro256PlusPlus,
) -> ExtTree {
    let mut local = Vec::with_capacity(rows.len() * d);
    for &r in rows {
        local.extend_from_slice(&data[r * d..(r + 1) * d]);
    }
    let mut g = Grower {
        local: &local,
        d,
        k,
        max_depth,
        rng,
        tree: ExtTree::default(),
        features: (0..d as u32).collect(),
    };
    let mut idx: Vec<u32> = (0..rows.len() as u32).collect();
    g.grow(&mut idx, 0);
    g.tree
}

struct Grower<'a> {
    local: &'a [f64],
    d: usize,
    k: usize,
    max_depth: usize,
    rng: &'a mut Xoshiro256PlusPlus,
    tree: ExtTree,
    features: Vec<u32>,
}

impl Grower<'_> {
    fn row(&self, i: u32) -> &[f64] {
        &self.local[i as usize * self.d..(i as usize + 1) * self.d]
    }

    fn grow(&mut self, idx: &mut [u32], depth: usize) -> u32 {
        let me = self.tree.nodes.len() as u32;
        let n = idx.len();
        if depth >= self.max_depth || n <= 1 {
            self.tree.nodes.push(ExtNode {
                left: 0,
                right: 0,
                coef: 0,
                nan_left: true,
                value: leaf_value(depth, n),
            });
            return me;
        }
        let coef = self.tree.coefs.len();
        // Partial Fisher-Yates: the first k entries become this node's distinct features.
        for j in 0..self.k {
            let s = self.rng.gen_range(j..self.d);
            self.features.swap(j, s);
        }
        let mut b = 0.0;
        for j in 0..self.k {
            let f = self.features[j];
            let (lo, hi) = idx
                .iter()
                .map(|&i| self.row(i)[f as usize])
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                    (lo.min(v), hi.max(v))
                });
            let w: f64 = self.rng.sample(StandardNormal);
            let p = lo + (hi - lo) * self.rng.r#gen::<f64>();
            b += p * w;
            self.tree.coef_features.push(f);
            self.tree.coefs.push(w);
        }
        let mut split = 0;
        for i in 0..n {
            if self.project(idx[i], coef) <= b {
                idx.swap(i, split);
                split += 1;
            }
        }
        self.tree.nodes.push(ExtNode {
            left: 0,
            right: 0,
            coef: coef as u32,
            nan_left: split > n - split,
            value: b,
        });
        let (l, r) = idx.split_at_mut(split);
        let left = self.grow(l, depth + 1);
        let right = self.grow(r, depth + 1);
        let node = &mut self.tree.nodes[me as usize];
        node.left = left;
        node.right = right;
        me
    }

    fn project(&self, i: u32, coef: usize) -> f64 {
        let x = self.row(i);
        let mut dot = 0.0;
        for (&f, &w) in self.tree.coef_features[coef..coef + self.k]
            .iter()
            .zip(&self.tree.coefs[coef..coef + self.k])
        {
            dot += x[f as usize] * w;
        }
        dot
    }
}

/// How one hyperplane split shares its gain between its features (see
/// [`ExtForest::contributions`]); the weights are left summing to a positive total.
fn share_weights(
    row: &[f64],
    expected: Option<&[f64]>,
    features: &[u32],
    coefs: &[f64],
    weights: &mut [f64],
) {
    let wild = features.iter().any(|&f| !row[f as usize].is_finite());
    for ((&f, &w), s) in features.iter().zip(coefs).zip(weights.iter_mut()) {
        let x = row[f as usize];
        *s = if wild {
            f64::from(u8::from(!x.is_finite()))
        } else {
            w.abs() * expected.map_or(1.0, |m| (x - m[f as usize]).abs())
        };
    }
    let total: f64 = weights.iter().sum();
    if total.is_infinite() {
        // A deviation too large for f64: the features that overflowed decided alone.
        for s in weights.iter_mut() {
            *s = f64::from(u8::from(s.is_infinite()));
        }
    } else if total <= 0.0 {
        for (s, &w) in weights.iter_mut().zip(coefs) {
            *s = w.abs();
        }
        if weights.iter().sum::<f64>() <= 0.0 {
            weights.fill(1.0);
        }
    }
}
