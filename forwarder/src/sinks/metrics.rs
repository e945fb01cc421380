//! Metrics as CloudWatch Embedded Metric Format (EMF): one JSON line per processed batch on
//! stdout. In Lambda (and with the CloudWatch agent) these lines become metrics without any
//! PutMetricData call.

use std::io::Write;
use std::sync::Mutex;

use serde_json::{Map, Value, json};

/// Counters of one processed batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Kinesis records in the batch.
    pub records: usize,
    /// Rows scored.
    pub rows: usize,
    /// Rows the model flagged.
    pub anomalies: usize,
    /// Records (or KPL user records) that could not be decoded.
    pub decode_errors: usize,
    /// User records the container rejected (4xx) and that were dead-lettered.
    pub poison_records: usize,
    /// User records for an entity whose model the multi-model endpoint does not have,
    /// dead-lettered.
    pub unknown_model_records: usize,
    /// Failed InvokeEndpoint attempts (retried or not).
    pub endpoint_errors: usize,
    /// Failed sink calls.
    pub sink_errors: usize,
    /// Alerts raised (one per key and episode; see [`crate::sinks::policy`]).
    pub alerts: usize,
    /// Anomalies folded into an alert other than by raising it.
    pub grouped: usize,
    /// Anomalies within the margins of their key's expected values.
    pub suppressed: usize,
    /// Anomalies that did not persist long enough to raise an alert.
    pub held: usize,
    /// Latency of each successful InvokeEndpoint call, in milliseconds.
    pub latencies_ms: Vec<f64>,
    /// How far behind the tip of the stream the batch was, in milliseconds.
    pub iterator_age_ms: Option<f64>,
}

impl Stats {
    /// All errors of the batch.
    pub fn errors(&self) -> usize {
        self.decode_errors
            + self.poison_records
            + self.unknown_model_records
            + self.endpoint_errors
            + self.sink_errors
    }
}

/// Writes EMF lines with a fixed namespace and dimension set.
pub struct Emf {
    namespace: String,
    dimensions: Vec<(String, String)>,
    out: Mutex<Box<dyn Write + Send>>,
}

impl std::fmt::Debug for Emf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emf")
            .field("namespace", &self.namespace)
            .field("dimensions", &self.dimensions)
            .finish_non_exhaustive()
    }
}

impl Emf {
    /// EMF lines for `namespace` with `dimensions` (name, value), written to `out`.
    pub fn new(
        namespace: impl Into<String>,
        dimensions: Vec<(String, String)>,
        out: Box<dyn Write + Send>,
    ) -> Self {
        Emf {
            namespace: namespace.into(),
            dimensions,
            out: Mutex::new(out),
        }
    }

    /// EMF lines on stdout.
    pub fn stdout(namespace: impl Into<String>, dimensions: Vec<(String, String)>) -> Self {
        Emf::new(namespace, dimensions, Box::new(std::io::stdout()))
    }

    /// The EMF document for `stats` at `timestamp_ms`.
    pub fn document(&self, stats: &Stats, timestamp_ms: i64) -> Value {
        let mut metrics = vec![
            json!({"Name": "Records", "Unit": "Count"}),
            json!({"Name": "Rows", "Unit": "Count"}),
            json!({"Name": "Anomalies", "Unit": "Count"}),
            json!({"Name": "Errors", "Unit": "Count"}),
            json!({"Name": "DecodeErrors", "Unit": "Count"}),
            json!({"Name": "UnknownModelRecords", "Unit": "Count"}),
            json!({"Name": "Alerts", "Unit": "Count"}),
            json!({"Name": "AnomaliesGrouped", "Unit": "Count"}),
            json!({"Name": "AnomaliesSuppressed", "Unit": "Count"}),
            json!({"Name": "AnomaliesHeld", "Unit": "Count"}),
        ];
        let mut doc = Map::new();
        doc.insert("Records".into(), json!(stats.records));
        doc.insert("Rows".into(), json!(stats.rows));
        doc.insert("Anomalies".into(), json!(stats.anomalies));
        doc.insert("Errors".into(), json!(stats.errors()));
        doc.insert("DecodeErrors".into(), json!(stats.decode_errors));
        doc.insert(
            "UnknownModelRecords".into(),
            json!(stats.unknown_model_records),
        );
        doc.insert("Alerts".into(), json!(stats.alerts));
        doc.insert("AnomaliesGrouped".into(), json!(stats.grouped));
        doc.insert("AnomaliesSuppressed".into(), json!(stats.suppressed));
        doc.insert("AnomaliesHeld".into(), json!(stats.held));
        if !stats.latencies_ms.is_empty() {
            metrics.push(json!({"Name": "EndpointLatency", "Unit": "Milliseconds"}));
            doc.insert("EndpointLatency".into(), json!(stats.latencies_ms));
        }
        if let Some(age) = stats.iterator_age_ms {
            metrics.push(json!({"Name": "IteratorAge", "Unit": "Milliseconds"}));
            doc.insert("IteratorAge".into(), json!(age));
        }
        for (name, value) in &self.dimensions {
            doc.insert(name.clone(), json!(value));
        }
        let names: Vec<&str> = self.dimensions.iter().map(|(n, _)| n.as_str()).collect();
        doc.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [names],
                    "Metrics": metrics,
                }]
            }),
        );
        Value::Object(doc)
    }

    /// Writes one line for `stats`.
    pub fn emit(&self, stats: &Stats) {
        let line = self.document(stats, chrono::Utc::now().timestamp_millis());
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        // Metrics must never stop the forwarder: a closed stdout only loses metric lines.
        let _ = writeln!(out, "{line}").and_then(|_| out.flush());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A writer that keeps what is written.
    #[derive(Clone, Default)]
    pub(crate) struct Captured(pub Arc<Mutex<Vec<u8>>>);
    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn emf_lines_declare_every_metric_and_dimension() {
        let cap = Captured::default();
        let emf = Emf::new(
            "Isoserve/Forwarder",
            vec![
                ("Endpoint".into(), "iso".into()),
                ("Stream".into(), "s".into()),
            ],
            Box::new(cap.clone()),
        );
        let stats = Stats {
            records: 10,
            rows: 12,
            anomalies: 2,
            decode_errors: 1,
            endpoint_errors: 3,
            latencies_ms: vec![1.5, 2.5],
            iterator_age_ms: Some(250.0),
            alerts: 1,
            grouped: 4,
            suppressed: 2,
            held: 1,
            ..Stats::default()
        };
        emf.emit(&stats);
        emf.emit(&Stats::default());
        let text = String::from_utf8(cap.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        let doc = &lines[0];
        let meta = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(meta["Namespace"], "Isoserve/Forwarder");
        assert_eq!(meta["Dimensions"], json!([["Endpoint", "Stream"]]));
        assert!(doc["_aws"]["Timestamp"].as_i64().unwrap() > 1_600_000_000_000);
        // Every declared metric has a value member, as EMF requires.
        for m in meta["Metrics"].as_array().unwrap() {
            let name = m["Name"].as_str().unwrap();
            assert!(!doc[name].is_null(), "no value for {name}");
        }
        assert_eq!(doc["Records"], 10);
        assert_eq!(doc["Anomalies"], 2);
        assert_eq!(doc["Errors"], 4);
        assert_eq!(
            [
                &doc["Alerts"],
                &doc["AnomaliesGrouped"],
                &doc["AnomaliesSuppressed"],
                &doc["AnomaliesHeld"]
            ],
            [1, 4, 2, 1]
        );
        assert_eq!(doc["EndpointLatency"], json!([1.5, 2.5]));
        assert_eq!(doc["IteratorAge"], 250.0);
        assert_eq!(doc["Endpoint"], "iso");
        // Without latencies or an age those metrics are left out rather than reported as 0.
        assert!(lines[1].get("EndpointLatency").is_none());
        assert!(lines[1].get("IteratorAge").is_none());
    }
}
