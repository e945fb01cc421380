//! The training channel: every `*.csv` file under it (sorted by path, subdirectories included, as
//! SageMaker copies an S3 prefix), each with the same header row, concatenated into one table.
//!
//! Without a `columns` hyperparameter the features are the columns whose first value is a number,
//! minus `timestamp` and the label columns `anomaly` and `label` (a detector must not see the
//! answer). Errors name the file, the data row (1-based, header not counted), the line and the
//! column.

use std::path::{Path, PathBuf};

use super::TrainError;

/// Columns never taken as features by default.
pub const NOT_FEATURES: &[&str] = &["timestamp", "anomaly", "label"];

/// The selected columns of every channel file, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Feature names in column order.
    pub names: Vec<String>,
    /// `n_rows * names.len()` values.
    pub values: Vec<f64>,
    /// Data rows over all files.
    pub n_rows: usize,
    /// The files read, relative to the channel directory.
    pub files: Vec<String>,
}

fn data_error(path: &Path, message: impl Into<String>) -> TrainError {
    TrainError::Data {
        path: path.to_owned(),
        message: message.into(),
    }
}

/// Reads and concatenates the channel's CSV files.
pub fn read_channel(dir: &Path, columns: Option<&[String]>) -> Result<Table, TrainError> {
    let files = csv_files(dir)?;
    if files.is_empty() {
        return Err(data_error(dir, "no .csv files in the training channel"));
    }
    let mut table = Table {
        names: Vec::new(),
        values: Vec::new(),
        n_rows: 0,
        files: Vec::new(),
    };
    let mut first: Option<(PathBuf, Vec<String>, Vec<usize>)> = None;
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|source| TrainError::Io {
            path: path.clone(),
            source,
        })?;
        let mut records = Records::new(text.strip_prefix('\u{feff}').unwrap_or(&text));
        let Some(header) = records
            .next()
            .transpose()
            .map_err(|m| data_error(&path, m))?
        else {
            return Err(data_error(&path, "empty file: expected a header row"));
        };
        let header: Vec<String> = header.1.iter().map(|h| h.trim().to_owned()).collect();
        let mut rows = records.peekable();
        let indices = match &first {
            Some((first_path, expected, indices)) => {
                if &header != expected {
                    return Err(data_error(
                        &path,
                        format!(
                            "header [{}] differs from [{}] in {}",
                            header.join(","),
                            expected.join(","),
                            first_path.display()
                        ),
                    ));
                }
                indices.clone()
            }
            None => {
                let first_row = match rows.peek() {
                    Some(Ok((_, fields))) => Some(fields.as_slice()),
                    _ => None,
                };
                let indices = select(&path, &header, columns, first_row)?;
                table.names = indices.iter().map(|&j| header[j].clone()).collect();
                first = Some((path.clone(), header.clone(), indices.clone()));
                indices
            }
        };
        let mut row = 0usize;
        for record in rows {
            let (line, fields) = record.map_err(|m| data_error(&path, m))?;
            row += 1;
            if fields.len() != header.len() {
                return Err(data_error(
                    &path,
                    format!(
                        "row {row} (line {line}): expected {} fields like the header, found {}",
                        header.len(),
                        fields.len()
                    ),
                ));
            }
            for &j in &indices {
                let text = fields[j].trim();
                let value = text.parse::<f64>().map_err(|_| {
                    data_error(
                        &path,
                        format!(
                            "row {row} (line {line}), column {}: expected a number, found {text:?}",
                            header[j]
                        ),
                    )
                })?;
                table.values.push(value);
            }
        }
        table.n_rows += row;
        table.files.push(
            path.strip_prefix(dir)
                .unwrap_or(&path)
                .display()
                .to_string(),
        );
    }
    Ok(table)
}

/// Column indices of the features, from the `columns` hyperparameter or the first data row.
fn select(
    path: &Path,
    header: &[String],
    columns: Option<&[String]>,
    first_row: Option<&[String]>,
) -> Result<Vec<usize>, TrainError> {
    let indices: Vec<usize> = match columns {
        Some(names) => names
            .iter()
            .map(|n| {
                header.iter().position(|h| h == n).ok_or_else(|| {
                    data_error(path, format!("column {n:?} (from the columns hyperparameter) is not in the header [{}]", header.join(",")))
                })
            })
            .collect::<Result<_, _>>()?,
        None => (0..header.len())
            .filter(|&j| !NOT_FEATURES.contains(&header[j].as_str()))
            .filter(|&j| first_row.is_none_or(|r| r.get(j).is_some_and(|v| v.trim().parse::<f64>().is_ok())))
            .collect(),
    };
    if indices.is_empty() {
        return Err(data_error(
            path,
            format!(
                "no numeric feature columns; the header has [{}]",
                header.join(",")
            ),
        ));
    }
    Ok(indices)
}

/// All `*.csv` files under `dir`, sorted by path.
fn csv_files(dir: &Path) -> Result<Vec<PathBuf>, TrainError> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(d) = pending.pop() {
        let io = |source| TrainError::Io {
            path: d.clone(),
            source,
        };
        for entry in std::fs::read_dir(&d).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
            {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// RFC 4180 records (quoted fields, `""` escapes, LF or CRLF) with the line each starts on.
/// Blank lines are skipped.
pub(crate) struct Records<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> Records<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Records {
            bytes: text.as_bytes(),
            pos: 0,
            line: 1,
        }
    }

    fn record(&mut self) -> Result<Vec<String>, String> {
        let start = self.line;
        let (mut fields, mut field) = (Vec::new(), Vec::new());
        let mut quoted = false;
        while let Some(&c) = self.bytes.get(self.pos) {
            self.pos += 1;
            match (quoted, c) {
                (true, b'"') if self.bytes.get(self.pos) == Some(&b'"') => {
                    field.push(b'"');
                    self.pos += 1;
                }
                (true, b'"') => {
                    quoted = false;
                    if !matches!(self.bytes.get(self.pos), None | Some(b',' | b'\r' | b'\n')) {
                        return Err(format!(
                            "line {}: unexpected character after a closing quote",
                            self.line
                        ));
                    }
                }
                (true, b'\n') => {
                    self.line += 1;
                    field.push(c);
                }
                (true, _) => field.push(c),
                (false, b'"') if field.iter().all(u8::is_ascii_whitespace) => {
                    field.clear();
                    quoted = true;
                }
                (false, b',') => fields.push(std::mem::take(&mut field)),
                (false, b'\n') => {
                    self.line += 1;
                    break;
                }
                (false, b'\r') if self.bytes.get(self.pos) == Some(&b'\n') => {}
                (false, _) => field.push(c),
            }
        }
        if quoted {
            return Err(format!(
                "line {start}: quoted field not closed before the end of the file"
            ));
        }
        fields.push(field);
        // Splitting happened only at ASCII bytes of valid UTF-8, so each field is valid UTF-8.
        Ok(fields
            .into_iter()
            .map(|f| String::from_utf8_lossy(&f).into_owned())
            .collect())
    }
}

impl Iterator for Records<'_> {
    type Item = Result<(usize, Vec<String>), String>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.pos >= self.bytes.len() {
                return None;
            }
            let line = self.line;
            match self.record() {
                Ok(fields) if fields.len() == 1 && fields[0].trim().is_empty() => continue,
                Ok(fields) => return Some(Ok((line, fields))),
                Err(message) => {
                    self.pos = self.bytes.len();
                    return Some(Err(message));
                }
            }
        }
    }
}
