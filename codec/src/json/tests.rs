use super::*;
use crate::error::Location;
use crate::test_support::{msg, names};

fn json(body: &str, n: usize) -> Result<Rows, DecodeError> {
    decode_json(body.as_bytes(), &names(n), &Limits::default())
}

fn jsonl(body: &str, n: usize) -> Result<Rows, DecodeError> {
    decode_jsonlines(body.as_bytes(), &names(n), &Limits::default())
}

#[test]
fn array_of_arrays() {
    let rows = json("[[1,2,3],[4.5,-5,6e-1]]", 3).unwrap();
    assert_eq!(
        rows,
        Rows {
            values: vec![1.0, 2.0, 3.0, 4.5, -5.0, 0.6],
            n_rows: 2,
            n_cols: 3
        }
    );
}

#[test]
fn flat_array_is_one_row() {
    let rows = json("[1, 2, null]", 3).unwrap();
    assert_eq!(
        (rows.n_rows, rows.values[..2].to_vec()),
        (1, vec![1.0, 2.0])
    );
    assert!(rows.values[2].is_nan());
}

#[test]
fn records_in_any_key_order_with_extra_keys_ignored() {
    let body = r#"[{"feature_2": 2, "feature_1": 1, "id": "x", "meta": {"a": [1]}}, {"feature_1": 3, "feature_2": null}]"#;
    let rows = json(body, 2).unwrap();
    assert_eq!(rows.n_rows, 2);
    assert_eq!(rows.row(0), &[1.0, 2.0]);
    assert_eq!(rows.values[2], 3.0);
    assert!(rows.values[3].is_nan());
}

#[test]
fn single_record_is_one_row() {
    let rows = json(r#"{"feature_1": 1, "feature_2": 2}"#, 2).unwrap();
    assert_eq!(rows.values, vec![1.0, 2.0]);
}

#[test]
fn instances_shapes() {
    for body in [
        r#"{"instances": [[1,2],[3,4]]}"#,
        r#"{"instances": [{"features": [1,2]}, {"features": [3,4]}]}"#,
        r#"{"instances": [{"data": {"features": {"values": [1,2]}}}, {"data": {"features": {"values": [3,4]}}}]}"#,
        r#"{"instances": [{"feature_1": 1, "feature_2": 2}, {"feature_2": 4, "feature_1": 3}]}"#,
        r#"{"configuration": {"k": 1}, "instances": [[1,2],[3,4]]}"#,
        r#"[{"features": [1,2]}, [3,4]]"#,
    ] {
        assert_eq!(
            json(body, 2).unwrap().values,
            vec![1.0, 2.0, 3.0, 4.0],
            "{body}"
        );
    }
}

#[test]
fn sparse_data_fills_zeros() {
    let body = r#"{"instances": [{"data": {"features": {"keys": [2, 0], "shape": [3], "values": [5, 1]}}}]}"#;
    assert_eq!(json(body, 3).unwrap().values, vec![1.0, 0.0, 5.0]);
}

#[test]
fn width_errors_name_the_row() {
    assert_eq!(
        msg(json("[[1,2,3],[1,2]]", 3)),
        "row 2: expected 3 values, found 2"
    );
    assert_eq!(
        msg(json("[1,2,3,4]", 3)),
        "row 1: expected 3 values, found 4"
    );
    assert_eq!(
        msg(json(r#"{"instances":[{"features":[1]}]}"#, 2)),
        "row 1: expected 2 values, found 1"
    );
}

#[test]
fn wrong_value_types_name_row_and_feature() {
    assert_eq!(
        msg(json(r#"[[1,2],[3,"abc"]]"#, 2)),
        "row 2, feature_2: expected a number or null, found string \"abc\""
    );
    assert_eq!(
        msg(json(
            r#"[{"feature_1":1,"feature_2":2},{"feature_1":true,"feature_2":2}]"#,
            2
        )),
        "record 2, feature_1: expected a number or null, found a boolean"
    );
    assert_eq!(
        msg(json("[1,[2]]", 2)),
        "row 1, feature_2: expected a number or null, found an array"
    );
}

#[test]
fn missing_key_names_the_record() {
    let body = r#"[{"feature_1":1,"feature_2":2,"feature_3":3,"feature_4":4},{"feature_1":1,"feature_2":2,"feature_3":3}]"#;
    assert_eq!(msg(json(body, 4)), "record 2: missing key \"feature_4\"");
    assert_eq!(msg(json("{}", 1)), "record 1: missing key \"feature_1\"");
}

#[test]
fn body_shape_errors() {
    assert_eq!(
        msg(json("42", 1)),
        "expected a JSON array or object, found a number"
    );
    assert_eq!(
        msg(json("[[1],2]", 1)),
        "row 2: expected an array or an object, found a number"
    );
    assert_eq!(
        msg(json(r#"{"instances": 3}"#, 1)),
        "\"instances\": expected an array, found a number"
    );
    assert_eq!(json("[]", 1), Err(DecodeError::NoRows));
    assert_eq!(json("  ", 1), Err(DecodeError::NoRows));
    assert_eq!(json(r#"{"instances": []}"#, 1), Err(DecodeError::NoRows));
}

#[test]
fn syntax_errors_carry_position() {
    assert_eq!(
        msg(json("[[1,2],[3,", 2)),
        "invalid JSON: EOF while parsing a value at line 1 column 10"
    );
    assert_eq!(
        msg(json("[[1e999]]", 1)),
        "invalid JSON: number out of range at line 1 column 7"
    );
}

#[test]
fn numbers_round_exactly_as_rust_parses_them() {
    let texts = [
        "0.1",
        "0.22338097454368566",
        "-1.2181637544793633",
        "1.7976931348623157e308",
        "5e-324",
        "2.2250738585072011e-308",
        "9007199254740993",
        "123456789012345678901234567890",
        "-0",
        "1E+2",
        "0.30000000000000004441",
    ];
    let body = format!("[[{}]]", texts.join(","));
    let rows = json(&body, texts.len()).unwrap();
    for (v, t) in rows.values.iter().zip(texts) {
        assert_eq!(v.to_bits(), t.parse::<f64>().unwrap().to_bits(), "{t}");
    }
    let records = format!(
        "[{{{}}}]",
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| format!("\"feature_{}\": {t}", i + 1))
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert_eq!(json(&records, texts.len()).unwrap().values, rows.values);
}

#[test]
fn jsonlines_all_row_shapes() {
    let body = "[1,2]\n{\"feature_1\":3,\"feature_2\":4}\r\n\n{\"features\":[5,6]}\n{\"data\":{\"features\":{\"values\":[7,8]}}}";
    let rows = jsonl(body, 2).unwrap();
    assert_eq!(rows.values, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
}

#[test]
fn jsonlines_errors_name_the_line() {
    assert_eq!(
        msg(jsonl("[1,2]\n\n[1]\n", 2)),
        "line 3: expected 2 values, found 1"
    );
    assert_eq!(
        msg(jsonl("[1,2]\n{\"feature_1\":1}", 2)),
        "line 2: missing key \"feature_2\""
    );
    assert_eq!(
        msg(jsonl("[1,2]\n[1,\"x\"]", 2)),
        "line 2, feature_2: expected a number or null, found string \"x\""
    );
    assert_eq!(
        msg(jsonl("[1,2]\n[1,2", 2)),
        "line 2: invalid JSON: EOF while parsing a list at line 1 column 4"
    );
    assert_eq!(
        msg(jsonl("[1,2] [3,4]", 2)),
        "line 1: invalid JSON: trailing characters at line 1 column 7"
    );
    assert_eq!(
        msg(jsonl("7", 2)),
        "line 1: expected a JSON array or object, found a number"
    );
    assert_eq!(jsonl("\n\n", 2), Err(DecodeError::NoRows));
}

#[test]
fn locations_are_structured() {
    let err = json("[[1],[1,2]]", 1).unwrap_err();
    assert_eq!(
        err,
        DecodeError::Width {
            at: Location::Row(2),
            expected: 1,
            found: 2
        }
    );
}

#[test]
fn sparse_errors_are_precise() {
    let wrap = |f: &str| format!(r#"{{"instances":[{{"data":{{"features":{f}}}}}]}}"#);
    let cases = [
        (
            r#"{"keys":[0],"shape":[4],"values":[1]}"#,
            "row 1: expected shape [3], found shape [4]",
        ),
        (
            r#"{"keys":[7],"shape":[3],"values":[1]}"#,
            "row 1: expected keys below 3, found key 7",
        ),
        (
            r#"{"keys":[0,1],"values":[1]}"#,
            "row 1: expected as many keys as values, found 2 keys and 1 values",
        ),
        (r#"{"values":[1,2]}"#, "row 1: expected 3 values, found 2"),
        (
            r#"{"values":[1,"x",3]}"#,
            "row 1, feature_2: expected a number or null, found string \"x\"",
        ),
    ];
    for (features, want) in cases {
        assert_eq!(msg(json(&wrap(features), 3)), want, "{features}");
    }
    let err = msg(json(r#"{"data":{"feat":[1]}}"#, 3));
    assert!(
        err.starts_with("row 1: expected {\"data\": {\"features\": {\"values\": [...]}}}, found"),
        "{err}"
    );
}

#[test]
fn features_must_be_an_array() {
    assert_eq!(
        msg(json(r#"{"features": 3}"#, 1)),
        "row 1: expected \"features\" to be an array, found a number"
    );
    assert_eq!(
        msg(json(r#"[[1], {"features": {"a": 1}}]"#, 1)),
        "row 2: expected \"features\" to be an array, found an object"
    );
}

#[test]
fn feature_names_win_over_wrapper_keys() {
    let names: Vec<String> = vec!["features".into(), "data".into()];
    let rows = decode_json(br#"{"features": 1, "data": 2}"#, &names, &Limits::default()).unwrap();
    assert_eq!(rows.values, vec![1.0, 2.0]);
}

#[test]
fn repeated_keys_keep_the_last_value() {
    assert_eq!(
        json(r#"{"feature_1": 1, "feature_1": 5}"#, 1)
            .unwrap()
            .values,
        vec![5.0]
    );
}

#[test]
fn python_nan_token_is_not_json() {
    assert_eq!(
        msg(json("[NaN, 1]", 2)),
        "invalid JSON: expected value at line 1 column 2"
    );
}

#[test]
fn many_features_use_the_key_index() {
    let names: Vec<String> = (0..40).map(|i| format!("sensor_{i}")).collect();
    let record: Vec<String> = names
        .iter()
        .enumerate()
        .rev()
        .map(|(i, n)| format!("\"{n}\":{i}"))
        .collect();
    let body = format!("[{{{}}}]", record.join(","));
    let rows = decode_json(body.as_bytes(), &names, &Limits::default()).unwrap();
    assert_eq!(rows.values, (0..40).map(f64::from).collect::<Vec<_>>());
    let body = body.replace("\"sensor_39\":39,", "");
    let err = decode_json(body.as_bytes(), &names, &Limits::default()).unwrap_err();
    assert_eq!(err.to_string(), "record 1: missing key \"sensor_39\"");
}

#[test]
fn row_limit_applies_to_json_and_jsonlines() {
    let limits = Limits::with_max_rows(2);
    let n = names(1);
    assert_eq!(
        decode_json(b"[[1],[2],[3]]", &n, &limits),
        Err(DecodeError::TooManyRows { limit: 2 })
    );
    assert_eq!(
        decode_json(br#"{"instances":[[1],[2],[3]]}"#, &n, &limits),
        Err(DecodeError::TooManyRows { limit: 2 })
    );
    assert_eq!(
        decode_jsonlines(b"[1]\n[2]\n[3]\n", &n, &limits),
        Err(DecodeError::TooManyRows { limit: 2 })
    );
    assert!(decode_json(b"[[1],[2]]", &n, &limits).is_ok());
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let body = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert_eq!(
        msg(json(&body, 1)),
        "row 1, feature_1: expected a number or null, found an array"
    );
    let body = format!("{}1{}", "{\"x\":".repeat(10_000), "}".repeat(10_000));
    assert_eq!(msg(json(&body, 1)), "record 1: missing key \"feature_1\"");
    let body = format!(
        "{}1{}",
        "{\"feature_1\":".repeat(10_000),
        "}".repeat(10_000)
    );
    assert_eq!(
        msg(json(&body, 1)),
        "record 1, feature_1: expected a number or null, found an object"
    );
}

#[test]
fn concatenated_documents_are_decoded_in_order() {
    assert_eq!(
        json("[1,2]\n[3,4]\n", 2).unwrap().values,
        vec![1.0, 2.0, 3.0, 4.0]
    );
    let body = "{\"feature_1\":1,\"feature_2\":2}\r\n{\"feature_1\":3,\"feature_2\":4}";
    assert_eq!(json(body, 2).unwrap().values, vec![1.0, 2.0, 3.0, 4.0]);
    assert_eq!(json("[[1,2]] [[3,4],[5,6]]", 2).unwrap().n_rows, 3);
    assert_eq!(
        msg(json("[1,2]\n{\"feature_1\":1}", 2)),
        "record 2: missing key \"feature_2\""
    );
    assert_eq!(
        msg(json("[[1,2]]\n[[3,4],[5]]", 2)),
        "row 3: expected 2 values, found 1"
    );
    assert_eq!(
        msg(json("[1,2] x", 2)),
        "invalid JSON: expected value at line 1 column 7"
    );
    // An empty document contributes no rows.
    assert_eq!(json("[1,2]\n[]", 2).unwrap().n_rows, 1);
}
