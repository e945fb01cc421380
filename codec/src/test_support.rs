//! Helpers shared by the unit tests of the decoders.

use crate::{DecodeError, Rows};

/// The default model's naming: `feature_1..feature_n`.
pub(crate) fn names(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("feature_{i}")).collect()
}

/// The user-facing message of a decode that must fail.
pub(crate) fn msg(r: Result<Rows, DecodeError>) -> String {
    r.unwrap_err().to_string()
}
