//! Shared test data: trending sensor series with injected spikes.

#![allow(dead_code)]

use forest::ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use rand_xoshiro::Xoshiro256PlusPlus;

/// `n × d` rows: feature i is `linspace(0, 100 + 20i, n) + N(0, 5)`; `anomalies` random rows per
/// feature get ±U(50, 200). Returns the data and the row labels (any feature spiked).
pub fn trending(n: usize, d: usize, anomalies: usize, seed: u64) -> (Array2<f64>, Vec<bool>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let noise = Normal::new(0.0, 5.0).unwrap();
    let mut x = Array2::zeros((n, d));
    let mut labels = vec![false; n];
    for f in 0..d {
        let top = 100.0 + 20.0 * f as f64;
        for r in 0..n {
            x[[r, f]] = top * r as f64 / (n - 1).max(1) as f64 + noise.sample(&mut rng);
        }
        for r in rand::seq::index::sample(&mut rng, n, anomalies) {
            let mag = rng.gen_range(50.0..200.0);
            x[[r, f]] += if rng.r#gen::<bool>() { mag } else { -mag };
            labels[r] = true;
        }
    }
    (x, labels)
}
