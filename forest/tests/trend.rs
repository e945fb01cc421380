//! Trend-aware models: scoring APIs agree with each other, context rows are baseline only, and the
//! model file marks trend-aware models so older readers refuse them, and
//! each format version holds exactly what it marks.

mod common;

use forest::ndarray::ArrayView2;
use forest::{
    BASE_FORMAT_VERSION, DetectorParams, FORMAT_VERSION, ForestParams, KMeansParams, Model,
    ModelFileError, TREND_FORMAT_VERSION, TrendSpec,
};

fn forest_params(extension_level: usize) -> DetectorParams {
    DetectorParams::IsolationForest(ForestParams {
        n_trees: 50,
        extension_level,
        seed: 3,
        ..ForestParams::default()
    })
}

fn every_kind() -> Vec<DetectorParams> {
    vec![
        forest_params(0),
        forest_params(2),
        DetectorParams::KMeans(KMeansParams {
            k: 4,
            seed: 3,
            ..KMeansParams::default()
        }),
    ]
}

fn trend_model(params: &DetectorParams) -> Model {
    let (x, _) = common::trending(2000, 3, 60, 11);
    Model::fit_with_trend(
        x.view(),
        vec![],
        params,
        TrendSpec::rolling_median(7).unwrap(),
    )
    .unwrap()
}

#[test]
fn every_batch_api_detrends_the_same_way() {
    let (test, _) = common::trending(3000, 3, 80, 12);
    let flat = test.as_slice().unwrap();
    for params in every_kind() {
        let model = trend_model(&params);
        assert_eq!(model.trend(), Some(TrendSpec::RollingMedian { window: 7 }));
        let batch = model.score_batch(test.view()).unwrap();
        assert_eq!(model.score_batch_parallel(test.view()).unwrap(), batch);
        assert_eq!(model.score_slice(flat).unwrap(), batch);
        assert_eq!(model.score_slice_with_context(flat, 0).unwrap(), batch);
        // A column-major view is read as the same rows.
        let t = test.t().to_owned();
        assert_eq!(model.score_batch(t.t()).unwrap(), batch);
    }
}

#[test]
fn context_rows_are_baseline_only() {
    let (test, _) = common::trending(500, 3, 20, 13);
    let flat = test.as_slice().unwrap();
    let d = 3;
    for params in every_kind() {
        let model = trend_model(&params);
        let whole = model.score_slice(flat).unwrap();
        // Rows 200.. scored with the 7 rows before them as context: same scores as in the whole.
        let piece = &flat[(200 - 7) * d..];
        let scores = model.score_slice_with_context(piece, 7).unwrap();
        assert_eq!(scores, whole[200..]);
        assert_eq!(
            model.score_slice_parallel_with_context(piece, 7).unwrap(),
            scores
        );
        // Without context, the first row of the piece has no baseline and scores differently.
        let bare = model.score_slice(&flat[200 * d..]).unwrap();
        assert_ne!(bare[0], whole[200]);
        assert_eq!(bare[7..], whole[207..]);
        assert!(model.score_slice_with_context(piece, 0).unwrap().len() == piece.len() / d);
        assert!(
            model
                .score_slice_with_context(&flat[..3 * d], 3)
                .unwrap()
                .is_empty()
        );
        let e = model
            .score_slice_with_context(&flat[..3 * d], 4)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid parameter context: 4 context rows requested, the input holds 3 rows"
        );
    }
}

#[test]
fn context_on_a_global_model_only_drops_rows() {
    let (x, _) = common::trending(1000, 3, 30, 14);
    let model = Model::fit(x.view(), vec![], &forest_params(0)).unwrap();
    assert_eq!(model.trend(), None);
    let flat = x.as_slice().unwrap();
    let whole = model.score_slice(flat).unwrap();
    assert_eq!(
        model.score_slice_with_context(flat, 10).unwrap(),
        whole[10..]
    );
}

#[test]
fn a_single_row_is_scored_on_trend_and_nan_stays_missing() {
    let model = trend_model(&forest_params(0));
    let zero = model.score_row(&[0.0, 0.0, 0.0]).unwrap();
    // Whatever its level, a lone row has no baseline: every residual is 0.
    assert_eq!(model.score_row(&[1e6, -3.0, 42.0]).unwrap(), zero);
    assert_eq!(model.score_slice(&[1e6, -3.0, 42.0]).unwrap(), vec![zero]);
    // A NaN value is not replaced by 0: it takes the forest's missing-value path.
    let with_nan = model.score_row(&[f64::NAN, 5.0, 5.0]).unwrap();
    assert!(with_nan.is_finite() && with_nan > 0.0);
    // A spike against its context stands out from the same value on trend.
    let rows = [10.0, 10.0, 10.0, 11.0, 11.0, 11.0, 12.0, 12.0, 12.0];
    let mut spiked = rows;
    spiked[6] = 212.0;
    let calm = model.score_slice_with_context(&rows, 2).unwrap()[0];
    let spike = model.score_slice_with_context(&spiked, 2).unwrap()[0];
    assert!(spike > calm + 0.1, "spike {spike} vs calm {calm}");
}

#[test]
fn trend_aware_files_are_version_3_and_round_trip() {
    for params in every_kind() {
        let model = trend_model(&params);
        let bytes = model.to_bytes();
        assert_eq!(bytes[8..12], FORMAT_VERSION.to_le_bytes());
        assert_eq!(FORMAT_VERSION, 3);
        let back = Model::from_bytes(&bytes).unwrap();
        assert_eq!(back.trend(), model.trend());
        assert_eq!(back.expected_values(), model.expected_values());
        assert_eq!(back.to_bytes(), bytes);
        let (test, _) = common::trending(300, 3, 10, 15);
        assert_eq!(
            back.score_batch(test.view()).unwrap(),
            model.score_batch(test.view()).unwrap()
        );
        let meta = String::from_utf8_lossy(&bytes);
        assert!(meta.contains(r#""trend":{"rolling_median":{"window":7}}"#));
    }
}

/// A model file written before version 3, from the fuzz corpus (written by earlier builds).
fn old_file(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../fuzz/corpus/model_file/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn files_written_before_version_3_still_load_score_and_explain() {
    for (name, version) in [
        ("default.isof", BASE_FORMAT_VERSION),
        ("axis-trend-v2.isof", TREND_FORMAT_VERSION),
    ] {
        let bytes = old_file(name);
        assert_eq!(bytes[8..12], version.to_le_bytes(), "{name}");
        let model = Model::from_bytes(&bytes).unwrap();
        assert_eq!(model.expected_values(), None);
        assert_eq!(model.to_bytes(), bytes, "{name} is written back unchanged");
        let row = vec![1.0; model.n_features()];
        let e = model.explain_slice_with_context(&row, 0).unwrap();
        assert_eq!(e[0].score, model.score_slice(&row).unwrap()[0]);
        assert!(e[0].features.iter().all(|a| a.expected.is_none()));
    }
}

/// Rewrites the version field and fixes nothing else (the checksum covers only the body).
fn with_version(bytes: &[u8], version: u32) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[8..12].copy_from_slice(&version.to_le_bytes());
    b
}

#[test]
fn each_version_holds_exactly_what_it_marks() {
    let (x, _) = common::trending(500, 3, 10, 17);
    let trend = trend_model(&forest_params(0)).to_bytes();
    let plain = Model::fit(x.view(), vec![], &forest_params(0))
        .unwrap()
        .to_bytes();
    assert_eq!(plain[8..12], FORMAT_VERSION.to_le_bytes());
    let cases = [
        (&trend, 1, "a trend in a version 1 file"),
        (&trend, 2, "expected values in a version 2 file"),
        (&plain, 1, "expected values in a version 1 file"),
        (&plain, 2, "version 2 file without a trend"),
    ];
    for (bytes, version, message) in cases {
        let e = Model::from_bytes(&with_version(bytes, version)).unwrap_err();
        assert!(matches!(e, ModelFileError::MetadataInconsistent(_)), "{e}");
        assert!(e.to_string().contains(message), "{e}");
    }
    let old = old_file("default.isof");
    let e = Model::from_bytes(&with_version(&old, 3)).unwrap_err();
    assert!(
        e.to_string()
            .contains("version 3 file without expected values"),
        "{e}"
    );
    let old_trend = old_file("axis-trend-v2.isof");
    let e = Model::from_bytes(&with_version(&old_trend, 1)).unwrap_err();
    assert!(e.to_string().contains("a trend in a version 1 file"), "{e}");
}

#[test]
fn training_hash_is_of_the_raw_rows_and_fit_checks_the_window() {
    let (x, _) = common::trending(300, 2, 10, 18);
    let spec = TrendSpec::rolling_median(5).unwrap();
    let trend = Model::fit_with_trend(x.view(), vec![], &forest_params(0), spec).unwrap();
    let plain = Model::fit(x.view(), vec![], &forest_params(0)).unwrap();
    assert_eq!(
        trend.metadata().training_data_hash,
        plain.metadata().training_data_hash
    );
    assert_eq!(trend.metadata().training_rows, 300);
    let e = Model::fit_with_trend(
        x.view(),
        vec![],
        &forest_params(0),
        TrendSpec::RollingMedian { window: 0 },
    )
    .unwrap_err();
    assert!(e.to_string().contains("trend window"), "{e}");
    let mut bad = x.clone();
    bad[[4, 1]] = f64::NAN;
    let e = Model::fit_with_trend(bad.view(), vec![], &forest_params(0), spec).unwrap_err();
    assert!(e.to_string().contains("row 5, column 2"), "{e}");
}

#[test]
fn trend_aware_forest_finds_spikes_a_global_one_misses() {
    // A random walk drifts far beyond the spikes' size: only the residuals show them.
    use rand::{Rng, SeedableRng};
    let walk = |seed: u64| {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
        let (n, d) = (4000, 3);
        let mut x = vec![0.0; n * d];
        let mut labels = vec![false; n];
        for f in 0..d {
            let mut level = 0.0;
            for r in 0..n {
                level += rng.gen_range(-1.5..1.7);
                x[r * d + f] = level;
            }
            for r in rand::seq::index::sample(&mut rng, n, 150) {
                x[r * d + f] += if rng.r#gen::<bool>() { 80.0 } else { -80.0 };
                labels[r] = true;
            }
        }
        (x, labels)
    };
    let (train, _) = walk(1);
    let (test, labels) = walk(2);
    let view = |x: &[f64]| {
        ArrayView2::from_shape((x.len() / 3, 3), x)
            .unwrap()
            .to_owned()
    };
    let spec = TrendSpec::rolling_median(10).unwrap();
    let trend =
        Model::fit_with_trend(view(&train).view(), vec![], &forest_params(0), spec).unwrap();
    let global = Model::fit(view(&train).view(), vec![], &forest_params(0)).unwrap();
    let auc_trend = forest::metrics::roc_auc(&trend.score_slice(&test).unwrap(), &labels);
    let auc_global = forest::metrics::roc_auc(&global.score_slice(&test).unwrap(), &labels);
    assert!(auc_trend > 0.95, "trend-aware ROC-AUC {auc_trend}");
    assert!(auc_global < 0.8, "global ROC-AUC {auc_global}");
}
