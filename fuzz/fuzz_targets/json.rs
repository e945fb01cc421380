//! `application/json` bodies, differentially: where the fast single-pass reader accepts a body,
//! its rows must be bit-identical (`f64::to_bits`, NaN included) to the serde path's, and
//! `codec::decode_json` must return the fast result or else the serde one. Neither path may
//! panic. Input: a selector byte (feature names and row limit, see the crate docs), then the body.
#![no_main]

use isoserve_fuzz::{check_json_paths, limits, names};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    check_json_paths(body, &names(sel), &limits(sel), false);
});
