//! Model file round trips and damaged files.

use forest::ndarray::Array2;
use forest::{DetectorParams, ForestParams, KMeansParams, Model, ModelFileError};

mod common;

fn models() -> Vec<Model> {
    let data = common::trending(2000, 4, 20, 11).0;
    let forest = |ext| {
        DetectorParams::IsolationForest(ForestParams {
            extension_level: ext,
            seed: 5,
            ..Default::default()
        })
    };
    vec![
        Model::fit(data.view(), vec![], &forest(0)).unwrap(),
        Model::fit(data.view(), vec![], &forest(3)).unwrap(),
        Model::fit(
            data.view(),
            vec![],
            &DetectorParams::KMeans(KMeansParams {
                k: 4,
                seed: 2,
                ..Default::default()
            }),
        )
        .unwrap(),
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
        assert_eq!(
            back.score_batch(probe.view()).unwrap(),
            m.score_batch(probe.view()).unwrap()
        );
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
    assert!(
        matches!(
            e,
            forest::Error::WidthMismatch {
                expected: 4,
                found: 2,
                ..
            }
        ),
        "{e}"
    );
    let wide = Array2::<f64>::zeros((3, 5));
    assert!(m.score_batch(wide.view()).is_err());
    assert!(m.score_batch_parallel(wide.view()).is_err());
    assert!(m.score_slice(&[0.0; 9]).is_err());
}

/// Rewrites the body's checksum after an edit, so the damage under test is the only problem.
fn reseal(bytes: &mut [u8]) {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(&bytes[52..]);
    bytes[20..52].copy_from_slice(&digest);
}

#[test]
fn damaged_files_name_the_problem() {
    let good = models()[0].to_bytes();

    let cut = &good[..good.len() - 10];
    match Model::from_bytes(cut) {
        Err(ModelFileError::Truncated { expected, found }) => {
            assert_eq!((expected, found), (good.len(), good.len() - 10))
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        Model::from_bytes(&good[..30]),
        Err(ModelFileError::Truncated {
            expected: 52,
            found: 30
        })
    ));

    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x01;
    assert!(matches!(
        Model::from_bytes(&flipped),
        Err(ModelFileError::ChecksumMismatch { .. })
    ));

    let mut version = good.clone();
    version[8..12].copy_from_slice(&4u32.to_le_bytes());
    let e = Model::from_bytes(&version).unwrap_err();
    assert!(
        matches!(
            e,
            ModelFileError::UnsupportedVersion {
                found: 4,
                supported: 3
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "unsupported model format version 4 (this build reads versions 1 to 3)"
    );

    let mut magic = good.clone();
    magic[1] = b'X';
    assert!(matches!(
        Model::from_bytes(&magic),
        Err(ModelFileError::NotAModelFile)
    ));
    assert!(matches!(
        Model::from_bytes(b"feature_1,feature_2\n1,2\n"),
        Err(ModelFileError::NotAModelFile)
    ));

    let mut kind = good.clone();
    kind[52..56].copy_from_slice(&9u32.to_le_bytes());
    reseal(&mut kind);
    assert!(matches!(
        Model::from_bytes(&kind),
        Err(ModelFileError::UnknownDetectorKind(9))
    ));

    // A k-means payload under isolation-forest metadata.
    let km = models()[2].to_bytes();
    let mut wrong_kind = good.clone();
    wrong_kind[52..56].copy_from_slice(&km[52..56]);
    reseal(&mut wrong_kind);
    let e = Model::from_bytes(&wrong_kind).unwrap_err();
    assert!(matches!(e, ModelFileError::MetadataInconsistent(_)), "{e}");

    // Metadata claiming another feature count than the trees use.
    let needle = b"\"n_features\":4";
    let at = good
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("metadata holds n_features");
    let mut meta = good.clone();
    meta[at + needle.len() - 1] = b'3';
    reseal(&mut meta);
    let e = Model::from_bytes(&meta).unwrap_err();
    assert!(
        e.to_string()
            .contains("payload has 4 features, metadata n_features 3"),
        "{e}"
    );
}

/// Why the model file `tests/fixtures/<name>` does not load.
fn fixture_error(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    Model::from_bytes(&bytes).unwrap_err().to_string()
}

#[test]
fn a_tree_whose_node_has_two_parents_is_refused() {
    // Found by the model_file fuzz target: a sealed file whose tree is a DAG (node 5 is a child
    // of nodes 2 and 3). Its depth was under-counted and the layout indexed past its end.
    let err = fixture_error("two-parents.isof");
    assert!(err.contains("node 5 has two parents"), "{err}");
}

#[test]
fn a_payload_claiming_more_features_than_its_metadata_is_refused_before_use() {
    // Found by the model_file fuzz target: metadata for 2 features, a payload claiming 2^64 - 2046.
    // The vector layout sized a table by that count before the metadata was compared with it.
    let err = fixture_error("huge-feature-count.isof");
    assert!(
        err.contains("payload has 18446744073709549570 features, metadata n_features 2"),
        "{err}"
    );
}
