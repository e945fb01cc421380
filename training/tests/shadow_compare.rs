//! `trainer shadow-compare` on Data Capture files in SageMaker's format: the answers are encoded by
//! the codec exactly as the server sends them, the capture lines as Data Capture writes them.

use std::path::Path;

use base64::Engine as _;
use codec::{OutputFormat, Prediction, Shape};
use serde_json::json;

mod common;

use common::{stdout_json, trainer};

/// One captured request: its input rows as CSV and the variant's answer.
fn capture_line(
    event_id: &str,
    input: &str,
    answer: &[u8],
    content_type: &str,
    b64: bool,
) -> String {
    let (data, encoding) = if b64 {
        (
            base64::engine::general_purpose::STANDARD.encode(answer),
            "BASE64",
        )
    } else {
        (
            String::from_utf8(answer.to_vec()).unwrap(),
            if content_type == "text/csv" {
                "CSV"
            } else {
                "JSON"
            },
        )
    };
    json!({
        "captureData": {
            "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": input, "encoding": "CSV"},
            "endpointOutput": {"observedContentType": content_type, "mode": "OUTPUT", "data": data, "encoding": encoding},
        },
        "eventMetadata": {"eventId": event_id, "inferenceTime": "2026-12-01T10:00:00Z"},
        "eventVersion": "0",
    })
    .to_string()
}

fn write(path: &Path, lines: &[String]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// Production's and the shadow's answer to request `r` (3 rows each): production flags row 0 of
/// every 4th request, the shadow also flags row 1 of every 5th; the shadow scores 0.01 higher.
fn answers(r: usize) -> (Vec<Prediction>, Vec<Prediction>) {
    let prod: Vec<Prediction> = (0..3)
        .map(|row| Prediction {
            score: 0.4 + 0.01 * (r % 7) as f64 + 0.05 * row as f64,
            anomaly: row == 0 && r.is_multiple_of(4),
        })
        .collect();
    let shadow = prod
        .iter()
        .enumerate()
        .map(|(row, p)| Prediction {
            score: p.score + 0.01,
            anomaly: p.anomaly || (row == 1 && r.is_multiple_of(5)),
        })
        .collect();
    (prod, shadow)
}

/// 40 requests. Production captured all; the shadow was sampled on every request but the last 4,
/// and 6 of its captures carry another event id (paired by input). The shadow answers in JSON
/// Lines, BASE64-encoded on odd requests; production in JSON.
fn setup(dir: &Path) {
    let (mut prod, mut shadow) = (Vec::new(), Vec::new());
    for r in 0..40 {
        let input = format!("{r},1,2,3,4\n{r},5,6,7,8\n{r},9,10,11,12\n");
        let (p, s) = answers(r);
        let id = format!("ev-{r:03}");
        prod.push(capture_line(
            &id,
            &input,
            &codec::encode(&p, OutputFormat::Json, Shape::Native),
            "application/json",
            false,
        ));
        if r >= 36 {
            continue;
        }
        let sid = if r < 6 { format!("other-{r}") } else { id };
        let body = codec::encode(&s, OutputFormat::JsonLines, Shape::Native);
        shadow.push(capture_line(
            &sid,
            &input,
            &body,
            "application/jsonlines",
            r % 2 == 1,
        ));
    }
    // Data Capture's layout: hourly files under the variant's prefix.
    write(&dir.join("prod/2026/12/01/10/a.jsonl"), &prod[..20]);
    write(&dir.join("prod/2026/12/01/11/b.jsonl"), &prod[20..]);
    write(&dir.join("shadow/2026/12/01/10/c.jsonl"), &shadow);
}

/// `trainer shadow-compare --production P --shadow S` with `extra` flags.
fn compare(production: &Path, shadow: &Path, extra: &[&str]) -> assert_cmd::Command {
    let mut cmd = trainer();
    cmd.arg("shadow-compare")
        .args(extra)
        .arg("--production")
        .arg(production)
        .arg("--shadow")
        .arg(shadow);
    cmd
}

/// Runs `cmd`, which must fail, and returns its standard error.
fn refusal(mut cmd: assert_cmd::Command) -> String {
    let out = cmd.assert().failure();
    String::from_utf8(out.get_output().stderr.clone()).unwrap()
}

#[test]
fn flags_and_scores_of_the_paired_requests_are_compared() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let (prod, shadow) = (dir.path().join("prod"), dir.path().join("shadow"));
    let report = stdout_json(&mut compare(&prod, &shadow, &["--json"]));
    // Independently: what the 36 paired requests hold.
    let (mut both, mut prod_only, mut shadow_only) = (0, 0, 0);
    for r in 0..36 {
        let (p, s) = answers(r);
        for (a, b) in p.iter().zip(&s) {
            match (a.anomaly, b.anomaly) {
                (true, true) => both += 1,
                (true, false) => prod_only += 1,
                (false, true) => shadow_only += 1,
                _ => {}
            }
        }
    }
    assert!(shadow_only > 0 && both > 0);
    assert_eq!(report["production_captures"], 40);
    assert_eq!(report["shadow_captures"], 36);
    assert_eq!(report["paired_by_event_id"], 30);
    assert_eq!(report["paired_by_input"], 6);
    assert_eq!(report["production_unpaired"], 4);
    assert_eq!(report["shadow_unpaired"], 0);
    assert_eq!(report["rows"], 108);
    assert_eq!(report["flagged_rows"], 108);
    assert_eq!(report["both_anomalous"], both);
    assert_eq!(report["production_only"], prod_only);
    assert_eq!(report["shadow_only"], shadow_only);
    let agreement = report["agreement"].as_f64().unwrap();
    assert!(
        (agreement - (1.0 - shadow_only as f64 / 108.0)).abs() < 1e-12,
        "{agreement}"
    );
    let drift = &report["drift"];
    assert_eq!(drift["rows"], 108);
    for key in ["mean", "mean_abs", "p50_abs", "p95_abs", "max_abs"] {
        assert!(
            (drift[key].as_f64().unwrap() - 0.01).abs() < 1e-9,
            "{key}: {drift}"
        );
    }
    assert!((drift["correlation"].as_f64().unwrap() - 1.0).abs() < 1e-9);
    let changes = report["changes"].as_array().unwrap();
    assert_eq!(changes.len(), shadow_only);
    assert!(
        changes
            .iter()
            .all(|c| c["row"] == 2 && c["shadow_flag"] == true),
        "{changes:?}"
    );

    // The text report says the same in words; a gate above the agreement fails, naming it.
    let text = compare(&prod, &shadow, &[]).assert().success();
    let text = String::from_utf8(text.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains(
            "paired 30 by event id, 6 by identical input; unpaired 4 production, 0 shadow"
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!("shadow only {shadow_only} (alerts it adds)")),
        "{text}"
    );
    let err = refusal(compare(&prod, &shadow, &["--min-agreement", "0.99"]));
    assert!(err.contains("below --min-agreement 0.99"), "{err}");
    compare(&prod, &shadow, &["--min-agreement", "0.9"])
        .assert()
        .success();
}

#[test]
fn score_only_answers_compare_their_drift() {
    let dir = tempfile::tempdir().unwrap();
    let (p, s) = answers(3);
    let rcf = |preds: &[Prediction]| codec::encode(preds, OutputFormat::Json, Shape::Rcf);
    write(
        &dir.path().join("p.jsonl"),
        &[capture_line(
            "e",
            "1,2\n",
            &rcf(&p),
            "application/json",
            false,
        )],
    );
    write(
        &dir.path().join("s.jsonl"),
        &[capture_line(
            "e",
            "1,2\n",
            &rcf(&s),
            "application/json",
            true,
        )],
    );
    let (p, s) = (dir.path().join("p.jsonl"), dir.path().join("s.jsonl"));
    let report = stdout_json(&mut compare(&p, &s, &["--json", "--shape", "rcf"]));
    assert_eq!(report["rows"], 3);
    assert_eq!(report["flagged_rows"], 0);
    assert!((report["drift"]["mean"].as_f64().unwrap() - 0.01).abs() < 1e-9);
    // Read as native answers, rcf bodies are refused with where and why.
    let err = refusal(compare(&p, &s, &["--shape", "native"]));
    assert!(
        err.contains("p.jsonl:1") && err.contains("no \"predictions\" array"),
        "{err}"
    );
}

#[test]
fn malformed_captures_are_refused_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = capture_line(
        "e",
        "1\n",
        b"{\"predictions\":[{\"score\":0.5,\"anomaly\":false}]}",
        "application/json",
        false,
    );
    let bad_encoding = good.replace("\"encoding\":\"JSON\"", "\"encoding\":\"GZIP\"");
    assert_ne!(bad_encoding, good);
    let cases = [
        ("not json", "line 2: expected a Data Capture record"),
        (
            "{\"captureData\": {}}",
            "line 2: expected a Data Capture record",
        ),
        (
            bad_encoding.as_str(),
            ":2: encoding \"GZIP\" is none of CSV, JSON, BASE64",
        ),
    ];
    for (line, want) in cases {
        write(
            &dir.path().join("p.jsonl"),
            &[good.clone(), line.to_owned()],
        );
        write(&dir.path().join("s.jsonl"), std::slice::from_ref(&good));
        let err = refusal(compare(
            &dir.path().join("p.jsonl"),
            &dir.path().join("s.jsonl"),
            &[],
        ));
        assert!(
            err.contains("p.jsonl") && err.contains(want),
            "{line}: {err}"
        );
    }
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let err = refusal(compare(&empty, &dir.path().join("s.jsonl"), &[]));
    assert!(err.contains("no .jsonl capture files under it"), "{err}");
}
