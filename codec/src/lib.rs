//! Wire formats shared by the SageMaker server and the Kinesis forwarder.
//!
//! * [`InputFormat::from_content_type`], [`OutputFormat::negotiate`] and
//!   [`Shape::from_custom_attributes`] read the request headers.
//! * [`decode`] turns a request body into [`Rows`] in the model's column
//!   order (given the model's feature names), with precise [`DecodeError`]s.
//! * [`encode`] turns [`Prediction`]s into a response body.
//! * [`decode_record`] and [`decode_response`] serve stream clients.
//!
//! The accepted shapes and the exact rules are in `docs/formats.md`.

mod csv;
mod encode;
mod error;
mod json;
mod limits;
mod media;
mod npy;
mod num;
mod record;
mod response;
mod rows;
mod shape;

pub use crate::csv::decode_csv;
pub use encode::{Prediction, encode, encode_into};
pub use error::{DecodeError, ErrorKind, Location};
pub use json::{decode_json, decode_jsonlines};
pub use limits::Limits;
pub use media::{InputFormat, OutputFormat, SUPPORTED_ACCEPT_TYPES, SUPPORTED_CONTENT_TYPES};
pub use npy::decode_npy;
pub use record::{decode_record, sniff_record};
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
