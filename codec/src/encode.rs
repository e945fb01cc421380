//! Predictions to response bodies, in every output format and shape.
//!
//! Scores are printed in the shortest form that reads back to the same
//! `f64` (ryu, as serde_json does). CSV and JSON Lines bodies have exactly
//! one line per input row, in order, each ending in `\n`, so batch transform
//! can line them up with the input. A JSON body is one document without a
//! trailing newline.

use std::io::Write;

use crate::media::OutputFormat;
use crate::shape::Shape;

/// One row's result. Its serde form is the native JSON object
/// `{"score":0.71,"anomaly":true}`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Prediction {
    /// The anomaly score, higher is more anomalous.
    pub score: f64,
    /// Whether the score is above the model's threshold.
    pub anomaly: bool,
}

/// Encodes predictions as a response body.
pub fn encode(predictions: &[Prediction], format: OutputFormat, shape: Shape) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + predictions.len() * 36);
    encode_into(predictions, format, shape, &mut out);
    out
}

/// Appends the encoded body to `out` (lets callers reuse a buffer).
pub fn encode_into(
    predictions: &[Prediction],
    format: OutputFormat,
    shape: Shape,
    out: &mut Vec<u8>,
) {
    let mut num = ryu::Buffer::new();
    match format {
        OutputFormat::Json => {
            out.extend_from_slice(match shape {
                Shape::Native | Shape::Sklearn => b"{\"predictions\":[",
                Shape::Rcf => b"{\"scores\":[",
            });
            for (i, p) in predictions.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_row_json(out, &mut num, p, shape);
            }
            out.extend_from_slice(b"]}");
        }
        OutputFormat::JsonLines => {
            for p in predictions {
                write_row_json(out, &mut num, p, shape);
                out.push(b'\n');
            }
        }
        OutputFormat::Csv => {
            for p in predictions {
                match shape {
                    Shape::Native => {
                        write_csv_score(out, &mut num, p.score);
                        out.extend_from_slice(if p.anomaly { b",true\n" } else { b",false\n" });
                    }
                    Shape::Rcf => {
                        write_csv_score(out, &mut num, p.score);
                        out.push(b'\n');
                    }
                    Shape::Sklearn => out.extend_from_slice(sklearn_label(p)),
                }
            }
        }
    }
}

/// One row as a JSON value: `{"score":..,"anomaly":..}`, `{"score":..}` or `1`/`-1`.
fn write_row_json(out: &mut Vec<u8>, num: &mut ryu::Buffer, p: &Prediction, shape: Shape) {
    match shape {
        Shape::Native => {
            out.extend_from_slice(b"{\"score\":");
            write_json_score(out, num, p.score);
            out.extend_from_slice(if p.anomaly {
                b",\"anomaly\":true}"
            } else {
                b",\"anomaly\":false}"
            });
        }
        Shape::Rcf => {
            out.extend_from_slice(b"{\"score\":");
            write_json_score(out, num, p.score);
            out.push(b'}');
        }
        Shape::Sklearn => {
            let label = sklearn_label(p);
            out.extend_from_slice(&label[..label.len() - 1]);
        }
    }
}

/// scikit-learn's `predict`: `-1` for an anomaly, `1` otherwise (with the newline).
fn sklearn_label(p: &Prediction) -> &'static [u8] {
    if p.anomaly { b"-1\n" } else { b"1\n" }
}

/// JSON has no NaN or infinity; a non-finite score (never produced by the
/// detectors) is written as `null` rather than as invalid JSON.
pub(crate) fn write_json_score(out: &mut Vec<u8>, num: &mut ryu::Buffer, score: f64) {
    if score.is_finite() {
        out.extend_from_slice(num.format_finite(score).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

pub(crate) fn write_csv_score(out: &mut Vec<u8>, num: &mut ryu::Buffer, score: f64) {
    if score.is_finite() {
        out.extend_from_slice(num.format_finite(score).as_bytes());
    } else {
        // `NaN`, `inf`, `-inf`: what Rust's and Python's float parsers read back.
        let _ = write!(out, "{score}");
    }
}

#[cfg(test)]
mod tests;
