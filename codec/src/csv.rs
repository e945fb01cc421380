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
    // Most bodies have no quotes and only LF or CRLF line ends: split them
    // directly, several times faster than the general reader (which also
    // understands quotes and a lone `\r` as a line end).
    let lone_cr = memchr::memchr_iter(b'\r', body).any(|i| body.get(i + 1) != Some(&b'\n'));
    if !lone_cr && memchr::memchr(b'"', body).is_none() {
        return decode_unquoted(body, feature_names, limits);
    }
    decode_general(body, feature_names, limits)
}

/// Reads `\n`- or `\r\n`-terminated lines split on `,`.
fn decode_unquoted(
    body: &[u8],
    feature_names: &[String],
    limits: &Limits,
) -> Result<Rows, DecodeError> {
    let mut reader = Reader::new(feature_names, limits, body.len());
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', body).chain(std::iter::once(body.len()));
    for end in ends {
        let line = &body[start..end];
        start = end + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if reader.plain_row(line)? {
            continue;
        }
        let count = memchr::memchr_iter(b',', line).count() + 1;
        reader.line(line.split(|&b| b == b','), count)?;
    }
    reader.finish()
}

/// RFC 4180 with quoted fields, through the csv crate.
fn decode_general(
    body: &[u8],
    feature_names: &[String],
    limits: &Limits,
) -> Result<Rows, DecodeError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let mut reader = Reader::new(feature_names, limits, body.len());
    let mut record = csv::ByteRecord::new();
    while csv.read_byte_record(&mut record).map_err(csv_error)? {
        reader.line(record.iter(), record.len())?;
    }
    reader.finish()
}

fn csv_error(err: csv::Error) -> DecodeError {
    DecodeError::Csv {
        message: err.to_string(),
    }
}

/// The state shared by both paths: header detection, row numbering, values.
struct Reader<'n> {
    names: &'n [String],
    out: RowsBuilder,
    /// `order[j]` is the model column of CSV field `j`; `None` means identity.
    order: Option<Vec<usize>>,
    first: bool,
}

impl<'n> Reader<'n> {
    fn new(names: &'n [String], limits: &Limits, body_len: usize) -> Reader<'n> {
        let mut out = RowsBuilder::new(names.len(), *limits);
        out.reserve_for_body(body_len);
        Reader {
            names,
            out,
            order: None,
            first: true,
        }
    }

    /// Takes one line's `count` fields.
    fn line<'f, I>(&mut self, fields: I, count: usize) -> Result<(), DecodeError>
    where
        I: Iterator<Item = &'f [u8]> + Clone,
    {
        // A line with no content, or only whitespace, carries no row.
        if count == 1 && fields.clone().all(|f| f.trim_ascii().is_empty()) {
            return Ok(());
        }
        if std::mem::take(&mut self.first) && is_header(fields.clone(), self.names) {
            self.order = Some(header_order(fields, self.names)?);
            return Ok(());
        }
        let n = self.out.start_row()?;
        let at = Location::Row(n);
        if count != self.names.len() {
            return Err(DecodeError::Width {
                at,
                expected: self.names.len(),
                found: count,
            });
        }
        let names = self.names;
        let order = self.order.as_deref();
        let row = self.out.push_nan_row();
        for (j, field) in fields.enumerate() {
            let col = order.map_or(j, |o| o[j]);
            row[col] = parse_field(field).map_err(|e| field_error(e, at, &names[col], field))?;
        }
        Ok(())
    }

    /// Takes a line that is nothing but `width` finite numbers split by commas, in model order,
    /// with a single pass over its bytes: most lines of most bodies. Any other line is left
    /// untouched for [`Reader::line`], which reads it the general way (`Ok(false)`).
    fn plain_row(&mut self, line: &[u8]) -> Result<bool, DecodeError> {
        if self.first || self.order.is_some() {
            return Ok(false);
        }
        let start = self.out.values.len();
        if plain_numbers(line, self.names.len(), &mut self.out.values) {
            self.out.start_row()?;
            Ok(true)
        } else {
            self.out.values.truncate(start);
            Ok(false)
        }
    }

    fn finish(self) -> Result<Rows, DecodeError> {
        self.out.finish()
    }
}

/// Appends the `width` numbers of `line` to `out` when it is exactly `width` finite numbers
/// separated by single commas, with no spaces, empty fields or NaN; `false` otherwise (and `out`
/// may then hold some of them). A field taken here is wholly consumed by the number, so its
/// value is [`parse_field`]'s.
fn plain_numbers(line: &[u8], width: usize, out: &mut Vec<f64>) -> bool {
    let mut rest = line;
    for j in 0..width {
        let Ok((v, n)) = fast_float2::parse_partial::<f64, _>(rest) else {
            return false;
        };
        if !v.is_finite() {
            return false;
        }
        out.push(v);
        rest = &rest[n..];
        if j + 1 < width {
            match rest.split_first() {
                Some((b',', tail)) => rest = tail,
                _ => return false,
            }
        }
    }
    rest.is_empty()
}

fn is_header<'f>(
    mut fields: impl Iterator<Item = &'f [u8]> + Clone,
    feature_names: &[String],
) -> bool {
    let is_name = |field: &[u8]| {
        feature_names
            .iter()
            .any(|n| n.as_bytes() == field.trim_ascii())
    };
    fields.clone().any(|f| !is_value(f)) && fields.all(|f| !is_value(f) || is_name(f))
}

/// Maps each header field to its model column, or explains the mismatch.
fn header_order<'f>(
    fields: impl Iterator<Item = &'f [u8]>,
    feature_names: &[String],
) -> Result<Vec<usize>, DecodeError> {
    let mut order = Vec::with_capacity(feature_names.len());
    for field in fields {
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
mod tests;
