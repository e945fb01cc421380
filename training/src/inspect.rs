//! A model file's metadata, for people and for machines.

use forest::Model;
use serde_json::Value;

/// The metadata as ordered key/value text pairs.
pub fn facts(model: &Model) -> Vec<(String, String)> {
    let m = model.metadata();
    let mut facts = vec![
        ("detector", m.kind.to_string()),
        (
            "features",
            format!("{} ({})", m.n_features, m.feature_names.join(", ")),
        ),
        ("threshold", m.threshold.to_string()),
        ("parameters", json(&m.params)),
        ("seed", m.seed.to_string()),
        ("training rows", m.training_rows.to_string()),
        ("training data hash", m.training_data_hash.clone()),
        ("tool version", m.tool_version.clone()),
    ];
    if let Some(psi) = m.sample_size {
        facts.push(("sample size", psi.to_string()));
    }
    if let Some(source) = &m.source {
        facts.push(("source", source.clone()));
    }
    if let Some(trend) = &m.trend {
        facts.push(("trend", json(trend)));
    }
    if let Some(selection) = &m.threshold_selection {
        facts.push(("threshold selection", json(selection)));
    }
    let mut out: Vec<(String, String)> =
        facts.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    out.extend(m.extra.iter().map(|(k, v)| (k.clone(), v.to_string())));
    out
}

/// The metadata as JSON, with the model file's own field names.
pub fn to_json(model: &Model) -> Value {
    serde_json::to_value(model.metadata()).unwrap_or(Value::Null)
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
