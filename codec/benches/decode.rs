//! Decode/encode throughput on the server's hot path: 1000 rows × 5 features.

use std::hint::black_box;

use codec::{InputFormat, Limits, OutputFormat, Prediction, Shape, decode, encode};
use criterion::{Criterion, Throughput, criterion_main};

const ROWS: usize = 1000;
const FEATURES: usize = 5;

fn names() -> Vec<String> {
    (1..=FEATURES).map(|i| format!("feature_{i}")).collect()
}

/// Deterministic sensor-like values at full precision (17 significant digits), as pandas, numpy
/// and `json.dumps` write floats.
fn value(r: usize, c: usize) -> f64 {
    let x = ((r * 7919 + c * 104_729) % 100_000) as f64 / 1000.0;
    (x - 50.0 + c as f64 * 0.125) * std::f64::consts::FRAC_1_SQRT_2
}

fn csv_body() -> Vec<u8> {
    let mut s = String::new();
    for r in 0..ROWS {
        let row: Vec<String> = (0..FEATURES).map(|c| value(r, c).to_string()).collect();
        s.push_str(&row.join(","));
        s.push('\n');
    }
    s.into_bytes()
}

fn json_arrays_body() -> Vec<u8> {
    let rows: Vec<Vec<f64>> = (0..ROWS)
        .map(|r| (0..FEATURES).map(|c| value(r, c)).collect())
        .collect();
    serde_json::to_vec(&rows).unwrap()
}

fn json_records_body() -> Vec<u8> {
    let names = names();
    let rows: Vec<serde_json::Map<String, serde_json::Value>> = (0..ROWS)
        .map(|r| {
            (0..FEATURES)
                .map(|c| (names[c].clone(), value(r, c).into()))
                .collect()
        })
        .collect();
    serde_json::to_vec(&rows).unwrap()
}

fn jsonlines_body() -> Vec<u8> {
    let doc: Vec<serde_json::Value> = serde_json::from_slice(&json_records_body()).unwrap();
    let mut out = Vec::new();
    for record in doc {
        serde_json::to_writer(&mut out, &record).unwrap();
        out.push(b'\n');
    }
    out
}

fn bench_decode(c: &mut Criterion) {
    let names = names();
    let limits = Limits::default();
    let mut group = c.benchmark_group("decode_1000x5");
    group.throughput(Throughput::Elements(ROWS as u64));
    let bodies = [
        ("csv", InputFormat::Csv, csv_body()),
        ("json_arrays", InputFormat::Json, json_arrays_body()),
        ("json_records", InputFormat::Json, json_records_body()),
        (
            "jsonlines_records",
            InputFormat::JsonLines,
            jsonlines_body(),
        ),
    ];
    for (name, format, body) in &bodies {
        group.bench_function(*name, |b| {
            b.iter(|| decode(*format, black_box(body), &names, &limits).unwrap())
        });
    }
    group.finish();
}

fn bench_encode(c: &mut Criterion) {
    let preds: Vec<Prediction> = (0..ROWS)
        .map(|r| Prediction {
            score: value(r, 1).abs() / 60.0,
            anomaly: r % 10 == 0,
        })
        .collect();
    let mut group = c.benchmark_group("encode_1000");
    group.throughput(Throughput::Elements(ROWS as u64));
    for (name, format) in [("json", OutputFormat::Json), ("csv", OutputFormat::Csv)] {
        group.bench_function(name, |b| {
            b.iter(|| encode(black_box(&preds), format, Shape::Native))
        });
    }
    group.finish();
}

// The macro generates an undocumented public function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench_decode, super::bench_encode);
}
criterion_main!(group::benches);
