//! The `context` custom attribute: how many leading rows of a request are context only.
//!
//! A trend-aware model judges each row against the rows before it. A client that scores a stream
//! piece by piece sends the last rows it already scored ahead of the new ones and marks them with
//! `context=N` in `X-Amzn-SageMaker-Custom-Attributes`: the first `N` rows of the body are then a
//! baseline only, and the response holds predictions for the rows after them, in order.

use crate::error::DecodeError;

/// The custom-attribute key that marks leading context rows, as in `context=25`.
pub const CONTEXT_ATTRIBUTE_KEY: &str = "context";

/// Reads the context row count from an `X-Amzn-SageMaker-Custom-Attributes` value: `0` when the
/// header or the key is absent. Pairs are read as in [`crate::Shape::from_custom_attributes`]
/// (`key=value`, separated by `,` or `;`, key case-insensitive, last one wins); the value must be
/// a non-negative integer (surrounding whitespace and quotes ignored).
pub fn context_from_custom_attributes(value: Option<&str>) -> Result<usize, DecodeError> {
    let Some(value) = value else { return Ok(0) };
    let mut context = 0;
    for pair in value.split([',', ';']) {
        let Some((key, val)) = pair.split_once('=') else {
            continue;
        };
        if key.trim().eq_ignore_ascii_case(CONTEXT_ATTRIBUTE_KEY) {
            let text = val.trim().trim_matches('"');
            context = match text.parse::<usize>() {
                Ok(n) if text.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => {
                    return Err(DecodeError::InvalidContext {
                        found: val.trim().to_owned(),
                    });
                }
            };
        }
    }
    Ok(context)
}

/// Checks that `context` leading rows leave the body's `rows` whole: a count above the row count is
/// an error; equal to it, there is nothing to predict and the response is empty.
pub fn check_context(context: usize, rows: usize) -> Result<(), DecodeError> {
    if context > rows {
        Err(DecodeError::ContextTooLong { context, rows })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_header_or_key_means_no_context() {
        assert_eq!(context_from_custom_attributes(None), Ok(0));
        assert_eq!(context_from_custom_attributes(Some("")), Ok(0));
        assert_eq!(context_from_custom_attributes(Some("format=rcf")), Ok(0));
    }

    #[test]
    fn context_key_gives_the_count_alongside_format() {
        assert_eq!(
            context_from_custom_attributes(Some("format=rcf,context=25")),
            Ok(25)
        );
        assert_eq!(
            context_from_custom_attributes(Some("Context = \"3\" ; format=sklearn")),
            Ok(3)
        );
        assert_eq!(
            context_from_custom_attributes(Some("context=4,context=0")),
            Ok(0)
        );
    }

    #[test]
    fn a_count_that_is_not_a_non_negative_integer_is_a_400_naming_the_attribute() {
        for bad in ["-1", "2.5", "+3", "", "ten", "99999999999999999999999"] {
            let err = context_from_custom_attributes(Some(&format!("context={bad}"))).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "invalid context \"{bad}\" in X-Amzn-SageMaker-Custom-Attributes; expected a non-negative integer (the number of leading context rows)"
                )
            );
            assert_eq!(err.kind().http_status(), 400);
        }
    }

    #[test]
    fn context_may_cover_every_row_but_no_more() {
        assert_eq!(check_context(0, 0), Ok(()));
        assert_eq!(check_context(3, 3), Ok(()));
        let err = check_context(4, 3).unwrap_err();
        assert_eq!(
            err.to_string(),
            "context=4 in X-Amzn-SageMaker-Custom-Attributes exceeds the request's 3 rows"
        );
        assert_eq!(err.kind().http_status(), 400);
    }
}
