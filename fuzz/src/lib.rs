//! Helpers shared by the fuzz targets in `fuzz_targets/`.
//!
//! The decoder targets (`csv`, `json`, `jsonlines`, `record`) read their input as one selector
//! byte followed by the body. The selector's low four bits pick the model's feature names
//! ([`names`]) and bit `0x40` a row limit of 3 instead of the default ([`limits`]), so the ASCII
//! digits `'0'`..`'7'` select name sets 0..7 with the default limit and the letters `'A'`..`'G'`
//! name sets 1..7 with the small one: seed files stay readable text.

use codec::{DecodeError, Limits, Rows};

/// Feature-name sets a model may have: plain names, the names of the default model, names that
/// collide with the JSON wrappers' keys, and names that need escaping in JSON or are not ASCII.
pub fn names(sel: u8) -> Vec<String> {
    let set: &[&str] = match (sel & 0x0F) % 8 {
        0 => &["feature_1", "feature_2"],
        1 => &["a", "b", "c"],
        2 => &["x"],
        3 => &[
            "feature_1",
            "feature_2",
            "feature_3",
            "feature_4",
            "feature_5",
        ],
        4 => &["instances", "features"],
        5 => &["a b", "c\"d", "\u{e9}", "e\\f"],
        6 => &["data", "keys", "values"],
        _ => &["shape", "a"],
    };
    set.iter().map(|s| s.to_string()).collect()
}

/// The default limits, or a row limit of 3 when the selector has bit `0x40`.
pub fn limits(sel: u8) -> Limits {
    if sel & 0x40 != 0 {
        Limits::with_max_rows(3)
    } else {
        Limits::default()
    }
}

/// Checks what every decoder promises: a result has exactly `n_cols` columns, at least one row and
/// at most the row limit, and no infinite value (NaN is a missing value); an error renders and
/// maps to an HTTP client or server error status.
pub fn check_rows(result: &Result<Rows, DecodeError>, n_cols: usize, limits: &Limits) {
    match result {
        Ok(rows) => {
            assert_eq!(rows.n_cols, n_cols, "wrong column count");
            assert!(rows.n_rows >= 1, "Ok with no rows");
            assert!(rows.n_rows <= limits.max_rows, "row limit exceeded");
            assert_eq!(rows.values.len(), rows.n_rows * rows.n_cols, "ragged rows");
            assert!(
                rows.values.iter().all(|v| !v.is_infinite()),
                "an infinite value was accepted: {:?}",
                rows.values
            );
            assert_eq!(rows.iter().len(), rows.n_rows);
        }
        Err(err) => check_error(err),
    }
}

/// An error must render and map to a 4xx/5xx status.
pub fn check_error(err: &DecodeError) {
    let message = err.to_string();
    assert!(!message.is_empty(), "empty error message for {err:?}");
    let status = err.kind().http_status();
    assert!((400..600).contains(&status), "status {status} for {err:?}");
}

/// Rows as (rows, columns, value bits), so results compare exactly, NaN included.
pub fn bits(result: &Result<Rows, DecodeError>) -> Result<(usize, usize, Vec<u64>), DecodeError> {
    result.as_ref().map_err(Clone::clone).map(|rows| {
        (
            rows.n_rows,
            rows.n_cols,
            rows.values.iter().map(|v| v.to_bits()).collect(),
        )
    })
}

/// Checks a JSON body's two decoding paths against each other and against the public decoder:
/// where the fast reader accepts a body, its rows (or its error) must be bit-identical to the serde
/// path's; the public result is the fast one when there is one and the serde one otherwise.
pub fn check_json_paths(body: &[u8], names: &[String], limits: &Limits, lines: bool) {
    let (fast, serde) = codec::decode_json_both_paths(body, names, limits, lines);
    let public = if lines {
        codec::decode_jsonlines(body, names, limits)
    } else {
        codec::decode_json(body, names, limits)
    };
    check_rows(&public, names.len(), limits);
    check_rows(&serde, names.len(), limits);
    let shown = || String::from_utf8_lossy(body).into_owned();
    if let Some(fast) = &fast {
        assert_eq!(
            bits(fast),
            bits(&serde),
            "fast and serde paths disagree (lines: {lines}, names: {names:?}) on body {:?}",
            shown()
        );
    }
    let expected = fast.as_ref().unwrap_or(&serde);
    assert_eq!(
        bits(&public),
        bits(expected),
        "the public decoder is not the fast-or-serde result on body {:?}",
        shown()
    );
}
