//! `application/x-npy` request bodies: a NumPy `.npy` array, 1-D (one row)
//! or 2-D (rows × features), float32 or float64, either byte order, C or
//! Fortran order. NaN is a missing value; infinity is rejected.

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
    let item_size = match npy.dtype() {
        DType::Plain(ts)
            if ts.type_char() == TypeChar::Float && matches!(ts.size_field(), 4 | 8) =>
        {
            ts.size_field()
        }
        other => {
            return Err(npy_error(format!(
                "unsupported dtype {}; expected float32 or float64 ('<f4', '>f4', '<f8' or '>f8')",
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
    let read_error = |e: std::io::Error| npy_error(format!("cannot read the data ({e})"));
    let stored: Vec<f64> = if item_size == 8 {
        npy.into_vec::<f64>().map_err(read_error)?
    } else {
        npy.into_vec::<f32>()
            .map_err(read_error)?
            .into_iter()
            .map(f64::from)
            .collect()
    };
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
