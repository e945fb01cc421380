//! scikit-learn import and the scoring rules, on a hand-written export whose scores are computed by
//! hand: f32 cast, `<=` goes left, NaN follows `missing_go_to_left`, leaf = depth + c(n), s = 2^(-h/c(ψ)).

use forest::{Model, average_path_length};

/// One tree over 2 features, ψ = 4:
/// node 0: x0 <= 0.1 ? node 1 : node 2      (NaN goes right)
/// node 1: leaf, 1 sample                   h = 1 + c(1) = 1
/// node 2: x1 <= 2.0 ? node 3 : node 4      (NaN goes left)
/// node 3: leaf, 2 samples                  h = 2 + c(2) = 3
/// node 4: leaf, 1 sample                   h = 2 + c(1) = 2
const ONE_TREE: &str = r#"{
  "format": "sklearn-isolation-forest", "version": 1, "sklearn_version": "1.9.1",
  "n_features_in": 2, "feature_names_in": ["a", "b"], "max_samples": 4, "offset": -0.6,
  "contamination": 0.1, "bootstrap": false, "n_estimators": 1, "max_features_subsampled": false,
  "estimators_features": [[0, 1]],
  "trees": [{
    "children_left":  [1, -1, 3, -1, -1],
    "children_right": [2, -1, 4, -1, -1],
    "feature":        [0, -2, 1, -2, -2],
    "threshold":      [0.1, -2.0, 2.0, -2.0, -2.0],
    "n_node_samples": [4, 1, 3, 2, 1],
    "missing_go_to_left": [0, 0, 1, 0, 0]
  }]
}"#;

fn s(h: f64) -> f64 {
    (-h / average_path_length(4)).exp2()
}

#[test]
fn hand_computed_scores_follow_sklearn_rules() {
    let m = Model::from_sklearn_json(ONE_TREE).unwrap();
    assert_eq!(m.feature_names(), ["a", "b"]);
    assert_eq!(m.threshold(), 0.6);
    let cases: [([f64; 2], f64); 9] = [
        ([0.0, 0.0], 1.0),
        // (float32)0.1 = 0.10000000149 > 0.1: scikit-learn sends it right.
        ([0.1, 0.0], 3.0),
        ([0.099_999_999, 0.0], 3.0), // rounds to (float32)0.1 as well
        ([0.099_999_9, 0.0], 1.0),
        ([0.5, 2.0], 3.0),
        ([0.5, 2.000_000_01], 3.0), // rounds to 2.0f32, which is <= 2.0
        ([0.5, 2.1], 2.0),
        ([f64::NAN, 5.0], 2.0), // NaN at node 0 goes right, then x1 > 2
        ([0.5, f64::NAN], 3.0), // NaN at node 2 goes left
    ];
    for (row, h) in cases {
        let got = m.score_row(&row).unwrap();
        assert!((got - s(h)).abs() < 1e-15, "{row:?}: {got} vs {}", s(h));
    }
    // The batch path (perfect layout + NaN rows on the general path) agrees bit for bit.
    let flat: Vec<f64> = cases.iter().flat_map(|(r, _)| *r).collect();
    let batch = m.score_slice(&flat).unwrap();
    let rows: Vec<f64> = cases.iter().map(|(r, _)| m.score_row(r).unwrap()).collect();
    assert_eq!(batch, rows);
    // threshold = -offset = 0.6; s(1) = 0.687 is an anomaly, s(3) = 0.325 is not.
    assert!(m.is_anomaly(s(1.0)) && !m.is_anomaly(s(3.0)));
}

#[test]
fn subsampled_features_map_to_global_columns() {
    // Two single-split trees over 3 features; tree 1 sees only features [2, 0], so its local
    // feature 0 is global feature 2.
    let json = r#"{
      "format": "sklearn-isolation-forest", "version": 1, "sklearn_version": "1.9.1",
      "n_features_in": 3, "feature_names_in": null, "max_samples": 2, "offset": -0.5,
      "contamination": "auto", "bootstrap": true, "n_estimators": 2, "max_features_subsampled": true,
      "estimators_features": [[0, 1, 2], [2, 0]],
      "trees": [
        {"children_left": [1, -1, -1], "children_right": [2, -1, -1], "feature": [1, -2, -2],
         "threshold": [0.0, -2, -2], "n_node_samples": [2, 1, 1], "missing_go_to_left": [true, false, false]},
        {"children_left": [1, -1, -1], "children_right": [2, -1, -1], "feature": [0, -2, -2],
         "threshold": [0.0, -2, -2], "n_node_samples": [2, 2, 0], "missing_go_to_left": [1, 0, 0]}
      ]
    }"#;
    let m = forest::sklearn::import_json(json).unwrap();
    assert_eq!(m.feature_names(), ["feature_1", "feature_2", "feature_3"]);
    // c(2) = 1. Tree 0 on x1: leaf n=1 at depth 1 -> 1 either way. Tree 1 on x2: left leaf
    // n=2 -> 1 + c(2) = 2, right leaf n=0 -> 1.
    let score = |row: [f64; 3]| m.score_row(&row).unwrap();
    assert_eq!(score([9.0, 9.0, -1.0]), (-(1.0 + 2.0) / 2.0f64).exp2());
    assert_eq!(score([-9.0, -9.0, 1.0]), (-(1.0 + 1.0) / 2.0f64).exp2());
}

#[test]
fn malformed_exports_are_named_errors() {
    let bad = [
        (
            ONE_TREE.replace("\"version\": 1", "\"version\": 7"),
            "interchange version 7",
        ),
        (
            ONE_TREE.replace("sklearn-isolation-forest", "other"),
            "format is \"other\"",
        ),
        (
            ONE_TREE.replace("[2, -1, 4, -1, -1]", "[2, -1, 1, -1, -1]"),
            "out of order",
        ),
        (
            ONE_TREE.replace("[0, -2, 1, -2, -2]", "[0, -2, 5, -2, -2]"),
            "feature 5 >= n_features_in 2",
        ),
        (
            ONE_TREE.replace("\"n_estimators\": 1", "\"n_estimators\": 2"),
            "n_estimators is 2",
        ),
        (
            ONE_TREE.replace("\"contamination\": 0.1", "\"contamination\": 0.7"),
            "contamination 0.7",
        ),
        ("{".to_string(), "not valid interchange JSON"),
    ];
    for (json, want) in bad {
        let e = forest::sklearn::import_json(&json).unwrap_err().to_string();
        assert!(e.contains(want), "{e:?} should mention {want:?}");
    }
}

#[test]
fn a_huge_feature_count_without_names_is_refused_before_allocating() {
    // Found by the sklearn_import fuzz target: 10^12 features and no names made the import
    // allocate 10^12 generated names.
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sklearn-huge-n-features.json"
    ))
    .unwrap();
    let err = forest::sklearn::import_json(&text).unwrap_err().to_string();
    assert!(
        err.contains("n_features_in 1000000000000 is above the 100000 features"),
        "{err}"
    );
}
