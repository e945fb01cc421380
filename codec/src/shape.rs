//! Output shapes: which JSON/CSV layout a response uses, chosen per request
//! through `X-Amzn-SageMaker-Custom-Attributes` (`format=`, see [`crate::CustomAttributes`]) or
//! server-wide.

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
    fn from_str_round_trips_names() {
        for shape in [Shape::Native, Shape::Rcf, Shape::Sklearn] {
            assert_eq!(shape.to_string().parse::<Shape>(), Ok(shape));
        }
        assert_eq!(Shape::default(), Shape::Native);
    }
}
