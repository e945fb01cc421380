//! Scoring and fitting speed, side by side with the `extended-isolation-forest` crate on the same
//! data: batch scoring with every walk kernel this CPU runs (100 trees, ψ = 256, d = 5 and 20, one
//! thread), one-row latency, the fit of 10,000 × 5, a batch of a million rows on one and two
//! threads, and the rate at which this CPU can gather the layout's nodes at all (the bound the
//! vector kernels are measured against). `scripts/bench-forest.sh` runs this together with
//! scikit-learn and writes docs/benchmarks.md.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]
// The gather-bound measurement issues the vector kernels' gathers directly.
#![allow(unsafe_code)]

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

/// Rows of the multi-core batch.
const LARGE_ROWS: usize = 1_000_000;

/// A million rows on rayon pools of one and two threads, with the fastest kernel.
fn parallel(c: &mut Criterion) {
    let ours = fit_ours(&normal(TRAIN_ROWS, 5, 1));
    let test = normal(LARGE_ROWS, 5, 4);
    let mut g = c.benchmark_group("parallel");
    g.throughput(Throughput::Elements(LARGE_ROWS as u64));
    g.sample_size(10);
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        g.bench_function(BenchmarkId::new("forest", format!("{threads}t")), |b| {
            b.iter(|| pool.install(|| black_box(ours.score_batch_parallel(test.view()).unwrap())))
        });
    }
    g.finish();
}

/// Nodes per gather instruction and offsets of the walk that issues it; `GATHERS` independent
/// gathers per round keep the CPU's gather units busy, as the walk's rows do.
const GATHERS: usize = 8;
/// Gather rounds per iteration.
const ROUNDS: usize = 4096;

/// The rate at which this CPU gathers nodes from an L1-resident table with the vector kernels'
/// node instructions (one gather of 16 lanes of 32-bit codes for AVX-512, of 8 lanes for AVX2): what the walks' node fetches could reach if nothing else cost
/// anything. Reported as nodes (elements) per second.
fn gather_bound(c: &mut Criterion) {
    #[cfg(target_arch = "x86_64")]
    {
        let codes: Vec<i32> = (0..4096).collect();
        let mut g = c.benchmark_group("gather_bound");
        for (kernel, lanes) in [(Kernel::Avx2, 8), (Kernel::Avx512, 16)] {
            if !kernel.is_supported() {
                eprintln!("gather bound {kernel}: not measured, this CPU cannot run it");
                continue;
            }
            g.throughput(Throughput::Elements((ROUNDS * GATHERS * lanes) as u64));
            g.bench_function(BenchmarkId::new("nodes", kernel.name()), |b| {
                b.iter(|| match kernel {
                    // SAFETY: the kernel was checked on this CPU just above.
                    Kernel::Avx512 => unsafe { gathers::zmm(black_box(&codes)) },
                    _ => unsafe { gathers::ymm(black_box(&codes)) },
                })
            });
        }
        g.finish();
    }
}

#[cfg(target_arch = "x86_64")]
mod gathers {
    use std::arch::x86_64::*;

    use super::{GATHERS, ROUNDS};

    /// Offsets stay inside the 4096-entry table: `(i * 8 + lane) & 4095` walks it like a tree
    /// level.
    const MASK: i32 = 4095;

    /// `ROUNDS * GATHERS` sixteen-lane node fetches, as the AVX-512 walk issues them (one gather
    /// of sixteen 32-bit codes).
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn zmm(table: &[i32]) -> i64 {
        let mask = _mm512_set1_epi32(MASK);
        let step = _mm512_set1_epi32(16 * 37);
        let mut idx: [__m512i; GATHERS] = std::array::from_fn(|k| {
            _mm512_add_epi32(
                _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                _mm512_set1_epi32(k as i32 * 160),
            )
        });
        let mut acc = _mm512_setzero_si512();
        for _ in 0..ROUNDS {
            for i in &mut idx {
                // SAFETY: every offset is masked into the table.
                let w = unsafe { _mm512_i32gather_epi32::<4>(*i, table.as_ptr()) };
                acc = _mm512_add_epi32(acc, w);
                *i = _mm512_and_si512(_mm512_add_epi32(*i, step), mask);
            }
        }
        i64::from(_mm512_reduce_add_epi32(acc))
    }

    /// `ROUNDS * GATHERS` eight-lane node fetches, as the AVX2 walk issues them (one gather of
    /// eight 32-bit codes).
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn ymm(table: &[i32]) -> i64 {
        let mask = _mm256_set1_epi32(MASK);
        let step = _mm256_set1_epi32(8 * 37);
        let mut idx: [__m256i; GATHERS] = std::array::from_fn(|k| {
            _mm256_add_epi32(
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                _mm256_set1_epi32(k as i32 * 80),
            )
        });
        let mut acc = _mm256_setzero_si256();
        for _ in 0..ROUNDS {
            for i in &mut idx {
                // SAFETY: every offset is masked into the table.
                let w = unsafe { _mm256_i32gather_epi32::<4>(table.as_ptr(), *i) };
                acc = _mm256_add_epi32(acc, w);
                *i = _mm256_and_si256(_mm256_add_epi32(*i, step), mask);
            }
        }
        let mut out = [0i32; 8];
        // SAFETY: stores eight i32 into `out`.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), acc) };
        out.iter().map(|&v| i64::from(v)).sum()
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = score_d::<5>, score_d::<20>, one_row, fit, gather_bound, parallel
}
criterion_main!(benches);
