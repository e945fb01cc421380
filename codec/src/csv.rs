//! `text/csv` request bodies.
//!
//! One row per line (LF or CRLF, final newline optional), fields separated by
//! `,` and optionally quoted (RFC 4180). Blank lines are skipped anywhere.
//! The first non-blank line is a header when it holds at least one field that
//! is not a value and every field is either not a value or one of the
//! model's feature names; a header must name every feature exactly once and
//! may list them in any order. Rows are numbered from 1 counting data rows
//! only (neither the header nor blank lines count).

use crate::error::{DecodeError, Location, excerpt};
use crate::limits::Limits;
use crate::num::{FieldError, is_value, parse_field};
use crate::rows::{Rows, RowsBuilder};

/// Decodes a CSV body into rows in the model's column order.
pub fn decode_csv(
    body: &[u8],
    feature_names: &[String],
    limits: &Limits,
) -> Result<Rows, DecodeError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let mut out = RowsBuilder::new(feature_names.len(), *limits);
    out.reserve_for_body(body.len());
    let mut record = csv::ByteRecord::new();
    // `order[j]` is the model column of CSV field `j`; `None` means identity.
    let mut order: Option<Vec<usize>> = None;
    let mut first = true;
    while reader.read_byte_record(&mut record).map_err(csv_error)? {
        if is_blank(&record) {
            continue;
        }
        if std::mem::take(&mut first) && is_header(&record, feature_names) {
            order = Some(header_order(&record, feature_names)?);
            continue;
        }
        let n = out.start_row()?;
        push_record(&mut out, &record, n, feature_names, order.as_deref())?;
    }
    out.finish()
}

fn csv_error(err: csv::Error) -> DecodeError {
    DecodeError::Csv {
        message: err.to_string(),
    }
}

/// A line with no content, or only whitespace, carries no row.
fn is_blank(record: &csv::ByteRecord) -> bool {
    record.len() == 1 && record[0].trim_ascii().is_empty()
}

fn is_header(record: &csv::ByteRecord, feature_names: &[String]) -> bool {
    let is_name = |field: &[u8]| {
        feature_names
            .iter()
            .any(|n| n.as_bytes() == field.trim_ascii())
    };
    record.iter().any(|f| !is_value(f)) && record.iter().all(|f| !is_value(f) || is_name(f))
}

/// Maps each header field to its model column, or explains the mismatch.
fn header_order(
    record: &csv::ByteRecord,
    feature_names: &[String],
) -> Result<Vec<usize>, DecodeError> {
    let mut order = Vec::with_capacity(record.len());
    for field in record {
        let name = field.trim_ascii();
        let Some(col) = feature_names.iter().position(|n| n.as_bytes() == name) else {
            return Err(DecodeError::Header {
                problem: format!(
                    "unknown column \"{}\"; the model's features are: {}",
                    excerpt(name),
                    feature_names.join(", ")
                ),
            });
        };
        if order.contains(&col) {
            return Err(DecodeError::Header {
                problem: format!("column \"{}\" appears more than once", excerpt(name)),
            });
        }
        order.push(col);
    }
    if let Some(missing) = (0..feature_names.len()).find(|c| !order.contains(c)) {
        return Err(DecodeError::Header {
            problem: format!("missing column \"{}\"", feature_names[missing]),
        });
    }
    Ok(order)
}

fn push_record(
    out: &mut RowsBuilder,
    record: &csv::ByteRecord,
    n: usize,
    feature_names: &[String],
    order: Option<&[usize]>,
) -> Result<(), DecodeError> {
    let at = Location::Row(n);
    if record.len() != feature_names.len() {
        return Err(DecodeError::Width {
            at,
            expected: feature_names.len(),
            found: record.len(),
        });
    }
    let row = out.push_nan_row();
    for (j, field) in record.iter().enumerate() {
        let col = order.map_or(j, |o| o[j]);
        row[col] =
            parse_field(field).map_err(|e| field_error(e, at, &feature_names[col], field))?;
    }
    Ok(())
}

pub(crate) fn field_error(
    err: FieldError,
    at: Location,
    column: &str,
    field: &[u8],
) -> DecodeError {
    let text = excerpt(field.trim_ascii());
    let column = column.to_owned();
    match err {
        FieldError::NotANumber => DecodeError::NotANumber { at, column, text },
        FieldError::NotFinite => DecodeError::NotFinite { at, column, text },
    }
}

#[cfg(test)]
#[path = "csv_tests.rs"]
mod tests;
