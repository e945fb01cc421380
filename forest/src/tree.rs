//! Axis-parallel trees as flat preorder node arrays: the stored form, and the general scoring path
//! (rows with NaN, trees too deep for the perfect layout).

use crate::average_path_length;

/// Marks a leaf in [`AxisNode::feature`].
pub(crate) const LEAF: u32 = u32::MAX;

/// One node of an axis-parallel tree. Children always have larger indices than their parent, so a
/// walk from the root always terminates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct AxisNode {
    /// Split feature, or [`LEAF`].
    pub feature: u32,
    /// `x <= threshold` goes left. Stored as the largest f32 not above the f64 threshold, which makes
    /// the f32 comparison exactly scikit-learn's `(float32)x <= (float64)threshold`.
    pub threshold: f32,
    /// Left child index.
    pub left: u32,
    /// Right child index.
    pub right: u32,
    /// Where a NaN goes: scikit-learn's `missing_go_to_left`.
    pub nan_left: bool,
    /// Leaf only: path length `depth + c(n_leaf)`.
    pub value: f64,
}

impl AxisNode {
    /// A leaf at `depth` (root = 0) holding `n` training rows.
    pub(crate) fn leaf(depth: usize, n: usize) -> Self {
        Self {
            feature: LEAF,
            threshold: 0.0,
            left: 0,
            right: 0,
            nan_left: true,
            value: leaf_value(depth, n),
        }
    }
}

/// `depth + c(n)`, summed the way scikit-learn does (`(depth + 1) + c(n) - 1`, root depth 1 there)
/// so imported models reproduce its scores to the last bit.
pub(crate) fn leaf_value(depth: usize, n: usize) -> f64 {
    ((depth + 1) as f64 + average_path_length(n)) - 1.0
}

/// Largest f32 that is `<= t`; NaN stays NaN.
pub(crate) fn f32_floor(t: f64) -> f32 {
    let r = t as f32;
    if f64::from(r) > t { r.next_down() } else { r }
}

/// One axis-parallel tree.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct AxisTree {
    /// Preorder nodes; index 0 is the root.
    pub nodes: Vec<AxisNode>,
}

impl AxisTree {
    /// Path length of one row (already cast to f32) through this tree.
    #[inline]
    pub(crate) fn path_length(&self, x: &[f32]) -> f64 {
        let mut i = 0usize;
        loop {
            let n = &self.nodes[i];
            if n.feature == LEAF {
                return n.value;
            }
            let v = x[n.feature as usize];
            let left = if v.is_nan() {
                n.nan_left
            } else {
                v <= n.threshold
            };
            i = if left { n.left } else { n.right } as usize;
        }
    }

    /// Depth of the deepest leaf (root alone = 0).
    pub(crate) fn depth(&self) -> usize {
        let mut depth = vec![0usize; self.nodes.len()];
        let mut max = 0;
        for (i, n) in self.nodes.iter().enumerate() {
            max = max.max(depth[i]);
            if n.feature != LEAF {
                depth[n.left as usize] = depth[i] + 1;
                depth[n.right as usize] = depth[i] + 1;
            }
        }
        max
    }

    /// Checks the invariants scoring relies on; the message names the broken one.
    pub(crate) fn validate(&self, n_features: usize) -> Result<(), String> {
        let len = self.nodes.len();
        if len == 0 {
            return Err("tree has no nodes".into());
        }
        let mut has_parent = vec![false; len];
        for (i, n) in self.nodes.iter().enumerate() {
            if n.feature == LEAF {
                if !n.value.is_finite() {
                    return Err(format!("node {i}: leaf value {} is not finite", n.value));
                }
                continue;
            }
            if n.feature as usize >= n_features {
                return Err(format!(
                    "node {i}: feature {} >= feature count {n_features}",
                    n.feature
                ));
            }
            for c in [n.left, n.right] {
                check_child(i, c as usize, &mut has_parent)?;
            }
            if n.threshold.is_nan() {
                return Err(format!("node {i}: threshold is NaN"));
            }
        }
        every_node_reached(&has_parent)
    }
}

/// Checks that `child` of node `parent` comes after it, exists, and has no other parent: a tree
/// read from a file must be a tree, or the depth and layout computed from it would be wrong.
pub(crate) fn check_child(
    parent: usize,
    child: usize,
    has_parent: &mut [bool],
) -> Result<(), String> {
    let len = has_parent.len();
    if child <= parent || child >= len {
        return Err(format!(
            "node {parent}: child {child} out of order or out of range (nodes: {len})"
        ));
    }
    if std::mem::replace(&mut has_parent[child], true) {
        return Err(format!(
            "node {child} has two parents (the second is node {parent})"
        ));
    }
    Ok(())
}

/// Checks that every node but the root is some node's child.
pub(crate) fn every_node_reached(has_parent: &[bool]) -> Result<(), String> {
    match has_parent.iter().skip(1).position(|&p| !p) {
        Some(i) => Err(format!("node {} is not reachable from the root", i + 1)),
        None => Ok(()),
    }
}
