//! `application/x-npy` request bodies: a NumPy `.npy` array, 1-D (one row)
//! or 2-D (rows × features), float32 or float64 (or an integer type, as NumPy
//! stores a Python list of ints), either byte order, C or Fortran order. NaN
//! is a missing value; infinity is rejected.
//!
//! The header is read by [`header::read_header`], a strict single-pass reader of the npy header
//! format with a size cap; the data is read straight from the body. Both are linear in the body.

mod header;

use crate::error::{DecodeError, Location};
use crate::limits::Limits;
use crate::rows::Rows;

/// Decodes an npy body into rows in the model's column order.
pub fn decode_npy(
    body: &[u8],
    feature_names: &[String],
    limits: &Limits,
) -> Result<Rows, DecodeError> {
    if body.is_empty() {
        return Err(DecodeError::NoRows);
    }
    let header =
        header::read_header(body).map_err(|e| npy_error(format!("cannot read the header: {e}")))?;
    let dtype = Dtype::parse(&header.descr).ok_or_else(|| {
        npy_error(format!(
            "unsupported dtype {}; expected float32 or float64 ('<f4', '>f4', '<f8', '>f8') \
             or an integer type",
            header::quoted(&header.descr)
        ))
    })?;
    let width = feature_names.len();
    let shape = header.shape;
    let (n_rows, n_cols) = match shape.as_slice() {
        [n] => (u64::from(*n > 0), *n),
        [r, c] => (*r, *c),
        _ => {
            return Err(npy_error(format!(
                "expected a 1-D or 2-D array, found shape {}",
                show(&shape)
            )));
        }
    };
    if n_cols != width as u64 {
        let expected = if shape.len() == 1 {
            format!("({width},)")
        } else {
            format!("(n, {width})")
        };
        return Err(npy_error(format!(
            "expected shape {expected}, found {}",
            show(&shape)
        )));
    }
    if n_rows == 0 {
        return Err(DecodeError::NoRows);
    }
    if n_rows > limits.max_rows as u64 {
        return Err(DecodeError::TooManyRows {
            limit: limits.max_rows,
        });
    }
    // The header's shape must be backed by data before anything is allocated.
    let data = &body[header.data_offset..];
    let needed = n_rows
        .saturating_mul(n_cols)
        .saturating_mul(dtype.size as u64);
    if needed > data.len() as u64 {
        return Err(npy_error(format!(
            "the header announces {needed} bytes of data but the body is shorter"
        )));
    }
    let (n_rows, n_cols) = (n_rows as usize, n_cols as usize);
    let stored: Vec<f64> = data[..needed as usize]
        .chunks_exact(dtype.size)
        .map(|item| dtype.read(item))
        .collect();
    let values = if header.fortran_order {
        // Fortran order stores column after column.
        (0..n_rows * n_cols)
            .map(|i| stored[(i % n_cols) * n_rows + i / n_cols])
            .collect()
    } else {
        stored
    };
    if let Some(i) = values.iter().position(|v| v.is_infinite()) {
        return Err(DecodeError::NotFinite {
            at: Location::Row(i / n_cols + 1),
            column: feature_names[i % n_cols].clone(),
            text: values[i].to_string(),
        });
    }
    Ok(Rows {
        values,
        n_rows,
        n_cols,
    })
}

/// The numeric dtypes accepted: floats are read as they are; integers (what NumPy makes of a
/// Python list of ints) are converted to `f64`, beyond 2^53 to the nearest, as NumPy's `astype`.
#[derive(Debug, Clone, Copy)]
struct Dtype {
    kind: Kind,
    size: usize,
    big_endian: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Float,
    Int,
    Uint,
}

impl Dtype {
    /// `<f8`, `>i4`, `|u1`, `=f4` (native order, little-endian on every target we build).
    fn parse(descr: &str) -> Option<Dtype> {
        let bytes = descr.as_bytes();
        let [order, kind, size @ ..] = bytes else {
            return None;
        };
        let size: usize = std::str::from_utf8(size).ok()?.parse().ok()?;
        let kind = match (kind, size) {
            (b'f', 4 | 8) => Kind::Float,
            (b'i', 1 | 2 | 4 | 8) => Kind::Int,
            (b'u', 1 | 2 | 4 | 8) => Kind::Uint,
            _ => return None,
        };
        let big_endian = match order {
            b'<' => false,
            b'>' => true,
            b'=' => cfg!(target_endian = "big"),
            // "Not applicable": NumPy writes it for one-byte types only.
            b'|' if size == 1 => false,
            _ => return None,
        };
        Some(Dtype {
            kind,
            size,
            big_endian,
        })
    }

    /// One item of `self.size` bytes as `f64`.
    fn read(self, item: &[u8]) -> f64 {
        let mut le = [0u8; 8];
        le[..self.size].copy_from_slice(item);
        if self.big_endian {
            le[..self.size].reverse();
        }
        let bits = u64::from_le_bytes(le);
        match (self.kind, self.size) {
            (Kind::Float, 4) => f64::from(f32::from_bits(bits as u32)),
            (Kind::Float, _) => f64::from_bits(bits),
            (Kind::Int, 1) => f64::from(bits as u8 as i8),
            (Kind::Int, 2) => f64::from(bits as u16 as i16),
            (Kind::Int, 4) => f64::from(bits as u32 as i32),
            (Kind::Int, _) => bits as i64 as f64,
            (Kind::Uint, _) => bits as f64,
        }
    }
}

fn npy_error(message: String) -> DecodeError {
    DecodeError::Npy { message }
}

/// Shows a shape the way NumPy prints it: `(3,)`, `(2, 5)`.
fn show(shape: &[u64]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests;
