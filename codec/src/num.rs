//! The one rule for turning text into a feature value, shared by every text
//! format (CSV fields; JSON numbers are typed and never go through here).
//!
//! * An empty (or all-whitespace) field is a missing value: NaN.
//! * `nan` in any letter case (optionally signed) is NaN.
//! * Anything Rust's `f64` parser accepts is a number (`1`, `-2.5`, `1e-3`,
//!   `.5`, `+3`), after trimming surrounding spaces and tabs.
//! * Infinity (`inf`, `infinity`, or a literal that overflows such as `1e999`)
//!   is rejected, as scikit-learn rejects it.
//! * Everything else is not a number.

/// Why a field could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldError {
    /// Not a number at all.
    NotANumber,
    /// Parses, but to ±infinity.
    NotFinite,
}

/// Parses one field by the rule above, without allocating.
pub(crate) fn parse_field(raw: &[u8]) -> Result<f64, FieldError> {
    let trimmed = raw.trim_ascii();
    if trimmed.is_empty() {
        return Ok(f64::NAN);
    }
    // fast-float2 implements the same grammar as `str::parse::<f64>` on
    // bytes, with no UTF-8 check and a faster decimal path (tested below).
    match fast_float2::parse::<f64, _>(trimmed) {
        Ok(v) if v.is_infinite() => Err(FieldError::NotFinite),
        Ok(v) => Ok(v),
        Err(_) => Err(FieldError::NotANumber),
    }
}

/// Whether a field reads as a value (number, NaN or empty) rather than text.
pub(crate) fn is_value(raw: &[u8]) -> bool {
    !matches!(parse_field(raw), Err(FieldError::NotANumber))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse() {
        assert_eq!(parse_field(b"1"), Ok(1.0));
        assert_eq!(parse_field(b" -2.5 "), Ok(-2.5));
        assert_eq!(parse_field(b"1e-3"), Ok(1e-3));
        assert_eq!(parse_field(b".5"), Ok(0.5));
        assert_eq!(parse_field(b"+3"), Ok(3.0));
        assert_eq!(parse_field(b"0.1"), Ok(0.1));
    }

    #[test]
    fn empty_and_nan_are_missing() {
        for raw in [&b""[..], b"   ", b"nan", b"NaN", b"NAN", b"-nan"] {
            assert!(parse_field(raw).unwrap().is_nan(), "{raw:?}");
        }
    }

    #[test]
    fn infinity_is_rejected() {
        for raw in [&b"inf"[..], b"-inf", b"Infinity", b"1e999", b"-1e400"] {
            assert_eq!(parse_field(raw), Err(FieldError::NotFinite), "{raw:?}");
        }
    }

    #[test]
    fn same_grammar_as_std() {
        let cases = [
            "0",
            "-0",
            "1.",
            ".5",
            "+.5",
            "1e5",
            "1E+05",
            "-1.5e-300",
            "4.9e-324",
            "1.7976931348623157e308",
            "0.30000000000000004",
            "123456789012345678901234567890",
            "1e",
            "e5",
            ".",
            "+",
            "-",
            "1..2",
            "--1",
            "0x1p3",
            "1_000",
            "١",
            "inf",
            "+infinity",
            "NaN",
            "nan1",
            "1 2",
            "١٢",
        ];
        for case in cases {
            let ours = parse_field(case.as_bytes());
            let std = case.parse::<f64>();
            match (ours, std) {
                (Ok(a), Ok(b)) => assert!(a == b || (a.is_nan() && b.is_nan()), "{case}"),
                (Err(FieldError::NotFinite), Ok(b)) => assert!(b.is_infinite(), "{case}"),
                (Err(FieldError::NotANumber), Err(_)) => {}
                (ours, std) => panic!("{case}: {ours:?} vs {std:?}"),
            }
        }
    }

    #[test]
    fn text_is_not_a_number() {
        for raw in [
            &b"abc"[..],
            b"1,5",
            b"0x10",
            b"1.2.3",
            b"null",
            b"NA",
            b"\xff",
        ] {
            assert_eq!(parse_field(raw), Err(FieldError::NotANumber), "{raw:?}");
        }
        assert!(!is_value(b"feature_1"));
        assert!(is_value(b""));
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_std_on_number_like_text(text in "[-+]?[0-9]{0,25}(\\.[0-9]{0,25})?([eE][-+]?[0-9]{0,4})?") {
            let ours = parse_field(text.as_bytes());
            match text.trim().parse::<f64>() {
                _ if text.is_empty() => proptest::prop_assert!(ours.unwrap().is_nan()),
                Ok(v) if v.is_infinite() => proptest::prop_assert_eq!(ours, Err(FieldError::NotFinite)),
                Ok(v) => proptest::prop_assert_eq!(ours, Ok(v)),
                Err(_) => proptest::prop_assert_eq!(ours, Err(FieldError::NotANumber)),
            }
        }
    }
}
