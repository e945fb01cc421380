//! Axis-parallel isolation forests (fitted here or imported from scikit-learn): scoring.

use std::sync::OnceLock;

use crate::explain::{Contributions, node_gains};
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
    /// Per tree and node, the gain of reaching the node (see `explain`), built on first use.
    gains: OnceLock<Vec<Vec<f64>>>,
}

impl AxisForest {
    pub(crate) fn new(n_features: usize, sample_size: usize, trees: Vec<AxisTree>) -> Self {
        let perfect = PerfectForest::build(&trees, n_features);
        Self {
            n_features,
            sample_size,
            trees,
            perfect,
            gains: OnceLock::new(),
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
                if row.iter().any(|v| v.is_nan()) {
                    out_block[r] = self.score_row(row);
                } else {
                    xs.extend(row.iter().map(|&v| v as f32));
                    xs.resize(xs.len() + stride - d, 0.0);
                    pos.push(r);
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

    /// Adds each feature's gains along the row's path in every tree, averaged over the trees.
    /// The row is compared in f32 as scoring compares it, so the paths are the scored ones.
    pub(crate) fn contributions(&self, row: &[f64], mut out: Contributions<'_>) {
        let gains = self.gains.get_or_init(|| {
            self.trees
                .iter()
                .map(|t| {
                    let n = &t.nodes;
                    node_gains(
                        n.len(),
                        |i| {
                            (n[i].feature != LEAF)
                                .then(|| (n[i].left as usize, n[i].right as usize))
                        },
                        |i| n[i].value,
                        self.sample_size,
                    )
                })
                .collect()
        });
        let x: Vec<f32> = row.iter().map(|&v| v as f32).collect();
        for (t, g) in self.trees.iter().zip(gains) {
            let mut i = 0usize;
            loop {
                let n = &t.nodes[i];
                if n.feature == LEAF {
                    break;
                }
                let f = n.feature as usize;
                let v = x[f];
                let left = if v.is_nan() {
                    n.nan_left
                } else {
                    v <= n.threshold
                };
                i = if left { n.left } else { n.right } as usize;
                out.add(f, g[i], !left);
            }
        }
        let trees = self.trees.len().max(1) as f64;
        out.high
            .iter_mut()
            .chain(out.low.iter_mut())
            .for_each(|a| *a /= trees);
    }
}
