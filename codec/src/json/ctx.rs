//! Decoding state shared by the JSON visitors.
//!
//! Visitors cannot return our error type through serde, so a visitor that
//! finds a problem stores the precise [`DecodeError`] in [`Ctx`] and returns a
//! placeholder serde error; the caller then prefers the stored error.

use std::cell::Cell;
use std::collections::HashMap;

use serde::de;

use crate::error::{DecodeError, Location};
use crate::rows::RowsBuilder;

/// Above this many features, key lookup goes through a hash map.
const LINEAR_LOOKUP_MAX: usize = 16;

/// Shared decoding state.
pub(crate) struct Ctx<'a> {
    pub(crate) names: &'a [String],
    index: Option<HashMap<&'a str, usize>>,
    /// The column after the last key found: records usually list their keys in model order,
    /// so this is checked before any search.
    hint: Cell<usize>,
    pub(crate) out: RowsBuilder,
    /// Which features the current record has set.
    pub(crate) seen: Vec<bool>,
    /// The JSON Lines line being decoded; `None` for a JSON body.
    pub(crate) line: Option<usize>,
    error: Option<DecodeError>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(names: &'a [String], out: RowsBuilder, line: Option<usize>) -> Ctx<'a> {
        let index = (names.len() > LINEAR_LOOKUP_MAX).then(|| {
            names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.as_str(), i))
                .collect()
        });
        Ctx {
            names,
            index,
            hint: Cell::new(0),
            out,
            seen: vec![false; names.len()],
            line,
            error: None,
        }
    }

    pub(crate) fn into_builder(self) -> RowsBuilder {
        self.out
    }

    pub(crate) fn column(&self, key: &str) -> Option<usize> {
        let hint = self.hint.get();
        let found = if self.names.get(hint).is_some_and(|n| n == key) {
            Some(hint)
        } else {
            match &self.index {
                Some(index) => index.get(key).copied(),
                None => self.names.iter().position(|n| n == key),
            }
        };
        if let Some(col) = found {
            self.hint.set((col + 1) % self.names.len());
        }
        found
    }

    /// Stores `err` and returns the placeholder serde error to propagate.
    pub(crate) fn fail<E: de::Error>(&mut self, err: DecodeError) -> E {
        self.error = Some(err);
        E::custom("decode error")
    }

    /// The error to report for a failed deserialization.
    pub(crate) fn take_error(&mut self, err: serde_json::Error) -> DecodeError {
        self.error
            .take()
            .unwrap_or_else(|| json_error(&err, self.line))
    }

    /// Where row number `n` is, as a record (object) or as a row (array).
    pub(crate) fn at(&self, n: usize, record: bool) -> Location {
        match (self.line, record) {
            (Some(line), _) => Location::Line(line),
            (None, true) => Location::Record(n),
            (None, false) => Location::Row(n),
        }
    }

    /// The number the next row will get.
    pub(crate) fn next_row(&self) -> usize {
        self.out.n_rows() + 1
    }

    pub(crate) fn shape_error(
        &self,
        n: Option<usize>,
        expected: &str,
        found: String,
    ) -> DecodeError {
        let context = n.map_or_else(String::new, |n| format!("{}: ", self.at(n, false)));
        DecodeError::Shape {
            context,
            expected: expected.to_owned(),
            found,
        }
    }

    /// Starts a row and returns its number and the offset of its first value.
    pub(crate) fn start_row<E: de::Error>(&mut self) -> Result<(usize, usize), E> {
        let n = match self.out.start_row() {
            Ok(n) => n,
            Err(err) => return Err(self.fail(err)),
        };
        let start = self.out.values.len();
        self.out.push_nan_row();
        Ok((n, start))
    }
}

/// A syntax error from serde_json, with its line and column; `line` is the
/// JSON Lines line, if any.
pub(crate) fn json_error(err: &serde_json::Error, line: Option<usize>) -> DecodeError {
    let prefix = line.map_or_else(String::new, |l| format!("line {l}: "));
    DecodeError::Json {
        prefix,
        message: err.to_string(),
    }
}
