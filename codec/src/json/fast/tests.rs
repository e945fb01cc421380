//! The fast reader must agree with the serde path on every body it accepts, and must accept the
//! bodies clients actually send (or it is dead weight).

use proptest::prelude::*;

use super::{decode, decode_lines};
use crate::json::{decode_json, decode_json_serde, decode_jsonlines, decode_jsonlines_serde};
use crate::test_support::names;
use crate::{DecodeError, Limits, Rows};

/// Rows with their values as bits, so NaN (`null`) compares equal to itself.
fn bits(r: Result<Rows, DecodeError>) -> Result<(usize, Vec<u64>), DecodeError> {
    r.map(|rows| {
        (
            rows.n_rows,
            rows.values.iter().map(|v| v.to_bits()).collect(),
        )
    })
}

fn fast(body: &str, n: usize) -> Option<(usize, Vec<u64>)> {
    let out = decode(body.as_bytes(), &names(n), &Limits::default())?;
    Some(bits(out.finish()).unwrap())
}

fn fast_lines(body: &str, n: usize) -> Option<(usize, Vec<u64>)> {
    let out = decode_lines(body.as_bytes(), &names(n), &Limits::default())?;
    Some(bits(out.finish()).unwrap())
}

#[test]
fn takes_the_shapes_clients_send() {
    let records =
        r#"[{"feature_1": 0.5, "feature_2": -1e-3}, {"feature_2": 2, "feature_1": null}]"#;
    let arrays = "[[0.5, -0.001], [1, 2]]\n";
    let instances = r#"{ "instances" : [[0.5, -0.001], {"feature_1": 1, "feature_2": 2}] }"#;
    for body in [records, arrays, instances] {
        let want = bits(decode_json_serde(
            body.as_bytes(),
            &names(2),
            &Limits::default(),
        ));
        assert_eq!(fast(body, 2).map(Ok), Some(want), "{body}");
    }
    let lines = "{\"feature_1\": 1, \"feature_2\": 2}\r\n\n[3, 4]\n";
    assert_eq!(fast_lines(lines, 2).unwrap().0, 2);
}

#[test]
fn leaves_everything_else_to_the_serde_path() {
    for body in [
        "[1, 2]",                                         // one flat row
        r#"{"feature_1": 1, "feature_2": 2}"#,            // one record
        r#"[{"feature_1": 1, "feature_2": 2, "id": 7}]"#, // an extra key
        r#"[{"feature_1": 1}]"#,                          // a missing key
        r#"[{"feature_1": 1, "feature_1": 2}]"#,          // a repeated key
        r#"[{"feature\u005f1": 1, "feature_2": 2}]"#,     // an escaped key
        r#"[{"features": [1, 2]}]"#,                      // a wrapper
        r#"[[1, "2"]]"#,                                  // a string value
        "[[1, 2, 3]]",                                    // too wide
        "[[1]]",                                          // too narrow
        "[[1, 2]] [[3, 4]]",                              // two documents
        "[[01, 2]]",                                      // not JSON numbers
        "[[1., 2]]",
        "[[.5, 2]]",
        "[[+1, 2]]",
        "[[1e400, 2]]", // out of range
        "[[NaN, 2]]",
        "[[1, 2],]",
        "[]",
        r#"{"instances": [[1, 2]], "x": 1}"#,
    ] {
        assert_eq!(fast(body, 2), None, "{body}");
    }
    assert_eq!(fast_lines("[1,\n2]", 2), None, "a row across lines");
    assert_eq!(fast_lines("[1, 2] [3, 4]", 2), None, "two rows on a line");
    let limits = Limits::with_max_rows(1);
    assert!(
        decode(b"[[1, 2], [3, 4]]", &names(2), &limits).is_none(),
        "over the row limit"
    );
}

#[test]
fn a_feature_named_instances_is_a_record_key() {
    let names = vec!["instances".to_owned()];
    assert!(decode(br#"{"instances": [[1]]}"#, &names, &Limits::default()).is_none());
}

/// A JSON number or other value, mostly valid, sometimes not.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => any::<f64>().prop_filter("finite", |v| v.is_finite()).prop_map(|v| v.to_string()),
        3 => (-1e6f64..1e6).prop_map(|v| format!("{v:e}")),
        2 => any::<i64>().prop_map(|v| v.to_string()),
        1 => any::<u64>().prop_map(|v| v.to_string()),
        1 => "-?[0-9]{1,30}(\\.[0-9]{1,30})?([eE][-+]?[0-9]{1,3})?",
        1 => prop::sample::select(vec![
            "null", "-0", "0", "-0.0", "0e0", "1E+2", "1e400", "-1e-400", "01", "1.", ".5", "+1",
            "\"1\"", "true", "[1]", "{}", "nul", "1e", "-", "9007199254740993",
            "18446744073709551616", "123456789012345678901234567890",
        ])
        .prop_map(str::to_owned),
    ]
}

fn ws() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["", "", "", " ", "\n", "\r\n", "\t "]).prop_map(str::to_owned)
}

/// A row of two features: an array or a record, sometimes malformed.
fn row() -> impl Strategy<Value = String> {
    let arr = (ws(), prop::collection::vec(value(), 1..=3), ws())
        .prop_map(|(a, vs, b)| format!("[{a}{}{b}]", vs.join(&format!("{b},{a}"))));
    let key = prop::sample::select(vec![
        "feature_1",
        "feature_2",
        "feature_2",
        "feature_1",
        "id",
    ]);
    let rec = (prop::collection::vec((key, value()), 1..=3), ws()).prop_map(|(kvs, w)| {
        let kv: Vec<String> = kvs
            .iter()
            .map(|(k, v)| format!("{w}\"{k}\"{w}:{w}{v}"))
            .collect();
        format!("{{{}{w}}}", kv.join(","))
    });
    prop_oneof![arr, rec]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn json_bodies_decode_as_on_the_serde_path(
        rows in prop::collection::vec(row(), 1..5),
        wrap in any::<bool>(),
        (a, b) in (ws(), ws()),
    ) {
        let list = format!("[{a}{}{b}]", rows.join(&format!("{b},{a}")));
        let body = if wrap { format!("{{{a}\"instances\"{b}:{list}}}") } else { list };
        let serde = bits(decode_json_serde(body.as_bytes(), &names(2), &Limits::default()));
        if let Some(rows) = fast(&body, 2) {
            prop_assert_eq!(Ok(rows), serde.clone(), "{}", body);
        }
        prop_assert_eq!(bits(decode_json(body.as_bytes(), &names(2), &Limits::default())), serde);
    }

    #[test]
    fn json_lines_decode_as_on_the_serde_path(rows in prop::collection::vec((row(), ws()), 1..5)) {
        let body: String = rows.iter().map(|(r, w)| format!("{r}{w}\n")).collect();
        let serde = bits(decode_jsonlines_serde(body.as_bytes(), &names(2), &Limits::default()));
        if let Some(rows) = fast_lines(&body, 2) {
            prop_assert_eq!(Ok(rows), serde.clone(), "{}", body);
        }
        prop_assert_eq!(bits(decode_jsonlines(body.as_bytes(), &names(2), &Limits::default())), serde);
    }
}

/// A valid value: any finite double, integer or `null`, as clients write them.
fn valid_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<f64>().prop_filter("finite", |v| v.is_finite()).prop_map(|v| v.to_string()),
        2 => any::<f64>().prop_filter("finite", |v| v.is_finite()).prop_map(|v| format!("{v:e}")),
        1 => any::<i64>().prop_map(|v| v.to_string()),
        1 => Just("null".to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn valid_bodies_take_the_fast_path(
        rows in prop::collection::vec((valid_value(), valid_value(), 0..3u8), 1..20),
    ) {
        let rows: Vec<String> = rows
            .iter()
            .map(|(x, y, shape)| match shape {
                0 => format!("[{x}, {y}]"),
                1 => format!(r#"{{"feature_1": {x}, "feature_2": {y}}}"#),
                _ => format!(r#"{{"feature_2":{y},"feature_1":{x}}}"#),
            })
            .collect();
        let body = format!("[{}]", rows.join(","));
        let serde = bits(decode_json_serde(body.as_bytes(), &names(2), &Limits::default()));
        prop_assert_eq!(fast(&body, 2).map(Ok), Some(serde.clone()), "{}", body);
        let lines = rows.join("\n");
        prop_assert_eq!(fast_lines(&lines, 2).map(Ok), Some(serde), "{}", lines);
    }
}
