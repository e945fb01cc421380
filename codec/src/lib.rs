//! Wire formats shared by the SageMaker server and the Kinesis forwarder.
//!
//! * [`InputFormat::from_content_type`], [`OutputFormat::negotiate`] and
//!   [`CustomAttributes::parse`] read the request headers.
//! * [`decode`] turns a request body into [`Rows`] in the model's column
//!   order (given the model's feature names), with precise [`DecodeError`]s.
//! * [`encode`] turns [`Prediction`]s into a response body.
//! * [`table`] reads training tables (CSV with a header) for the trainer and the training job.
//! * [`decode_record`] and [`decode_response`] serve stream clients; [`kpl`] reads and writes
//!   records aggregated by the Kinesis Producer Library.
//!
//! The accepted shapes and the exact rules are in `docs/formats.md`.
//!
//! A request, end to end:
//!
//! ```
//! use codec::{CustomAttributes, InputFormat, Limits, OutputFormat, Prediction};
//!
//! let features = vec!["feature_1".to_string(), "feature_2".to_string()];
//! let input = InputFormat::from_content_type(Some("text/csv; charset=utf-8"))?;
//! let output = OutputFormat::negotiate(Some("application/json"), OutputFormat::Json)?;
//! let attributes = CustomAttributes::parse(Some("format=rcf"))?;
//! let shape = attributes.format.unwrap_or_default();
//!
//! let rows = codec::decode(input, b"feature_2,feature_1\n2,1\n4,\n", &features, &Limits::default())?;
//! assert_eq!((rows.n_rows, rows.n_cols), (2, 2));
//! assert_eq!(rows.row(0), &[1.0, 2.0]); // reordered into the model's columns
//! assert!(rows.row(1)[0].is_nan()); // an empty field is a missing value
//!
//! let predictions = [Prediction { score: 0.71, anomaly: true }, Prediction { score: 0.4, anomaly: false }];
//! let body = codec::encode(&predictions, output, shape);
//! assert_eq!(body, br#"{"scores":[{"score":0.71},{"score":0.4}]}"#);
//!
//! let err = codec::decode(input, b"1,2\n3\n", &features, &Limits::default()).unwrap_err();
//! assert_eq!(err.to_string(), "row 2: expected 2 values, found 1");
//! assert_eq!(err.kind().http_status(), 400);
//! # Ok::<(), codec::DecodeError>(())
//! ```

mod attributes;
mod csv;
mod encode;
pub mod entity;
mod error;
pub mod explain;
mod json;
pub mod kpl;
mod limits;
mod media;
mod npy;
mod num;
mod record;
mod response;
mod rows;
mod shape;
mod supported;
pub mod table;
#[cfg(test)]
mod test_support;

pub use crate::csv::decode_csv;
pub use attributes::{CustomAttributes, check_context};
pub use encode::{Prediction, encode, encode_into};
pub use error::{DecodeError, ErrorKind, Location};
pub use explain::{
    Attribution, Direction, Explain, NamedAttribution, csv_field, decode_explanations,
    encode_explained,
};
#[doc(hidden)]
pub use json::decode_json_both_paths;
pub use json::{decode_json, decode_jsonlines};
pub use limits::Limits;
pub use media::{InputFormat, OutputFormat, SUPPORTED_ACCEPT_TYPES, SUPPORTED_CONTENT_TYPES};
pub use npy::decode_npy;
pub use record::{decode_record, decode_record_with, record_field, sniff_record};
pub use response::{Answer, decode_answers, decode_response};
pub use rows::Rows;
pub use shape::Shape;

/// Decodes a request body of the given format into rows in the model's
/// column order; `feature_names` are the model's, in order.
pub fn decode(
    format: InputFormat,
    body: &[u8],
    feature_names: &[String],
    limits: &Limits,
) -> Result<Rows, DecodeError> {
    match format {
        InputFormat::Csv => decode_csv(body, feature_names, limits),
        InputFormat::Json => decode_json(body, feature_names, limits),
        InputFormat::JsonLines => decode_jsonlines(body, feature_names, limits),
        InputFormat::Npy => decode_npy(body, feature_names, limits),
    }
}
