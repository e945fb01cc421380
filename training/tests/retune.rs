//! The retraining loop through the binary: `retune` from operators' verdicts (CSV and the
//! forwarder's JSON Lines results as data), `--retrain`, the lineage in the new version, `diff`.

use std::fmt::Write as _;
use std::path::Path;

use forest::Model;
use sha2::{Digest, Sha256};

mod common;

use common::{stdout_json, trainer};

struct Setup {
    dir: tempfile::TempDir,
    model: Model,
    rows: Vec<Vec<f64>>,
    labels: Vec<bool>,
}

impl Setup {
    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }
}

/// Generated data with labels, a model fitted on it, and the data with event ids as CSV and as
/// the forwarder's results.
fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    trainer()
        .args([
            "generate",
            "--rows",
            "3000",
            "--anomalies",
            "60",
            "--seed",
            "5",
            "--out",
        ])
        .arg(p("data.csv"))
        .arg("--labels")
        .arg(p("labels.csv"))
        .assert()
        .success();
    trainer()
        // A threshold at 10 % contamination: more alerts than anomalies, so verdicts matter.
        .args([
            "train",
            "--seed",
            "1",
            "--trees",
            "60",
            "--contamination",
            "0.1",
        ])
        .arg(p("data.csv"))
        .arg("--out")
        .arg(p("model.isof"))
        .assert()
        .success();
    let text = std::fs::read_to_string(p("data.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    let labels_text = std::fs::read_to_string(p("labels.csv")).unwrap();
    let mut labels_lines = labels_text.lines();
    let anomaly = labels_lines
        .next()
        .unwrap()
        .split(',')
        .position(|h| h == "anomaly")
        .unwrap();
    let labels: Vec<bool> = labels_lines
        .map(|l| l.split(',').nth(anomaly).unwrap() == "1")
        .collect();
    let mut csv = format!("event_id,{header}\n");
    let mut jsonl = String::new();
    for (i, r) in rows.iter().enumerate() {
        let values: Vec<String> = r.iter().map(f64::to_string).collect();
        writeln!(csv, "e{i},{}", values.join(",")).unwrap();
        writeln!(
            jsonl,
            "{}",
            serde_json::json!({"event_id": format!("e{i}"), "values": r, "score": 0.5})
        )
        .unwrap();
    }
    std::fs::write(p("recent.csv"), csv).unwrap();
    std::fs::write(p("results.jsonl"), jsonl).unwrap();
    let model = Model::load(&p("model.isof")).unwrap();
    Setup {
        dir,
        model,
        rows,
        labels,
    }
}

/// Verdicts on every alert the model raised (true anomaly or false alarm from the labels), and on
/// the labelled anomalies it missed that operators found anyway (every third).
fn feedback(s: &Setup) -> String {
    let mut out = String::new();
    let mut missed = 0;
    for (i, r) in s.rows.iter().enumerate() {
        let flagged = s.model.is_anomaly(s.model.score_row(r).unwrap());
        let reported = !flagged && s.labels[i] && {
            missed += 1;
            missed % 3 == 0
        };
        if flagged || reported {
            writeln!(out, r#"{{"event_id": "e{i}", "anomaly": {}}}"#, s.labels[i]).unwrap();
        }
    }
    // An event not in the data: reported, not used.
    out += "{\"event_id\": \"shardId-0:99:-:0\", \"anomaly\": false}\n";
    out
}

/// `trainer retune --json` on the setup's model with `feedback` and `data` (file names in its
/// directory), writing `out`, with `extra` flags.
fn retune(s: &Setup, extra: &[&str], feedback: &str, data: &str, out: &str) -> serde_json::Value {
    stdout_json(
        trainer()
            .args(["retune", "--json"])
            .args(extra)
            .arg("--model")
            .arg(s.path("model.isof"))
            .arg("--feedback")
            .arg(s.path(feedback))
            .arg("--data")
            .arg(s.path(data))
            .arg("--out")
            .arg(s.path(out)),
    )
}

fn sha256(path: &Path) -> String {
    format!("{:x}", Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn verdicts_re_pick_the_threshold_into_a_new_version_that_names_its_parent() {
    let s = setup();
    std::fs::write(s.path("verdicts.jsonl"), feedback(&s)).unwrap();
    let retuned = retune(&s, &[], "verdicts.jsonl", "recent.csv", "v2.isof");
    assert_eq!(retuned["unmatched"], 1);
    // The rows nobody flagged nor judged count as normal by default.
    let silent = retuned["silent_normal"].as_u64().unwrap() as usize;
    let flagged_before = retuned["flagged_before"].as_u64().unwrap() as usize;
    assert!(
        silent > 0 && silent < s.rows.len() - flagged_before + 1,
        "{retuned}"
    );
    let (before, after) = (&retuned["before"], &retuned["after"]);
    assert!(
        after["f1"].as_f64().unwrap() >= before["f1"].as_f64().unwrap(),
        "{retuned}"
    );
    assert_ne!(after["threshold"], before["threshold"], "{retuned}");
    let v2 = Model::load(&s.path("v2.isof")).unwrap();
    assert_eq!(v2.threshold(), after["threshold"].as_f64().unwrap());
    let lineage = &v2.metadata().extra["lineage"];
    assert_eq!(lineage["parent"]["sha256"], sha256(&s.path("model.isof")));
    assert_eq!(
        lineage["feedback"]["sha256"],
        sha256(&s.path("verdicts.jsonl"))
    );
    assert_eq!(lineage["verdicts"]["matched"], retuned["matched"]);
    // Same trees: only the threshold moved.
    assert_eq!(
        v2.score_row(&s.rows[0]).unwrap(),
        s.model.score_row(&s.rows[0]).unwrap()
    );

    // The forwarder's results serve as data just as well.
    let from_results = retune(&s, &[], "verdicts.jsonl", "results.jsonl", "v2b.isof");
    assert_eq!(from_results["after"], retuned["after"]);
    // On the verdicts alone (a sample of alerts), nothing counts as silently normal.
    let alone = retune(
        &s,
        &["--unjudged", "ignore"],
        "verdicts.jsonl",
        "recent.csv",
        "v2c.isof",
    );
    assert_eq!(alone["silent_normal"], 0);
    // Every alert was judged, so both ways see the parent flag the same judged rows.
    assert_eq!(alone["before"]["flagged"], retuned["before"]["flagged"]);

    // --retrain refits without the confirmed anomalies, then picks the threshold.
    let retrained = retune(
        &s,
        &["--retrain"],
        "verdicts.jsonl",
        "recent.csv",
        "v3.isof",
    );
    let refit = retrained["refit_rows"].as_u64().unwrap() as usize;
    assert_eq!(
        refit,
        s.rows.len() - retrained["true_anomalies"].as_u64().unwrap() as usize
    );
    let v3 = Model::load(&s.path("v3.isof")).unwrap();
    assert_eq!(v3.metadata().training_rows, refit);
    assert_eq!(v3.metadata().extra["lineage"]["retrained_on_rows"], refit);

    // diff: how the flags change between the versions on the data.
    let diff = stdout_json(
        trainer()
            .args(["diff", "--json"])
            .arg(s.path("model.isof"))
            .arg(s.path("v2.isof"))
            .arg(s.path("data.csv")),
    );
    let flagged = |m: &Model| {
        s.rows
            .iter()
            .filter(|r| m.is_anomaly(m.score_row(r).unwrap()))
            .count()
    };
    assert_eq!(diff["rows"], s.rows.len());
    assert_eq!(diff["flagged_old"], flagged(&s.model));
    assert_eq!(diff["flagged_new"], flagged(&v2));
    let n = |k: &str| diff[k].as_u64().unwrap();
    assert_eq!(n("both") + n("old_only"), n("flagged_old"));
    assert_eq!(n("both") + n("new_only"), n("flagged_new"));
    assert!(n("old_only") + n("new_only") > 0, "{diff}");
    assert_eq!(diff["mean_score_change"], 0.0, "same trees");
}

#[test]
fn unusable_feedback_is_refused_with_the_reason() {
    let s = setup();
    // The refusal of `verdicts` as the feedback file (none: the file is missing).
    let retune = |verdicts: Option<&str>| {
        match verdicts {
            Some(text) => std::fs::write(s.path("v.jsonl"), text).unwrap(),
            None => std::fs::remove_file(s.path("v.jsonl")).unwrap(),
        }
        let out = trainer()
            .args(["retune", "--model"])
            .arg(s.path("model.isof"))
            .arg("--feedback")
            .arg(s.path("v.jsonl"))
            .arg("--data")
            .arg(s.path("recent.csv"))
            .arg("--out")
            .arg(s.path("x.isof"))
            .assert()
            .failure();
        String::from_utf8_lossy(&out.get_output().stderr).into_owned()
    };
    let err = retune(Some(
        "{\"event_id\": \"e1\", \"anomaly\": true}\n{\"event_id\": \"e1\", \"anomaly\": false}\n",
    ));
    assert!(
        err.contains("line 2") && err.contains("both an anomaly and a false alarm"),
        "{err}"
    );
    let err = retune(Some("{\"event_id\": \"e1\", \"anomaly\": \"yes\"}\n"));
    assert!(err.contains("line 1"), "{err}");
    let err = retune(Some(
        "{\"event_id\": \"e1\", \"anomaly\": true}\n{\"event_id\": \"e2\", \"anomaly\": true}\n",
    ));
    assert!(
        err.contains("both true anomalies and false alarms"),
        "{err}"
    );
    assert!(!s.path("x.isof").exists(), "nothing written on a refusal");
    let err = retune(None);
    assert_eq!(err.matches("No such file").count(), 1, "said once: {err}");
}
