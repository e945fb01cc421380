//! Packing decoded rows into InvokeEndpoint request bodies within a row and byte budget.
//!
//! Rows are independent for the model, so a record whose rows do not fit the current request is
//! split across requests; each row keeps a [`RowRef`] so scores map back to their record.

use std::io::Write;

use thiserror::Error;

/// InvokeEndpoint's hard limit on a real-time request body (6 MiB).
pub const MAX_INVOKE_BYTES: usize = 6 * 1024 * 1024;

/// Limits of one InvokeEndpoint request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Most rows in one request.
    pub max_rows: usize,
    /// Most body bytes in one request; never above [`MAX_INVOKE_BYTES`].
    pub max_bytes: usize,
}

impl Budget {
    /// A budget with `max_bytes` clamped to InvokeEndpoint's limit and both limits at least 1.
    pub fn new(max_rows: usize, max_bytes: usize) -> Self {
        Budget {
            max_rows: max_rows.max(1),
            max_bytes: max_bytes.clamp(1, MAX_INVOKE_BYTES),
        }
    }
}

impl Default for Budget {
    /// 1,000 rows or 5 MiB, whichever comes first.
    fn default() -> Self {
        Budget::new(1000, 5 * 1024 * 1024)
    }
}

/// Where a row came from: the index of its user record in the batch being processed, and the
/// row's 0-based position inside that record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowRef {
    /// Index of the user record in the processed batch.
    pub record: usize,
    /// 0-based row inside the record.
    pub row: usize,
}

/// One InvokeEndpoint request: the encoded body and, in body order, where each row came from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Invocation {
    /// The request body (CSV lines).
    pub body: Vec<u8>,
    /// Origin of each row, in the order of the body's lines.
    pub rows: Vec<RowRef>,
}

impl Invocation {
    /// The first user record with a row in this request.
    pub fn first_record(&self) -> Option<usize> {
        self.rows.first().map(|r| r.record)
    }
}

/// A single row that cannot fit any request.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("record {record}, row {}: the encoded row is {bytes} bytes, over the request budget of {budget} bytes", row + 1)]
pub struct OversizeRow {
    /// Index of the user record.
    pub record: usize,
    /// 0-based row inside the record.
    pub row: usize,
    /// Encoded size of the row.
    pub bytes: usize,
    /// The byte budget.
    pub budget: usize,
}

/// Packs rows into requests. Feed rows with [`Packer::push`] in stream order, then
/// [`Packer::finish`].
#[derive(Debug)]
pub struct Packer {
    budget: Budget,
    current: Invocation,
    done: Vec<Invocation>,
    scratch: Vec<u8>,
}

impl Packer {
    /// An empty packer.
    pub fn new(budget: Budget) -> Self {
        Packer {
            budget,
            current: Invocation::default(),
            done: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Adds one row; `encode` appends the row's encoding (one line, newline included).
    pub fn push(
        &mut self,
        at: RowRef,
        encode: impl FnOnce(&mut Vec<u8>),
    ) -> Result<(), OversizeRow> {
        self.scratch.clear();
        encode(&mut self.scratch);
        let len = self.scratch.len();
        if len > self.budget.max_bytes {
            return Err(OversizeRow {
                record: at.record,
                row: at.row,
                bytes: len,
                budget: self.budget.max_bytes,
            });
        }
        if !self.current.rows.is_empty()
            && (self.current.rows.len() >= self.budget.max_rows
                || self.current.body.len() + len > self.budget.max_bytes)
        {
            self.done.push(std::mem::take(&mut self.current));
        }
        self.current.body.extend_from_slice(&self.scratch);
        self.current.rows.push(at);
        Ok(())
    }

    /// The requests, in stream order.
    pub fn finish(mut self) -> Vec<Invocation> {
        if !self.current.rows.is_empty() {
            self.done.push(self.current);
        }
        self.done
    }
}

/// Appends `row` as one CSV line (`\n`-terminated). Values print in the shortest form that reads
/// back to the same `f64`; a missing value (NaN) is an empty field, as the server reads it.
pub fn encode_csv_row(row: &[f64], out: &mut Vec<u8>) {
    for (i, v) in row.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if !v.is_nan() {
            // Writing into a Vec cannot fail.
            let _ = write!(out, "{v}");
        }
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: usize) -> impl FnOnce(&mut Vec<u8>) {
        move |out: &mut Vec<u8>| {
            out.extend(std::iter::repeat_n(b'1', n - 1));
            out.push(b'\n');
        }
    }

    #[test]
    fn budget_is_clamped_to_the_invoke_limit() {
        assert_eq!(Budget::new(10, usize::MAX).max_bytes, MAX_INVOKE_BYTES);
        assert_eq!(
            Budget::new(0, 0),
            Budget {
                max_rows: 1,
                max_bytes: 1
            }
        );
    }

    #[test]
    fn row_budget_splits_requests() {
        let mut p = Packer::new(Budget::new(3, 1 << 20));
        for record in 0..4 {
            for row in 0..2 {
                p.push(RowRef { record, row }, line(4)).unwrap();
            }
        }
        let out = p.finish();
        assert_eq!(
            out.iter().map(|i| i.rows.len()).collect::<Vec<_>>(),
            [3, 3, 2]
        );
        // A record split across requests keeps its row numbers.
        assert_eq!(out[1].rows[0], RowRef { record: 1, row: 1 });
        assert_eq!(out[1].first_record(), Some(1));
        let all: Vec<RowRef> = out.iter().flat_map(|i| i.rows.clone()).collect();
        assert_eq!(all.len(), 8);
        assert!(all.windows(2).all(|w| w[0] < w[1]), "stream order is kept");
    }

    #[test]
    fn byte_budget_is_never_exceeded() {
        let mut p = Packer::new(Budget::new(1000, 100));
        let sizes = [30, 30, 30, 30, 100, 1, 99, 50, 50];
        for (record, n) in sizes.iter().enumerate() {
            p.push(RowRef { record, row: 0 }, line(*n)).unwrap();
        }
        let out = p.finish();
        for inv in &out {
            assert!(inv.body.len() <= 100, "{} bytes", inv.body.len());
            assert_eq!(
                inv.body.iter().filter(|b| **b == b'\n').count(),
                inv.rows.len()
            );
        }
        let lens: Vec<usize> = out.iter().map(|i| i.body.len()).collect();
        assert_eq!(lens, [90, 30, 100, 100, 100]);
    }

    #[test]
    fn a_row_over_the_budget_is_refused_and_the_rest_continue() {
        let mut p = Packer::new(Budget::new(10, 64));
        p.push(RowRef { record: 0, row: 0 }, line(10)).unwrap();
        let err = p.push(RowRef { record: 1, row: 2 }, line(65)).unwrap_err();
        assert_eq!(
            err,
            OversizeRow {
                record: 1,
                row: 2,
                bytes: 65,
                budget: 64
            }
        );
        assert!(err.to_string().contains("row 3"));
        p.push(RowRef { record: 2, row: 0 }, line(10)).unwrap();
        let out = p.finish();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].rows.len(), 2);
    }

    #[test]
    fn the_default_budget_fits_six_mebibytes_of_large_rows() {
        let mut p = Packer::new(Budget::new(100_000, usize::MAX));
        for record in 0..40 {
            p.push(RowRef { record, row: 0 }, line(400_000)).unwrap();
        }
        let out = p.finish();
        assert!(out.iter().all(|i| i.body.len() <= MAX_INVOKE_BYTES));
        assert_eq!(out.iter().map(|i| i.rows.len()).sum::<usize>(), 40);
    }

    #[test]
    fn rows_encode_as_csv_that_the_codec_reads_back() {
        let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let mut body = Vec::new();
        encode_csv_row(&[0.1, -2.5e-12, 3.0], &mut body);
        encode_csv_row(&[1.0 / 3.0, f64::NAN, 1e300], &mut body);
        let rows = codec::decode_csv(&body, &names, &codec::Limits::default()).unwrap();
        assert_eq!(rows.n_rows, 2);
        assert_eq!(&rows.row(0), &[0.1, -2.5e-12, 3.0]);
        assert_eq!(rows.row(1)[0], 1.0 / 3.0);
        assert!(rows.row(1)[1].is_nan());
        assert_eq!(rows.row(1)[2], 1e300);
    }
}
