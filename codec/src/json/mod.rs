//! `application/json` and `application/jsonlines` request bodies.
//!
//! Decoding is typed and streaming: serde visitors write values straight into
//! the row matrix, so no `serde_json::Value` is built per value. Values are
//! JSON numbers or `null` (a missing value, NaN); strings, booleans and
//! nested containers are rejected with the row and feature named. The plain
//! shapes most clients send are first tried by a faster single-pass reader
//! (`fast`), which hands anything unusual, and every error, to this path.
//!
//! Row shapes (a JSON body's elements, or one JSON Lines line):
//! * an array of numbers, in model column order;
//! * a record: an object keyed by feature name (extra keys ignored);
//! * `{"features": [...]}`;
//! * `{"data": {"features": {"values": [...]}}}`, or its sparse form with
//!   `keys` and `shape` (absent keys are 0).
//!
//! Body shapes: an array of rows, a single flat array of numbers (one row),
//! a single row object, or `{"instances": [rows...]}`; or several such
//! documents one after another.

mod body;
mod ctx;
mod fast;
mod row;
mod sparse;
mod value;

use serde::de::DeserializeSeed;

use crate::error::DecodeError;
use crate::limits::Limits;
use crate::rows::{Rows, RowsBuilder};

use body::{BodySeed, LineSeed};
use ctx::{Ctx, json_error};

/// Decodes an `application/json` body into rows in the model's column order.
///
/// Several JSON documents one after another (what batch transform's
/// `SplitType=Line` sends for a multi-record mini-batch of a JSON file) are
/// decoded in order and their rows concatenated; row numbers run on across
/// documents.
pub fn decode_json(
    body: &[u8],
    feature_names: &[String],
    limits: &Limits,
) -> Result<Rows, DecodeError> {
    let body = strip_bom(body);
    if body.trim_ascii().is_empty() {
        return Err(DecodeError::NoRows);
    }
    match fast::decode(body, feature_names, limits) {
        Some(out) => out.finish(),
        None => decode_json_serde(body, feature_names, limits),
    }
}

/// The general JSON path, which also gives every error.
fn decode_json_serde(
    body: &[u8],
    feature_names: &[String],
    limits: &Limits,
) -> Result<Rows, DecodeError> {
    let mut out = RowsBuilder::new(feature_names.len(), *limits);
    out.reserve_for_body(body.len());
    let mut ctx = Ctx::new(feature_names, out, None);
    let mut de = serde_json::Deserializer::from_slice(body);
    loop {
        if let Err(err) = (BodySeed { ctx: &mut ctx }).deserialize(&mut de) {
            return Err(ctx.take_error(err));
        }
        // `end` only skips whitespace and peeks, so on more data the next
        // document starts where it stopped.
        if de.end().is_ok() {
            break;
        }
    }
    ctx.into_builder().finish()
}

/// Decodes an `application/jsonlines` body: one row per non-blank line.
/// Errors name the physical line (1-based, blank lines counted).
pub fn decode_jsonlines(
    body: &[u8],
    feature_names: &[String],
    limits: &Limits,
) -> Result<Rows, DecodeError> {
    let body = strip_bom(body);
    match fast::decode_lines(body, feature_names, limits) {
        Some(out) => out.finish(),
        None => decode_jsonlines_serde(body, feature_names, limits),
    }
}

/// The general JSON Lines path, which also gives every error.
fn decode_jsonlines_serde(
    body: &[u8],
    feature_names: &[String],
    limits: &Limits,
) -> Result<Rows, DecodeError> {
    let mut out = RowsBuilder::new(feature_names.len(), *limits);
    out.reserve_for_body(body.len());
    let mut ctx = Ctx::new(feature_names, out, None);
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        if line.trim_ascii().is_empty() {
            continue;
        }
        ctx.line = Some(i + 1);
        let mut de = serde_json::Deserializer::from_slice(line);
        if let Err(err) = (LineSeed { ctx: &mut ctx }).deserialize(&mut de) {
            return Err(ctx.take_error(err));
        }
        de.end().map_err(|err| json_error(&err, ctx.line))?;
    }
    ctx.into_builder().finish()
}

/// Both decoding paths on one body, for the differential fuzz target (`fuzz/fuzz_targets/json.rs`)
/// and tests; not part of the API. Gives the fast reader's result (`None` when it hands the body to
/// the serde path) and the serde path's, each on the body as [`decode_json`] (or, with `lines`,
/// [`decode_jsonlines`]) sees it. Where the fast reader accepts, its rows must equal the serde
/// path's.
#[doc(hidden)]
pub fn decode_json_both_paths(
    body: &[u8],
    feature_names: &[String],
    limits: &Limits,
    lines: bool,
) -> (Option<Result<Rows, DecodeError>>, Result<Rows, DecodeError>) {
    let body = strip_bom(body);
    if lines {
        let fast = fast::decode_lines(body, feature_names, limits).map(RowsBuilder::finish);
        (fast, decode_jsonlines_serde(body, feature_names, limits))
    } else if body.trim_ascii().is_empty() {
        (None, Err(DecodeError::NoRows))
    } else {
        let fast = fast::decode(body, feature_names, limits).map(RowsBuilder::finish);
        (fast, decode_json_serde(body, feature_names, limits))
    }
}

fn strip_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}

#[cfg(test)]
mod tests;
