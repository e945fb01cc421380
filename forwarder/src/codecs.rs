//! The forwarder's use of the `codec` crate: stream records to rows, rows to the CSV request
//! body, and the endpoint's answer back to scores.

use std::io::Write;

use crate::invoke::Score;
use crate::retry::InvokeError;

/// Decodes one (user) record: a CSV line or lines, a JSON record keyed by feature name, a JSON
/// array, an array of rows, or JSON Lines.
pub fn decode_record(
    data: &[u8],
    feature_names: &[String],
) -> Result<codec::Rows, codec::DecodeError> {
    codec::decode_record(data, feature_names)
}

/// Appends `row` as one CSV line (`\n`-terminated). Values print in the shortest form that reads
/// back to the same `f64`; a missing value (NaN) is an empty field, as the server reads it.
pub fn encode_csv_row(row: &[f64], out: &mut Vec<u8>) {
    for (i, v) in row.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if !v.is_nan() {
            // Writing into a Vec cannot fail.
            let _ = write!(out, "{v}");
        }
    }
    out.push(b'\n');
}

/// Reads the endpoint's answer; it must hold exactly `n_rows` predictions.
pub fn decode_scores(
    body: &[u8],
    content_type: Option<&str>,
    n_rows: usize,
) -> Result<Vec<Score>, InvokeError> {
    let predictions = codec::decode_response(body, content_type.unwrap_or("application/json"))
        .map_err(|e| InvokeError::BadResponse(e.to_string()))?;
    if predictions.len() != n_rows {
        return Err(InvokeError::BadResponse(format!(
            "sent {n_rows} rows, got {} predictions",
            predictions.len()
        )));
    }
    Ok(predictions
        .into_iter()
        .map(|p| Score {
            score: p.score,
            anomaly: p.anomaly,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_encode_as_csv_that_the_codec_reads_back() {
        let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let mut body = Vec::new();
        encode_csv_row(&[0.1, -2.5e-12, 3.0], &mut body);
        encode_csv_row(&[1.0 / 3.0, f64::NAN, 1e300], &mut body);
        let rows = codec::decode_csv(&body, &names, &codec::Limits::default()).unwrap();
        assert_eq!(rows.n_rows, 2);
        assert_eq!(&rows.row(0), &[0.1, -2.5e-12, 3.0]);
        assert_eq!(rows.row(1)[0], 1.0 / 3.0);
        assert!(rows.row(1)[1].is_nan());
        assert_eq!(rows.row(1)[2], 1e300);
    }

    #[test]
    fn answers_must_match_the_row_count() {
        let body =
            br#"{"predictions":[{"score":0.7,"anomaly":true},{"score":0.4,"anomaly":false}]}"#;
        let scores = decode_scores(body, Some("application/json"), 2).unwrap();
        assert_eq!(
            scores[0],
            Score {
                score: 0.7,
                anomaly: true
            }
        );
        assert!(matches!(
            decode_scores(body, Some("application/json"), 3),
            Err(InvokeError::BadResponse(_))
        ));
        assert!(matches!(
            decode_scores(b"<html>", Some("text/html"), 1),
            Err(InvokeError::BadResponse(_))
        ));
    }
}
