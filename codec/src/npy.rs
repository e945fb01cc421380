//! `application/x-npy` request bodies: a NumPy `.npy` array, 1-D (one row)
//! or 2-D (rows × features), float32 or float64 (or an integer type, as NumPy
//! stores a Python list of ints), either byte order, C or Fortran order. NaN
//! is a missing value; infinity is rejected.

use npyz::{DType, NpyFile, Order, TypeChar};

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
    let npy = NpyFile::new(body).map_err(|e| npy_error(format!("cannot read the header ({e})")))?;
    let (kind, item_size) = match npy.dtype() {
        DType::Plain(ts) if is_numeric(ts.type_char(), ts.size_field()) => {
            (ts.type_char(), ts.size_field())
        }
        other => {
            return Err(npy_error(format!(
                "unsupported dtype {}; expected float32 or float64 ('<f4', '>f4', '<f8', '>f8') \
                 or an integer type",
                other.descr()
            )));
        }
    };
    let width = feature_names.len();
    let shape = npy.shape().to_vec();
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
    let needed = n_rows.saturating_mul(n_cols).saturating_mul(item_size);
    if needed > body.len() as u64 {
        return Err(npy_error(format!(
            "the header announces {needed} bytes of data but the body is shorter"
        )));
    }
    let order = npy.order();
    let stored = read_values(npy, kind, item_size)
        .map_err(|e| npy_error(format!("cannot read the data ({e})")))?;
    let (n_rows, n_cols) = (n_rows as usize, n_cols as usize);
    let values = match order {
        Order::C => stored,
        // Fortran order stores column after column.
        Order::Fortran => (0..n_rows * n_cols)
            .map(|i| stored[(i % n_cols) * n_rows + i / n_cols])
            .collect(),
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

/// Floats are read as they are; integers (what NumPy makes of a Python list
/// of ints) are converted to `f64`.
fn is_numeric(kind: TypeChar, size: u64) -> bool {
    match kind {
        TypeChar::Float => matches!(size, 4 | 8),
        TypeChar::Int | TypeChar::Uint => matches!(size, 1 | 2 | 4 | 8),
        _ => false,
    }
}

fn read_values(npy: NpyFile<&[u8]>, kind: TypeChar, size: u64) -> std::io::Result<Vec<f64>> {
    fn conv<T: npyz::Deserialize>(
        npy: NpyFile<&[u8]>,
        f: fn(T) -> f64,
    ) -> std::io::Result<Vec<f64>> {
        Ok(npy.into_vec::<T>()?.into_iter().map(f).collect())
    }
    match (kind, size) {
        (TypeChar::Float, 8) => npy.into_vec::<f64>(),
        (TypeChar::Float, _) => conv(npy, f64::from as fn(f32) -> f64),
        (TypeChar::Int, 1) => conv(npy, f64::from as fn(i8) -> f64),
        (TypeChar::Int, 2) => conv(npy, f64::from as fn(i16) -> f64),
        (TypeChar::Int, 4) => conv(npy, f64::from as fn(i32) -> f64),
        // Beyond 2^53 an i64 rounds to the nearest f64, as NumPy's astype does.
        (TypeChar::Int, _) => conv(npy, (|v| v as f64) as fn(i64) -> f64),
        (TypeChar::Uint, 1) => conv(npy, f64::from as fn(u8) -> f64),
        (TypeChar::Uint, 2) => conv(npy, f64::from as fn(u16) -> f64),
        (TypeChar::Uint, 4) => conv(npy, f64::from as fn(u32) -> f64),
        (_, _) => conv(npy, (|v| v as f64) as fn(u64) -> f64),
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
#[path = "npy_tests.rs"]
mod tests;
