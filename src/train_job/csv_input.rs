//! The training channel: every `*.csv` file under it (sorted by path, subdirectories included, as
//! SageMaker copies an S3 prefix), each with the same header row, concatenated into one table.
//!
//! Each file is read by [`codec::table`], the trainer's reader: without a `columns`
//! hyperparameter the features are the columns whose first value is a number, minus `timestamp`
//! and the label columns `anomaly` and `label` (a detector must not see the answer). Errors name
//! the file, the data row (1-based, header not counted), the line and the column.

use std::path::{Path, PathBuf};

use codec::table::{Columns, TableError, read_header, read_table};

use super::TrainError;

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
    let mut selection = match columns {
        Some(names) => Columns::Named(names.to_vec()),
        None => Columns::Features,
    };
    // The first file's path and header: every other file must have the same header.
    let mut first: Option<(PathBuf, Vec<String>)> = None;
    for path in files {
        let file = std::fs::File::open(&path).map_err(|source| TrainError::Io {
            path: path.clone(),
            source,
        })?;
        let part = match read_table(std::io::BufReader::new(file), &selection, |_| {}) {
            Ok(part) => part,
            // A later file without the first file's columns: say how its header differs.
            Err(TableError::MissingColumn { .. }) if first.is_some() => {
                let file = std::fs::File::open(&path).map_err(|source| TrainError::Io {
                    path: path.clone(),
                    source,
                })?;
                codec::table::Table {
                    header: read_header(file).map_err(|e| data_error(&path, e.to_string()))?,
                    ..Default::default()
                }
            }
            Err(TableError::MissingColumn { name, available }) => {
                return Err(data_error(
                    &path,
                    format!(
                        "column {name:?} (from the columns hyperparameter) is not in the header [{}]",
                        available.replace(", ", ",")
                    ),
                ));
            }
            Err(e) => return Err(data_error(&path, e.to_string())),
        };
        match &first {
            Some((first_path, header)) if &part.header != header => {
                return Err(data_error(
                    &path,
                    format!(
                        "header [{}] differs from [{}] in {}",
                        part.header.join(","),
                        header.join(","),
                        first_path.display()
                    ),
                ));
            }
            Some(_) => {}
            None => {
                table.names = part.names.clone();
                selection = Columns::Named(part.names.clone());
                first = Some((path.clone(), part.header.clone()));
            }
        }
        table.values.extend_from_slice(&part.values);
        table.n_rows += part.n_rows;
        table.files.push(
            path.strip_prefix(dir)
                .unwrap_or(&path)
                .display()
                .to_string(),
        );
    }
    Ok(table)
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
