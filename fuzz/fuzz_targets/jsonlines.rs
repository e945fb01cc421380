//! `application/jsonlines` bodies: `codec::decode_jsonlines` must never panic and, as for JSON,
//! its fast line reader must agree bit for bit with the serde path wherever it accepts. Input: a
//! selector byte (feature names and row limit, see the crate docs), then the body.
#![no_main]

use isoserve_fuzz::{check_json_paths, limits, names};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    check_json_paths(body, &names(sel), &limits(sel), true);
});
