//! Property tests: any finite or NaN input scores without panicking, in range, and every scoring
//! path (one row, batch, parallel batch, every walk kernel this CPU runs) gives the same bits.

use std::sync::OnceLock;

use forest::{DetectorParams, ForestParams, KMeansParams, Kernel, Model};
use proptest::prelude::*;

mod common;

const D: usize = 4;

fn models() -> &'static [Model] {
    static MODELS: OnceLock<Vec<Model>> = OnceLock::new();
    MODELS.get_or_init(|| {
        let data = common::trending(1000, D, 20, 5).0;
        let forest = |ext| {
            DetectorParams::IsolationForest(ForestParams {
                extension_level: ext,
                seed: 3,
                ..Default::default()
            })
        };
        vec![
            Model::fit(data.view(), vec![], &forest(0)).unwrap(),
            Model::fit(data.view(), vec![], &forest(D - 1)).unwrap(),
            Model::fit(
                data.view(),
                vec![],
                &DetectorParams::KMeans(KMeansParams {
                    k: 3,
                    ..Default::default()
                }),
            )
            .unwrap(),
        ]
    })
}

/// The axis-parallel forest of [`models`] once per kernel this CPU runs, scalar first.
fn kernel_models() -> &'static [(Kernel, Model)] {
    static MODELS: OnceLock<Vec<(Kernel, Model)>> = OnceLock::new();
    MODELS.get_or_init(|| {
        Kernel::ALL
            .into_iter()
            .filter_map(|k| {
                let mut m = models()[0].clone();
                (m.use_kernel(k) == Some(k)).then_some((k, m))
            })
            .collect()
    })
}

/// Finite values of every magnitude, NaN and infinities.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -300.0..400.0f64,
        2 => proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn scores_in_range_and_paths_agree(rows in proptest::collection::vec(proptest::collection::vec(value(), D), 1..40)) {
        let flat: Vec<f64> = rows.concat();
        let matrix = forest::ndarray::ArrayView2::from_shape((rows.len(), D), &flat).unwrap();
        for (k, m) in models().iter().enumerate() {
            let one: Vec<f64> = rows.iter().map(|r| m.score_row(r).unwrap()).collect();
            for &s in &one {
                if k < 2 {
                    prop_assert!(s > 0.0 && s <= 1.0, "forest score {}", s);
                } else {
                    prop_assert!((0.0..1.0).contains(&s), "k-means score {}", s);
                }
            }
            prop_assert_eq!(&m.score_batch(matrix).unwrap(), &one);
            prop_assert_eq!(&m.score_batch_parallel(matrix).unwrap(), &one);
            prop_assert_eq!(&m.score_slice(&flat).unwrap(), &one);
        }
    }

    #[test]
    fn every_kernel_scores_the_same_bits(rows in proptest::collection::vec(proptest::collection::vec(value(), D), 1..300)) {
        let flat: Vec<f64> = rows.concat();
        let (scalar, rest) = kernel_models().split_first().unwrap();
        prop_assert_eq!(scalar.0, Kernel::Scalar);
        let want = scalar.1.score_slice(&flat).unwrap();
        for (kernel, m) in rest {
            prop_assert_eq!(&m.score_slice(&flat).unwrap(), &want, "kernel {}", kernel);
            for (row, s) in rows.iter().zip(&want) {
                prop_assert_eq!(m.score_row(row).unwrap(), *s);
            }
        }
    }

    #[test]
    fn any_width_is_checked(width in 0usize..12) {
        let row = vec![1.0; width];
        for m in models() {
            prop_assert_eq!(m.score_row(&row).is_ok(), width == D);
        }
    }
}

#[test]
fn large_batch_paths_agree() {
    // More rows than one scoring block and one parallel chunk, some with NaN.
    let (mut data, _) = common::trending(5000, D, 50, 6);
    for r in (0..5000).step_by(37) {
        data[[r, r % D]] = f64::NAN;
    }
    let strided = data.t();
    for m in models() {
        let batch = m.score_batch(data.view()).unwrap();
        let rows: Vec<f64> = data
            .rows()
            .into_iter()
            .map(|r| m.score_row(&r.to_vec()).unwrap())
            .collect();
        assert_eq!(batch, rows);
        assert_eq!(m.score_batch_parallel(data.view()).unwrap(), rows);
        // A non-contiguous view is scored the same.
        assert_eq!(m.score_batch(strided.t()).unwrap(), rows);
    }
}
