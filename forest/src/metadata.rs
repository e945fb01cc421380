//! Model metadata: what a model is, how it was made and from which data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{DetectorKind, DetectorParams, TrendSpec};

/// Everything a model file records about the model besides the detector itself. Stored as JSON
/// inside the model file; fields added later are optional (`#[serde(default)]`), and keys this build
/// does not know are kept in [`Metadata::extra`], so older readers load newer files and re-save them
/// unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Detector kind.
    pub kind: DetectorKind,
    /// Parameters the detector was fitted with.
    pub params: DetectorParams,
    /// Column names, in the order scoring expects them.
    pub feature_names: Vec<String>,
    /// Number of features (columns).
    pub n_features: usize,
    /// Score threshold: a score above it is an anomaly.
    pub threshold: f64,
    /// Seed the model was fitted with.
    pub seed: u64,
    /// Training row count.
    pub training_rows: usize,
    /// SHA-256 (hex) of the training matrix as little-endian f64, row-major.
    pub training_data_hash: String,
    /// Version of the `forest` crate that wrote the model.
    pub tool_version: String,
    /// Rows each tree was grown from (ψ); isolation forests only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_size: Option<usize>,
    /// Where the model came from when it was not fitted here (e.g. `scikit-learn 1.5.2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// How the threshold was chosen when it was not set by contamination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_selection: Option<ThresholdSelection>,
    /// How a trend-aware model detrends ordered rows before scoring; absent for a global model.
    /// A model file with a trend is written as format version 2, so readers that do not know
    /// this field refuse it instead of scoring raw rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trend: Option<TrendSpec>,
    /// The answer shape the model's clients expect, used by a server told no other; absent means
    /// `native`. A model imported from scikit-learn says `sklearn`, so the Python container's
    /// clients work unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_shape: Option<AnswerShape>,
    /// Each feature's typical value as the detector sees it: the median of its training rows
    /// (of the residuals, for a trend-aware model). Explanations compare values with it. A model
    /// file that has it is written as format version 3; older files lack it and still load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_values: Option<Vec<f64>>,
    /// Further keyed records (e.g. a preprocessing spec); sorted, so the file stays deterministic.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// The layout of a server's answers that a model's clients expect (the server's `format=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnswerShape {
    /// The server's own: a score and an anomaly flag per row.
    Native,
    /// SageMaker's built-in Random Cut Forest: a score per row.
    Rcf,
    /// The scikit-learn Python container: `1` (normal) or `-1` (anomaly) per row.
    Sklearn,
}

impl AnswerShape {
    /// The name in model files, flags and the server's `format=`.
    pub fn name(self) -> &'static str {
        match self {
            AnswerShape::Native => "native",
            AnswerShape::Rcf => "rcf",
            AnswerShape::Sklearn => "sklearn",
        }
    }
}

impl std::fmt::Display for AnswerShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for AnswerShape {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [AnswerShape::Native, AnswerShape::Rcf, AnswerShape::Sklearn]
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown answer shape {s:?}: expected native, rcf or sklearn"))
    }
}

/// A threshold chosen on validation data instead of by contamination.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ThresholdSelection {
    /// Selection method, e.g. `max_f1` or `target_recall`.
    pub method: String,
    /// The method's target value, if it has one.
    #[serde(default)]
    pub target: Option<f64>,
    /// Precision on the validation data at the chosen threshold.
    #[serde(default)]
    pub precision: Option<f64>,
    /// Recall on the validation data at the chosen threshold.
    #[serde(default)]
    pub recall: Option<f64>,
    /// F1 on the validation data at the chosen threshold.
    #[serde(default)]
    pub f1: Option<f64>,
    /// The threshold the model had before this selection.
    #[serde(default)]
    pub previous_threshold: Option<f64>,
}
