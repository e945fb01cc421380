//! Import of scikit-learn `IsolationForest` models from the interchange JSON
//! (`"format": "sklearn-isolation-forest"`, version 1; see `docs/model-format.md`).
//!
//! Scores of an imported model equal scikit-learn's `-score_samples` to within floating-point
//! rounding: rows are cast to f32 and compared with `<=` against the f64 thresholds, a NaN follows
//! each node's `missing_go_to_left`, and a leaf's path length is its depth plus `c(n_node_samples)`.
//! The threshold is `-offset_`. The export carries no seed, training rows or data hash, so those
//! metadata fields are 0 / empty and `source` names the scikit-learn version.

use serde::Deserialize;

use crate::axis::AxisForest;
use crate::model::Detector;
use crate::tree::{AxisNode, AxisTree, f32_floor};
use crate::{
    Contamination, DetectorKind, DetectorParams, Error, ForestParams, MaxSamples, Metadata, Model,
};

/// The `format` value of the interchange JSON.
pub const FORMAT: &str = "sklearn-isolation-forest";
/// The interchange version this build reads.
pub const VERSION: u32 = 1;

/// The most features an imported model may declare (scikit-learn models in practice have tens).
pub const MAX_FEATURES: usize = 100_000;

#[derive(Deserialize)]
struct Export {
    format: String,
    version: u32,
    sklearn_version: String,
    n_features_in: usize,
    feature_names_in: Option<Vec<String>>,
    max_samples: usize,
    offset: f64,
    contamination: ContaminationJson,
    bootstrap: bool,
    n_estimators: usize,
    max_features_subsampled: bool,
    estimators_features: Vec<Vec<usize>>,
    trees: Vec<TreeJson>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ContaminationJson {
    Fraction(f64),
    Word(String),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Flag {
    Int(u8),
    Bool(bool),
}

#[derive(Deserialize)]
struct TreeJson {
    children_left: Vec<i64>,
    children_right: Vec<i64>,
    feature: Vec<i64>,
    threshold: Vec<f64>,
    n_node_samples: Vec<u64>,
    missing_go_to_left: Vec<Flag>,
}

fn err(msg: impl Into<String>) -> Error {
    Error::Import(msg.into())
}

/// Reads the interchange JSON into a [`Model`].
pub fn import_json(text: &str) -> Result<Model, Error> {
    let e: Export =
        serde_json::from_str(text).map_err(|e| err(format!("not valid interchange JSON: {e}")))?;
    if e.format != FORMAT {
        return Err(err(format!(
            "format is {:?}, expected {FORMAT:?}",
            e.format
        )));
    }
    if e.version != VERSION {
        return Err(err(format!(
            "interchange version {} is not supported (this build reads {VERSION})",
            e.version
        )));
    }
    let d = e.n_features_in;
    // Without feature names, one is made per feature: the count must not be a document's claim
    // of arbitrary size.
    if d > MAX_FEATURES {
        return Err(err(format!(
            "n_features_in {d} is above the {MAX_FEATURES} features this build accepts"
        )));
    }
    if d == 0 || e.max_samples == 0 || e.trees.is_empty() {
        return Err(err(format!(
            "n_features_in {d}, max_samples {}, {} trees: all must be positive",
            e.max_samples,
            e.trees.len()
        )));
    }
    if e.n_estimators != e.trees.len() {
        return Err(err(format!(
            "n_estimators is {} but {} trees are given",
            e.n_estimators,
            e.trees.len()
        )));
    }
    if e.max_features_subsampled && e.estimators_features.len() != e.trees.len() {
        return Err(err(format!(
            "{} estimators_features lists for {} trees",
            e.estimators_features.len(),
            e.trees.len()
        )));
    }
    if !e.offset.is_finite() {
        return Err(err(format!("offset {} is not finite", e.offset)));
    }
    let contamination = match e.contamination {
        ContaminationJson::Word(w) if w == "auto" => Contamination::Auto,
        ContaminationJson::Fraction(c) if c > 0.0 && c <= 0.5 => Contamination::Fraction(c),
        ContaminationJson::Word(w) => {
            return Err(err(format!(
                "contamination {w:?} is neither \"auto\" nor a number"
            )));
        }
        ContaminationJson::Fraction(c) => {
            return Err(err(format!("contamination {c} is not in (0, 0.5]")));
        }
    };
    let feature_names = match e.feature_names_in {
        Some(names) if names.len() != d => {
            return Err(err(format!(
                "{} feature names for n_features_in {d}",
                names.len()
            )));
        }
        Some(names) => names,
        None => (1..=d).map(|i| format!("feature_{i}")).collect(),
    };
    let mut trees = Vec::with_capacity(e.trees.len());
    for (t, tree) in e.trees.iter().enumerate() {
        let map = e
            .max_features_subsampled
            .then(|| e.estimators_features[t].as_slice());
        let tree = convert_tree(tree, map, d).map_err(|m| err(format!("tree {t}: {m}")))?;
        trees.push(tree);
    }
    let params = ForestParams {
        n_trees: e.n_estimators,
        max_samples: MaxSamples::Count(e.max_samples),
        contamination,
        bootstrap: e.bootstrap,
        extension_level: 0,
        seed: 0,
    };
    let metadata = Metadata {
        kind: DetectorKind::IsolationForest,
        params: DetectorParams::IsolationForest(params),
        feature_names,
        n_features: d,
        threshold: -e.offset,
        seed: 0,
        training_rows: 0,
        training_data_hash: String::new(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        sample_size: Some(e.max_samples),
        source: Some(format!("scikit-learn {}", e.sklearn_version)),
        threshold_selection: None,
        trend: None,
        answer_shape: None,
        expected_values: None,
        extra: Default::default(),
    };
    Ok(Model {
        metadata,
        detector: Detector::Axis(AxisForest::new(d, e.max_samples, trees)),
    })
}

impl Model {
    /// Same as [`import_json`].
    pub fn from_sklearn_json(text: &str) -> Result<Model, Error> {
        import_json(text)
    }
}

fn convert_tree(t: &TreeJson, map: Option<&[usize]>, d: usize) -> Result<AxisTree, String> {
    let n = t.children_left.len();
    let lens = [
        t.children_right.len(),
        t.feature.len(),
        t.threshold.len(),
        t.n_node_samples.len(),
        t.missing_go_to_left.len(),
    ];
    if n == 0 || lens.iter().any(|&l| l != n) {
        return Err(format!(
            "node arrays must be non-empty and of equal length, got {n} and {lens:?}"
        ));
    }
    let mut out = AxisTree {
        nodes: Vec::with_capacity(n),
    };
    // (sklearn node, depth, index of the parent in `out` and whether this is its right child)
    let mut stack = vec![(0usize, 0usize, None::<(usize, bool)>)];
    let mut seen = vec![false; n];
    while let Some((i, depth, parent)) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            return Err(format!("node {i} is reached twice"));
        }
        let me = out.nodes.len();
        if let Some((p, right)) = parent {
            let node = &mut out.nodes[p];
            if right {
                node.right = me as u32
            } else {
                node.left = me as u32
            }
        }
        let (l, r) = (t.children_left[i], t.children_right[i]);
        if l == -1 {
            out.nodes
                .push(AxisNode::leaf(depth, t.n_node_samples[i] as usize));
            continue;
        }
        // Children after their parent: rules out cycles, so the walk terminates.
        for c in [l, r] {
            if c <= i as i64 || c >= n as i64 {
                return Err(format!(
                    "node {i}: child {c} out of order or out of range ({n} nodes)"
                ));
            }
        }
        let local = usize::try_from(t.feature[i])
            .map_err(|_| format!("node {i}: feature {}", t.feature[i]))?;
        let feature = match map {
            Some(m) => *m.get(local).ok_or(format!(
                "node {i}: feature {local} beyond the tree's {} features",
                m.len()
            ))?,
            None => local,
        };
        if feature >= d {
            return Err(format!("node {i}: feature {feature} >= n_features_in {d}"));
        }
        let threshold = t.threshold[i];
        if threshold.is_nan() {
            return Err(format!("node {i}: threshold is NaN"));
        }
        let nan_left = match t.missing_go_to_left[i] {
            Flag::Int(v) => v != 0,
            Flag::Bool(b) => b,
        };
        out.nodes.push(AxisNode {
            feature: feature as u32,
            threshold: f32_floor(threshold),
            left: 0,
            right: 0,
            nan_left,
            value: 0.0,
        });
        // Right pushed first so the left subtree is emitted first (preorder).
        stack.push((r as usize, depth + 1, Some((me, true))));
        stack.push((l as usize, depth + 1, Some((me, false))));
    }
    Ok(out)
}
