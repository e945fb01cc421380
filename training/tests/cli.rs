//! Black-box tests of the `trainer` binary: every subcommand, its help, and its errors.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;

mod common;

use common::{json, trainer};

struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Generates `name.csv` and `name.labels.csv`.
    fn generate(&self, name: &str, extra: &[&str]) -> (PathBuf, PathBuf) {
        let (data, labels) = (
            self.path(&format!("{name}.csv")),
            self.path(&format!("{name}.labels.csv")),
        );
        trainer()
            .args(["generate", "--rows", "3000", "--anomalies", "60", "--out"])
            .arg(&data)
            .arg("--labels")
            .arg(&labels)
            .args(extra)
            .assert()
            .success();
        (data, labels)
    }

    fn train(&self, data: &Path, extra: &[&str]) -> PathBuf {
        let model = self.path("model.isof");
        trainer()
            .arg("train")
            .arg(data)
            .arg("--out")
            .arg(&model)
            .args(extra)
            .assert()
            .success();
        model
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// A model file's metadata as `trainer inspect --json` prints it.
fn inspect_json(model: &std::path::Path) -> serde_json::Value {
    let out = trainer()
        .args(["inspect", "--json"])
        .arg(model)
        .assert()
        .success();
    json(&out.get_output().stdout)
}

#[test]
fn help_lists_every_subcommand_and_their_flags() {
    let top = trainer().arg("--help").assert().success();
    let text = String::from_utf8(top.get_output().stdout.clone()).unwrap();
    for sub in [
        "generate",
        "train",
        "evaluate",
        "report",
        "inspect",
        "score",
        "import-sklearn",
    ] {
        assert!(text.contains(sub), "{sub} missing from --help:\n{text}");
    }
    let flags: [(&str, &[&str]); 5] = [
        (
            "generate",
            &[
                "--rows",
                "--features",
                "--anomalies",
                "--trend",
                "--seed",
                "--timestamp",
                "--labels",
            ],
        ),
        (
            "train",
            &[
                "--columns",
                "--detector",
                "--trees",
                "--max-samples",
                "--contamination",
                "--bootstrap",
                "--extension-level",
                "--seed",
                "--k",
            ],
        ),
        ("evaluate", &["--model", "--data", "--labels", "--json"]),
        ("report", &["--model", "--data", "--labels", "--out"]),
        ("inspect", &["--json"]),
    ];
    for (sub, expected) in flags {
        let out = trainer().args([sub, "--help"]).assert().success();
        let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        for flag in expected {
            assert!(text.contains(flag), "{sub} --help lacks {flag}:\n{text}");
        }
    }
}

#[test]
fn generate_is_deterministic_and_writes_headers_labels_and_timestamps() {
    let w = Work::new();
    let (a, la) = w.generate("a", &["--seed", "5", "--timestamp"]);
    let (b, lb) = w.generate("b", &["--seed", "5", "--timestamp"]);
    let (c, _) = w.generate("c", &["--seed", "6", "--timestamp"]);
    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    assert_eq!(read(&a), read(&b));
    assert_eq!(read(&la), read(&lb));
    assert_ne!(read(&a), read(&c));
    let data = read(&a);
    let mut lines = data.lines();
    assert_eq!(
        lines.next(),
        Some("timestamp,feature_1,feature_2,feature_3,feature_4,feature_5")
    );
    assert!(lines.next().unwrap().starts_with("2024-01-01T00:00:00Z,"));
    assert!(lines.next().unwrap().starts_with("2024-01-01T00:01:00Z,"));
    assert_eq!(data.lines().count(), 3001);
    let labels = read(&la);
    assert!(labels.starts_with("feature_1,feature_2,feature_3,feature_4,feature_5,anomaly\n"));
    for line in labels.lines().skip(1) {
        let flags: Vec<&str> = line.split(',').collect();
        let any = flags[..5].contains(&"1");
        assert_eq!(
            flags[5],
            if any { "1" } else { "0" },
            "row label is the OR of the features: {line}"
        );
    }
    let per_feature = labels
        .lines()
        .skip(1)
        .filter(|l| l.starts_with("1,"))
        .count();
    assert_eq!(per_feature, 60);

    let (d, _) = w.generate(
        "d",
        &[
            "--start",
            "2025-03-01T12:00:00+02:00",
            "--trend",
            "random_walk",
        ],
    );
    let second = read(&d).lines().nth(2).unwrap().to_owned();
    assert!(second.starts_with("2025-03-01T10:01:00Z,"), "{second}");
    trainer()
        .args(["generate", "--start", "noon"])
        .assert()
        .failure()
        .stderr(contains("RFC 3339"));
}

#[test]
fn generate_rejects_impossible_requests() {
    let w = Work::new();
    trainer()
        .args(["generate", "--rows", "10", "--anomalies", "11", "--out"])
        .arg(w.path("x.csv"))
        .assert()
        .failure()
        .stderr(contains("--anomalies 11 exceeds --rows 10"));
    trainer()
        .args(["generate", "--trend", "cubic"])
        .assert()
        .failure()
        .stderr(contains("cubic"));
}

#[test]
fn train_evaluate_inspect_and_score_work_end_to_end() {
    let w = Work::new();
    let (train, _) = w.generate("train", &["--seed", "1", "--timestamp"]);
    let (test, test_labels) = w.generate("test", &["--seed", "2"]);
    let model = w.path("model.isof");
    trainer()
        .arg("train")
        .arg(&train)
        .arg("--out")
        .arg(&model)
        .args(["--seed", "3", "--trees", "50"])
        .assert()
        .success()
        .stdout(
            contains("isolation_forest on 3000 rows x 5 features")
                .and(contains("skipped columns: timestamp")),
        );

    let out = trainer()
        .args(["evaluate", "--json", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&test)
        .arg("--labels")
        .arg(&test_labels)
        .assert()
        .success();
    let e = json(&out.get_output().stdout);
    assert_eq!(e["rows"], 3000);
    assert!(e["roc_auc"].as_f64().unwrap() > 0.9, "{e}");
    assert!(e["pr_auc"].as_f64().unwrap() > 0.5, "{e}");
    assert_eq!(e["thresholds"].as_array().unwrap().len(), 9);
    let c = &e["confusion"];
    let total: u64 = [
        "true_positives",
        "false_positives",
        "true_negatives",
        "false_negatives",
    ]
    .iter()
    .map(|k| c[k].as_u64().unwrap())
    .sum();
    assert_eq!(total, 3000);
    // The labels say which feature was spiked: the explanations are judged against them.
    let a = &e["attribution"];
    assert!(a["judged"].as_u64().unwrap() >= 20, "{e}");
    assert!(a["accuracy"].as_f64().unwrap() >= 0.9, "{e}");

    trainer()
        .args(["evaluate", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&test)
        .arg("--labels")
        .arg(&test_labels)
        .assert()
        .success()
        .stdout(
            contains("ROC-AUC")
                .and(contains("confusion matrix"))
                .and(contains("top 5%"))
                .and(contains("mean+3sd"))
                .and(contains("attribution top-1 accuracy")),
        );

    let m = inspect_json(&model);
    assert_eq!(m["n_features"], 5);
    assert_eq!(m["training_rows"], 3000);
    assert_eq!(m["seed"], 3);
    trainer()
        .arg("inspect")
        .arg(&model)
        .assert()
        .success()
        .stdout(contains("feature_5").and(contains("training data hash")));

    let scores = w.path("scores.csv");
    trainer()
        .arg("score")
        .arg(&model)
        .arg(&test)
        .arg("-o")
        .arg(&scores)
        .assert()
        .success();
    let text = std::fs::read_to_string(&scores).unwrap();
    assert_eq!(text.lines().count(), 3001);

    // --explain 2: five more columns per feature, the same scores, shares and names that add up.
    let explained = w.path("explained.csv");
    trainer()
        .arg("score")
        .arg(&model)
        .arg(&test)
        .args(["--explain", "2", "-o"])
        .arg(&explained)
        .assert()
        .success();
    let lines: Vec<String> = std::fs::read_to_string(&explained)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        lines[0],
        "score,score_samples,decision_function,predict,\
         top1_feature,top1_attribution,top1_direction,top1_value,top1_expected,\
         top2_feature,top2_attribution,top2_direction,top2_value,top2_expected"
    );
    let test_rows: Vec<Vec<String>> = std::fs::read_to_string(&test)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    for ((line, plain), values) in lines[1..].iter().zip(text.lines().skip(1)).zip(&test_rows) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 14, "{line}");
        assert_eq!(f[..4].join(","), plain, "the scores are unchanged");
        let (first, second): (f64, f64) = (f[5].parse().unwrap(), f[10].parse().unwrap());
        assert!(first >= second && first + second <= 1.0 + 1e-12, "{line}");
        assert!(["high", "low"].contains(&f[6]), "{line}");
        // The value is the row's own value of the named feature.
        let column: usize = f[4].trim_start_matches("feature_").parse().unwrap();
        assert_eq!(
            f[7].parse::<f64>().unwrap(),
            values[column - 1].parse::<f64>().unwrap()
        );
        let expected: f64 = f[8].parse().unwrap();
        let direction = if f[7].parse::<f64>().unwrap() > expected {
            "high"
        } else {
            "low"
        };
        assert_eq!(f[6], direction, "{line}");
    }
    trainer()
        .arg("score")
        .arg(&model)
        .arg(&test)
        .args(["--explain", "0"])
        .assert()
        .failure()
        .stderr(contains("invalid explain \"0\""));
}

#[test]
fn train_takes_every_fit_parameter_and_column_selection() {
    let w = Work::new();
    let (data, _) = w.generate("d", &[]);
    let model = w.train(
        &data,
        &[
            "--columns",
            "feature_3,feature_1",
            "--trees",
            "10",
            "--max-samples",
            "0.1",
            "--contamination",
            "0.05",
            "--bootstrap",
            "--extension-level",
            "1",
            "--seed",
            "9",
        ],
    );
    let m = inspect_json(&model);
    assert_eq!(
        m["feature_names"],
        serde_json::json!(["feature_3", "feature_1"])
    );
    let p = &m["params"]["isolation_forest"];
    assert_eq!(p["n_trees"], 10);
    assert_eq!(p["bootstrap"], true);
    assert_eq!(p["extension_level"], 1);
    assert_eq!(p["max_samples"], serde_json::json!({"fraction": 0.1}));
    assert_eq!(p["contamination"], serde_json::json!({"fraction": 0.05}));

    let kmeans = w.train(
        &data,
        &[
            "--detector",
            "kmeans",
            "--k",
            "4",
            "--contamination",
            "0.02",
            "--json",
        ],
    );
    let m = inspect_json(&kmeans);
    assert_eq!(m["params"]["k_means"]["k"], 4);
    assert_eq!(m["threshold"], 0.5);
}

#[test]
fn bad_input_gives_precise_errors() {
    let w = Work::new();
    let good = w.write("good.csv", "a,b\n1,2\n3,4\n5,6\n");
    trainer()
        .arg("train")
        .arg(&good)
        .args(["--columns", "a,nope", "--out"])
        .arg(w.path("m.isof"))
        .assert()
        .failure()
        .stderr(contains("no column \"nope\"").and(contains("a, b")));
    let bad = w.write("bad.csv", "a,b\n1,2\n3,x4\n");
    trainer()
        .arg("train")
        .arg(&bad)
        .arg("--out")
        .arg(w.path("m.isof"))
        .assert()
        .failure()
        .stderr(contains(
            "row 2 (line 3), column \"b\": expected a number, found \"x4\"",
        ));
    let nan = w.write("nan.csv", "a,b\n1,2\nNaN,4\n");
    trainer()
        .arg("train")
        .arg(&nan)
        .arg("--out")
        .arg(w.path("m.isof"))
        .assert()
        .failure()
        .stderr(contains(
            "row 2 (line 3), column \"a\": expected a finite number for training, found \"NaN\"",
        ));
    trainer()
        .arg("train")
        .arg(w.path("missing.csv"))
        .assert()
        .failure()
        .stderr(contains("missing.csv").and(contains("No such file")));
    trainer()
        .args(["train", "--max-samples", "lots"])
        .arg(&good)
        .assert()
        .failure()
        .stderr(contains("lots"));
    trainer()
        .arg("inspect")
        .arg(&good)
        .assert()
        .failure()
        .stderr(contains("good.csv").and(contains("not a model file")));
    // The cause is said once, not repeated by each layer of the error.
    let missing = w.path("missing.isof");
    let out = trainer().arg("inspect").arg(&missing).assert().failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert_eq!(stderr.matches("missing.isof").count(), 1, "{stderr}");
    assert_eq!(stderr.matches("No such file").count(), 1, "{stderr}");
    trainer()
        .arg("inspect")
        .arg(w.path("none.isof"))
        .assert()
        .failure()
        .stderr(contains("none.isof"));
}

#[test]
fn evaluate_rejects_labels_that_do_not_fit_the_data() {
    let w = Work::new();
    let (data, _) = w.generate("d", &[]);
    let model = w.train(&data, &["--trees", "10"]);
    let short = w.write("short.csv", "anomaly\n0\n1\n");
    trainer()
        .args(["evaluate", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .arg("--labels")
        .arg(&short)
        .assert()
        .failure()
        .stderr(contains("2 label rows, but the data has 3000 rows"));
    let narrow = w.write("narrow.csv", "feature_1,feature_2\n1,2\n");
    trainer()
        .args(["evaluate", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&narrow)
        .arg("--labels")
        .arg(&short)
        .assert()
        .failure()
        .stderr(contains("no column \"feature_3\""));
}

#[test]
fn report_writes_one_self_contained_page_with_all_charts() {
    let w = Work::new();
    let (data, labels) = w.generate("d", &["--features", "3"]);
    let model = w.train(&data, &["--trees", "20"]);
    let page = w.path("report.html");
    trainer()
        .args(["report", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .arg("--labels")
        .arg(&labels)
        .arg("--out")
        .arg(&page)
        .assert()
        .success();
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(
        html.matches("<figure class=\"plot\" data-plot=\"feature\"")
            .count(),
        3
    );
    // Histogram, ROC, the top anomalies' attributions, the row-level strip, three features.
    assert_eq!(html.matches("<svg").count(), 7);
    assert!(html.contains("data-plot=\"attribution\"") && html.contains("id=\"top-anomalies\""));
    assert!(html.contains("id=\"render-check\""));
    assert!(
        !html.contains("http://")
            || html.matches("http://").count()
                == html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
    );
}

#[test]
fn no_progress_bars_on_a_pipe_and_quiet_silences_notes() {
    let w = Work::new();
    let loud = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(["generate", "--rows", "200000", "--anomalies", "10", "--out"])
        .arg(w.path("big.csv"))
        .arg("--labels")
        .arg(w.path("big.labels.csv"))
        .assert()
        .success();
    let stderr = String::from_utf8(loud.get_output().stderr.clone()).unwrap();
    assert_eq!(
        stderr.lines().count(),
        1,
        "only the summary line on a pipe: {stderr:?}"
    );
    assert!(
        stderr.starts_with("wrote 200000 rows x 5 features"),
        "{stderr}"
    );
    let quiet = trainer()
        .args(["generate", "--rows", "100", "--anomalies", "1", "--out"])
        .arg(w.path("q.csv"))
        .arg("--labels")
        .arg(w.path("q.labels.csv"))
        .assert()
        .success();
    assert!(quiet.get_output().stderr.is_empty());
}

#[test]
fn threshold_from_validation_data_is_chosen_recorded_and_helps() {
    let w = Work::new();
    let (train, _) = w.generate("train", &["--seed", "1"]);
    let (val, val_labels) = w.generate("val", &["--seed", "2"]);
    let (test, test_labels) = w.generate("test", &["--seed", "3"]);
    let f1_of = |model: &Path| {
        let out = trainer()
            .args(["evaluate", "--json", "--model"])
            .arg(model)
            .arg("--data")
            .arg(&test)
            .arg("--labels")
            .arg(&test_labels)
            .assert()
            .success();
        json(&out.get_output().stdout)["f1"].as_f64().unwrap()
    };
    let auto = w.path("auto.isof");
    trainer()
        .arg("train")
        .arg(&train)
        .arg("-o")
        .arg(&auto)
        .args(["--seed", "4"])
        .assert()
        .success();
    let tuned = w.path("tuned.isof");
    trainer()
        .arg("train")
        .arg(&train)
        .arg("-o")
        .arg(&tuned)
        .args([
            "--seed",
            "4",
            "--threshold-method",
            "best-f1",
            "--threshold-from",
        ])
        .arg(&val)
        .arg("--labels")
        .arg(&val_labels)
        .assert()
        .success()
        .stdout(contains(
            "threshold chosen on validation data by best_f1 (was 0.5000)",
        ));
    let m = inspect_json(&tuned);
    let sel = &m["threshold_selection"];
    assert_eq!(sel["method"], "best_f1");
    assert_eq!(sel["previous_threshold"], 0.5);
    assert!(sel["f1"].as_f64().unwrap() > 0.5, "{sel}");
    assert_ne!(m["threshold"], 0.5);
    let (f1_auto, f1_tuned) = (f1_of(&auto), f1_of(&tuned));
    assert!(
        f1_tuned > f1_auto + 0.1,
        "tuned F1 {f1_tuned} vs auto {f1_auto}"
    );

    let recall = w.path("recall.isof");
    trainer()
        .arg("train")
        .arg(&train)
        .arg("-o")
        .arg(&recall)
        .args(["--threshold-method", "recall:0.9", "--threshold-from"])
        .arg(&val)
        .arg("--labels")
        .arg(&val_labels)
        .assert()
        .success();
    let sel = inspect_json(&recall)["threshold_selection"].clone();
    assert_eq!(
        (sel["method"].as_str(), sel["target"].as_f64()),
        (Some("target_recall"), Some(0.9))
    );
    assert!(sel["recall"].as_f64().unwrap() >= 0.9, "{sel}");

    trainer()
        .arg("train")
        .arg(&train)
        .arg("--labels")
        .arg(&val_labels)
        .assert()
        .failure()
        .stderr(contains("--threshold-from"));
    trainer()
        .arg("train")
        .arg(&train)
        .args(["--threshold-method", "precision:2", "--threshold-from"])
        .arg(&val)
        .arg("--labels")
        .arg(&val_labels)
        .assert()
        .failure()
        .stderr(contains("target must be in (0, 1]"));
}
