//! Stream records (Kinesis data) whose format is not declared: the content
//! decides. A record starting with `[` or `{` (after whitespace and an
//! optional BOM) is JSON — one document in any JSON body shape, or several
//! one after another (JSON Lines); anything else is CSV (one or more lines,
//! optional header).

use crate::csv::decode_csv;
use crate::error::DecodeError;
use crate::json::decode_json;
use crate::limits::Limits;
use crate::media::InputFormat;
use crate::rows::Rows;

/// The format [`decode_record`] will use for `bytes`.
pub fn sniff_record(bytes: &[u8]) -> InputFormat {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match bytes.trim_ascii_start().first() {
        Some(b'[' | b'{') => InputFormat::Json,
        _ => InputFormat::Csv,
    }
}

/// The text of the top-level field `name` of a JSON-object record (a string as is, a number or
/// a boolean as written), or why there is none: the record is not a JSON object, lacks the field,
/// or holds something else in it.
pub fn record_field(bytes: &[u8], name: &str) -> Result<String, String> {
    if sniff_record(bytes) != InputFormat::Json {
        return Err(format!(
            "field {name:?} needs JSON-object records; this one is CSV"
        ));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(bytes)
        .map_err(|e| format!("field {name:?} needs a JSON-object record: {e}"))?;
    match object.get(name) {
        None => Err(format!("the record has no field {name:?}")),
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => Ok(v.to_string()),
        Some(other) => Err(format!(
            "field {name:?} holds {other}, not a string or a number"
        )),
    }
}

/// Decodes one stream record that may hold one or several rows, as a CSV
/// line (or lines), a JSON record keyed by feature name, a JSON array, an
/// array of rows, or JSON Lines. Errors are those of the format chosen.
pub fn decode_record(bytes: &[u8], feature_names: &[String]) -> Result<Rows, DecodeError> {
    decode_record_with(bytes, feature_names, &Limits::default())
}

/// [`decode_record`] with explicit limits.
pub fn decode_record_with(
    bytes: &[u8],
    feature_names: &[String],
    limits: &Limits,
) -> Result<Rows, DecodeError> {
    match sniff_record(bytes) {
        InputFormat::Json => decode_json(bytes, feature_names, limits),
        _ => decode_csv(bytes, feature_names, limits),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["a".into(), "b".into()]
    }

    #[test]
    fn a_field_of_a_json_record_is_read_as_text() {
        let rec = br#"{"a": 1, "device": "pump-7", "n": 17, "x": [1]}"#;
        assert_eq!(record_field(rec, "device").unwrap(), "pump-7");
        assert_eq!(record_field(rec, "n").unwrap(), "17");
        assert!(
            record_field(rec, "site")
                .unwrap_err()
                .contains("no field \"site\"")
        );
        assert!(
            record_field(rec, "x")
                .unwrap_err()
                .contains("not a string or a number")
        );
        assert!(record_field(b"1,2", "device").unwrap_err().contains("CSV"));
        assert!(
            record_field(b"[1,2]", "device")
                .unwrap_err()
                .contains("JSON-object")
        );
    }

    #[test]
    fn record_shapes() {
        let cases: &[&[u8]] = &[
            b"1,2",
            b"1,2\n",
            b"a,b\n1,2",
            b"b,a\r\n2,1\r\n",
            b"{\"a\":1,\"b\":2}",
            b"{\"b\":2,\"a\":1,\"ts\":\"2024\"}",
            b"[1,2]",
            b"[[1,2]]",
            b"  {\"features\":[1,2]}\n",
        ];
        for case in cases {
            let rows = decode_record(case, &names()).unwrap();
            assert_eq!(
                rows.values,
                vec![1.0, 2.0],
                "{}",
                String::from_utf8_lossy(case)
            );
        }
    }

    #[test]
    fn several_rows_in_one_record() {
        let expect = vec![1.0, 2.0, 3.0, 4.0];
        for case in [
            &b"1,2\n3,4\n"[..],
            b"[[1,2],[3,4]]",
            b"{\"a\":1,\"b\":2}\n{\"a\":3,\"b\":4}\n",
            b"[1,2]\n[3,4]",
        ] {
            let rows = decode_record(case, &names()).unwrap();
            assert_eq!((rows.n_rows, rows.values), (2, expect.clone()));
        }
    }

    #[test]
    fn record_errors_are_precise() {
        let err = decode_record(b"{\"a\":1}", &names()).unwrap_err();
        assert_eq!(err.to_string(), "record 1: missing key \"b\"");
        let err = decode_record(b"[1,2]\n[3]", &names()).unwrap_err();
        assert_eq!(err.to_string(), "row 2: expected 2 values, found 1");
        let err = decode_record(b"1,x", &names()).unwrap_err();
        assert_eq!(err.to_string(), "row 1, b: \"x\" is not a number");
        assert_eq!(decode_record(b"", &names()), Err(DecodeError::NoRows));
        assert_eq!(decode_record(b"  \n", &names()), Err(DecodeError::NoRows));
        let limits = Limits::with_max_rows(1);
        let err = decode_record_with(b"1,2\n3,4", &names(), &limits).unwrap_err();
        assert_eq!(err, DecodeError::TooManyRows { limit: 1 });
    }

    #[test]
    fn invalid_json_after_a_document_reports_the_syntax_error() {
        let err = decode_record(b"[1,2] garbage", &names()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid JSON: expected value at line 1 column 7"
        );
    }

    #[test]
    fn sniffing_picks_json_or_csv() {
        assert_eq!(sniff_record(b"  [1,2]"), InputFormat::Json);
        assert_eq!(sniff_record(b"\xEF\xBB\xBF{\"a\":1}"), InputFormat::Json);
        assert_eq!(sniff_record(b"1,2"), InputFormat::Csv);
        assert_eq!(sniff_record(b"a,b\n1,2"), InputFormat::Csv);
        assert_eq!(sniff_record(b""), InputFormat::Csv);
    }
}
