//! Model file round trips and damaged files.

use forest::ndarray::Array2;
use forest::{DetectorParams, ForestParams, KMeansParams, Model, ModelFileError};

mod common;

fn models() -> Vec<Model> {
    let data = common::trending(2000, 4, 20, 11).0;
    let forest = |ext| DetectorParams::IsolationForest(ForestParams { extension_level: ext, seed: 5, ..Default::default() });
    vec![
        Model::fit(data.view(), vec![], &forest(0)).unwrap(),
        Model::fit(data.view(), vec![], &forest(3)).unwrap(),
        Model::fit(data.view(), vec![], &DetectorParams::KMeans(KMeansParams { k: 4, seed: 2, ..Default::default() })).unwrap(),
    ]
}

#[test]
fn round_trip_keeps_bytes_and_scores() {
    let probe = common::trending(300, 4, 30, 99).0;
    for m in models() {
        let bytes = m.to_bytes();
        let back = Model::from_bytes(&bytes).unwrap();
        assert_eq!(back.to_bytes(), bytes);
        assert_eq!(back.metadata(), m.metadata());
        assert_eq!(back.score_batch(probe.view()).unwrap(), m.score_batch(probe.view()).unwrap());
    }
}

#[test]
fn save_and_load_through_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.isof");
    let m = &models()[0];
    m.save(&path).unwrap();
    assert_eq!(Model::load(&path).unwrap().to_bytes(), m.to_bytes());
    let missing = Model::load(&dir.path().join("nope.isof")).unwrap_err();
    assert!(matches!(missing, ModelFileError::Io { .. }), "{missing}");
}

#[test]
fn width_mismatch_is_an_error() {
    let m = &models()[0];
    let e = m.score_row(&[1.0, 2.0]).unwrap_err();
    assert!(matches!(e, forest::Error::WidthMismatch { expected: 4, found: 2, .. }), "{e}");
    let wide = Array2::<f64>::zeros((3, 5));
    assert!(m.score_batch(wide.view()).is_err());
    assert!(m.score_batch_parallel(wide.view()).is_err());
    assert!(m.score_slice(&[0.0; 9]).is_err());
}
