//! Each kernel's rank coder against the plain count of thresholds below a value, over threshold
//! sets chosen to strain the bucket map: uniform, clustered with outliers, heavy-tailed, and the
//! float edges (±MAX, subnormals, signed zeros, neighbours one ulp apart).

// The coders are `#[target_feature]` functions: calling one is unsafe, and sound here because
// only the kernels this CPU runs are called.
#![allow(unsafe_code)]

use super::*;
use crate::layout::{avx2, avx512};

/// A kernel's coder: what the walk runs to code a block of rows.
type Coder = unsafe fn(&Ranks, &[f32], usize, &mut [[i32; MAX_FEATURES]]);

/// The coders this CPU can run, by kernel name; the others are reported as not tested.
fn coders() -> Vec<(&'static str, Coder)> {
    let mut coders: Vec<(&'static str, Coder)> = Vec::new();
    if std::arch::is_x86_feature_detected!("avx512f") {
        coders.push(("avx512", avx512::code_rows));
    } else {
        println!("rank coder avx512: NOT TESTED, this CPU cannot run it");
    }
    if std::arch::is_x86_feature_detected!("avx2") {
        coders.push(("avx2", avx2::code_rows));
    } else {
        println!("rank coder avx2: NOT TESTED, this CPU cannot run it");
    }
    coders
}

/// Named threshold sets, and whether the buckets must be in use for each (so the test cannot
/// pass on the plain search alone).
fn threshold_sets() -> Vec<(&'static str, Vec<f32>, bool)> {
    let uniform: Vec<f32> = (0..1000).map(|i| i as f32 * 0.37 - 100.0).collect();
    let mut clustered: Vec<f32> = (0..990).map(|i| i as f32 * 1e-6).collect();
    clustered.extend((0..10).map(|i| 1e6 + i as f32));
    let heavy: Vec<f32> = (0..400)
        .map(|i| (i as f32 / 40.0).exp())
        .flat_map(|v| [v, -v])
        .collect();
    let mut edges: Vec<f32> = (0..300).map(|i| i as f32 / 7.0 - 20.0).collect();
    edges.extend([
        f32::MIN,
        f32::MAX,
        -1e30,
        1e30,
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
        f32::from_bits(1),
        -f32::from_bits(1),
        -0.0,
        0.0,
    ]);
    edges.extend((0..50).map(|i| 1.0f32.next_up().next_up() + i as f32 * f32::EPSILON));
    let narrow: Vec<f32> = (0..600)
        .map(|i| f32::from_bits(1.0f32.to_bits() + i))
        .collect();
    vec![
        ("uniform", uniform, true),
        ("clustered with outliers", clustered, false),
        ("heavy-tailed", heavy, false),
        ("float edges", edges, false),
        ("one ulp apart", narrow, true),
    ]
}

/// Every threshold, its neighbours one ulp away, the signed zeros, the extremes and a sweep.
fn probes(thresholds: &[f32]) -> Vec<f32> {
    let mut xs: Vec<f32> = thresholds
        .iter()
        .flat_map(|&t| [t, t.next_up(), t.next_down()])
        .collect();
    xs.extend([
        f32::NEG_INFINITY,
        f32::INFINITY,
        f32::MIN,
        f32::MAX,
        -0.0,
        0.0,
    ]);
    xs.extend((0..2000).map(|i| (i as f32 - 1000.0) * 0.731));
    xs
}

#[test]
fn every_coder_counts_the_thresholds_below_every_value() {
    for (kernel, code_rows) in coders() {
        check_coder(kernel, code_rows);
        println!("rank coder {kernel}: tested against the plain count");
    }
}

fn check_coder(kernel: &str, code_rows: Coder) {
    for (name, thresholds, bucketed) in threshold_sets() {
        let ranks = Ranks(vec![FeatureRanks::new(thresholds.clone())]);
        if bucketed {
            assert!(ranks.0[0].buckets.is_some(), "{name}: buckets not in use");
        }
        // Ranks count distinct thresholds (-0 and +0 are one).
        let mut distinct = thresholds.clone();
        distinct.sort_by(f32::total_cmp);
        distinct.dedup_by(|a, b| a == b);
        let xs = probes(&thresholds);
        // Blocks of every size the coders split differently: one row, under eight and sixteen,
        // one to eight vectors.
        for block in [1, 7, 8, 15, 16, 40, 64, 128] {
            for chunk in xs.chunks(block) {
                let mut codes = vec![[0i32; MAX_FEATURES]; chunk.len()];
                // SAFETY: `coders` lists only the kernels this CPU runs.
                unsafe { code_rows(&ranks, chunk, 1, &mut codes) };
                for (&x, code) in chunk.iter().zip(&codes) {
                    let want = distinct.iter().filter(|&&t| t < x).count() as i32;
                    assert_eq!(
                        code[0] >> FEATURE_BITS,
                        want,
                        "{kernel}, {name}: x = {x:e}, block {block}"
                    );
                }
            }
        }
    }
}
