//! In-process cost of one `/invocations` request and its stages (decode, score, encode), for
//! 1, 100 and 1000 rows of the default model's shape. Used to place the inline/offload threshold
//! (`OFFLOAD_BYTES`) and to see where a request's time goes; the end-to-end comparison with the
//! Python container is `scripts/bench-http.sh`.

use axum::body::Body;
use axum::http::Request;
use clap::Parser;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use forest::{DetectorParams, ForestParams, Model};
use isoserve::{AppState, Config, ServeArgs};
use tower::ServiceExt;

#[derive(Parser)]
struct Flags {
    #[command(flatten)]
    args: ServeArgs,
}

const FEATURES: usize = 5;

/// Deterministic rows in roughly the default model's value range.
fn rows(n: usize) -> Vec<f64> {
    let mut state = 0x9e3779b97f4a7c15u64;
    (0..n * FEATURES)
        .map(|i| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (i % FEATURES) as f64 * 10.0 + (state >> 11) as f64 / (1u64 << 53) as f64 * 20.0
        })
        .collect()
}

fn model() -> Model {
    let data = rows(10_000);
    let view = forest::ndarray::ArrayView2::from_shape((10_000, FEATURES), &data).unwrap();
    let params = DetectorParams::IsolationForest(ForestParams {
        seed: 7,
        ..ForestParams::default()
    });
    Model::fit(view, Vec::new(), &params).unwrap()
}

fn bodies(model: &Model, n: usize) -> [(&'static str, Vec<u8>); 2] {
    let values = rows(n);
    let csv: String = values
        .chunks(FEATURES)
        .map(|r| r.iter().map(f64::to_string).collect::<Vec<_>>().join(",") + "\n")
        .collect();
    let records: Vec<serde_json::Map<String, serde_json::Value>> = values
        .chunks(FEATURES)
        .map(|r| {
            model
                .feature_names()
                .iter()
                .cloned()
                .zip(r.iter().map(|v| (*v).into()))
                .collect()
        })
        .collect();
    [
        ("text/csv", csv.into_bytes()),
        ("application/json", serde_json::to_vec(&records).unwrap()),
    ]
}

fn bench(c: &mut Criterion) {
    let model = model();
    let config = Config::from_args(Flags::parse_from(["bench"]).args).unwrap();
    let app = isoserve::app(AppState::with_model(
        config,
        Model::from_bytes(&model.to_bytes()).unwrap(),
    ));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let limits = codec::Limits::default();

    let mut group = c.benchmark_group("invocations");
    for n in [1usize, 100, 1000] {
        group.throughput(Throughput::Elements(n as u64));
        for (content_type, body) in bodies(&model, n) {
            let format = codec::InputFormat::from_content_type(Some(content_type)).unwrap();
            let label = format!("{}/{n}", format.media_type().rsplit('/').next().unwrap());
            group.bench_function(BenchmarkId::new("request", &label), |b| {
                b.iter(|| {
                    let request = Request::post("/invocations")
                        .header("content-type", content_type)
                        .body(Body::from(body.clone()))
                        .unwrap();
                    runtime.block_on(app.clone().oneshot(request)).unwrap()
                })
            });
            group.bench_function(BenchmarkId::new("decode", &label), |b| {
                b.iter(|| codec::decode(format, &body, model.feature_names(), &limits).unwrap())
            });
        }
        let values = rows(n);
        group.bench_function(BenchmarkId::new("score", n), |b| {
            b.iter(|| model.score_slice(&values).unwrap())
        });
        let predictions: Vec<codec::Prediction> = model
            .score_slice(&values)
            .unwrap()
            .into_iter()
            .map(|score| codec::Prediction {
                score,
                anomaly: model.is_anomaly(score),
            })
            .collect();
        group.bench_function(BenchmarkId::new("encode", n), |b| {
            b.iter(|| {
                codec::encode(
                    &predictions,
                    codec::OutputFormat::Json,
                    codec::Shape::Native,
                )
            })
        });
    }
    group.finish();

    // What moving work to the blocking pool costs: the floor under which inline is cheaper.
    let pool = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    c.bench_function("offload/spawn_blocking_round_trip", |b| {
        b.iter(|| pool.block_on(async { tokio::task::spawn_blocking(|| 1u8).await.unwrap() }))
    });
}

// The macro generates an undocumented public function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
