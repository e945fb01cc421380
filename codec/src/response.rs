//! Response bodies back into predictions, for clients of the endpoint (the
//! forwarder). Reads every shape [`encode`](crate::encode) writes.

use serde_json::Value;

use crate::encode::Prediction;
use crate::error::DecodeError;
use crate::media::OutputFormat;
use crate::shape::Shape;

/// One row's answer as far as the shape tells it: native answers carry both
/// fields, `rcf` only the score, `sklearn` only the anomaly flag.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Answer {
    /// The score, when the shape carries it.
    pub score: Option<f64>,
    /// The anomaly flag, when the shape carries it.
    pub anomaly: Option<bool>,
}

/// Decodes a native-shape response (`{"predictions":[{"score":..,"anomaly":..}]}`,
/// its JSON Lines form, or `score,anomaly` CSV) given its Content-Type.
pub fn decode_response(body: &[u8], content_type: &str) -> Result<Vec<Prediction>, DecodeError> {
    decode_answers(body, content_type, Shape::Native)?
        .into_iter()
        .map(|a| match (a.score, a.anomaly) {
            (Some(score), Some(anomaly)) => Ok(Prediction { score, anomaly }),
            _ => Err(bad(
                "a native answer lacks a score or an anomaly flag".into()
            )),
        })
        .collect()
}

/// Decodes a response of any shape given its Content-Type.
pub fn decode_answers(
    body: &[u8],
    content_type: &str,
    shape: Shape,
) -> Result<Vec<Answer>, DecodeError> {
    let (format, text) = answer_text(body, content_type)?;
    match format {
        OutputFormat::Json => {
            let doc: Value =
                serde_json::from_str(text).map_err(|e| bad(format!("not JSON ({e})")))?;
            let key = if shape == Shape::Rcf {
                "scores"
            } else {
                "predictions"
            };
            let items = doc
                .get(key)
                .and_then(Value::as_array)
                .ok_or_else(|| bad(format!("no \"{key}\" array")))?;
            items
                .iter()
                .enumerate()
                .map(|(i, v)| json_answer(v, shape, i + 1))
                .collect()
        }
        OutputFormat::JsonLines => lines(text)
            .map(|(n, line)| {
                let v: Value = serde_json::from_str(line)
                    .map_err(|e| bad(format!("line {n}: not JSON ({e})")))?;
                json_answer(&v, shape, n)
            })
            .collect(),
        OutputFormat::Csv => lines(text)
            .map(|(n, line)| csv_answer(line, shape, n))
            .collect(),
    }
}

/// An answer's format, from its Content-Type, and its body as text.
pub(crate) fn answer_text<'a>(
    body: &'a [u8],
    content_type: &str,
) -> Result<(OutputFormat, &'a str), DecodeError> {
    let format: OutputFormat =
        content_type
            .parse()
            .map_err(|_| DecodeError::UnsupportedContentType {
                found: content_type.to_owned(),
            })?;
    let text = std::str::from_utf8(body).map_err(|e| bad(format!("not UTF-8 ({e})")))?;
    Ok((format, text))
}

/// Non-blank lines with their 1-based numbers.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
}

fn json_answer(v: &Value, shape: Shape, n: usize) -> Result<Answer, DecodeError> {
    let score = || {
        v.get("score")
            .and_then(Value::as_f64)
            .ok_or_else(|| bad(format!("item {n}: no numeric \"score\"")))
    };
    match shape {
        Shape::Native => {
            let anomaly = v.get("anomaly").and_then(Value::as_bool);
            let anomaly =
                anomaly.ok_or_else(|| bad(format!("item {n}: no boolean \"anomaly\"")))?;
            Ok(Answer {
                score: Some(score()?),
                anomaly: Some(anomaly),
            })
        }
        Shape::Rcf => Ok(Answer {
            score: Some(score()?),
            anomaly: None,
        }),
        Shape::Sklearn => label(v.as_i64(), n),
    }
}

fn csv_answer(line: &str, shape: Shape, n: usize) -> Result<Answer, DecodeError> {
    let number = |s: &str| {
        s.trim()
            .parse::<f64>()
            .map_err(|_| bad(format!("line {n}: \"{s}\" is not a number")))
    };
    match shape {
        Shape::Native => {
            // Explanation columns may follow (`explain=`); the answer is the first two.
            let mut fields = line.splitn(3, ',');
            let (Some(score), Some(flag)) = (fields.next(), fields.next()) else {
                return Err(bad(format!("line {n}: expected score,anomaly")));
            };
            let anomaly = match flag.trim() {
                "true" => true,
                "false" => false,
                other => return Err(bad(format!("line {n}: \"{other}\" is not true or false"))),
            };
            Ok(Answer {
                score: Some(number(score)?),
                anomaly: Some(anomaly),
            })
        }
        Shape::Rcf => Ok(Answer {
            score: Some(number(line)?),
            anomaly: None,
        }),
        Shape::Sklearn => label(line.parse().ok(), n),
    }
}

fn label(v: Option<i64>, n: usize) -> Result<Answer, DecodeError> {
    match v {
        Some(1) => Ok(Answer {
            score: None,
            anomaly: Some(false),
        }),
        Some(-1) => Ok(Answer {
            score: None,
            anomaly: Some(true),
        }),
        _ => Err(bad(format!("item {n}: expected 1 or -1"))),
    }
}

fn bad(message: String) -> DecodeError {
    DecodeError::Response { message }
}

#[cfg(test)]
mod tests;
