//! The trainer library's error type.

use std::path::PathBuf;

/// Everything that can go wrong in the trainer library. Messages name the file, and for data the
/// row and column, so a user can fix the input without a debugger.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be opened, read or written.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error. Not a `#[source]`: the message already holds it, and the error
        /// printer would repeat it.
        cause: std::io::Error,
    },
    /// A CSV file is malformed (ragged rows, bad quoting, invalid UTF-8, missing header).
    #[error("{path}: {message}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// What is wrong and where.
        message: String,
    },
    /// A value is not what the column needs.
    #[error(
        "{path}: row {row} (line {line}), column {column:?}: expected {expected}, found {found:?}"
    )]
    Value {
        /// The file.
        path: PathBuf,
        /// 1-based data row (the header is not counted).
        row: u64,
        /// 1-based line in the file.
        line: u64,
        /// Column name.
        column: String,
        /// What the column needs.
        expected: &'static str,
        /// What the file holds.
        found: String,
    },
    /// A requested column is not in the header.
    #[error("{path}: no column {name:?}; the header has: {available}")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column asked for.
        name: String,
        /// The header, comma-separated.
        available: String,
    },
    /// Writing a CSV file failed.
    #[error("{path}: cannot write: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// Arguments or inputs that do not fit together.
    #[error("{0}")]
    Invalid(String),
    /// Fitting or scoring failed.
    #[error(transparent)]
    Model(#[from] forest::Error),
    /// A model file could not be read or written.
    #[error("{}", model_file_message(path, cause))]
    ModelFile {
        /// The model file.
        path: PathBuf,
        /// What is wrong with it. Not a `#[source]`: the message already holds it, and the
        /// error printer would repeat it.
        cause: forest::ModelFileError,
    },
    /// Drawing a chart failed.
    #[error("report: {0}")]
    Report(String),
}

/// Result with the trainer's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `path: cause`, except for an I/O failure, whose message already names the path.
fn model_file_message(path: &std::path::Path, cause: &forest::ModelFileError) -> String {
    match cause {
        forest::ModelFileError::Io { .. } => cause.to_string(),
        _ => format!("{}: {cause}", path.display()),
    }
}
