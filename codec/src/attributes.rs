//! `X-Amzn-SageMaker-Custom-Attributes`: the keys this system reads from it and writes into it.
//!
//! SageMaker passes the value to the container untouched (InvokeEndpoint's `CustomAttributes`).
//! It is read as `key=value` pairs separated by `,` or `;`; keys are case-insensitive, the last
//! occurrence of a key wins, and pairs with other keys (and bare words) are left to whoever set
//! them. The server parses the header with [`CustomAttributes::parse`]; a client such as the
//! forwarder writes it with `to_string()`, so both ends agree on the syntax by construction.
//!
//! * `format=native|rcf|sklearn` chooses the response's [`Shape`].
//! * `context=N`: the first `N` rows of the body are context only. A trend-aware model judges each
//!   row against the rows before it; a client scoring a stream piece by piece sends the last rows
//!   it already scored ahead of the new ones, and the response holds predictions for the rows
//!   after them, in order.
//! * `explain=K` (K ≥ 1) or `explain=all`: each prediction carries the K features with the highest
//!   attribution (every feature for `all`); see [`crate::explain`].

use std::fmt;

use crate::error::DecodeError;
use crate::explain::Explain;
use crate::shape::Shape;

/// The keys of `X-Amzn-SageMaker-Custom-Attributes` this system understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CustomAttributes {
    /// `format=`: the response shape, `None` when the header does not choose one (the server's
    /// default applies).
    pub format: Option<Shape>,
    /// `context=`: how many leading rows are context only, `None` when the header does not say
    /// (the same as 0 for the server; a client in trend mode writes `context=0` explicitly).
    pub context: Option<usize>,
    /// `explain=`: how many features each prediction explains, `None` when the header does not
    /// ask (the server's default applies).
    pub explain: Option<Explain>,
}

impl CustomAttributes {
    /// The key that selects a shape, as in `format=rcf`.
    pub const FORMAT_KEY: &'static str = "format";
    /// The key that marks leading context rows, as in `context=25`.
    pub const CONTEXT_KEY: &'static str = "context";
    /// The key that asks for explanations, as in `explain=3`.
    pub const EXPLAIN_KEY: &'static str = "explain";

    /// Reads a header value (`None`: no header). A `format` other than `native`, `rcf` or
    /// `sklearn`, a `context` that is not a non-negative integer, or an `explain` that is neither a
    /// positive integer nor `all` (surrounding whitespace and quotes ignored), is an error naming
    /// the key and the value.
    pub fn parse(value: Option<&str>) -> Result<Self, DecodeError> {
        let mut out = CustomAttributes::default();
        let Some(value) = value else { return Ok(out) };
        for pair in value.split([',', ';']) {
            let Some((key, val)) = pair.split_once('=') else {
                continue;
            };
            let key = key.trim();
            if key.eq_ignore_ascii_case(Self::FORMAT_KEY) {
                out.format = Some(val.parse()?);
            } else if key.eq_ignore_ascii_case(Self::CONTEXT_KEY) {
                let text = val.trim().trim_matches('"');
                out.context = match text.parse::<usize>() {
                    Ok(n) if text.bytes().all(|b| b.is_ascii_digit()) => Some(n),
                    _ => {
                        return Err(DecodeError::InvalidContext {
                            found: val.trim().to_owned(),
                        });
                    }
                };
            } else if key.eq_ignore_ascii_case(Self::EXPLAIN_KEY) {
                out.explain = Some(val.parse()?);
            }
        }
        Ok(out)
    }

    /// The header value, `None` when no key is set (send no header then).
    pub fn header_value(&self) -> Option<String> {
        let text = self.to_string();
        (!text.is_empty()).then_some(text)
    }
}

/// Writes the keys that are set, in the order `format`, `context`, `explain`:
/// `format=native,context=3,explain=2`.
impl fmt::Display for CustomAttributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        if let Some(shape) = self.format {
            write!(f, "{}={shape}", Self::FORMAT_KEY)?;
            sep = ",";
        }
        if let Some(context) = self.context {
            write!(f, "{sep}{}={context}", Self::CONTEXT_KEY)?;
            sep = ",";
        }
        if let Some(explain) = self.explain {
            write!(f, "{sep}{}={explain}", Self::EXPLAIN_KEY)?;
        }
        Ok(())
    }
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

    fn parse(value: &str) -> Result<CustomAttributes, DecodeError> {
        CustomAttributes::parse(Some(value))
    }

    fn attrs(format: Option<Shape>, context: Option<usize>) -> CustomAttributes {
        CustomAttributes {
            format,
            context,
            explain: None,
        }
    }

    #[test]
    fn absent_header_or_keys_mean_the_defaults() {
        assert_eq!(CustomAttributes::parse(None), Ok(attrs(None, None)));
        assert_eq!(parse(""), Ok(attrs(None, None)));
        assert_eq!(parse("trace=abc,user=1;bare"), Ok(attrs(None, None)));
    }

    #[test]
    fn format_selects_the_shape() {
        assert_eq!(parse("format=rcf"), Ok(attrs(Some(Shape::Rcf), None)));
        assert_eq!(
            parse("a=1, Format = SKLEARN ;b"),
            Ok(attrs(Some(Shape::Sklearn), None))
        );
        assert_eq!(
            parse("x=y;format=native"),
            Ok(attrs(Some(Shape::Native), None))
        );
        assert_eq!(
            parse("format=rcf,format=sklearn"),
            Ok(attrs(Some(Shape::Sklearn), None))
        );
    }

    #[test]
    fn context_gives_the_count_alongside_format() {
        assert_eq!(
            parse("format=rcf,context=25"),
            Ok(attrs(Some(Shape::Rcf), Some(25)))
        );
        assert_eq!(
            parse("Context = \"3\" ; format=sklearn"),
            Ok(attrs(Some(Shape::Sklearn), Some(3)))
        );
        assert_eq!(parse("context=4,context=0"), Ok(attrs(None, Some(0))));
    }

    #[test]
    fn an_unknown_format_is_a_400_naming_it() {
        let err = parse("format=xml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown output format \"xml\" in X-Amzn-SageMaker-Custom-Attributes; expected one of: native, rcf, sklearn"
        );
        assert_eq!(err.kind().http_status(), 400);
    }

    #[test]
    fn a_count_that_is_not_a_non_negative_integer_is_a_400_naming_the_attribute() {
        for bad in ["-1", "2.5", "+3", "", "ten", "99999999999999999999999"] {
            let err = parse(&format!("context={bad}")).unwrap_err();
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
    fn what_is_written_reads_back_the_same() {
        for format in [
            None,
            Some(Shape::Native),
            Some(Shape::Rcf),
            Some(Shape::Sklearn),
        ] {
            for context in [None, Some(0), Some(1), Some(24), Some(usize::MAX)] {
                let a = attrs(format, context);
                assert_eq!(CustomAttributes::parse(a.header_value().as_deref()), Ok(a));
            }
        }
        assert_eq!(attrs(None, None).header_value(), None);
        assert_eq!(attrs(None, Some(0)).to_string(), "context=0");
        assert_eq!(attrs(None, Some(12)).to_string(), "context=12");
        assert_eq!(
            attrs(Some(Shape::Rcf), Some(3)).to_string(),
            "format=rcf,context=3"
        );
    }

    #[test]
    fn explain_takes_a_count_or_all_alongside_the_other_keys() {
        let a = parse("format=native, context=25; Explain = 3").unwrap();
        assert_eq!(
            (a.format, a.context, a.explain),
            (Some(Shape::Native), Some(25), Some(Explain::Top(3)))
        );
        assert_eq!(parse("explain=ALL").unwrap().explain, Some(Explain::All));
        assert_eq!(
            parse("explain=\"2\"").unwrap().explain,
            Some(Explain::Top(2))
        );
        for bad in ["0", "-1", "two", "", "1.5", "99999999999999999999999"] {
            let err = parse(&format!("explain={bad}")).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "invalid explain \"{bad}\" in X-Amzn-SageMaker-Custom-Attributes; expected a number of features (1 or more) or all"
                )
            );
            assert_eq!(err.kind().http_status(), 400);
        }
        for explain in [Explain::All, Explain::Top(1), Explain::Top(7)] {
            let a = CustomAttributes {
                format: Some(Shape::Native),
                context: Some(3),
                explain: Some(explain),
            };
            assert_eq!(CustomAttributes::parse(a.header_value().as_deref()), Ok(a));
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
