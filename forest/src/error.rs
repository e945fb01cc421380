//! Error types: one for fitting and scoring, one for reading and writing model files.

use std::path::PathBuf;

/// Errors from fitting, scoring and importing models.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A row (or matrix) does not have the model's feature count.
    #[error("row {row}: expected {expected} values (one per model feature), found {found}")]
    WidthMismatch {
        /// 1-based row number within the request (1 for a single row).
        row: usize,
        /// The model's feature count.
        expected: usize,
        /// The number of values supplied.
        found: usize,
    },
    /// Training data has no rows or no columns.
    #[error("training data is empty: {rows} rows x {columns} columns (need at least 1 x 1)")]
    EmptyData {
        /// Number of rows supplied.
        rows: usize,
        /// Number of columns supplied.
        columns: usize,
    },
    /// Training data holds NaN or an infinity; fitting needs finite values.
    #[error("training data row {row}, column {column}: value {value} is not finite")]
    NonFiniteTrainingValue {
        /// 1-based row number.
        row: usize,
        /// 1-based column number.
        column: usize,
        /// The offending value.
        value: f64,
    },
    /// A parameter is outside its valid range.
    #[error("invalid parameter {name}: {message}")]
    InvalidParameter {
        /// Parameter name as the user knows it.
        name: &'static str,
        /// What is wrong and what is expected.
        message: String,
    },
    /// Feature names do not match the data.
    #[error("feature names: {0}")]
    FeatureNames(String),
    /// The k-means fit failed.
    #[error("k-means fit failed: {0}")]
    KMeans(String),
    /// A scikit-learn export could not be imported.
    #[error("scikit-learn import: {0}")]
    Import(String),
}

/// Errors from reading, writing and validating model files.
#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    /// The file does not start with the model-file magic number.
    #[error("not a model file (bad magic number)")]
    NotAModelFile,
    /// The file is shorter than its header says.
    #[error("model file truncated: expected {expected} bytes, found {found}")]
    Truncated {
        /// Bytes the header promises.
        expected: usize,
        /// Bytes actually present.
        found: usize,
    },
    /// The body's checksum does not match the header.
    #[error("model file corrupted: checksum mismatch (header {expected}, body {found})")]
    ChecksumMismatch {
        /// SHA-256 from the header, hex.
        expected: String,
        /// SHA-256 of the body as read, hex.
        found: String,
    },
    /// The format version is not one this build reads.
    #[error(
        "unsupported model format version {found} (this build reads versions 1 to {supported})"
    )]
    UnsupportedVersion {
        /// Version in the file.
        found: u32,
        /// Newest version this build reads (it reads every version from 1).
        supported: u32,
    },
    /// The payload's detector tag is unknown.
    #[error("unknown detector kind tag {0} in model file")]
    UnknownDetectorKind(u32),
    /// Metadata or payload are internally inconsistent.
    #[error("model file metadata inconsistent: {0}")]
    MetadataInconsistent(String),
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// File path.
        path: PathBuf,
        /// Underlying I/O error.
        #[source]
        source: std::io::Error,
    },
}
