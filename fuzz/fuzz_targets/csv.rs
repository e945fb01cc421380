//! `text/csv` bodies: `codec::decode_csv` must never panic, and what it returns must be
//! well-formed (see `check_rows`). Input: a selector byte (feature names and row limit, see the
//! crate docs), then the body.
#![no_main]

use isoserve_fuzz::{check_rows, limits, names};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let (names, limits) = (names(sel), limits(sel));
    check_rows(
        &codec::decode_csv(body, &names, &limits),
        names.len(),
        &limits,
    );
});
