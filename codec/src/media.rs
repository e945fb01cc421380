//! Media types: `Content-Type` to an [`InputFormat`], `Accept` negotiation to
//! an [`OutputFormat`].
//!
//! Matching is on the media type only (case-insensitive); parameters such as
//! `charset=utf-8`, `label_size=0` or `header=present` are accepted and
//! ignored, except `q` in `Accept`.

use std::fmt;
use std::str::FromStr;

use mime::Mime;

use crate::error::DecodeError;
pub use crate::supported::{SUPPORTED_ACCEPT_TYPES, SUPPORTED_CONTENT_TYPES};

/// A request body format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputFormat {
    /// `text/csv`: one row per line, optional header of feature names.
    Csv,
    /// `application/json`: arrays, records, or SageMaker's `{"instances": ...}`.
    Json,
    /// `application/jsonlines` (also `application/jsonl`, `application/x-jsonlines`).
    JsonLines,
    /// `application/x-npy`: a 1-D or 2-D float32/float64 NumPy array.
    Npy,
}

impl InputFormat {
    /// The format assumed when a request has no Content-Type: SageMaker's
    /// inference toolkits default to `application/json`.
    pub const DEFAULT: InputFormat = InputFormat::Json;

    /// Parses a `Content-Type` header value. `None` (header absent) or an
    /// empty value gives [`InputFormat::DEFAULT`]; an unsupported or
    /// unparsable type is [`DecodeError::UnsupportedContentType`] (HTTP 415).
    pub fn from_content_type(value: Option<&str>) -> Result<InputFormat, DecodeError> {
        let value = match value {
            Some(v) if !v.trim().is_empty() => v,
            _ => return Ok(InputFormat::DEFAULT),
        };
        let unsupported = || DecodeError::UnsupportedContentType {
            found: value.to_owned(),
        };
        let mime: Mime = value.trim().parse().map_err(|_| unsupported())?;
        match (
            mime.type_().as_str(),
            mime.subtype().as_str(),
            mime.suffix(),
        ) {
            ("text", "csv", _) => Ok(InputFormat::Csv),
            ("application", "json", _) | ("application", _, Some(mime::JSON)) => {
                Ok(InputFormat::Json)
            }
            ("application", "jsonlines" | "jsonl" | "x-jsonlines" | "x-ndjson" | "ndjson", _) => {
                Ok(InputFormat::JsonLines)
            }
            ("application", "x-npy", _) => Ok(InputFormat::Npy),
            _ => Err(unsupported()),
        }
    }

    /// The canonical media type.
    pub fn media_type(self) -> &'static str {
        match self {
            InputFormat::Csv => "text/csv",
            InputFormat::Json => "application/json",
            InputFormat::JsonLines => "application/jsonlines",
            InputFormat::Npy => "application/x-npy",
        }
    }
}

/// A response body format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    /// `application/json`: one JSON document.
    Json,
    /// `application/jsonlines`: one JSON value per input row, each line ending in `\n`.
    JsonLines,
    /// `text/csv`: one line per input row, each ending in `\n`.
    Csv,
}

impl OutputFormat {
    /// The `Content-Type` to send with a body in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            OutputFormat::Json => "application/json",
            OutputFormat::JsonLines => "application/jsonlines",
            OutputFormat::Csv => "text/csv",
        }
    }

    /// Maps one concrete media type (no wildcards) to an output format.
    fn from_mime(mime: &Mime) -> Option<OutputFormat> {
        match (
            mime.type_().as_str(),
            mime.subtype().as_str(),
            mime.suffix(),
        ) {
            ("application", "json", _) | ("application", _, Some(mime::JSON)) => {
                Some(OutputFormat::Json)
            }
            ("application", "jsonlines" | "jsonl" | "x-jsonlines" | "x-ndjson" | "ndjson", _) => {
                Some(OutputFormat::JsonLines)
            }
            ("text", "csv", _) => Some(OutputFormat::Csv),
            _ => None,
        }
    }

    /// Picks the output format for an `Accept` header value.
    ///
    /// Absent, empty and `*/*` give `default` (the server passes
    /// `SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`). Otherwise the supported type
    /// with the highest `q` wins; on equal `q` a type named explicitly beats a
    /// wildcard match, then the earlier entry in the header wins, and among
    /// types matched only by the same wildcard `default` is preferred. `q=0`
    /// excludes a type. Nothing acceptable is [`DecodeError::NotAcceptable`].
    pub fn negotiate(
        accept: Option<&str>,
        default: OutputFormat,
    ) -> Result<OutputFormat, DecodeError> {
        let header = match accept.map(str::trim) {
            None | Some("") => return Ok(default),
            Some(h) => h,
        };
        // (q, specificity, position) of the most specific range matching each candidate.
        let candidates = [
            default,
            OutputFormat::Json,
            OutputFormat::JsonLines,
            OutputFormat::Csv,
        ];
        let mut best: Option<(OutputFormat, (u16, u8, usize))> = None;
        for format in candidates {
            let Some(rank) = rank_in_header(header, format) else {
                continue;
            };
            if rank.0 == 0 {
                continue;
            }
            let better = match best {
                None => true,
                Some((_, b)) => {
                    rank.0 > b.0
                        || (rank.0 == b.0 && (rank.1 > b.1 || (rank.1 == b.1 && rank.2 < b.2)))
                }
            };
            if better {
                best = Some((format, rank));
            }
        }
        best.map(|(f, _)| f)
            .ok_or_else(|| DecodeError::NotAcceptable {
                found: header.to_owned(),
            })
    }
}

/// The `(q × 1000, specificity, position)` with which `header` admits
/// `format`, taken from the most specific matching range; `None` if no range
/// matches.
fn rank_in_header(header: &str, format: OutputFormat) -> Option<(u16, u8, usize)> {
    let mut found: Option<(u16, u8, usize)> = None;
    for (position, entry) in header.split(',').enumerate() {
        let Ok(range) = entry.trim().parse::<Mime>() else {
            continue;
        };
        let specificity = if range.type_() == mime::STAR {
            0
        } else if range.subtype() == mime::STAR {
            if range.type_() != format_type(format) {
                continue;
            }
            1
        } else if OutputFormat::from_mime(&range) == Some(format) {
            2
        } else {
            continue;
        };
        let q = range.get_param("q").map_or(1000, |v| parse_q(v.as_str()));
        if found.is_none_or(|f| specificity > f.1) {
            found = Some((q, specificity, position));
        }
    }
    found
}

fn format_type(format: OutputFormat) -> mime::Name<'static> {
    match format {
        OutputFormat::Csv => mime::TEXT,
        OutputFormat::Json | OutputFormat::JsonLines => mime::APPLICATION,
    }
}

/// Parses an HTTP quality value into thousandths; malformed values count as 0
/// so a garbled range never wins.
fn parse_q(value: &str) -> u16 {
    match value.trim().parse::<f64>() {
        Ok(q) if (0.0..=1.0).contains(&q) => (q * 1000.0).round() as u16,
        _ => 0,
    }
}

impl FromStr for OutputFormat {
    type Err = DecodeError;

    /// Parses a single concrete media type, e.g. the value of
    /// `SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim()
            .parse::<Mime>()
            .ok()
            .and_then(|m| OutputFormat::from_mime(&m))
            .ok_or_else(|| DecodeError::NotAcceptable {
                found: s.to_owned(),
            })
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.content_type())
    }
}

impl fmt::Display for InputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.media_type())
    }
}

#[cfg(test)]
mod tests;
