//! Output shapes: which JSON/CSV layout a response uses, chosen per request
//! through `X-Amzn-SageMaker-Custom-Attributes` or server-wide.

use std::fmt;
use std::str::FromStr;

use crate::error::DecodeError;

/// The layout of a response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Shape {
    /// This server's own layout: a score and an anomaly flag per row.
    #[default]
    Native,
    /// SageMaker's built-in Random Cut Forest layout: a score per row.
    Rcf,
    /// The scikit-learn Python container's layout: `1` (normal) or `-1`
    /// (anomaly) per row.
    Sklearn,
}

impl Shape {
    /// The custom-attribute key that selects a shape, as in `format=rcf`.
    pub const ATTRIBUTE_KEY: &'static str = "format";

    /// Reads the shape from an `X-Amzn-SageMaker-Custom-Attributes` value.
    ///
    /// The value is opaque to SageMaker; it is read as `key=value` pairs
    /// separated by `,` or `;`. Only the `format` key (case-insensitive) is
    /// interpreted; other pairs and bare words are ignored. `None` means the
    /// header does not choose a shape (the caller then uses its default). If
    /// `format` appears more than once, the last one wins.
    pub fn from_custom_attributes(value: Option<&str>) -> Result<Option<Shape>, DecodeError> {
        let Some(value) = value else { return Ok(None) };
        let mut chosen = None;
        for pair in value.split([',', ';']) {
            let Some((key, val)) = pair.split_once('=') else {
                continue;
            };
            if key.trim().eq_ignore_ascii_case(Self::ATTRIBUTE_KEY) {
                chosen = Some(val.parse()?);
            }
        }
        Ok(chosen)
    }

    /// The lowercase name used in headers and configuration.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Native => "native",
            Shape::Rcf => "rcf",
            Shape::Sklearn => "sklearn",
        }
    }
}

impl FromStr for Shape {
    type Err = DecodeError;

    /// Parses `native`, `rcf` or `sklearn` (case-insensitive, surrounding
    /// whitespace and quotes ignored).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim().trim_matches('"');
        [Shape::Native, Shape::Rcf, Shape::Sklearn]
            .into_iter()
            .find(|shape| shape.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| DecodeError::UnknownShape {
                found: s.trim().to_owned(),
            })
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_header_chooses_nothing() {
        assert_eq!(Shape::from_custom_attributes(None), Ok(None));
        assert_eq!(Shape::from_custom_attributes(Some("")), Ok(None));
        assert_eq!(
            Shape::from_custom_attributes(Some("trace=abc,user=1")),
            Ok(None)
        );
    }

    #[test]
    fn format_key_selects_shape() {
        assert_eq!(
            Shape::from_custom_attributes(Some("format=rcf")),
            Ok(Some(Shape::Rcf))
        );
        assert_eq!(
            Shape::from_custom_attributes(Some("a=1, Format = SKLEARN ;b")),
            Ok(Some(Shape::Sklearn))
        );
        assert_eq!(
            Shape::from_custom_attributes(Some("x=y;format=native")),
            Ok(Some(Shape::Native))
        );
        assert_eq!(
            Shape::from_custom_attributes(Some("format=rcf,format=sklearn")),
            Ok(Some(Shape::Sklearn))
        );
    }

    #[test]
    fn unknown_format_is_an_error() {
        let err = Shape::from_custom_attributes(Some("format=xml")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown output format \"xml\" in X-Amzn-SageMaker-Custom-Attributes; expected one of: native, rcf, sklearn"
        );
        assert_eq!(err.kind().http_status(), 400);
    }

    #[test]
    fn from_str_round_trips_names() {
        for shape in [Shape::Native, Shape::Rcf, Shape::Sklearn] {
            assert_eq!(shape.to_string().parse::<Shape>(), Ok(shape));
        }
        assert_eq!(Shape::default(), Shape::Native);
    }
}
