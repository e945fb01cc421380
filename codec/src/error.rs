//! The single error type of the codec and its HTTP-oriented classification.
//!
//! Every message is written for the person who sent the request: it names the
//! row, line or record (1-based), the column or key, and what was expected.

use std::fmt;

use thiserror::Error;

/// Where in a request body an error was found. Displays as `row 3`, `record 2`
/// or `line 5`; all numbers are 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A data row: a CSV data line (the header line and blank lines are not
    /// counted), an element of a JSON array of arrays, or an npy row.
    Row(usize),
    /// An element of a JSON array of records (objects keyed by feature name).
    Record(usize),
    /// A physical line of a JSON Lines body (blank lines are counted).
    Line(usize),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Row(n) => write!(f, "row {n}"),
            Location::Record(n) => write!(f, "record {n}"),
            Location::Line(n) => write!(f, "line {n}"),
        }
    }
}

/// How a [`DecodeError`] should be reported; the server maps it to a status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The body is malformed or does not fit the model (HTTP 400).
    BadInput,
    /// The Content-Type is not one of the supported input types (HTTP 415).
    UnsupportedMediaType,
    /// No supported output type satisfies the Accept header (HTTP 406).
    NotAcceptable,
    /// The body holds more rows than the configured limit (HTTP 413).
    TooLarge,
}

impl ErrorKind {
    /// The HTTP status code conventionally used for this kind.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::BadInput => 400,
            ErrorKind::UnsupportedMediaType => 415,
            ErrorKind::NotAcceptable => 406,
            ErrorKind::TooLarge => 413,
        }
    }
}

/// Everything that can go wrong while negotiating formats or decoding a body.
/// `Display` is the user-facing message.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DecodeError {
    /// The Content-Type header names a type the codec cannot read.
    #[error("unsupported Content-Type \"{found}\"; supported: {}", crate::supported::SUPPORTED_CONTENT_TYPES.join(", "))]
    UnsupportedContentType {
        /// The header value as received.
        found: String,
    },
    /// The Accept header admits none of the output types.
    #[error("cannot produce any type acceptable to Accept \"{found}\"; supported: {}", crate::supported::SUPPORTED_ACCEPT_TYPES.join(", "))]
    NotAcceptable {
        /// The header value as received.
        found: String,
    },
    /// `X-Amzn-SageMaker-Custom-Attributes` asked for an unknown output shape.
    #[error(
        "unknown output format \"{found}\" in X-Amzn-SageMaker-Custom-Attributes; expected one of: native, rcf, sklearn"
    )]
    UnknownShape {
        /// The requested value.
        found: String,
    },
    /// `X-Amzn-SageMaker-Custom-Attributes` gave a `context` that is not a row count.
    #[error(
        "invalid context \"{found}\" in X-Amzn-SageMaker-Custom-Attributes; expected a non-negative integer (the number of leading context rows)"
    )]
    InvalidContext {
        /// The value as received.
        found: String,
    },
    /// `X-Amzn-SageMaker-Custom-Attributes` gave an `explain` that is neither a feature count
    /// nor `all`.
    #[error(
        "invalid explain \"{found}\" in X-Amzn-SageMaker-Custom-Attributes; expected a number of features (1 or more) or all"
    )]
    InvalidExplain {
        /// The value as received.
        found: String,
    },
    /// An explanation was asked of a shape that has no room for it.
    #[error(
        "explain= cannot be combined with format={shape}: the {shape} answer stays exactly as that system answers; ask for format=native (the default) to get explanations"
    )]
    ExplainNeedsNative {
        /// The name of the shape the answer would have had (`rcf` or `sklearn`).
        shape: &'static str,
    },
    /// `context` asked for more leading rows than the body holds.
    #[error(
        "context={context} in X-Amzn-SageMaker-Custom-Attributes exceeds the request's {rows} rows"
    )]
    ContextTooLong {
        /// The requested context row count.
        context: usize,
        /// Rows in the body.
        rows: usize,
    },
    /// The body is empty or holds only blank lines / a header.
    #[error("the request body holds no rows")]
    NoRows,
    /// More rows than [`crate::Limits::max_rows`].
    #[error("too many rows: the limit is {limit} rows per request")]
    TooManyRows {
        /// The configured maximum.
        limit: usize,
    },
    /// A row has the wrong number of values.
    #[error("{at}: expected {expected} values, found {found}")]
    Width {
        /// The row (with its line, for JSON Lines) the value is on.
        at: Location,
        /// The model's number of features.
        expected: usize,
        /// How many values the row holds.
        found: usize,
    },
    /// A text field that does not parse as a number.
    #[error("{at}, {column}: \"{text}\" is not a number")]
    NotANumber {
        /// The row (with its line, for JSON Lines) the value is on.
        at: Location,
        /// The feature name of the column.
        column: String,
        /// The offending text (shortened when long).
        text: String,
    },
    /// A value that is infinite (or overflows to infinity).
    #[error("{at}, {column}: \"{text}\" is not a finite number (infinity is not accepted)")]
    NotFinite {
        /// The row (with its line, for JSON Lines) the value is on.
        at: Location,
        /// The feature name of the column.
        column: String,
        /// The value as written.
        text: String,
    },
    /// A JSON value of the wrong type where a feature value was expected.
    #[error("{at}, {column}: expected a number or null, found {found}")]
    WrongJsonType {
        /// The row (with its line, for JSON Lines) the value is on.
        at: Location,
        /// The feature name of the column.
        column: String,
        /// What was found, e.g. `string "abc"` or `a boolean`.
        found: String,
    },
    /// A JSON record lacks one of the model's features.
    #[error("{at}: missing key \"{key}\"")]
    MissingKey {
        /// The row (with its line, for JSON Lines) the value is on.
        at: Location,
        /// The missing feature name.
        key: String,
    },
    /// A row or body of a shape the codec does not accept.
    #[error("{context}expected {expected}, found {found}")]
    Shape {
        /// A `row 3: ` style prefix, or empty for the whole body.
        context: String,
        /// What was expected.
        expected: String,
        /// What was found.
        found: String,
    },
    /// The CSV header line does not match the model's feature names.
    #[error("header: {problem}")]
    Header {
        /// The precise problem (unknown, missing or duplicated column).
        problem: String,
    },
    /// The body is not valid JSON (serde_json's message, with line and column).
    #[error("{prefix}invalid JSON: {message}")]
    Json {
        /// A `line 3: ` style prefix for JSON Lines, or empty.
        prefix: String,
        /// The parser's message.
        message: String,
    },
    /// The body is not a readable CSV document.
    #[error("invalid CSV: {message}")]
    Csv {
        /// The parser's message.
        message: String,
    },
    /// The body is not an npy array the codec accepts.
    #[error("invalid npy: {message}")]
    Npy {
        /// What is wrong with it.
        message: String,
    },
    /// A response body (decoded by the forwarder) does not have the expected form.
    #[error("invalid response: {message}")]
    Response {
        /// What is wrong with it.
        message: String,
    },
}

impl DecodeError {
    /// How to report this error (maps to 400/415/406/413).
    pub fn kind(&self) -> ErrorKind {
        match self {
            DecodeError::UnsupportedContentType { .. } => ErrorKind::UnsupportedMediaType,
            DecodeError::NotAcceptable { .. } => ErrorKind::NotAcceptable,
            DecodeError::TooManyRows { .. } => ErrorKind::TooLarge,
            _ => ErrorKind::BadInput,
        }
    }
}

/// Shortens user-supplied text quoted in messages so a huge field cannot blow
/// up the error body.
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    const MAX: usize = 40;
    let text = String::from_utf8_lossy(bytes);
    if text.chars().count() <= MAX {
        text.into_owned()
    } else {
        let mut short: String = text.chars().take(MAX).collect();
        short.push('…');
        short
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_statuses() {
        let e = DecodeError::UnsupportedContentType {
            found: "text/plain".into(),
        };
        assert_eq!(e.kind().http_status(), 415);
        let e = DecodeError::NotAcceptable {
            found: "image/png".into(),
        };
        assert_eq!(e.kind().http_status(), 406);
        assert_eq!(
            DecodeError::TooManyRows { limit: 3 }.kind().http_status(),
            413
        );
        assert_eq!(DecodeError::NoRows.kind().http_status(), 400);
    }

    #[test]
    fn excerpt_truncates_long_text() {
        assert_eq!(excerpt(b"abc"), "abc");
        let long = "x".repeat(100);
        assert_eq!(excerpt(long.as_bytes()), format!("{}…", "x".repeat(40)));
    }

    #[test]
    fn location_display() {
        assert_eq!(Location::Row(17).to_string(), "row 17");
        assert_eq!(Location::Record(2).to_string(), "record 2");
        assert_eq!(Location::Line(5).to_string(), "line 5");
    }
}
