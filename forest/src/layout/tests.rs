//! Every kernel against the scalar walk, bit for bit. A kernel this CPU cannot run is reported as
//! not tested (the test command prints these lines), never passed silently.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::kernel::Kernel;
use crate::layout::PerfectForest;
use crate::model::Detector;
use crate::tree::{AxisNode, AxisTree};
use crate::{Contamination, DetectorParams, ForestParams, MaxSamples, Model};

/// A fitted forest's trees, from data with ties and repeated values so that rows land exactly on
/// thresholds.
fn trees(rows: usize, d: usize, n_trees: usize, psi: usize, seed: u64) -> Vec<AxisTree> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let data: Vec<f64> = (0..rows * d)
        .map(|_| (rng.r#gen::<f64>() * 40.0).round() / 4.0 - 5.0)
        .collect();
    let data = ndarray::Array2::from_shape_vec((rows, d), data).unwrap();
    let params = DetectorParams::IsolationForest(ForestParams {
        n_trees,
        max_samples: MaxSamples::Count(psi),
        contamination: Contamination::Auto,
        seed,
        ..ForestParams::default()
    });
    match Model::fit(data.view(), vec![], &params).unwrap().detector {
        Detector::Axis(f) => f.trees,
        _ => unreachable!("an axis-parallel forest was fitted"),
    }
}

/// Rows around the training range, with the training grid's values (exact threshold ties),
/// infinities and extremes.
fn rows(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..n * d)
        .map(|_| match rng.gen_range(0..10) {
            0 => f32::INFINITY,
            1 => f32::NEG_INFINITY,
            2 => f32::MAX,
            3..=5 => (rng.gen_range(-30..=30) as f32) / 4.0,
            _ => rng.r#gen::<f32>() * 14.0 - 7.0,
        })
        .collect()
}

/// Runs the equivalence on `kernel`, or prints why it cannot run here.
fn check_kernel(kernel: Kernel) {
    if !kernel.is_supported() {
        println!("kernel {kernel}: NOT TESTED, this CPU cannot run it");
        return;
    }
    // Widths within one, two, three and four registers of eight (AVX2) and one or two of sixteen
    // (AVX-512);
    // tree counts that fill the last group or not; depths from 1 (ψ = 2) to 10 (ψ = 1000),
    // including depths under 3, where the first levels are gathered like the rest.
    for (d, n_trees, psi) in [
        (1, 3, 2),
        (2, 16, 4),
        (3, 9, 8),
        (5, 100, 256),
        (7, 33, 1000),
        (8, 8, 256),
        (9, 15, 128),
        (16, 17, 64),
        (17, 20, 256),
        (20, 100, 256),
        (25, 7, 512),
        (32, 5, 128),
    ] {
        let trees = trees(1500, d, n_trees, psi, d as u64);
        let vector = PerfectForest::build_for(&trees, d, kernel).unwrap();
        let scalar = PerfectForest::build_for(&trees, d, Kernel::Scalar).unwrap();
        assert_eq!(vector.kernel(), kernel);
        assert_eq!(scalar.kernel(), Kernel::Scalar);
        let n = 203; // more than one block, and not a multiple of the rows walked together
        let xs = rows(n, d, 99 + d as u64);
        let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
        vector.add_path_lengths(&xs, d, &mut a);
        scalar.add_path_lengths(&xs, d, &mut b);
        assert_eq!(a, b, "{kernel}: d = {d}, trees = {n_trees}, psi = {psi}");
        // The padded stride the batch path uses gives the same sums.
        let stride = super::row_stride(d);
        let mut padded = vec![0f32; n * stride];
        for (p, x) in padded.chunks_exact_mut(stride).zip(xs.chunks_exact(d)) {
            p[..d].copy_from_slice(x);
        }
        let mut c = vec![0.0; n];
        vector.add_path_lengths(&padded, stride, &mut c);
        assert_eq!(c, b, "{kernel}: d = {d}, stride {stride}");
        for (x, want) in xs.chunks_exact(d).zip(&b) {
            assert_eq!(vector.path_length_sum(x), *want);
        }
        // The explanation walk: the same sums, and the leaf slots the scalar walk reaches.
        let mut slots = vec![u16::MAX; n * n_trees];
        let mut want_slots = vec![0u16; n * n_trees];
        let mut sums = vec![0.0; n];
        vector.add_path_lengths_and_slots(&padded, stride, &mut sums, &mut slots);
        scalar.leaf_slots(&padded, stride, n, &mut want_slots);
        assert_eq!(sums, b, "{kernel}: d = {d}, sums with slots");
        assert_eq!(
            slots, want_slots,
            "{kernel}: d = {d}, trees = {n_trees}, slots"
        );
        let mut scalar_sums = vec![0.0; n];
        scalar.add_path_lengths_and_slots(&padded, stride, &mut scalar_sums, &mut slots);
        assert_eq!((scalar_sums, &slots), (b, &want_slots), "scalar: d = {d}");
    }
    println!("kernel {kernel}: tested, equal to the scalar walk bit for bit (sums and leaf slots)");
}

#[test]
fn kernel_avx2_gives_the_scalar_sums_bit_for_bit() {
    check_kernel(Kernel::Avx2);
}

#[test]
fn kernel_avx512_gives_the_scalar_sums_bit_for_bit() {
    check_kernel(Kernel::Avx512);
}

#[test]
fn rows_wider_than_the_registers_stay_scalar() {
    let trees = trees(300, 33, 4, 32, 7);
    for kernel in Kernel::ALL {
        let forest = PerfectForest::build_for(&trees, 33, kernel).unwrap();
        assert_eq!(forest.kernel(), Kernel::Scalar);
    }
}

/// Values where comparisons are easiest to get wrong: signed zeros, infinities, the extremes, the
/// smallest subnormals, and a few plain ones.
const EDGES: [f32; 13] = [
    -0.0,
    0.0,
    1.0,
    -1.0,
    0.5,
    3.0,
    f32::MAX,
    f32::MIN,
    f32::MIN_POSITIVE,
    1e-45,
    -1e-45,
    f32::INFINITY,
    f32::NEG_INFINITY,
];

/// A tree of at most `depth` levels on `d` features whose thresholds are all drawn from [`EDGES`],
/// with some leaves ending early.
fn edge_tree(depth: usize, d: usize, rng: &mut Xoshiro256PlusPlus) -> AxisTree {
    fn grow(
        nodes: &mut Vec<AxisNode>,
        level: usize,
        depth: usize,
        d: usize,
        rng: &mut Xoshiro256PlusPlus,
    ) -> u32 {
        let at = nodes.len();
        if level == depth || (level > 1 && rng.gen_range(0..6) == 0) {
            nodes.push(AxisNode::leaf(level, rng.gen_range(1..9)));
            return at as u32;
        }
        nodes.push(AxisNode {
            feature: rng.gen_range(0..d) as u32,
            threshold: EDGES[rng.gen_range(0..EDGES.len())],
            left: 0,
            right: 0,
            nan_left: true,
            value: 0.0,
        });
        let left = grow(nodes, level + 1, depth, d, rng);
        let right = grow(nodes, level + 1, depth, d, rng);
        nodes[at].left = left;
        nodes[at].right = right;
        at as u32
    }
    let mut nodes = Vec::new();
    grow(&mut nodes, 0, depth, d, rng);
    AxisTree { nodes }
}

/// Thresholds and values on signed zeros, infinities, extremes and subnormals, with rows equal to
/// thresholds: every kernel still gives the scalar sums (the AVX-512 walk compares ranks of
/// values among thresholds instead of the values).
#[test]
fn every_kernel_agrees_on_edge_values() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    for (d, n_trees, depth) in [(3, 37, 8), (20, 19, 6)] {
        let trees: Vec<AxisTree> = (0..n_trees)
            .map(|_| edge_tree(depth, d, &mut rng))
            .collect();
        let n = 150;
        let xs: Vec<f32> = (0..n * d)
            .map(|_| EDGES[rng.gen_range(0..EDGES.len())])
            .collect();
        let scalar = PerfectForest::build_for(&trees, d, Kernel::Scalar).unwrap();
        let mut want = vec![0.0; n];
        scalar.add_path_lengths(&xs, d, &mut want);
        for kernel in Kernel::ALL.into_iter().filter(|k| k.is_supported()) {
            let forest = PerfectForest::build_for(&trees, d, kernel).unwrap();
            assert_eq!(forest.kernel(), kernel);
            // Row counts that take every way of placing values (the AVX-512 walk searches a few
            // rows one by one, more in one, two, four or eight vectors of sixteen).
            for rows in [1, 15, 16, 20, 50, 100, 128, n] {
                let mut got = vec![0.0; rows];
                forest.add_path_lengths(&xs[..rows * d], d, &mut got);
                assert_eq!(got, want[..rows], "{kernel}: d = {d}, {rows} rows");
            }
        }
    }
}
