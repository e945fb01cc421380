//! The decoded row matrix and the builder every decoder fills.

use crate::error::DecodeError;
use crate::limits::Limits;

/// A dense row-major matrix of feature values in the model's column order.
/// Missing values are NaN.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rows {
    /// `n_rows × n_cols` values, row after row.
    pub values: Vec<f64>,
    /// Number of rows (at least 1 for a successfully decoded body).
    pub n_rows: usize,
    /// Number of columns: the model's number of features.
    pub n_cols: usize,
}

impl Rows {
    /// Row `i` as a slice. Panics if `i >= n_rows`, like slice indexing.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.n_cols..(i + 1) * self.n_cols]
    }

    /// Iterates over the rows as slices.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[f64]> + '_ {
        // `max(1)` keeps `chunks_exact` valid for the degenerate 0-column case.
        self.values
            .chunks_exact(self.n_cols.max(1))
            .take(self.n_rows)
    }

    /// `(n_rows, n_cols)`, the shape ndarray's `from_shape` takes.
    pub fn shape(&self) -> (usize, usize) {
        (self.n_rows, self.n_cols)
    }

    /// Builds from nested rows (convenient in tests and tools). Rows must all
    /// have `n_cols` values.
    pub fn from_rows<R: AsRef<[f64]>>(rows: &[R], n_cols: usize) -> Result<Rows, DecodeError> {
        let mut out = RowsBuilder::new(n_cols, Limits::default());
        for (i, row) in rows.iter().enumerate() {
            let row = row.as_ref();
            if row.len() != n_cols {
                return Err(DecodeError::Width {
                    at: crate::error::Location::Row(i + 1),
                    expected: n_cols,
                    found: row.len(),
                });
            }
            out.start_row()?;
            out.values.extend_from_slice(row);
        }
        out.finish()
    }
}

/// Accumulates rows while enforcing the row limit.
pub(crate) struct RowsBuilder {
    pub(crate) values: Vec<f64>,
    pub(crate) n_cols: usize,
    n_rows: usize,
    limits: Limits,
}

impl RowsBuilder {
    pub(crate) fn new(n_cols: usize, limits: Limits) -> RowsBuilder {
        RowsBuilder {
            values: Vec::new(),
            n_cols,
            n_rows: 0,
            limits,
        }
    }

    /// Pre-sizes for about `bytes` of input at an assumed minimum of a few
    /// bytes per value, capped so a hostile body cannot reserve much.
    pub(crate) fn reserve_for_body(&mut self, bytes: usize) {
        let guess = (bytes / 4).min(1 << 20);
        self.values.reserve(guess);
    }

    /// Counts a new row (1-based number returned), failing past the limit.
    pub(crate) fn start_row(&mut self) -> Result<usize, DecodeError> {
        if self.n_rows >= self.limits.max_rows {
            return Err(DecodeError::TooManyRows {
                limit: self.limits.max_rows,
            });
        }
        self.n_rows += 1;
        Ok(self.n_rows)
    }

    /// Appends a row of NaN and returns its slot, for decoders that fill
    /// values by column (records, headers that reorder columns).
    pub(crate) fn push_nan_row(&mut self) -> &mut [f64] {
        let start = self.values.len();
        self.values.resize(start + self.n_cols, f64::NAN);
        &mut self.values[start..]
    }

    pub(crate) fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Finishes; an empty result is [`DecodeError::NoRows`].
    pub(crate) fn finish(self) -> Result<Rows, DecodeError> {
        if self.n_rows == 0 {
            return Err(DecodeError::NoRows);
        }
        debug_assert_eq!(self.values.len(), self.n_rows * self.n_cols);
        Ok(Rows {
            values: self.values,
            n_rows: self.n_rows,
            n_cols: self.n_cols,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_rows_and_accessors() {
        let rows = Rows::from_rows(&[[1.0, 2.0], [3.0, 4.0]], 2).unwrap();
        assert_eq!(rows.shape(), (2, 2));
        assert_eq!(rows.row(1), &[3.0, 4.0]);
        assert_eq!(
            rows.iter().collect::<Vec<_>>(),
            vec![&[1.0, 2.0][..], &[3.0, 4.0][..]]
        );
        let err = Rows::from_rows(&[vec![1.0]], 2).unwrap_err();
        assert_eq!(err.to_string(), "row 1: expected 2 values, found 1");
        assert_eq!(
            Rows::from_rows::<[f64; 2]>(&[], 2),
            Err(DecodeError::NoRows)
        );
    }

    #[test]
    fn builder_enforces_row_limit() {
        let mut b = RowsBuilder::new(1, Limits::with_max_rows(2));
        assert_eq!(b.start_row(), Ok(1));
        assert_eq!(b.start_row(), Ok(2));
        let err = b.start_row().unwrap_err();
        assert_eq!(
            err.to_string(),
            "too many rows: the limit is 2 rows per request"
        );
        assert_eq!(err.kind().http_status(), 413);
    }
}
