//! scikit-learn interchange JSON: `forest::sklearn::import_json` must never panic, and must not
//! allocate from sizes the document claims but does not back. A model it accepts must score rows
//! without panicking and must survive what `trainer import-sklearn` does with it: save to bytes
//! that `Model::from_bytes` loads and that save identically again. The input is the JSON text
//! (inputs that are not UTF-8 are skipped).
#![no_main]

use forest::Model;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let model = match forest::sklearn::import_json(text) {
        Ok(model) => model,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    let d = model.n_features();
    assert_eq!(model.feature_names().len(), d);
    for row in [vec![0.0; d], vec![f64::NAN; d], vec![1e30; d]] {
        let score = model
            .score_row(&row)
            .unwrap_or_else(|e| panic!("an imported model cannot score a row: {e}"));
        assert!(score.is_finite(), "score {score}");
    }
    let saved = model.to_bytes();
    let loaded = Model::from_bytes(&saved)
        .unwrap_or_else(|e| panic!("an imported model does not load back from its bytes: {e}"));
    assert!(
        loaded.to_bytes() == saved,
        "an imported model does not save identically"
    );
});
