//! `trainer train --group-by`: one model per entity, each fitted on exactly its own rows.

use std::fmt::Write as _;

use forest::{DetectorParams, ForestParams, Model};

mod common;

use common::{stdout_json, trainer};

/// Deterministic values in [-1, 1).
fn noise(n: usize, seed: u64) -> Vec<f64> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

/// Devices at different operating points, interleaved in time as a fleet's stream is.
const DEVICES: [(&str, f64, usize); 5] = [
    ("pump-1", 10.0, 400),
    ("pump-2", 50.0, 300),
    ("7", 90.0, 200),
    ("tiny", 0.0, 20),
    ("bad/name", 0.0, 200),
];

#[test]
fn one_model_per_device_fitted_on_its_own_rows_with_the_rest_reported() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fleet.csv");
    let mut text = String::from("timestamp,device,temperature,pressure\n");
    let mut rows: Vec<Vec<Vec<f64>>> = vec![Vec::new(); DEVICES.len()];
    let most = DEVICES.iter().map(|d| d.2).max().unwrap();
    for i in 0..most {
        for (k, (name, level, count)) in DEVICES.iter().enumerate() {
            if i < *count {
                let v = noise(2, (i * 10 + k) as u64 + 1);
                let row = vec![level + v[0], level / 2.0 + v[1]];
                writeln!(text, "t{i},{name},{},{}", row[0], row[1]).unwrap();
                rows[k].push(row);
            }
        }
    }
    std::fs::write(&data, text).unwrap();
    let out = dir.path().join("models");
    let manifest = stdout_json(
        trainer()
            .args([
                "train",
                "--group-by",
                "device",
                "--trees",
                "30",
                "--seed",
                "4",
                "--json",
            ])
            .arg(&data)
            .arg("--out")
            .arg(&out),
    );
    assert_eq!(manifest["group_by"], "device");
    assert_eq!(
        manifest["features"],
        serde_json::json!(["temperature", "pressure"])
    );
    let entities: Vec<&str> = manifest["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["entity"].as_str().unwrap())
        .collect();
    assert_eq!(entities, ["7", "pump-1", "pump-2"]);
    let skipped = manifest["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 2);
    assert_eq!(skipped[0]["entity"], "bad/name");
    assert!(
        skipped[0]["reason"].as_str().unwrap().contains("'/'"),
        "{skipped:?}"
    );
    assert_eq!(skipped[1]["entity"], "tiny");
    assert_eq!(skipped[1]["rows"], 20);
    assert!(
        skipped[1]["reason"]
            .as_str()
            .unwrap()
            .contains("--min-rows 100")
    );
    let on_disk: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(on_disk, manifest);
    assert!(!out.join("tiny.isof").exists() && !out.join("bad").exists());

    let params = DetectorParams::IsolationForest(ForestParams {
        n_trees: 30,
        seed: 4,
        ..ForestParams::default()
    });
    let names = vec!["temperature".to_owned(), "pressure".to_owned()];
    for m in manifest["models"].as_array().unwrap() {
        let k = DEVICES
            .iter()
            .position(|d| d.0 == m["entity"].as_str().unwrap())
            .unwrap();
        assert_eq!(m["file"], format!("{}.isof", DEVICES[k].0));
        assert_eq!(m["rows"], DEVICES[k].2);
        let model = Model::load(&out.join(m["file"].as_str().unwrap())).unwrap();
        assert_eq!(m["threshold"], model.threshold());
        // Exactly the model of this device's rows, in file order: nothing merged, nothing lost.
        let flat: Vec<f64> = rows[k].iter().flatten().copied().collect();
        let view = forest::ndarray::ArrayView2::from_shape((rows[k].len(), 2), &flat).unwrap();
        let alone = Model::fit(view, names.clone(), &params).unwrap();
        assert_eq!(
            model.score_batch(view).unwrap(),
            alone.score_batch(view).unwrap()
        );
        // What is normal for another device is an anomaly for this one.
        let other = &rows[(k + 1) % 3][0];
        assert!(
            model.is_anomaly(model.score_row(other).unwrap()),
            "{other:?} on {k}"
        );
    }

    // The text summary names what was skipped; --min-rows lets the small device in.
    let out2 = dir.path().join("models2");
    let text = trainer()
        .args([
            "train",
            "--group-by",
            "device",
            "--trees",
            "10",
            "--min-rows",
            "10",
        ])
        .arg(&data)
        .arg("--out")
        .arg(&out2)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains("4 models, one per \"device\" value"),
        "{text}"
    );
    assert!(text.contains("skipped \"bad/name\" (200 rows)"), "{text}");
    assert!(out2.join("tiny.isof").exists());
}

#[test]
fn group_by_refuses_what_it_cannot_do() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.csv");
    std::fs::write(&data, "device,a\nx,1\nx,2\n").unwrap();
    let fails = |args: &[&str], says: &str| {
        let out = trainer().args(args).arg(&data).assert().failure();
        let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(err.contains(says), "{args:?}: {err}");
    };
    fails(&["train", "--group-by", "site"], "no column \"site\"");
    fails(
        &["train", "--group-by", "device", "--columns", "device,a"],
        "cannot also be a feature",
    );
    fails(
        &["train", "--group-by", "device"],
        "no entity of column \"device\" can be fitted",
    );
    fails(&["train", "--min-rows", "3"], "--group-by");
}
