//! Property tests: bodies written from rows decode back to the same rows, and
//! no input of any format makes the codec panic.

use codec::{
    InputFormat, Limits, OutputFormat, Prediction, Rows, Shape, decode, decode_answers,
    decode_record, decode_response, encode,
};
use proptest::prelude::*;

fn names(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("feature_{i}")).collect()
}

/// Finite values of every magnitude, plus some missing values (NaN).
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => any::<f64>().prop_filter("finite", |v| v.is_finite()),
        4 => -1000.0..1000.0f64,
        1 => Just(f64::NAN),
        1 => Just(0.0),
    ]
}

/// A matrix: (n_cols, rows).
fn matrix() -> impl Strategy<Value = (usize, Vec<Vec<f64>>)> {
    (1usize..7).prop_flat_map(|cols| {
        (
            Just(cols),
            prop::collection::vec(prop::collection::vec(value(), cols), 1..25),
        )
    })
}

/// Equal as decoded values: NaN matches NaN.
fn same(rows: &Rows, want: &[Vec<f64>]) -> bool {
    rows.n_rows == want.len()
        && rows
            .values
            .iter()
            .zip(want.iter().flatten())
            .all(|(a, b)| a == b || (a.is_nan() && b.is_nan()))
}

fn csv_field(v: f64) -> String {
    // Rust's Display prints the shortest round-trip form; NaN is left empty.
    if v.is_nan() {
        String::new()
    } else {
        v.to_string()
    }
}

fn json_value(v: f64) -> serde_json::Value {
    if v.is_nan() {
        serde_json::Value::Null
    } else {
        v.into()
    }
}

proptest! {
    #[test]
    fn csv_round_trip((cols, rows) in matrix(), crlf in any::<bool>(), final_newline in any::<bool>()) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let lines: Vec<String> = rows.iter().map(|r| r.iter().map(|&v| csv_field(v)).collect::<Vec<_>>().join(",")).collect();
        let mut body = lines.join(eol);
        if final_newline { body.push_str(eol); }
        // A lone empty field is a blank line, which is skipped: not a row.
        prop_assume!(cols > 1 || rows.iter().all(|r| !r[0].is_nan()));
        let got = decode(InputFormat::Csv, body.as_bytes(), &names(cols), &Limits::default()).unwrap();
        prop_assert!(same(&got, &rows), "{body:?} -> {got:?}");
    }

    #[test]
    fn csv_quoting_does_not_change_the_result((cols, rows) in matrix(), quote_mask in any::<u64>()) {
        let mut plain = String::new();
        let mut quoted = String::new();
        for (r, row) in rows.iter().enumerate() {
            let fields: Vec<String> = row.iter().map(|&v| csv_field(v)).collect();
            plain.push_str(&fields.join(","));
            let q: Vec<String> = fields.iter().enumerate().map(|(c, f)| {
                if (quote_mask >> ((r * cols + c) % 64)) & 1 == 1 { format!("\"{f}\"") } else { f.clone() }
            }).collect();
            quoted.push_str(&q.join(","));
            plain.push('\n');
            quoted.push('\n');
        }
        let names = names(cols);
        let a = decode(InputFormat::Csv, plain.as_bytes(), &names, &Limits::default());
        let b = decode(InputFormat::Csv, quoted.as_bytes(), &names, &Limits::default());
        prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }

    #[test]
    fn csv_header_in_any_order((cols, rows) in matrix(), seed in any::<u64>()) {
        let names = names(cols);
        // A permutation of the columns derived from the seed.
        let mut order: Vec<usize> = (0..cols).collect();
        let mut s = seed;
        for i in (1..cols).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            order.swap(i, (s >> 33) as usize % (i + 1));
        }
        let mut body = order.iter().map(|&c| names[c].clone()).collect::<Vec<_>>().join(",");
        body.push('\n');
        for r in &rows {
            body.push_str(&order.iter().map(|&c| csv_field(r[c])).collect::<Vec<_>>().join(","));
            body.push('\n');
        }
        prop_assume!(cols > 1 || rows.iter().all(|r| !r[0].is_nan()));
        let got = decode(InputFormat::Csv, body.as_bytes(), &names, &Limits::default()).unwrap();
        prop_assert!(same(&got, &rows));
    }

    #[test]
    fn json_arrays_round_trip((cols, rows) in matrix(), wrap in 0usize..3) {
        let arrays: Vec<serde_json::Value> =
            rows.iter().map(|r| r.iter().map(|&v| json_value(v)).collect()).collect();
        let doc = match wrap {
            0 => serde_json::Value::Array(arrays),
            1 => serde_json::json!({ "instances": arrays }),
            _ => serde_json::json!({ "instances": arrays.into_iter().map(|a| serde_json::json!({"features": a})).collect::<Vec<_>>() }),
        };
        let body = serde_json::to_vec(&doc).unwrap();
        let got = decode(InputFormat::Json, &body, &names(cols), &Limits::default()).unwrap();
        prop_assert!(same(&got, &rows));
    }

    #[test]
    fn json_records_and_lines_round_trip((cols, rows) in matrix()) {
        let names = names(cols);
        // Keys written in reverse model order, plus an extra key that is ignored.
        let records: Vec<String> = rows.iter().map(|r| {
            let mut fields: Vec<String> = (0..cols).rev()
                .map(|c| format!("\"{}\":{}", names[c], json_value(r[c]))).collect();
            fields.push("\"id\":\"x\"".into());
            format!("{{{}}}", fields.join(","))
        }).collect();
        let body = format!("[{}]", records.join(","));
        let got = decode(InputFormat::Json, body.as_bytes(), &names, &Limits::default()).unwrap();
        prop_assert!(same(&got, &rows));
        let lines = records.join("\n");
        let got = decode(InputFormat::JsonLines, lines.as_bytes(), &names, &Limits::default()).unwrap();
        prop_assert!(same(&got, &rows));
        let got = decode_record(lines.as_bytes(), &names).unwrap();
        prop_assert!(same(&got, &rows));
    }

    #[test]
    fn predictions_round_trip(scores in prop::collection::vec((0.0..=1.0f64, any::<bool>()), 0..50)) {
        let preds: Vec<Prediction> = scores.iter().map(|&(score, anomaly)| Prediction { score, anomaly }).collect();
        for format in [OutputFormat::Json, OutputFormat::JsonLines, OutputFormat::Csv] {
            let body = encode(&preds, format, Shape::Native);
            prop_assert_eq!(&decode_response(&body, format.content_type()).unwrap(), &preds);
            let rcf = decode_answers(&encode(&preds, format, Shape::Rcf), format.content_type(), Shape::Rcf).unwrap();
            prop_assert!(rcf.iter().zip(&preds).all(|(a, p)| a.score == Some(p.score)));
        }
    }

    #[test]
    fn no_panic_on_arbitrary_bytes(body in prop::collection::vec(any::<u8>(), 0..300), cols in 1usize..5) {
        let names = names(cols);
        let limits = Limits::with_max_rows(50);
        for format in [InputFormat::Csv, InputFormat::Json, InputFormat::JsonLines, InputFormat::Npy] {
            if let Ok(rows) = decode(format, &body, &names, &limits) {
                prop_assert_eq!(rows.values.len(), rows.n_rows * cols);
            }
        }
        let _ = decode_record(&body, &names);
        for shape in [Shape::Native, Shape::Rcf, Shape::Sklearn] {
            for ct in ["application/json", "application/jsonlines", "text/csv"] {
                let _ = decode_answers(&body, ct, shape);
            }
        }
    }

    #[test]
    fn no_panic_on_text_like_bodies(body in "[\\[\\]{}\",:0-9a-z.eE+\\- \n\r]{0,200}", cols in 1usize..4) {
        let names = names(cols);
        for format in [InputFormat::Csv, InputFormat::Json, InputFormat::JsonLines] {
            if let Ok(rows) = decode(format, body.as_bytes(), &names, &Limits::default()) {
                prop_assert_eq!(rows.values.len(), rows.n_rows * cols);
            }
        }
        let _ = decode_record(body.as_bytes(), &names);
    }

    #[test]
    fn no_panic_on_arbitrary_headers(value in "\\PC{0,60}") {
        let _ = InputFormat::from_content_type(Some(&value));
        let _ = OutputFormat::negotiate(Some(&value), OutputFormat::Json);
        let _ = codec::CustomAttributes::parse(Some(&value));
    }
}

/// Nested JSON values of every kind, to exercise the visitors' error paths.
fn json_tree() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i32>().prop_map(serde_json::Value::from),
        (-1e6..1e6f64).prop_map(serde_json::Value::from),
        "[a-z_0-9]{0,8}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        let key = prop_oneof![
            Just("instances".to_string()),
            Just("features".to_string()),
            Just("data".to_string()),
            Just("values".to_string()),
            Just("keys".to_string()),
            Just("shape".to_string()),
            Just("feature_1".to_string()),
            Just("feature_2".to_string()),
            "[a-z]{1,3}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(key, inner, 0..5)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn no_panic_on_arbitrary_json(doc in json_tree()) {
        let names = names(2);
        let body = serde_json::to_vec(&doc).unwrap();
        if let Ok(rows) = decode(InputFormat::Json, &body, &names, &Limits::default()) {
            prop_assert_eq!(rows.values.len(), rows.n_rows * 2);
        }
        let _ = decode(InputFormat::JsonLines, &body, &names, &Limits::default());
    }
}
