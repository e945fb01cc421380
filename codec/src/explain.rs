//! Explanations on the wire: the `explain=` custom attribute, the answer's `explanation` field
//! (JSON and JSON Lines) or extra columns (CSV), and reading them back for clients.
//!
//! JSON and JSON Lines: each native prediction gains
//! `"explanation":[{"feature":"feature_3","attribution":0.61,"direction":"high","value":412.5,"expected":80.1},...]`,
//! highest attribution first; `value` and `expected` are `null` when not finite or unknown.
//!
//! CSV: after `score,anomaly`, five columns per explained feature, highest attribution first:
//! `feature,attribution,direction,value,expected` (`expected` empty when unknown, a missing value
//! written `NaN`), so `explain=2` gives 12 columns per line. Names holding a comma, a quote or a
//! line break are quoted as RFC 4180 says.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::encode::{Prediction, write_csv_score, write_json_score};
use crate::error::DecodeError;
use crate::media::OutputFormat;

/// How many features each prediction explains (`explain=K` or `explain=all`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Explain {
    /// The `K ≥ 1` features with the highest attribution (all of them when the model has fewer).
    Top(usize),
    /// Every feature.
    All,
}

impl Explain {
    /// The number of features explained for a model of `n_features`.
    pub fn count(self, n_features: usize) -> usize {
        match self {
            Explain::Top(k) => k.min(n_features),
            Explain::All => n_features,
        }
    }
}

impl FromStr for Explain {
    type Err = DecodeError;

    /// Parses a positive integer or `all` (case-insensitive; surrounding whitespace and quotes
    /// ignored).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim().trim_matches('"');
        if text.eq_ignore_ascii_case("all") {
            return Ok(Explain::All);
        }
        match text.parse::<usize>() {
            Ok(k) if k >= 1 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(Explain::Top(k)),
            _ => Err(DecodeError::InvalidExplain {
                found: s.trim().to_owned(),
            }),
        }
    }
}

impl fmt::Display for Explain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Explain::Top(k) => write!(f, "{k}"),
            Explain::All => f.write_str("all"),
        }
    }
}

/// Whether a value lies above or below what the model takes as typical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Above the expected value.
    High,
    /// Below the expected value.
    Low,
}

impl Direction {
    /// `high` or `low`.
    pub fn name(self) -> &'static str {
        match self {
            Direction::High => "high",
            Direction::Low => "low",
        }
    }
}

/// One explained feature of one prediction, as the server writes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Attribution {
    /// Index into the feature names given to [`encode_explained`].
    pub feature: usize,
    /// Normalised share of the score.
    pub attribution: f64,
    /// Above or below the expected value.
    pub direction: Direction,
    /// The row's value.
    pub value: f64,
    /// The model's typical value, when it knows one.
    pub expected: Option<f64>,
}

/// One explained feature as a client reads it back; its serde form is the server's JSON item.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NamedAttribution {
    /// The feature's name.
    pub feature: String,
    /// Normalised share of the score.
    pub attribution: f64,
    /// Above or below the expected value.
    pub direction: Direction,
    /// The row's value (`None`: missing).
    pub value: Option<f64>,
    /// The model's typical value (`None`: unknown).
    pub expected: Option<f64>,
}

/// Encodes native predictions with their explanations: `explanations` holds `per_row` entries
/// for each prediction, in order; `names` are the model's feature names.
pub fn encode_explained(
    predictions: &[Prediction],
    explanations: &[Attribution],
    per_row: usize,
    names: &[String],
    format: OutputFormat,
) -> Vec<u8> {
    debug_assert_eq!(explanations.len(), predictions.len() * per_row);
    let mut out = Vec::with_capacity(16 + predictions.len() * (36 + per_row * 96));
    let mut num = ryu::Buffer::new();
    let rows = predictions.iter().zip(
        explanations
            .chunks(per_row.max(1))
            .chain(std::iter::repeat(&[][..])),
    );
    match format {
        OutputFormat::Json => {
            out.extend_from_slice(b"{\"predictions\":[");
            for (i, (p, e)) in rows.enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_row(&mut out, &mut num, p, e, names);
            }
            out.extend_from_slice(b"]}");
        }
        OutputFormat::JsonLines => {
            for (p, e) in rows {
                write_json_row(&mut out, &mut num, p, e, names);
                out.push(b'\n');
            }
        }
        OutputFormat::Csv => {
            for (p, e) in rows {
                write_csv_score(&mut out, &mut num, p.score);
                out.extend_from_slice(if p.anomaly { b",true" } else { b",false" });
                for a in e {
                    out.push(b',');
                    write_csv_name(&mut out, &names[a.feature]);
                    out.push(b',');
                    write_csv_score(&mut out, &mut num, a.attribution);
                    out.push(b',');
                    out.extend_from_slice(a.direction.name().as_bytes());
                    out.push(b',');
                    write_csv_score(&mut out, &mut num, a.value);
                    out.push(b',');
                    if let Some(x) = a.expected {
                        write_csv_score(&mut out, &mut num, x);
                    }
                }
                out.push(b'\n');
            }
        }
    }
    out
}

fn write_json_row(
    out: &mut Vec<u8>,
    num: &mut ryu::Buffer,
    p: &Prediction,
    explanation: &[Attribution],
    names: &[String],
) {
    out.extend_from_slice(b"{\"score\":");
    write_json_score(out, num, p.score);
    out.extend_from_slice(if p.anomaly {
        b",\"anomaly\":true,\"explanation\":["
    } else {
        b",\"anomaly\":false,\"explanation\":["
    });
    for (i, a) in explanation.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"feature\":");
        serde_json::to_writer(&mut *out, &names[a.feature]).expect("a string serializes");
        out.extend_from_slice(b",\"attribution\":");
        write_json_score(out, num, a.attribution);
        out.extend_from_slice(b",\"direction\":\"");
        out.extend_from_slice(a.direction.name().as_bytes());
        out.extend_from_slice(b"\",\"value\":");
        write_json_score(out, num, a.value);
        out.extend_from_slice(b",\"expected\":");
        write_json_score(out, num, a.expected.unwrap_or(f64::NAN));
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
}

/// Appends a CSV field, quoted when it holds a delimiter, a quote or a line break.
fn write_csv_name(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(csv_field(name).as_bytes());
}

/// `text` as one CSV field (RFC 4180): quoted, with quotes doubled, when it holds a comma, a
/// quote or a line break; as it is otherwise.
pub fn csv_field(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\"")).into()
    } else {
        text.into()
    }
}

/// Reads the explanations of a native-shape answer given its Content-Type: one list per
/// prediction (empty when the answer carries none).
pub fn decode_explanations(
    body: &[u8],
    content_type: &str,
) -> Result<Vec<Vec<NamedAttribution>>, DecodeError> {
    let (format, text) = crate::response::answer_text(body, content_type)?;
    match format {
        OutputFormat::Json => {
            let doc: Value =
                serde_json::from_str(text).map_err(|e| bad(format!("not JSON ({e})")))?;
            let items = doc
                .get("predictions")
                .and_then(Value::as_array)
                .ok_or_else(|| bad("no \"predictions\" array".into()))?;
            items
                .iter()
                .enumerate()
                .map(|(i, v)| json_explanation(v, i + 1))
                .collect()
        }
        OutputFormat::JsonLines => text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, line)| {
                let v: Value = serde_json::from_str(line)
                    .map_err(|e| bad(format!("line {}: not JSON ({e})", i + 1)))?;
                json_explanation(&v, i + 1)
            })
            .collect(),
        OutputFormat::Csv => {
            let mut reader = ::csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(body);
            reader
                .records()
                .enumerate()
                .map(|(i, r)| {
                    let r = r.map_err(|e| bad(format!("line {}: {e}", i + 1)))?;
                    csv_explanation(&r, i + 1)
                })
                .collect()
        }
    }
}

fn json_explanation(v: &Value, n: usize) -> Result<Vec<NamedAttribution>, DecodeError> {
    let Some(items) = v.get("explanation") else {
        return Ok(Vec::new());
    };
    let items = items
        .as_array()
        .ok_or_else(|| bad(format!("item {n}: \"explanation\" is not an array")))?;
    items
        .iter()
        .map(|a| {
            let text = |key: &str| a.get(key).and_then(Value::as_str);
            let number = |key: &str| a.get(key).and_then(Value::as_f64);
            Ok(NamedAttribution {
                feature: text("feature")
                    .ok_or_else(|| bad(format!("item {n}: an explanation lacks \"feature\"")))?
                    .to_owned(),
                attribution: number("attribution").ok_or_else(|| {
                    bad(format!("item {n}: an explanation lacks \"attribution\""))
                })?,
                direction: direction(text("direction"), n)?,
                value: number("value"),
                expected: number("expected"),
            })
        })
        .collect()
}

fn csv_explanation(
    r: &::csv::StringRecord,
    n: usize,
) -> Result<Vec<NamedAttribution>, DecodeError> {
    let fields: Vec<&str> = r.iter().skip(2).collect();
    if !fields.len().is_multiple_of(5) {
        return Err(bad(format!(
            "line {n}: {} explanation columns, expected groups of 5 (feature,attribution,direction,value,expected)",
            fields.len()
        )));
    }
    let number = |s: &str| s.trim().parse::<f64>().ok().filter(|v| v.is_finite());
    fields
        .chunks(5)
        .map(|g| {
            Ok(NamedAttribution {
                feature: g[0].to_owned(),
                attribution: number(g[1])
                    .ok_or_else(|| bad(format!("line {n}: \"{}\" is not an attribution", g[1])))?,
                direction: direction(Some(g[2]), n)?,
                value: number(g[3]),
                expected: number(g[4]),
            })
        })
        .collect()
}

fn direction(text: Option<&str>, n: usize) -> Result<Direction, DecodeError> {
    match text {
        Some("high") => Ok(Direction::High),
        Some("low") => Ok(Direction::Low),
        other => Err(bad(format!(
            "item {n}: direction {other:?} is neither high nor low"
        ))),
    }
}

fn bad(message: String) -> DecodeError {
    DecodeError::Response { message }
}

#[cfg(test)]
mod tests;
