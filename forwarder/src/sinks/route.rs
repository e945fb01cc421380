//! Routing scored rows: each alert the policy raised ([`crate::sinks::policy`]) becomes one
//! message (split only when SNS's 256 KB message limit requires it), every row becomes a JSON
//! line of a date-partitioned object.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::record::ScoredRow;
use crate::sinks::policy::Episode;
use crate::sinks::{SinkError, Sinks};

/// Largest alert body; SNS accepts 262,144 bytes, the rest is headroom for the envelope.
pub const MAX_ALERT_BYTES: usize = 240 * 1024;

/// The body of an alert message: one key's run of anomalies.
#[derive(Debug, Serialize)]
pub struct Alert<'a> {
    /// The alert in plain words: the key, the count, and why the peak is anomalous when the
    /// endpoint explains its answers.
    pub summary: String,
    /// Stream the anomalies were read from.
    pub stream: &'a str,
    /// The key (device) they belong to.
    pub partition_key: &'a str,
    /// When the run started (arrival time, RFC 3339), when known.
    pub start: Option<&'a str>,
    /// Arrival time of its last anomaly so far, when known.
    pub end: Option<&'a str>,
    /// Anomalies in the run, including those of earlier batches that made it persist.
    pub count: usize,
    /// The run's highest-scoring anomaly in this batch.
    pub peak: Option<AlertRow<'a>>,
    /// The run's anomalies in this batch (in this part, for a split message), in stream order.
    pub anomalies: Vec<AlertRow<'a>>,
}

/// One anomaly in an alert: the scored row and, when it is explained, why in plain words.
#[derive(Debug, Serialize)]
pub struct AlertRow<'a> {
    /// The row as the results store it.
    #[serde(flatten)]
    pub row: &'a ScoredRow,
    /// Its top features in plain words (see [`why`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

impl<'a> AlertRow<'a> {
    fn new(row: &'a ScoredRow) -> Self {
        AlertRow { row, why: why(row) }
    }
}

/// A row's explanation in plain words, highest share first, e.g.
/// `feature_3 = 412.5, expected about 80.1 (61 % of the score)`, features joined by `; `.
/// Features with no share are left out (the first is always said). `None` without an explanation.
pub fn why(row: &ScoredRow) -> Option<String> {
    let parts: Vec<String> = row
        .explanation
        .iter()
        .enumerate()
        .filter(|(i, a)| *i == 0 || a.attribution >= 0.005)
        .map(|(_, a)| {
            let value = a.value.map_or_else(|| "missing".to_owned(), number);
            let expected = a
                .expected
                .map(|e| format!(", expected about {}", number(e)))
                .unwrap_or_else(|| format!(" ({})", a.direction.name()));
            format!(
                "{} = {value}{expected} ({:.0} % of the score)",
                a.feature,
                a.attribution * 100.0
            )
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// A number as a person reads it: four significant digits at most, no trailing zeros.
fn number(v: f64) -> String {
    let decimals = match v.abs() {
        a if a >= 1000.0 || a == 0.0 => 0,
        a if a >= 100.0 => 1,
        a if a >= 10.0 => 2,
        a if a >= 1.0 => 3,
        a => (3 - a.log10().floor() as i32).clamp(3, 12) as usize,
    };
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// Alert `(subject, message)` pairs for `episodes`: one message each, or several parts when one
/// would exceed [`MAX_ALERT_BYTES`].
pub fn alerts(stream: &str, episodes: &[Episode<'_>]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for episode in episodes {
        let mut parts: Vec<Vec<&ScoredRow>> = vec![Vec::new()];
        let mut size = 0;
        for &a in &episode.anomalies {
            let len = serde_json::to_string(a).map_or(0, |s| s.len()) + 1;
            let last = parts.last_mut().expect("never empty");
            // Room for the peak (one more row) and the envelope.
            if !last.is_empty() && size + len > MAX_ALERT_BYTES / 2 - 256 {
                parts.push(Vec::new());
                size = 0;
            }
            parts.last_mut().expect("never empty").push(a);
            size += len;
        }
        let total = parts.len();
        let count = episode.count;
        for (i, anomalies) in parts.into_iter().enumerate() {
            let mut subject = format!(
                "{}: {count} anomal{} on {stream}",
                episode.partition_key,
                if count == 1 { "y" } else { "ies" },
            );
            if total > 1 {
                subject.push_str(&format!(" (part {}/{total})", i + 1));
            }
            let peak = episode.peak().map(AlertRow::new);
            let mut summary = subject.clone();
            if let Some(peak) = &peak {
                summary.push_str(&format!(", peak score {}", number(peak.row.score)));
                if let Some(why) = &peak.why {
                    summary.push_str(": ");
                    summary.push_str(why);
                }
            }
            let body = serde_json::to_string(&Alert {
                summary,
                stream,
                partition_key: episode.partition_key,
                start: episode.start.as_deref(),
                end: episode.end.as_deref(),
                count,
                peak,
                anomalies: anomalies.into_iter().map(AlertRow::new).collect(),
            })
            .unwrap_or_default();
            out.push((subject_safe(&subject), body));
        }
    }
    out
}

/// SNS subjects are at most 100 printable ASCII characters.
fn subject_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect()
}

/// JSON Lines objects for `rows`, keyed `dt=YYYY-MM-DD/<shard>/<first seq>-<last seq>.jsonl` by
/// arrival date (processing date when unknown). Keys are stable, so a replay overwrites.
pub fn result_objects(rows: &[ScoredRow]) -> Vec<(String, Vec<u8>)> {
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let mut groups: BTreeMap<(String, String), Vec<&ScoredRow>> = BTreeMap::new();
    for r in rows {
        let date = r
            .arrival
            .as_deref()
            .and_then(|a| a.get(..10))
            .map_or_else(|| today.clone(), str::to_string);
        groups
            .entry((date, r.origin.shard_id.clone()))
            .or_default()
            .push(r);
    }
    groups
        .into_iter()
        .map(|((date, shard), rows)| {
            let first = &rows[0].origin.sequence_number;
            let last = &rows[rows.len() - 1].origin.sequence_number;
            let mut body = Vec::new();
            for r in &rows {
                if serde_json::to_writer(&mut body, r).is_ok() {
                    body.push(b'\n');
                }
            }
            (format!("dt={date}/{shard}/{first}-{last}.jsonl"), body)
        })
        .collect()
}

/// Sends the alerts the policy raised and stores the results of one batch.
pub async fn route<S: Sinks>(
    sinks: &S,
    stream: &str,
    episodes: &[Episode<'_>],
    rows: &[ScoredRow],
) -> Result<(), SinkError> {
    for (subject, message) in alerts(stream, episodes) {
        sinks.alert(subject, message).await?;
    }
    if sinks.stores_results() {
        for (key, body) in result_objects(rows) {
            sinks.store(key, body).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Origin;

    fn row(seq: u32, anomaly: bool, arrival: Option<&str>) -> ScoredRow {
        ScoredRow {
            origin: Origin {
                shard_id: "shardId-000000000001".into(),
                sequence_number: format!("{seq:05}"),
                sub_sequence_number: None,
                partition_key: seq.to_string(),
                row: 0,
            },
            score: if anomaly { 0.8 } else { 0.4 },
            anomaly,
            values: vec![Some(1.0), None],
            explanation: vec![],
            arrival: arrival.map(str::to_string),
        }
    }

    /// The episodes the every-anomaly policy makes of `rows`.
    fn every<'a>(rows: &'a [ScoredRow]) -> Vec<Episode<'a>> {
        crate::sinks::policy::PolicyState::default()
            .plan(&crate::sinks::policy::AlertPolicy::every_anomaly(), rows)
            .episodes
    }

    #[test]
    fn one_alert_per_key_with_the_key_and_count_in_the_subject() {
        let mut rows = vec![row(1, false, None), row(2, true, None), row(3, true, None)];
        rows[2].origin.partition_key = "2".into();
        rows[2].score = 0.9;
        let out = alerts("sensors", &every(&rows));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].0, "2: 2 anomalies on sensors");
        let body: serde_json::Value = serde_json::from_str(&out[0].1).unwrap();
        assert_eq!(body["count"], 2);
        assert_eq!(body["partition_key"], "2");
        assert_eq!(body["peak"]["sequence_number"], "00003");
        let a = &body["anomalies"][0];
        assert_eq!(a["shard_id"], "shardId-000000000001");
        assert_eq!(a["sequence_number"], "00002");
        assert_eq!(a["score"], 0.8);
        assert_eq!(a["values"], serde_json::json!([1.0, null]));
        assert!(alerts("sensors", &every(&[row(1, false, None)])).is_empty());
        assert_eq!(
            alerts("s", &every(&[row(1, true, None)]))[0].0,
            "1: 1 anomaly on s"
        );
    }

    fn attribution(
        feature: &str,
        attribution: f64,
        high: bool,
        value: Option<f64>,
        expected: Option<f64>,
    ) -> codec::NamedAttribution {
        codec::NamedAttribution {
            feature: feature.into(),
            attribution,
            direction: if high {
                codec::Direction::High
            } else {
                codec::Direction::Low
            },
            value,
            expected,
        }
    }

    #[test]
    fn explained_alerts_say_why_in_plain_words() {
        let mut rows = vec![row(1, true, None), row(2, true, None)];
        for r in &mut rows {
            r.origin.partition_key = "pump-7".into();
        }
        rows[1].score = 0.9123;
        rows[1].explanation = vec![
            attribution("feature_3", 0.6123, true, Some(412.5), Some(80.1234)),
            attribution("feature_1", 0.3877, false, None, Some(0.012346)),
            attribution("feature_2", 0.0, true, Some(1.0), Some(1.0)),
        ];
        rows[0].explanation = vec![attribution("feature_2", 1.0, true, Some(12345.6), None)];
        assert_eq!(
            why(&rows[1]).unwrap(),
            "feature_3 = 412.5, expected about 80.12 (61 % of the score); \
             feature_1 = missing, expected about 0.01235 (39 % of the score)"
        );
        assert_eq!(
            why(&rows[0]).unwrap(),
            "feature_2 = 12346 (high) (100 % of the score)"
        );
        assert_eq!(why(&row(3, true, None)), None);

        let out = alerts("sensors", &every(&rows));
        let body: serde_json::Value = serde_json::from_str(&out[0].1).unwrap();
        assert_eq!(
            body["summary"],
            "pump-7: 2 anomalies on sensors, peak score 0.9123: feature_3 = 412.5, expected about \
             80.12 (61 % of the score); feature_1 = missing, expected about 0.01235 (39 % of the \
             score)"
        );
        assert_eq!(body["peak"]["why"], body["anomalies"][1]["why"]);
        assert_eq!(
            body["anomalies"][0]["why"],
            "feature_2 = 12346 (high) (100 % of the score)"
        );
        let item = &body["anomalies"][1]["explanation"][0];
        assert_eq!(item["feature"], "feature_3");
        assert_eq!(item["direction"], "high");
        assert_eq!(item["expected"], 80.1234);
        // The results carry the explanation too; rows without one carry no field.
        let (_, lines) = &result_objects(&rows)[0];
        let first: serde_json::Value =
            serde_json::from_str(std::str::from_utf8(lines).unwrap().lines().nth(1).unwrap())
                .unwrap();
        assert_eq!(first["explanation"][1]["value"], serde_json::Value::Null);
        let plain = result_objects(&[row(4, false, None)]);
        assert!(
            !std::str::from_utf8(&plain[0].1)
                .unwrap()
                .contains("explanation")
        );
    }

    #[test]
    fn numbers_are_said_with_four_significant_digits() {
        for (v, text) in [
            (412.5, "412.5"),
            (80.1234, "80.12"),
            (0.0, "0"),
            (-3.25, "-3.25"),
            (12345.6, "12346"),
            (0.000123456, "0.0001235"),
            (1.0, "1"),
        ] {
            assert_eq!(number(v), text);
        }
    }

    #[test]
    fn large_alerts_are_split_under_the_sns_limit() {
        let mut rows: Vec<ScoredRow> = (0..5000).map(|i| row(i, true, None)).collect();
        for r in &mut rows {
            r.origin.partition_key = "k".into();
        }
        let out = alerts("s", &every(&rows));
        assert!(out.len() > 1);
        let mut total = 0;
        for (i, (subject, body)) in out.iter().enumerate() {
            assert!(body.len() <= MAX_ALERT_BYTES, "{}", body.len());
            assert!(subject.ends_with(&format!("(part {}/{})", i + 1, out.len())));
            let body: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!(body["count"], 5000);
            total += body["anomalies"].as_array().unwrap().len();
        }
        assert_eq!(total, 5000);
    }

    #[test]
    fn results_are_partitioned_by_arrival_date() {
        let rows = vec![
            row(1, false, Some("2026-11-21T23:59:59+00:00")),
            row(2, true, Some("2026-11-22T00:00:01+00:00")),
            row(3, false, Some("2026-11-22T00:00:02+00:00")),
        ];
        let out = result_objects(&rows);
        let keys: Vec<&str> = out.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "dt=2026-11-21/shardId-000000000001/00001-00001.jsonl",
                "dt=2026-11-22/shardId-000000000001/00002-00003.jsonl"
            ]
        );
        let lines: Vec<serde_json::Value> = std::str::from_utf8(&out[1].1)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["anomaly"], true);
        assert_eq!(lines[1]["partition_key"], "3");
        let undated = result_objects(&[row(9, false, None)]);
        let today = chrono::Utc::now().format("dt=%Y-%m-%d/").to_string();
        assert!(undated[0].0.starts_with(&today));
    }
}
