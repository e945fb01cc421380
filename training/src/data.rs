//! Reading numeric CSV tables (with a header; the reader and the column rule are
//! [`codec::table`]'s, shared with the SageMaker training job) and 0/1 label files, with errors that
//! name the row and column.

use std::fs::File;
use std::path::Path;

use crate::error::{Error, Result};
pub use codec::table::Columns;
use codec::table::TableError;

use crate::generate::ANOMALY_COLUMN;
use crate::progress::Progress;

/// A numeric table read from CSV, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Names of the selected columns, in the order of `values` within a row.
    pub names: Vec<String>,
    /// Row-major values, `n_rows * names.len()` of them.
    pub values: Vec<f64>,
    /// Number of data rows.
    pub n_rows: usize,
    /// Columns of the file that were not selected.
    pub skipped: Vec<String>,
    /// The text of the `timestamp` column, when the file has one that is not a selected column.
    pub timestamps: Option<Vec<String>>,
    /// The text of the group column per row, when the table was read with one
    /// ([`read_grouped_table`]).
    pub groups: Option<Vec<String>>,
}

impl Table {
    /// Number of selected columns.
    pub fn n_cols(&self) -> usize {
        self.names.len()
    }

    /// Row `i` as a slice.
    pub fn row(&self, i: usize) -> &[f64] {
        let d = self.n_cols();
        &self.values[i * d..(i + 1) * d]
    }

    /// Column `j` as a vector.
    pub fn column(&self, j: usize) -> Vec<f64> {
        (0..self.n_rows)
            .map(|i| self.values[i * self.n_cols() + j])
            .collect()
    }

    /// Fails on the first NaN or infinity, naming its row and column: fitting needs finite values.
    pub fn check_finite(&self, path: &Path) -> Result<()> {
        match self.values.iter().position(|v| !v.is_finite()) {
            None => Ok(()),
            Some(k) => {
                let row = (k / self.n_cols()) as u64 + 1;
                Err(Error::Value {
                    path: path.into(),
                    row,
                    line: row + 1,
                    column: self.names[k % self.n_cols()].clone(),
                    expected: "a finite number for training",
                    found: self.values[k].to_string(),
                })
            }
        }
    }

    /// The values as a matrix view for the model.
    pub fn view(&self) -> forest::ndarray::ArrayView2<'_, f64> {
        forest::ndarray::ArrayView2::from_shape((self.n_rows, self.n_cols()), &self.values)
            .expect("values hold n_rows * n_cols entries")
    }
}

fn open(path: &Path) -> Result<(csv::Reader<File>, Vec<String>)> {
    let file = File::open(path).map_err(|cause| Error::Io {
        path: path.into(),
        cause,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(file);
    let header = reader.headers().map_err(|e| csv_error(path, e))?.clone();
    if header.is_empty() {
        return Err(Error::Csv {
            path: path.into(),
            message: "empty file: expected a header row".into(),
        });
    }
    Ok((reader, header.iter().map(str::to_owned).collect()))
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => {
            let line = pos.as_ref().map_or(0, |p| p.line());
            format!(
                "row {} (line {line}): expected {expected_len} fields like the header, found {len}",
                line.saturating_sub(1)
            )
        }
        csv::ErrorKind::Io(io) => io.to_string(),
        _ => match e.position() {
            Some(p) => format!("line {}: {e}", p.line()),
            None => e.to_string(),
        },
    };
    Error::Csv {
        path: path.into(),
        message,
    }
}

fn missing(path: &Path, name: &str, header: &[String]) -> Error {
    Error::MissingColumn {
        path: path.into(),
        name: name.into(),
        available: header.join(", "),
    }
}

/// Reads the selected numeric columns of a CSV file with a header, by the rules of
/// [`codec::table`] (shared with the SageMaker training job).
pub fn read_table(path: &Path, columns: &Columns, progress: &Progress) -> Result<Table> {
    read_grouped_table(path, columns, None, progress)
}

/// [`read_table`], also keeping each row's text in the column `group` (see
/// [`codec::table::read_grouped_table`]).
pub fn read_grouped_table(
    path: &Path,
    columns: &Columns,
    group: Option<&str>,
    progress: &Progress,
) -> Result<Table> {
    let file = File::open(path).map_err(|cause| Error::Io {
        path: path.into(),
        cause,
    })?;
    let size = file.metadata().map_or(0, |m| m.len());
    let bar = progress.bytes_bar(size, "reading");
    let read =
        codec::table::read_grouped_table(std::io::BufReader::new(file), columns, group, |byte| {
            bar.set_position(byte)
        });
    bar.finish_and_clear();
    let t = read.map_err(|e| match e {
        TableError::Value {
            row,
            line,
            column,
            found,
        } => Error::Value {
            path: path.into(),
            row,
            line,
            column,
            expected: "a number",
            found,
        },
        TableError::MissingColumn { name, available } => Error::MissingColumn {
            path: path.into(),
            name,
            available,
        },
        other => Error::Csv {
            path: path.into(),
            message: other.to_string(),
        },
    })?;
    Ok(Table {
        names: t.names,
        values: t.values,
        n_rows: t.n_rows,
        skipped: t.skipped,
        timestamps: t.timestamps,
        groups: t.groups,
    })
}

/// 0/1 labels read from a labels CSV.
#[derive(Debug, Clone, PartialEq)]
pub struct Labels {
    /// Row-level labels: the `anomaly` column, or the only column.
    pub rows: Vec<bool>,
    /// Every column of the file by name (per-feature labels from `generate`).
    pub columns: Vec<(String, Vec<bool>)>,
}

impl Labels {
    /// The labels of the column called `name`, if the file has one.
    pub fn column(&self, name: &str) -> Option<&[bool]> {
        self.columns
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// Number of rows labelled anomalous.
    pub fn positives(&self) -> usize {
        self.rows.iter().filter(|&&b| b).count()
    }
}

fn parse_flag(path: &Path, row: u64, column: &str, text: &str) -> Result<bool> {
    match text {
        "1" | "true" | "True" | "TRUE" => Ok(true),
        "0" | "false" | "False" | "FALSE" => Ok(false),
        _ => Err(Error::Value {
            path: path.into(),
            row,
            line: row + 1,
            column: column.into(),
            expected: "a label 0 or 1",
            found: text.into(),
        }),
    }
}

/// Reads a labels CSV. Its row-level label is the `anomaly` column, or the only column; when
/// `expected_rows` is given the file must have exactly that many rows.
pub fn read_labels(path: &Path, expected_rows: Option<usize>) -> Result<Labels> {
    let (mut reader, header) = open(path)?;
    let row_col = match header.iter().position(|h| h == ANOMALY_COLUMN) {
        Some(j) => j,
        None if header.len() == 1 => 0,
        None => return Err(missing(path, ANOMALY_COLUMN, &header)),
    };
    let mut columns: Vec<Vec<bool>> = vec![Vec::new(); header.len()];
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| csv_error(path, e))?;
        for (j, (text, name)) in record.iter().zip(&header).enumerate() {
            columns[j].push(parse_flag(path, i as u64 + 1, name, text)?);
        }
    }
    let rows = columns[row_col].clone();
    if let Some(n) = expected_rows
        && rows.len() != n
    {
        return Err(Error::Invalid(format!(
            "{}: {} label rows, but the data has {n} rows",
            path.display(),
            rows.len()
        )));
    }
    Ok(Labels {
        rows,
        columns: header.into_iter().zip(columns).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    fn read(text: &str, columns: &Columns) -> Result<Table> {
        read_table(file(text).path(), columns, &Progress::hidden())
    }

    #[test]
    fn default_selection_skips_timestamp_and_text_columns() {
        let t = read(
            "timestamp,a,id,b\n2024-01-01T00:00:00Z,1,x7,2.5\nt,3,y,-4e2\n",
            &Columns::Features,
        )
        .unwrap();
        assert_eq!(t.names, ["a", "b"]);
        assert_eq!(t.skipped, ["timestamp", "id"]);
        assert_eq!(
            t.timestamps,
            Some(vec!["2024-01-01T00:00:00Z".into(), "t".into()])
        );
        assert_eq!(t.values, [1.0, 2.5, 3.0, -400.0]);
        assert_eq!(t.row(1), [3.0, -400.0]);
        assert_eq!(t.column(1), [2.5, -400.0]);
    }

    #[test]
    fn named_selection_keeps_the_requested_order() {
        let t = read(
            "a,b,c\n1,2,3\n",
            &Columns::Named(vec!["c".into(), "a".into()]),
        )
        .unwrap();
        assert_eq!(t.values, [3.0, 1.0]);
    }

    #[test]
    fn non_finite_values_are_named_for_training() {
        let f = file("a,b\n1,2\n3,inf\n");
        let t = read_table(f.path(), &Columns::Features, &Progress::hidden()).unwrap();
        let e = t.check_finite(f.path()).unwrap_err().to_string();
        assert!(
            e.contains(
                "row 2 (line 3), column \"b\": expected a finite number for training, found \"inf\""
            ),
            "{e}"
        );
        assert!(
            read("a\n1\n", &Columns::Features)
                .unwrap()
                .check_finite(f.path())
                .is_ok()
        );
    }

    #[test]
    fn unknown_column_lists_the_header() {
        let e = read("a,b\n1,2\n", &Columns::Named(vec!["z".into()]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no column \"z\"") && e.contains("a, b"), "{e}");
    }

    #[test]
    fn non_numeric_value_names_row_line_and_column() {
        let e = read("a,b\n1,2\n3,oops\n", &Columns::Features)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("row 2 (line 3), column \"b\": expected a number, found \"oops\""),
            "{e}"
        );
        let e = read("a,b\n1,\n3,4\n", &Columns::Features)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("row 1 (line 2), column \"b\": expected a number, found \"\""),
            "{e}"
        );
        let e = read("a,b\n1,2\n3,\n", &Columns::Features)
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 2 (line 3), column \"b\""), "{e}");
    }

    #[test]
    fn ragged_row_is_reported_with_its_row() {
        let e = read("a,b\n1,2\n3\n", &Columns::Features)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("row 2 (line 3): expected 2 fields like the header, found 1"),
            "{e}"
        );
    }

    #[test]
    fn empty_file_and_text_only_file_are_errors() {
        assert!(
            read("", &Columns::Features)
                .unwrap_err()
                .to_string()
                .contains("header")
        );
        let e = read("name\nx\n", &Columns::Features)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no numeric feature columns"), "{e}");
    }

    #[test]
    fn labels_use_the_anomaly_column_and_keep_per_feature_columns() {
        let f = file("feature_1,feature_2,anomaly\n0,1,1\n0,0,0\n");
        let l = read_labels(f.path(), Some(2)).unwrap();
        assert_eq!(l.rows, [true, false]);
        assert_eq!(l.column("feature_2"), Some(&[true, false][..]));
        assert_eq!(l.positives(), 1);
        let e = read_labels(f.path(), Some(3)).unwrap_err().to_string();
        assert!(e.contains("2 label rows, but the data has 3 rows"), "{e}");
    }

    #[test]
    fn labels_must_be_zero_or_one() {
        let f = file("label\n1\n2\n");
        let e = read_labels(f.path(), None).unwrap_err().to_string();
        assert!(
            e.contains("row 2 (line 3), column \"label\": expected a label 0 or 1, found \"2\""),
            "{e}"
        );
    }
}
