//! Scoring and fitting speed, side by side with the `extended-isolation-forest` crate on the same
//! data: batch scoring with every walk kernel this CPU runs (100 trees, ψ = 256, d = 5 and 20, one thread), one-row latency, and the fit
//! of 10,000 × 5. `scripts/bench-forest.sh` runs this together with scikit-learn and writes
//! docs/benchmarks.md.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use extended_isolation_forest::{Forest, ForestOptions};
use forest::ndarray::Array2;
use forest::{DetectorParams, ForestParams, Kernel, Model};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;

const TRAIN_ROWS: usize = 10_000;
const SCORE_ROWS: usize = 20_000;

fn normal(rows: usize, d: usize, seed: u64) -> Array2<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    Array2::from_shape_simple_fn((rows, d), || StandardNormal.sample(&mut rng))
}

fn rows<const N: usize>(a: &Array2<f64>) -> Vec<[f64; N]> {
    a.rows()
        .into_iter()
        .map(|r| std::array::from_fn(|i| r[i]))
        .collect()
}

fn eif_options() -> ForestOptions {
    ForestOptions {
        n_trees: 100,
        sample_size: 256,
        max_tree_depth: None,
        extension_level: 0,
    }
}

fn fit_ours(train: &Array2<f64>) -> Model {
    Model::fit(
        train.view(),
        vec![],
        &DetectorParams::IsolationForest(ForestParams::default()),
    )
    .unwrap()
}

/// The model once per kernel this CPU runs, named `forest-<kernel>`; the kernels it cannot run are
/// printed, so the report says what was not measured.
fn kernels(model: &Model) -> Vec<(String, Model)> {
    let mut out = Vec::new();
    for kernel in Kernel::ALL {
        let mut m = model.clone();
        if m.use_kernel(kernel) == Some(kernel) {
            out.push((format!("forest-{kernel}"), m));
        } else {
            eprintln!("kernel {kernel}: not measured, this CPU cannot run it");
        }
    }
    out
}

fn score_d<const N: usize>(c: &mut Criterion) {
    let train = normal(TRAIN_ROWS, N, 1);
    let test = normal(SCORE_ROWS, N, 2);
    let ours = fit_ours(&train);
    let eif = Forest::<f64, N>::from_slice(&rows::<N>(&train), &eif_options()).unwrap();
    let eif_rows = rows::<N>(&test);
    let mut g = c.benchmark_group("score");
    g.throughput(Throughput::Elements(SCORE_ROWS as u64));
    for (name, model) in kernels(&ours) {
        g.bench_with_input(BenchmarkId::new(name, format!("d{N}")), &test, |b, t| {
            b.iter(|| black_box(model.score_batch(t.view()).unwrap()))
        });
    }
    g.bench_with_input(
        BenchmarkId::new("eif", format!("d{N}")),
        &eif_rows,
        |b, t| b.iter(|| black_box(t.iter().map(|r| eif.score(r)).sum::<f64>())),
    );
    g.finish();
}

fn one_row(c: &mut Criterion) {
    let ours = fit_ours(&normal(TRAIN_ROWS, 5, 1));
    let test = normal(1024, 5, 3);
    let mut g = c.benchmark_group("one_row");
    for (name, model) in kernels(&ours) {
        let mut i = 0;
        g.bench_function(BenchmarkId::new(name, "d5"), |b| {
            b.iter(|| {
                // Cycle through different rows so the walk is not one cached path.
                i = (i + 1) % 1024;
                black_box(model.score_row(test.row(i).as_slice().unwrap()).unwrap())
            })
        });
    }
    g.finish();
}

fn fit(c: &mut Criterion) {
    let train = normal(TRAIN_ROWS, 5, 1);
    let train_rows = rows::<5>(&train);
    let mut g = c.benchmark_group("fit");
    g.bench_function(BenchmarkId::new("forest", "10000x5"), |b| {
        b.iter(|| black_box(fit_ours(&train)))
    });
    g.bench_function(BenchmarkId::new("eif", "10000x5"), |b| {
        b.iter(|| black_box(Forest::<f64, 5>::from_slice(&train_rows, &eif_options()).unwrap()))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = score_d::<5>, score_d::<20>, one_row, fit
}
criterion_main!(benches);
