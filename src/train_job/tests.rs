use std::path::Path;

use forest::{Contamination, DetectorParams, MaxSamples};

use super::*;

/// A SageMaker layout under a temporary root.
fn layout(root: &Path) -> Layout {
    TrainArgs {
        ml_root: root.to_owned(),
        config_dir: None,
        training_dir: None,
        model_dir: None,
        output_dir: None,
    }
    .layout()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// `rows` data rows of timestamp,a,b,anomaly with a deterministic spread.
fn sensor_csv(rows: usize, offset: usize) -> String {
    let mut s = String::from("timestamp,a,b,anomaly\n");
    for i in offset..offset + rows {
        let (a, b) = ((i % 17) as f64 * 0.5, ((i * 7) % 13) as f64);
        s.push_str(&format!("2024-01-01T00:{:02}:00Z,{a},{b},0\n", i % 60));
    }
    s
}

fn channel(l: &Layout, name: &str) -> std::path::PathBuf {
    l.training_dir.join(name)
}

#[test]
fn layout_defaults_to_the_sagemaker_paths_and_takes_overrides() {
    let l = layout(Path::new("/opt/ml"));
    assert_eq!(
        l.hyperparameters,
        Path::new("/opt/ml/input/config/hyperparameters.json")
    );
    assert_eq!(l.training_dir, Path::new("/opt/ml/input/data/training"));
    assert_eq!(l.model_dir, Path::new("/opt/ml/model"));
    assert_eq!(l.output_dir, Path::new("/opt/ml/output"));
    let args = TrainArgs {
        ml_root: "/r".into(),
        config_dir: Some("/c".into()),
        training_dir: Some("/t".into()),
        model_dir: Some("/m".into()),
        output_dir: Some("/o".into()),
    };
    let l = args.layout();
    assert_eq!(l.hyperparameters, Path::new("/c/hyperparameters.json"));
    assert_eq!(
        (l.training_dir.as_path(), l.model_dir.as_path()),
        (Path::new("/t"), Path::new("/m"))
    );
    assert_eq!(l.output_dir, Path::new("/o"));
}

#[test]
fn trains_on_every_csv_with_the_string_hyperparameters() {
    let dir = tempfile::tempdir().unwrap();
    let l = layout(dir.path());
    write(
        &l.hyperparameters,
        r#"{"trees": "40", "max_samples": "64", "contamination": "0.1", "bootstrap": "true",
            "seed": "7", "sagemaker_region": "\"us-east-1\"", "_tuning_objective_metric": ""}"#,
    );
    write(&channel(&l, "part-1.csv"), &sensor_csv(150, 0));
    write(&channel(&l, "more/part-2.csv"), &sensor_csv(50, 150));
    write(&channel(&l, "notes.txt"), "not data");

    let done = train(&l).unwrap();
    assert_eq!(done.model_path, l.model_dir.join("model.isof"));
    assert_eq!(done.rows, 200);
    assert_eq!(done.features, ["a", "b"]);

    let model = forest::Model::load(&done.model_path).unwrap();
    let meta = model.metadata();
    assert_eq!(meta.training_rows, 200);
    assert_eq!(meta.feature_names, ["a", "b"]);
    let DetectorParams::IsolationForest(p) = &meta.params else {
        panic!("not a forest: {:?}", meta.params)
    };
    assert_eq!((p.n_trees, p.seed, p.bootstrap), (40, 7, true));
    assert_eq!(p.max_samples, MaxSamples::Count(64));
    assert_eq!(p.contamination, Contamination::Fraction(0.1));
    // The model scores the way the server will use it: a far-out point is more anomalous.
    assert!(model.score_row(&[100.0, -50.0]).unwrap() > model.score_row(&[4.0, 6.0]).unwrap());
}

#[test]
fn kmeans_and_named_columns() {
    let dir = tempfile::tempdir().unwrap();
    let l = layout(dir.path());
    write(
        &l.hyperparameters,
        r#"{"detector": "kmeans", "k": "3", "contamination": "0.05", "columns": "b, a"}"#,
    );
    write(&channel(&l, "d.csv"), &sensor_csv(120, 0));
    let done = train(&l).unwrap();
    assert_eq!(done.features, ["b", "a"]);
    let model = forest::Model::load(&done.model_path).unwrap();
    assert!(matches!(&model.metadata().params, DetectorParams::KMeans(p) if p.k == 3));
}

#[test]
fn missing_hyperparameters_file_means_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let l = layout(dir.path());
    write(&channel(&l, "d.csv"), &sensor_csv(300, 0));
    train(&l).unwrap();
    let model = forest::Model::load(&l.model_dir.join(MODEL_FILE)).unwrap();
    assert_eq!(model.metadata().params, DetectorParams::default());
}

fn failure_of(l: &Layout) -> String {
    let args = TrainArgs {
        ml_root: "/nonexistent".into(),
        config_dir: l.hyperparameters.parent().map(Into::into),
        training_dir: Some(l.training_dir.clone()),
        model_dir: Some(l.model_dir.clone()),
        output_dir: Some(l.output_dir.clone()),
    };
    assert_eq!(run_cli(args), ExitCode::FAILURE);
    assert!(
        !l.model_dir.join(MODEL_FILE).exists(),
        "no model after a failure"
    );
    std::fs::read_to_string(l.output_dir.join("failure")).unwrap()
}

#[test]
fn failures_land_in_the_failure_file() {
    let dir = tempfile::tempdir().unwrap();
    let l = layout(dir.path());
    std::fs::create_dir_all(&l.training_dir).unwrap();
    assert!(failure_of(&l).contains("no .csv files in the training channel"));

    write(&channel(&l, "a.csv"), &sensor_csv(10, 0));
    write(&channel(&l, "b.csv"), "timestamp,a,c,anomaly\n2024,1,2,0\n");
    let reason = failure_of(&l);
    assert!(
        reason
            .contains("b.csv: header [timestamp,a,c,anomaly] differs from [timestamp,a,b,anomaly]"),
        "{reason}"
    );

    write(
        &channel(&l, "b.csv"),
        "timestamp,a,b,anomaly\n2024,1,2,0\n\n2024,1,x,0\n",
    );
    let reason = failure_of(&l);
    assert!(
        reason.contains("b.csv: row 2 (line 4), column \"b\": expected a number, found \"x\""),
        "{reason}"
    );

    write(&channel(&l, "b.csv"), "timestamp,a,b,anomaly\n2024,1,2\n");
    assert!(failure_of(&l).contains("row 1 (line 2): expected 4 fields like the header, found 3"));

    std::fs::remove_file(channel(&l, "b.csv")).unwrap();
    write(&l.hyperparameters, r#"{"tres": "10"}"#);
    assert!(failure_of(&l).starts_with("hyperparameter tres: unknown; known: detector, trees"));
    write(&l.hyperparameters, r#"{"trees": "many"}"#);
    assert!(
        failure_of(&l)
            .contains("hyperparameter trees: expected a non-negative integer, found \"many\"")
    );
    write(&l.hyperparameters, r#"{"k": "4"}"#);
    assert!(
        failure_of(&l).contains("hyperparameter k: does not apply to detector isolation_forest")
    );
    write(&l.hyperparameters, r#"{"columns": "a,zz"}"#);
    assert!(
        failure_of(&l)
            .contains(r#"column "zz" (from the columns hyperparameter) is not in the header"#)
    );
    write(&l.hyperparameters, r#"{"trees": "0"}"#);
    assert!(failure_of(&l).contains("n_trees"));
    write(&l.hyperparameters, "[1, 2]");
    assert!(failure_of(&l).contains("expected a JSON object of strings"));
}
