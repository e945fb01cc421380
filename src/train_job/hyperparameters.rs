//! SageMaker hyperparameters (a JSON object whose values are all strings) -> fit parameters.
//!
//! Keys follow the trainer's flags and scikit-learn's names. Unknown keys are errors, except the
//! ones SageMaker itself adds (`sagemaker_*`, and `_*` from automatic model tuning), so a typo never
//! silently trains a default model.

use forest::{DetectorParams, ForestParams, KMeansParams};
use serde_json::{Map, Value};

use super::TrainError;

/// Every key this job understands, for error messages.
pub(super) const KEYS: &[&str] = &[
    "detector",
    "trees",
    "n_estimators",
    "max_samples",
    "contamination",
    "bootstrap",
    "extension_level",
    "seed",
    "k",
    "max_iter",
    "columns",
];

/// What the hyperparameters ask for.
#[derive(Debug, Clone, PartialEq)]
pub struct Hyperparameters {
    /// Detector and its fit parameters.
    pub params: DetectorParams,
    /// Feature columns to read, in order; `None` = every numeric column.
    pub columns: Option<Vec<String>>,
}

fn bad(name: &str, message: impl Into<String>) -> TrainError {
    TrainError::Hyperparameter {
        name: name.to_owned(),
        message: message.into(),
    }
}

/// SageMaker sends strings; numbers and booleans typed by hand into a local file are taken too.
fn as_text<'a>(name: &str, value: &'a Value) -> Result<std::borrow::Cow<'a, str>, TrainError> {
    match value {
        Value::String(s) => Ok(s.trim().into()),
        Value::Number(n) => Ok(n.to_string().into()),
        Value::Bool(b) => Ok(b.to_string().into()),
        other => Err(bad(name, format!("expected a string, found {other}"))),
    }
}

fn integer<T: std::str::FromStr>(name: &str, text: &str) -> Result<T, TrainError> {
    text.parse().map_err(|_| {
        bad(
            name,
            format!("expected a non-negative integer, found {text:?}"),
        )
    })
}

fn fraction(name: &str, text: &str) -> Result<f64, TrainError> {
    text.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .ok_or_else(|| bad(name, format!("expected a number, found {text:?}")))
}

fn boolean(name: &str, text: &str) -> Result<bool, TrainError> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(bad(name, format!("expected true or false, found {text:?}"))),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Detector {
    Forest,
    KMeans,
}

/// Keys that only one detector takes.
const FOREST_ONLY: &[&str] = &[
    "trees",
    "n_estimators",
    "max_samples",
    "bootstrap",
    "extension_level",
];
const KMEANS_ONLY: &[&str] = &["k", "max_iter"];

/// Maps the hyperparameters object onto fit parameters; value ranges are checked by the fit.
pub fn parse_hyperparameters(map: &Map<String, Value>) -> Result<Hyperparameters, TrainError> {
    let mut text = std::collections::BTreeMap::new();
    for (key, value) in map {
        if key.starts_with("sagemaker_") || key.starts_with('_') {
            continue;
        }
        if !KEYS.contains(&key.as_str()) {
            return Err(bad(key, format!("unknown; known: {}", KEYS.join(", "))));
        }
        text.insert(key.as_str(), as_text(key, value)?);
    }
    let get = |key: &str| text.get(key).map(|v| v.as_ref());
    let detector = match get("detector").map(str::to_ascii_lowercase).as_deref() {
        None | Some("isolation_forest" | "isolation-forest" | "iforest") => Detector::Forest,
        Some("kmeans" | "k_means" | "k-means") => Detector::KMeans,
        Some(other) => {
            return Err(bad(
                "detector",
                format!("expected isolation_forest or kmeans, found {other:?}"),
            ));
        }
    };
    let (wrong, name) = match detector {
        Detector::Forest => (KMEANS_ONLY, "isolation_forest"),
        Detector::KMeans => (FOREST_ONLY, "kmeans"),
    };
    if let Some(key) = wrong.iter().find(|k| text.contains_key(*k)) {
        return Err(bad(key, format!("does not apply to detector {name}")));
    }
    if text.contains_key("trees") && text.contains_key("n_estimators") {
        return Err(bad("n_estimators", "give trees or n_estimators, not both"));
    }
    let seed = get("seed")
        .map(|s| integer("seed", s))
        .transpose()?
        .unwrap_or(0);
    let params = match detector {
        Detector::Forest => {
            let mut p = ForestParams {
                seed,
                ..ForestParams::default()
            };
            if let Some(t) = get("trees").or(get("n_estimators")) {
                p.n_trees = integer("trees", t)?;
            }
            if let Some(m) = get("max_samples") {
                p.max_samples = m.parse().map_err(|e| bad("max_samples", e))?;
            }
            if let Some(c) = get("contamination") {
                p.contamination = c.parse().map_err(|e| bad("contamination", e))?;
            }
            if let Some(b) = get("bootstrap") {
                p.bootstrap = boolean("bootstrap", b)?;
            }
            if let Some(e) = get("extension_level") {
                p.extension_level = integer("extension_level", e)?;
            }
            DetectorParams::IsolationForest(p)
        }
        Detector::KMeans => {
            let mut p = KMeansParams {
                seed,
                ..KMeansParams::default()
            };
            if let Some(k) = get("k") {
                p.k = integer("k", k)?;
            }
            if let Some(m) = get("max_iter") {
                p.max_iter = integer("max_iter", m)?;
            }
            if let Some(c) = get("contamination") {
                p.contamination = fraction("contamination", c)?;
            }
            DetectorParams::KMeans(p)
        }
    };
    let columns = get("columns").map(|c| {
        c.split(',')
            .map(|n| n.trim().to_owned())
            .collect::<Vec<_>>()
    });
    if let Some(cols) = &columns
        && cols.iter().any(String::is_empty)
    {
        return Err(bad(
            "columns",
            "expected comma-separated column names, found an empty name",
        ));
    }
    Ok(Hyperparameters { params, columns })
}
