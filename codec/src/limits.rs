//! Per-request limits the server fills from its configuration.

/// Bounds applied while decoding a request body.
///
/// The byte size of a body is the server's business (it rejects oversized
/// bodies before reading them); the codec bounds the number of rows, so a
/// body of tiny rows cannot allocate without bound. The number of values
/// per row is always exactly the model's number of features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum number of rows in one body; more is
    /// [`DecodeError::TooManyRows`](crate::DecodeError::TooManyRows) (HTTP 413).
    pub max_rows: usize,
}

impl Limits {
    /// The default row limit: enough for a 100 MB batch-transform payload of
    /// short rows, while bounding memory at `max_rows × n_features × 8` bytes.
    pub const DEFAULT_MAX_ROWS: usize = 5_000_000;

    /// Limits with a given row cap.
    pub fn with_max_rows(max_rows: usize) -> Limits {
        Limits { max_rows }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_rows: Self::DEFAULT_MAX_ROWS,
        }
    }
}
