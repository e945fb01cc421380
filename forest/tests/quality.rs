//! Detection quality on generated trending data with spikes, scored on data generated with a
//! different seed than the training data, side by side with the `extended-isolation-forest` crate
//! on the same data. It has no seeding, so both sides are averaged over several fits.

use extended_isolation_forest::{Forest, ForestOptions};
use forest::metrics::roc_auc;
use forest::{DetectorParams, ForestParams, Model};

mod common;

const D: usize = 5;
const FITS: u64 = 6;

fn ours(
    train: &forest::ndarray::Array2<f64>,
    test: &forest::ndarray::Array2<f64>,
    labels: &[bool],
    ext: usize,
) -> f64 {
    let mut total = 0.0;
    for seed in 0..FITS {
        let p = DetectorParams::IsolationForest(ForestParams {
            extension_level: ext,
            seed: 1000 + seed,
            ..Default::default()
        });
        let m = Model::fit(train.view(), vec![], &p).unwrap();
        total += roc_auc(&m.score_batch(test.view()).unwrap(), labels);
    }
    total / FITS as f64
}

fn theirs(
    train: &forest::ndarray::Array2<f64>,
    test: &forest::ndarray::Array2<f64>,
    labels: &[bool],
    ext: usize,
) -> f64 {
    let rows = |a: &forest::ndarray::Array2<f64>| -> Vec<[f64; D]> {
        a.rows()
            .into_iter()
            .map(|r| std::array::from_fn(|i| r[i]))
            .collect()
    };
    let (train, test) = (rows(train), rows(test));
    let options = ForestOptions {
        n_trees: 100,
        sample_size: 256,
        max_tree_depth: None,
        extension_level: ext,
    };
    let mut total = 0.0;
    for _ in 0..FITS {
        let f = Forest::<f64, D>::from_slice(&train, &options).unwrap();
        let scores: Vec<f64> = test.iter().map(|r| f.score(r)).collect();
        total += roc_auc(&scores, labels);
    }
    total / FITS as f64
}

#[test]
fn roc_auc_not_worse_than_extended_isolation_forest() {
    let (train, _) = common::trending(10_000, D, 500, 42);
    let (test, labels) = common::trending(10_000, D, 500, 4242);
    for ext in [0, D - 1] {
        let (a, b) = (
            ours(&train, &test, &labels, ext),
            theirs(&train, &test, &labels, ext),
        );
        eprintln!("extension level {ext}: ours {a:.4}, extended-isolation-forest {b:.4}");
        assert!(
            a > 0.8,
            "extension level {ext}: ROC-AUC {a} is too low to be a working detector"
        );
        assert!(
            a >= b - 0.01,
            "extension level {ext}: ours {a:.4} vs extended-isolation-forest {b:.4}"
        );
    }
}
