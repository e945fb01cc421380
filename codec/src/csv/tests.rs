use super::*;
use crate::test_support::{msg, names};

fn csv(body: &str, n: usize) -> Result<Rows, DecodeError> {
    decode_csv(body.as_bytes(), &names(n), &Limits::default())
}

#[test]
fn plain_rows() {
    let rows = csv("1,2,3\n4.5,-5,6e-1\n", 3).unwrap();
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
fn crlf_and_missing_final_newline() {
    assert_eq!(
        csv("1,2\r\n3,4", 2).unwrap().values,
        vec![1.0, 2.0, 3.0, 4.0]
    );
    assert_eq!(
        csv("1,2\r\n3,4\r\n", 2).unwrap().values,
        vec![1.0, 2.0, 3.0, 4.0]
    );
}

#[test]
fn blank_lines_are_skipped() {
    let rows = csv("\n1,2\n\n  \n3,4\n\n\n", 2).unwrap();
    assert_eq!(rows.values, vec![1.0, 2.0, 3.0, 4.0]);
}

#[test]
fn quoted_fields_and_spaces() {
    let rows = csv("\"1.5\", 2 \n\" 3\",\"4\"\n", 2).unwrap();
    assert_eq!(rows.values, vec![1.5, 2.0, 3.0, 4.0]);
}

#[test]
fn bom_is_ignored() {
    assert_eq!(
        csv("\u{feff}feature_1,feature_2\n1,2\n", 2).unwrap().values,
        vec![1.0, 2.0]
    );
}

#[test]
fn header_reorders_columns() {
    let rows = csv("feature_3,feature_1,feature_2\n3,1,2\n30,10,20\n", 3).unwrap();
    assert_eq!(rows.values, vec![1.0, 2.0, 3.0, 10.0, 20.0, 30.0]);
}

#[test]
fn header_in_model_order_and_quoted() {
    let rows = csv("\"feature_1\", feature_2\r\n1,2", 2).unwrap();
    assert_eq!(rows.values, vec![1.0, 2.0]);
}

#[test]
fn header_errors_are_precise() {
    assert_eq!(
        msg(csv("feature_1,temp\n1,2\n", 2)),
        "header: unknown column \"temp\"; the model's features are: feature_1, feature_2"
    );
    assert_eq!(
        msg(csv("feature_2\n1\n", 2)),
        "header: missing column \"feature_1\""
    );
    assert_eq!(
        msg(csv("feature_1,feature_1\n1,2\n", 2)),
        "header: column \"feature_1\" appears more than once"
    );
}

#[test]
fn header_only_is_no_rows() {
    assert_eq!(csv("feature_1,feature_2\n", 2), Err(DecodeError::NoRows));
}

#[test]
fn width_error_names_the_data_row() {
    let mut body = String::new();
    for _ in 0..16 {
        body.push_str("1,2,3,4,5\n");
    }
    body.push_str("1,2,3,4\n");
    assert_eq!(msg(csv(&body, 5)), "row 17: expected 5 values, found 4");
}

#[test]
fn row_numbers_count_data_rows_not_header_or_blank_lines() {
    let body = "feature_1,feature_2\n1,2\n\n3,4\nabc,5\n";
    assert_eq!(
        msg(csv(body, 2)),
        "row 3, feature_1: \"abc\" is not a number"
    );
}

#[test]
fn not_a_number_names_row_and_feature() {
    assert_eq!(
        msg(csv("1,2,3\n1,2,3\n1,abc,3\n", 3)),
        "row 3, feature_2: \"abc\" is not a number"
    );
    // After a reordering header, the message names the model's feature.
    assert_eq!(
        msg(csv("feature_2,feature_1\n1,x\n", 2)),
        "row 1, feature_1: \"x\" is not a number"
    );
}

#[test]
fn first_line_with_a_number_is_data() {
    assert_eq!(
        msg(csv("1.0,abc,3\n", 3)),
        "row 1, feature_2: \"abc\" is not a number"
    );
}

#[test]
fn empty_fields_and_nan_are_missing() {
    let rows = csv("1,,nan\nNaN, ,3\n", 3).unwrap();
    let nan: Vec<bool> = rows.values.iter().map(|v| v.is_nan()).collect();
    assert_eq!(nan, vec![false, true, true, true, true, false]);
}

#[test]
fn infinity_is_rejected() {
    assert_eq!(
        msg(csv("1,inf\n", 2)),
        "row 1, feature_2: \"inf\" is not a finite number (infinity is not accepted)"
    );
    assert_eq!(
        msg(csv("1,2\n-1e999,0\n", 2)),
        "row 2, feature_1: \"-1e999\" is not a finite number (infinity is not accepted)"
    );
}

#[test]
fn empty_body_is_no_rows() {
    assert_eq!(csv("", 2), Err(DecodeError::NoRows));
    assert_eq!(csv("\r\n\n", 2), Err(DecodeError::NoRows));
}

#[test]
fn row_limit_applies() {
    let err = decode_csv(b"1\n2\n3\n", &names(1), &Limits::with_max_rows(2)).unwrap_err();
    assert_eq!(err, DecodeError::TooManyRows { limit: 2 });
    assert!(decode_csv(b"1\n2\n", &names(1), &Limits::with_max_rows(2)).is_ok());
}

#[test]
fn long_fields_are_shortened_in_messages() {
    let long = "x".repeat(100);
    assert_eq!(
        msg(csv(&format!("1,{long}\n"), 2)),
        format!("row 1, feature_2: \"{}…\" is not a number", "x".repeat(40))
    );
}

#[test]
fn quoted_and_unquoted_paths_agree() {
    let plain = "feature_2,feature_1\r\n1,2\n\n3,\n";
    let quoted = "\"feature_2\",feature_1\r\n\"1\",2\n\n3,\n";
    let a = csv(plain, 2).unwrap();
    let b = csv(quoted, 2).unwrap();
    assert_eq!(a.n_rows, b.n_rows);
    assert_eq!(format!("{:?}", a.values), format!("{:?}", b.values));
    assert_eq!(msg(csv("1,2\n3,x\n", 2)), msg(csv("\"1\",2\n3,x\n", 2)));
    assert_eq!(msg(csv("1,2\n3\n", 2)), msg(csv("\"1\",2\n3\n", 2)));
}

#[test]
fn old_mac_line_endings_are_lines() {
    assert_eq!(
        csv("1,2\r3,4\r", 2).unwrap().values,
        vec![1.0, 2.0, 3.0, 4.0]
    );
}

#[test]
fn quoted_field_may_hold_a_comma_but_is_then_not_a_number() {
    assert_eq!(
        msg(csv("1,\"2,5\"\n", 2)),
        "row 1, feature_2: \"2,5\" is not a number"
    );
}

#[test]
fn plain_lines_take_the_single_pass() {
    let mut out = Vec::new();
    assert!(super::plain_numbers(b"1.5,-2e-3,+7", 3, &mut out));
    assert_eq!(out, vec![1.5, -0.002, 7.0]);
    for line in [
        &b"1,2"[..],
        b"1,2,3,4",
        b"1, 2,3",
        b"1,,3",
        b"1,nan,3",
        b"1,inf,3",
        b"1,1e999,3",
        b"1,2,3 ",
        b"1,2x,3",
        b"1;2;3",
        b"",
    ] {
        assert!(!super::plain_numbers(line, 3, &mut Vec::new()), "{line:?}");
    }
}

proptest::proptest! {
    /// A line the single pass takes gives each field's value by the general rule.
    #[test]
    fn plain_numbers_agree_with_parse_field(
        fields in proptest::collection::vec("[-+]?[0-9]{0,20}(\\.[0-9]{0,20})?([eE][-+]?[0-9]{0,3})?|nan|inf| 1|x", 1..5),
    ) {
        let line = fields.join(",");
        let mut out = Vec::new();
        if super::plain_numbers(line.as_bytes(), fields.len(), &mut out) {
            for (field, v) in fields.iter().zip(&out) {
                proptest::prop_assert_eq!(crate::num::parse_field(field.as_bytes()), Ok(*v));
            }
        }
        let body = format!("{line}\n{line}\n");
        let general = csv(&format!("\"\"\n{body}"), fields.len());
        let plain = csv(&body, fields.len());
        proptest::prop_assert_eq!(format!("{plain:?}"), format!("{general:?}"));
    }
}
