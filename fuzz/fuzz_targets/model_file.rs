//! Model files: `forest::Model::from_bytes` must never panic, and must not allocate from sizes a
//! header claims but the file does not back. The input is a whole model file, read twice: as is,
//! and with the header's body length and SHA-256 rewritten to match the bytes after the 52-byte
//! header, so that mutations get past the checksum to the metadata and detector parsers. A model
//! that loads must score rows without panicking, and its own bytes must load again and save
//! identically.
#![no_main]

use forest::Model;
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

/// Magic, version, body length, SHA-256 of the body (`forest/src/file.rs`).
const HEADER_LEN: usize = 8 + 4 + 8 + 32;

fn check(bytes: &[u8]) {
    let model = match Model::from_bytes(bytes) {
        Ok(model) => model,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    let d = model.n_features();
    assert_eq!(model.feature_names().len(), d);
    let rows = [
        vec![0.0; d],
        vec![f64::NAN; d],
        (0..d).map(|i| i as f64 * 1e3 - 5.0).collect(),
    ];
    for row in &rows {
        let _ = model.score_row(row);
    }
    let _ = model.score_slice(&rows.concat());
    let saved = model.to_bytes();
    let again = Model::from_bytes(&saved)
        .unwrap_or_else(|e| panic!("a loaded model's own bytes do not load: {e}"));
    assert!(
        again.to_bytes() == saved,
        "saving a reloaded model changes its bytes"
    );
}

fuzz_target!(|data: &[u8]| {
    check(data);
    if data.len() >= HEADER_LEN && data.starts_with(&forest::MAGIC) {
        let mut fixed = data.to_vec();
        let body = &data[HEADER_LEN..];
        fixed[12..20].copy_from_slice(&(body.len() as u64).to_le_bytes());
        fixed[20..HEADER_LEN].copy_from_slice(&Sha256::digest(body));
        if fixed != data {
            check(&fixed);
        }
    }
});
