use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::gains::CTable;
use super::*;
use crate::average_path_length;
use crate::{DetectorParams, ForestParams, KMeansParams, MaxSamples, TrendSpec};

/// `n × d` rows of N(0, 1)-ish noise (uniform sums), with feature `constant` held at 3.0.
fn noise(n: usize, d: usize, seed: u64, constant: Option<usize>) -> Array2<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    Array2::from_shape_fn((n, d), |(_, f)| {
        if Some(f) == constant {
            3.0
        } else {
            (0..4).map(|_| rng.gen_range(-1.0..1.0)).sum::<f64>() * 10.0 + 100.0 * f as f64
        }
    })
}

fn forest(ext: usize, psi: MaxSamples, trees: usize) -> DetectorParams {
    DetectorParams::IsolationForest(ForestParams {
        n_trees: trees,
        max_samples: psi,
        extension_level: ext,
        seed: 9,
        ..Default::default()
    })
}

fn kmeans() -> DetectorParams {
    DetectorParams::KMeans(KMeansParams {
        k: 3,
        seed: 4,
        ..Default::default()
    })
}

fn by_feature(e: &Explanation) -> Vec<FeatureAttribution> {
    let mut v = e.features.clone();
    v.sort_by_key(|a| a.feature);
    v
}

#[test]
fn a_feature_the_forest_never_splits_on_gets_nothing() {
    let data = noise(500, 4, 1, Some(2));
    let model = Model::fit(data.view(), vec![], &forest(0, MaxSamples::Auto, 50)).unwrap();
    let mut probe = noise(200, 4, 2, None);
    probe[[0, 2]] = 1e6; // even a wild value there: no split ever tests it
    let flat: Vec<f64> = probe.iter().copied().collect();
    for e in model.explain_slice_with_context(&flat, 0).unwrap() {
        let f = by_feature(&e);
        assert_eq!(f[2].attribution, 0.0);
        assert_eq!(f[2].contribution, 0.0);
    }
}

#[test]
fn shares_sum_to_one_and_contributions_add_up_to_the_path_length_deficit() {
    let data = noise(600, 3, 3, None);
    let mut probe = noise(300, 3, 4, None);
    for r in 0..30 {
        probe[[r * 10, r % 3]] += if r % 2 == 0 { 90.0 } else { -90.0 };
    }
    let flat: Vec<f64> = probe.iter().copied().collect();
    for params in [
        forest(0, MaxSamples::Auto, 60),
        forest(2, MaxSamples::Auto, 60),
        kmeans(),
    ] {
        let model = Model::fit(data.view(), vec![], &params).unwrap();
        let scores = model.score_slice(&flat).unwrap();
        let explained = model.explain_slice_with_context(&flat, 0).unwrap();
        let parallel = model.explain_slice_parallel_with_context(&flat, 0).unwrap();
        assert_eq!(explained, parallel);
        for (e, &s) in explained.iter().zip(&scores) {
            assert_eq!(e.score.to_bits(), s.to_bits());
            let total: f64 = e.features.iter().map(|a| a.attribution).sum();
            assert!(
                (total - 1.0).abs() < 1e-12,
                "{params:?}: shares sum to {total}"
            );
            assert!(
                e.features
                    .windows(2)
                    .all(|w| w[0].attribution >= w[1].attribution)
            );
            if let DetectorParams::IsolationForest(ForestParams {
                extension_level: 0, ..
            }) = params
            {
                // Σ A_f = c(ψ) − E[h] and s = 2^(−E[h]/c(ψ)). (A hyperplane split may leave a
                // child empty, which reads as one row, so extended forests are off by a little.)
                let c = average_path_length(256);
                let sum: f64 = e.features.iter().map(|a| a.contribution).sum();
                let expected = c * (1.0 + s.log2());
                assert!((sum - expected).abs() < 1e-9, "{sum} vs {expected}");
            }
        }
    }
}

#[test]
fn the_spiked_feature_comes_first_and_its_direction_follows_the_value() {
    let data = noise(2000, 4, 5, None);
    for params in [
        forest(0, MaxSamples::Auto, 100),
        forest(3, MaxSamples::Auto, 100),
        kmeans(),
    ] {
        let model = Model::fit(data.view(), vec![], &params).unwrap();
        let medians = model.expected_values().unwrap().to_vec();
        for f in 0..4 {
            for (delta, direction) in [(120.0, Direction::High), (-120.0, Direction::Low)] {
                let mut row = medians.clone();
                row[f] += delta;
                let e = model.explain_row(&row).unwrap();
                let top = e.features[0];
                assert_eq!(top.feature, f, "{params:?}: {e:?}");
                assert_eq!(top.direction, direction);
                assert_eq!(top.value, row[f]);
                assert!(top.attribution > 0.5, "{params:?}: {e:?}");
                if matches!(params, DetectorParams::IsolationForest(_)) {
                    assert_eq!(top.expected, Some(medians[f]));
                }
            }
        }
    }
}

/// The attribution recomputed from its definition with nothing the library derives: each tree is
/// grown from every training row (ψ = n, no bootstrap), so a node's row count is the number of
/// training rows whose path passes through it, found by walking every row down every tree.
#[test]
fn a_brute_force_recomputation_on_small_forests_matches() {
    let n = 48;
    let data = noise(n, 3, 6, None);
    let model = Model::fit(data.view(), vec![], &forest(0, MaxSamples::Count(n), 7)).unwrap();
    let Detector::Axis(f) = &model.detector else {
        panic!("axis forest")
    };
    let path = |t: &crate::tree::AxisTree, x: &[f64]| -> Vec<(usize, bool)> {
        // (node, went high) for every node after the root.
        let mut out = Vec::new();
        let mut i = 0;
        while t.nodes[i].feature != crate::tree::LEAF {
            let node = &t.nodes[i];
            let low = (x[node.feature as usize] as f32) <= node.threshold;
            let high = !low;
            i = if high { node.right } else { node.left } as usize;
            out.push((i, high));
        }
        out
    };
    let mut probe = noise(40, 3, 7, None);
    probe[[3, 1]] += 80.0;
    for x in probe.rows() {
        let x = x.to_vec();
        let mut contribution = [0.0; 3];
        for t in &f.trees {
            let mut count = vec![0usize; t.nodes.len()];
            count[0] = n;
            for r in data.rows() {
                for (node, _) in path(t, &r.to_vec()) {
                    count[node] += 1;
                }
            }
            let mut parent = 0;
            for (node, _) in path(t, &x) {
                let feature = t.nodes[parent].feature as usize;
                contribution[feature] +=
                    average_path_length(count[parent]) - 1.0 - average_path_length(count[node]);
                parent = node;
            }
        }
        let e = model.explain_row(&x).unwrap();
        for a in by_feature(&e) {
            let brute = contribution[a.feature] / f.trees.len() as f64;
            assert!(
                (a.contribution - brute).abs() < 1e-12,
                "feature {}: {} vs {brute}",
                a.feature,
                a.contribution
            );
        }
    }
}

#[test]
fn leaf_row_counts_are_recovered_from_path_lengths() {
    let table = CTable::new(256);
    for depth in [0, 1, 5, 8] {
        for n in 1..=256 {
            let v = crate::tree::leaf_value(depth, n);
            assert_eq!(table.rows_at_leaf(depth, v), n, "depth {depth}, n {n}");
        }
    }
    // A leaf of 0 rows has the path length of a leaf of 1.
    assert_eq!(table.rows_at_leaf(3, crate::tree::leaf_value(3, 0)), 1);
}

#[test]
fn a_trend_aware_model_explains_the_residual_against_its_baseline() {
    // One feature trends, the other is flat; a spike on the trending one.
    let n = 1500;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(8);
    let mut rows = Vec::with_capacity(n * 2);
    for j in 0..n {
        rows.push(j as f64 * 0.5 + rng.gen_range(-2.0..2.0));
        rows.push(50.0 + rng.gen_range(-2.0..2.0));
    }
    let data = Array2::from_shape_vec((n, 2), rows.clone()).unwrap();
    let model = Model::fit_with_trend(
        data.view(),
        vec![],
        &forest(0, MaxSamples::Auto, 100),
        TrendSpec::rolling_median(9).unwrap(),
    )
    .unwrap();
    let mut seq = rows[..40 * 2].to_vec();
    seq[39 * 2] += 60.0;
    let e = model
        .explain_slice_with_context(&seq, 30)
        .unwrap()
        .pop()
        .unwrap();
    let top = e.features[0];
    assert_eq!((top.feature, top.direction), (0, Direction::High));
    assert_eq!(top.value, seq[39 * 2]);
    // The baseline is the median of the 9 previous values, plus the typical training residual.
    let mut past: Vec<f64> = (30..39).map(|j| seq[j * 2]).collect();
    past.sort_by(f64::total_cmp);
    let expected = past[4] + model.expected_values().unwrap()[0];
    assert!((top.expected.unwrap() - expected).abs() < 1e-9);
    assert!(top.value - top.expected.unwrap() > 55.0);
}

#[test]
fn nan_values_are_explained_with_the_expected_value() {
    let data = noise(500, 3, 10, None);
    let model = Model::fit(data.view(), vec![], &forest(0, MaxSamples::Auto, 30)).unwrap();
    let e = model.explain_row(&[f64::NAN, 100.0, 200.0]).unwrap();
    let total: f64 = e.features.iter().map(|a| a.attribution).sum();
    assert!((total - 1.0).abs() < 1e-12);
    let nan = by_feature(&e)[0];
    assert!(nan.value.is_nan());
    assert_eq!(nan.expected, Some(model.expected_values().unwrap()[0]));
}

#[test]
fn a_model_without_expected_values_takes_directions_from_the_splits() {
    let data = noise(1000, 3, 11, None);
    let mut model = Model::fit(data.view(), vec![], &forest(0, MaxSamples::Auto, 100)).unwrap();
    let medians = model.expected_values().unwrap().to_vec();
    model.metadata.expected_values = None;
    for (delta, direction) in [(150.0, Direction::High), (-150.0, Direction::Low)] {
        let mut row = medians.clone();
        row[1] += delta;
        let top = model.explain_row(&row).unwrap().features[0];
        assert_eq!(
            (top.feature, top.direction, top.expected),
            (1, direction, None)
        );
    }
}

#[test]
fn net_gains_explain_a_row_as_both_sides_do_and_ties_with_the_typical_value_keep_both_sides() {
    let data = noise(600, 4, 5, None);
    let model = Model::fit(data.view(), vec![], &forest(0, MaxSamples::Auto, 50)).unwrap();
    let typical = model
        .expected_values()
        .expect("fitted models record them")
        .to_vec();
    let mut flat: Vec<f64> = noise(200, 4, 6, None).iter().copied().collect();
    // Rows that tie with the typical value: on every feature, and on one feature of a spike.
    flat.extend(&typical);
    flat.extend([typical[0], 90.0, -90.0, 3.0]);
    let explained = model.explain_slice_with_context(&flat, 0).unwrap();
    // The same model without typical values explains every row from both sides' gains.
    let mut sides_only = model.clone();
    sides_only.metadata.expected_values = None;
    let reference = sides_only.explain_slice_with_context(&flat, 0).unwrap();
    for (e, r) in explained.iter().zip(&reference) {
        assert_eq!(e.score.to_bits(), r.score.to_bits());
        for (a, b) in by_feature(e).iter().zip(by_feature(r)) {
            assert!(
                (a.contribution - b.contribution).abs() < 1e-12,
                "{a:?} vs {b:?}"
            );
            assert!(
                (a.attribution - b.attribution).abs() < 1e-12,
                "{a:?} vs {b:?}"
            );
        }
    }
    // A tie takes its direction from the splits, as a model without typical values does.
    let n = explained.len();
    for row in [n - 2, n - 1] {
        let tied = by_feature(&explained[row])[0];
        assert_eq!(tied.direction, by_feature(&reference[row])[0].direction);
    }
}
