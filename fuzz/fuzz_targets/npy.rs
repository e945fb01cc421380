//! `application/x-npy` bodies: `codec::decode_npy` (with its strict header reader) must never
//! panic, hang or allocate what the data does not back. The input is the whole body, so seeds are
//! npy files as `np.save` writes them; each body is decoded for models of 1, 2, 3 and 5 features
//! (with the default limits and with a row limit of 3).
#![no_main]

use codec::Limits;
use isoserve_fuzz::check_rows;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for width in [1usize, 2, 3, 5] {
        let names: Vec<String> = (1..=width).map(|i| format!("feature_{i}")).collect();
        for limits in [Limits::default(), Limits::with_max_rows(3)] {
            check_rows(&codec::decode_npy(data, &names, &limits), width, &limits);
        }
    }
});
