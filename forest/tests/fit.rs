//! Fitting: c(n), hand-computed forests, thresholds, parameter validation, reproducibility.

use forest::ndarray::{Array2, array};
use forest::{
    Contamination, DetectorParams, Error, ForestParams, KMeansParams, MaxSamples, Model,
    average_path_length,
};

mod common;

fn iforest(p: ForestParams) -> DetectorParams {
    DetectorParams::IsolationForest(p)
}

#[test]
fn average_path_length_matches_sklearn() {
    assert_eq!(average_path_length(0), 0.0);
    assert_eq!(average_path_length(1), 0.0);
    assert_eq!(average_path_length(2), 1.0);
    // 2(ln 2 + γ) − 4/3 and scikit-learn's c(256).
    assert!((average_path_length(3) - 1.207_392_357_589_623).abs() < 1e-15);
    assert!((average_path_length(256) - 10.244_770_920_119_917).abs() < 1e-13);
}

#[test]
fn two_rows_give_one_split_and_score_one_half() {
    // ψ = 2: depth limit ceil(log2 2) = 1, one split, two leaves of 1 row at depth 1: h = 1 for any
    // row, c(2) = 1, so s = 2^-1.
    let data = array![[0.0, 5.0], [1.0, 5.0]];
    let m = Model::fit(
        data.view(),
        vec![],
        &iforest(ForestParams {
            n_trees: 7,
            ..Default::default()
        }),
    )
    .unwrap();
    for row in [[0.0, 5.0], [0.5, -3.0], [1e9, 0.0]] {
        assert_eq!(m.score_row(&row).unwrap(), 0.5);
    }
}

#[test]
fn constant_data_gives_root_leaves() {
    // Every feature constant: each tree is one leaf holding ψ rows, h = c(ψ), s = 2^-1 (up to the
    // rounding of scikit-learn's `(depth + 1) + c(n) - 1`).
    let half = |s: f64| (s - 0.5).abs() < 1e-15;
    let data = Array2::from_elem((50, 3), 4.25);
    let m = Model::fit(data.view(), vec![], &iforest(ForestParams::default())).unwrap();
    assert!(half(m.score_row(&[0.0, 100.0, -1.0]).unwrap()));
    // Features varying by less than 1e-7 count as constant too (scikit-learn's FEATURE_THRESHOLD).
    let mut tiny = Array2::from_elem((50, 1), 1.0);
    tiny[[3, 0]] = 1.0 + 5e-8;
    let m = Model::fit(tiny.view(), vec![], &iforest(ForestParams::default())).unwrap();
    assert!(half(m.score_row(&[7.0]).unwrap()));
}

#[test]
fn outlier_scores_higher_and_default_threshold_is_half() {
    let (data, _) = common::trending(2000, 3, 0, 3);
    let m = Model::fit(
        data.view(),
        vec!["a".into(), "b".into(), "c".into()],
        &iforest(ForestParams::default()),
    )
    .unwrap();
    assert_eq!(m.threshold(), 0.5);
    let inlier = m.score_row(&[50.0, 60.0, 70.0]).unwrap();
    let outlier = m.score_row(&[50.0, 400.0, 70.0]).unwrap();
    assert!(
        outlier > 0.6 && inlier < 0.5 && m.is_anomaly(outlier),
        "{inlier} {outlier}"
    );
    let meta = m.metadata();
    assert_eq!(
        (meta.n_features, meta.training_rows, meta.sample_size),
        (3, 2000, Some(256))
    );
    assert_eq!(meta.training_data_hash.len(), 64);
    assert_eq!(meta.tool_version, env!("CARGO_PKG_VERSION"));
}

#[test]
fn contamination_threshold_flags_that_share_of_training_rows() {
    let (data, _) = common::trending(1000, 4, 30, 8);
    for c in [0.01, 0.1, 0.25] {
        let p = iforest(ForestParams {
            contamination: Contamination::Fraction(c),
            seed: 1,
            ..Default::default()
        });
        let m = Model::fit(data.view(), vec![], &p).unwrap();
        let flagged = m
            .score_batch(data.view())
            .unwrap()
            .iter()
            .filter(|&&s| m.is_anomaly(s))
            .count();
        // percentile at 100c over 1000 distinct scores lies strictly between ranks, so exactly
        // ceil(999c) rows are above it.
        assert_eq!(flagged, (999.0 * c).ceil() as usize, "contamination {c}");
    }
}

#[test]
fn max_samples_resolution() {
    let (data, _) = common::trending(1000, 2, 0, 1);
    for (ms, psi) in [
        (MaxSamples::Auto, 256),
        (MaxSamples::Count(5000), 1000),
        (MaxSamples::Count(10), 10),
        (MaxSamples::Fraction(0.5), 500),
    ] {
        let m = Model::fit(
            data.view(),
            vec![],
            &iforest(ForestParams {
                max_samples: ms,
                n_trees: 3,
                ..Default::default()
            }),
        )
        .unwrap();
        assert_eq!(m.metadata().sample_size, Some(psi), "{ms:?}");
    }
    // Bootstrap fits and differs from sampling without replacement.
    let a = Model::fit(
        data.view(),
        vec![],
        &iforest(ForestParams {
            bootstrap: true,
            ..Default::default()
        }),
    )
    .unwrap();
    let b = Model::fit(data.view(), vec![], &iforest(ForestParams::default())).unwrap();
    assert_ne!(
        a.score_row(&[1.0, 2.0]).unwrap(),
        b.score_row(&[1.0, 2.0]).unwrap()
    );
}

#[test]
fn invalid_parameters_and_data_are_named() {
    let data = array![[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]];
    let bad = [
        (
            ForestParams {
                n_trees: 0,
                ..Default::default()
            },
            "n_trees",
        ),
        (
            ForestParams {
                contamination: Contamination::Fraction(0.6),
                ..Default::default()
            },
            "contamination",
        ),
        (
            ForestParams {
                contamination: Contamination::Fraction(0.0),
                ..Default::default()
            },
            "contamination",
        ),
        (
            ForestParams {
                extension_level: 2,
                ..Default::default()
            },
            "extension_level",
        ),
        (
            ForestParams {
                max_samples: MaxSamples::Fraction(1.5),
                ..Default::default()
            },
            "max_samples",
        ),
        (
            ForestParams {
                max_samples: MaxSamples::Count(0),
                ..Default::default()
            },
            "max_samples",
        ),
    ];
    for (p, name) in bad {
        match Model::fit(data.view(), vec![], &iforest(p)) {
            Err(Error::InvalidParameter { name: n, .. }) => assert_eq!(n, name),
            other => panic!("{name}: {other:?}"),
        }
    }
    let km = DetectorParams::KMeans(KMeansParams {
        k: 4,
        ..Default::default()
    });
    assert!(matches!(
        Model::fit(data.view(), vec![], &km),
        Err(Error::InvalidParameter { name: "k", .. })
    ));
    let mut nan = data.clone();
    nan[[2, 1]] = f64::NAN;
    let e = Model::fit(nan.view(), vec![], &DetectorParams::default()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NonFiniteTrainingValue {
                row: 3,
                column: 2,
                ..
            }
        ),
        "{e}"
    );
    let empty = Array2::<f64>::zeros((0, 2));
    assert!(matches!(
        Model::fit(empty.view(), vec![], &DetectorParams::default()),
        Err(Error::EmptyData { .. })
    ));
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(matches!(
        Model::fit(data.view(), names(&["a"]), &DetectorParams::default()),
        Err(Error::FeatureNames(_))
    ));
    assert!(matches!(
        Model::fit(data.view(), names(&["a", "a"]), &DetectorParams::default()),
        Err(Error::FeatureNames(_))
    ));
}

#[test]
fn same_seed_same_bytes_whatever_the_thread_count() {
    let (data, _) = common::trending(3000, 5, 40, 21);
    for ext in [0, 4] {
        let p = iforest(ForestParams {
            extension_level: ext,
            seed: 77,
            ..Default::default()
        });
        let fit_with = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| Model::fit(data.view(), vec![], &p).unwrap().to_bytes())
        };
        let one = fit_with(1);
        assert_eq!(one, fit_with(4), "extension level {ext}");
        let other_seed = iforest(ForestParams {
            extension_level: ext,
            seed: 78,
            ..Default::default()
        });
        assert_ne!(
            one,
            Model::fit(data.view(), vec![], &other_seed)
                .unwrap()
                .to_bytes()
        );
    }
}

#[test]
fn kmeans_scores_distance_against_threshold() {
    let (data, _) = common::trending(1500, 3, 20, 4);
    let p = DetectorParams::KMeans(KMeansParams {
        k: 5,
        contamination: 0.05,
        seed: 9,
        max_iter: 100,
    });
    let m = Model::fit(data.view(), vec![], &p).unwrap();
    assert_eq!(m.threshold(), 0.5);
    let scores = m.score_batch(data.view()).unwrap();
    assert!(scores.iter().all(|s| (0.0..1.0).contains(s)));
    let share = scores.iter().filter(|&&s| m.is_anomaly(s)).count() as f64 / scores.len() as f64;
    assert!((share - 0.05).abs() < 0.002, "{share}");
    assert!(m.is_anomaly(m.score_row(&[50.0, 1000.0, 70.0]).unwrap()));
    // Same seed, same model; k-means fitting is reproducible too.
    assert_eq!(
        Model::fit(data.view(), vec![], &p).unwrap().to_bytes(),
        m.to_bytes()
    );
}
