//! The AVX2 walk of the perfect layout: eight trees at once, one per vector lane.
//!
//! The same interleaved trees as the AVX-512 walk ([`Interleaved`], eight to a group), the same
//! branch-free steps `i = 2i + 1 + (x > t)`, and the same sums bit for bit: each lane's leaf value
//! is added to the row's sum in tree order, and padding lanes add `+0.0`.
//!
//! What differs is what AVX2 lacks. A gather of 64-bit nodes takes four 32-bit offsets, so one
//! step gathers two halves, and there are no mask registers or two-table permutes:
//! - the halves are gathered as trees (0, 1, 4, 5) and (2, 3, 6, 7), so that one in-lane shuffle
//!   per field puts the thresholds and the features of trees 0 to 7 back in order;
//! - the row is held in up to four registers of eight features, and a lane's feature value is
//!   picked by permuting each register and blending on the feature index's bits 3 and 4;
//! - a comparison gives all-ones lanes (-1), so the next index is `2i + 1 - mask`.
//!
//! The first three levels (nodes 0 to 6) sit at the same place for every lane, so they are
//! loaded once per group and blended instead of gathered, as in the AVX-512 walk. Four rows are
//! walked together so their gathers overlap, in blocks of rows per group so that a group stays in
//! L1.
//!
//! `unsafe` here, as in the AVX-512 walk: the gathers and loads take raw pointers, and these
//! functions may only run on a CPU checked for AVX2 ([`Avx2Forest::build`]); each block says why
//! it holds.

#![allow(unsafe_code)]

use std::arch::x86_64::{
    __m128i, __m256, __m256i, _CMP_GT_OQ, _mm256_add_epi32, _mm256_blendv_pd, _mm256_blendv_ps,
    _mm256_castpd_si256, _mm256_castps_si256, _mm256_castsi256_pd, _mm256_castsi256_ps,
    _mm256_castsi256_si128, _mm256_cmp_ps, _mm256_cvtepi32_epi64, _mm256_extracti128_si256,
    _mm256_i32gather_epi64, _mm256_i32gather_pd, _mm256_loadu_ps, _mm256_loadu_si256,
    _mm256_permute2x128_si256, _mm256_permutevar8x32_epi32, _mm256_permutevar8x32_ps,
    _mm256_set1_epi32, _mm256_setr_epi32, _mm256_setzero_si256, _mm256_shuffle_ps,
    _mm256_slli_epi32, _mm256_storeu_pd, _mm256_storeu_si256, _mm256_sub_epi32,
};

use super::interleaved::{Interleaved, MAX_FEATURES, PlainCode, Slots};

/// Trees per group: the lanes of one vector of 32-bit indices.
const LANES: usize = 8;
/// Rows walked together.
const ROWS: usize = 8;
/// Rows walked through one group before the next group.
const BLOCK: usize = 128;

/// One row's values, aligned for vector loads.
#[derive(Clone, Copy)]
#[repr(C, align(32))]
struct Row([f32; MAX_FEATURES]);

/// A forest interleaved eight trees to a group. Exists only on a CPU with AVX2.
#[derive(Debug, Clone)]
pub(super) struct Avx2Forest(Interleaved<LANES, i64>);

impl Avx2Forest {
    /// See [`crate::Model::heap_bytes`].
    pub(super) fn heap_bytes(&self) -> usize {
        self.0.heap_bytes()
    }

    /// The interleaved forest ([`Interleaved::build`]), or `None` when the CPU lacks AVX2 or the
    /// forest does not fit the layout.
    pub(super) fn build(
        depth: usize,
        n_features: usize,
        n_trees: usize,
        split: impl Fn(usize, usize) -> (u32, f32),
        leaf: impl Fn(usize, usize) -> f64,
    ) -> Option<Self> {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return None;
        }
        Interleaved::build(depth, n_features, n_trees, &PlainCode, split, leaf).map(Self)
    }

    /// Adds each row's path length summed over all trees to `sums` (`xs` holds `sums.len()` rows
    /// of `stride >= n_features` values, f32, no NaN), and records the leaf slot each row reaches
    /// in each tree in `slots[t * rows + r]` (`rows = sums.len()`), unless `slots` is empty.
    pub(super) fn add_path_lengths_and_slots(
        &self,
        xs: &[f32],
        stride: usize,
        sums: &mut [f64],
        slots: &mut [u16],
    ) {
        // SAFETY: an Avx2Forest exists only after `build` detected AVX2 on this CPU.
        unsafe { self.add_all(xs, stride, sums, slots) }
    }

    #[target_feature(enable = "avx2")]
    fn add_all(&self, xs: &[f32], stride: usize, sums: &mut [f64], slots: &mut [u16]) {
        match self.0.n_features {
            0..=8 => self.add_blocks::<1>(xs, stride, sums, slots),
            9..=16 => self.add_blocks::<2>(xs, stride, sums, slots),
            17..=24 => self.add_blocks::<3>(xs, stride, sums, slots),
            _ => self.add_blocks::<4>(xs, stride, sums, slots),
        }
    }

    /// Walks blocks of [`BLOCK`] rows one group at a time; `REGS` registers hold a row.
    #[target_feature(enable = "avx2")]
    fn add_blocks<const REGS: usize>(
        &self,
        xs: &[f32],
        stride: usize,
        sums: &mut [f64],
        slots: &mut [u16],
    ) {
        let n_features = self.0.n_features;
        let total = sums.len();
        let mut rows = [Row([0.0; MAX_FEATURES]); BLOCK];
        for (b, (xb, sb)) in xs
            .chunks(BLOCK * stride)
            .zip(sums.chunks_mut(BLOCK))
            .enumerate()
        {
            for (r, x) in rows.iter_mut().zip(xb.chunks(stride)) {
                r.0[..n_features].copy_from_slice(&x[..n_features]);
            }
            let n = sb.len();
            let full = n / ROWS * ROWS;
            let mut out = Slots {
                slots: &mut *slots,
                rows: total,
                first: b * BLOCK,
            };
            for g in 0..self.0.groups {
                for c in (0..full).step_by(ROWS) {
                    out.first = b * BLOCK + c;
                    self.walk_group::<ROWS, REGS>(
                        g,
                        &rows[c..c + ROWS],
                        &mut sb[c..c + ROWS],
                        &mut out,
                    );
                }
                for c in full..n {
                    out.first = b * BLOCK + c;
                    self.walk_group::<1, REGS>(g, &rows[c..c + 1], &mut sb[c..c + 1], &mut out);
                }
            }
        }
    }

    /// Walks `R` rows through group `g` and adds its trees' leaf values to their sums, in tree
    /// order.
    #[target_feature(enable = "avx2")]
    fn walk_group<const R: usize, const REGS: usize>(
        &self,
        g: usize,
        rows: &[Row],
        sums: &mut [f64],
        out: &mut Slots<'_>,
    ) {
        let depth = self.0.depth;
        let width = 1usize << depth;
        let (nodes, leaves) = self.0.group(g);
        let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        // Gathered halves hold trees (0, 1, 4, 5) and (2, 3, 6, 7); see `split`.
        let halves = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);
        let one = _mm256_set1_epi32(1);
        let first_leaf = _mm256_set1_epi32(width as i32 - 1);
        // A row lives in REGS registers of eight features (spilled to the stack and folded into
        // the permutes as memory operands when the registers run out).
        let x: [[__m256; 4]; R] = std::array::from_fn(|r| {
            std::array::from_fn(|k| {
                // SAFETY: each load reads eight f32 from a row of 32 (k < 4).
                unsafe { _mm256_loadu_ps(rows[r].0[k * LANES..].as_ptr()) }
            })
        });

        // The value of each lane's feature in row `r`: `f` indexes the row's 8 * REGS values.
        // Each register is permuted by the index's low three bits, then bits 3 and 4 pick the
        // register: about 30 % faster at d = 20 than gathering from the row, measured on an AMD
        // EPYC (docs/benchmarks.md).
        let value = |f: __m256i, r: usize| -> __m256 {
            let x = &x[r];
            let p0 = _mm256_permutevar8x32_ps(x[0], f);
            if REGS == 1 {
                return p0;
            }
            let bit3 = _mm256_castsi256_ps(_mm256_slli_epi32::<28>(f));
            let low = _mm256_blendv_ps(p0, _mm256_permutevar8x32_ps(x[1], f), bit3);
            if REGS == 2 {
                return low;
            }
            let p2 = _mm256_permutevar8x32_ps(x[2], f);
            let high = if REGS == 3 {
                p2
            } else {
                _mm256_blendv_ps(p2, _mm256_permutevar8x32_ps(x[3], f), bit3)
            };
            let bit4 = _mm256_castsi256_ps(_mm256_slli_epi32::<27>(f));
            _mm256_blendv_ps(low, high, bit4)
        };
        // -1 in the lanes whose row goes right at the node held by `a` (trees 0, 1, 4, 5) and
        // `b` (trees 2, 3, 6, 7). Each 64-bit node reads as (threshold, feature) in 32-bit
        // halves; the in-lane shuffle takes a's two then b's two per 128-bit lane, which is trees
        // 0 to 3 in the low lane and 4 to 7 in the high lane.
        let right = |a: __m256i, b: __m256i, r: usize| -> __m256i {
            let (a, b) = (_mm256_castsi256_ps(a), _mm256_castsi256_ps(b));
            let t = _mm256_shuffle_ps::<0b10_00_10_00>(a, b);
            let f = _mm256_castps_si256(_mm256_shuffle_ps::<0b11_01_11_01>(a, b));
            _mm256_castps_si256(_mm256_cmp_ps::<_CMP_GT_OQ>(value(f, r), t))
        };
        // Per-lane masks (natural order) widened to the 64-bit lanes of the two halves.
        let widen = |m: __m256i| -> (__m256i, __m256i) {
            let m = _mm256_permutevar8x32_epi32(m, halves);
            (
                _mm256_cvtepi32_epi64(_mm256_castsi256_si128(m)),
                _mm256_cvtepi32_epi64(_mm256_extracti128_si256::<1>(m)),
            )
        };
        let blend = |m: __m256i, a: __m256i, b: __m256i| -> __m256i {
            _mm256_castpd_si256(_mm256_blendv_pd(
                _mm256_castsi256_pd(a),
                _mm256_castsi256_pd(b),
                _mm256_castsi256_pd(m),
            ))
        };

        let mut idx: [__m256i; R] = [_mm256_setzero_si256(); R];
        let mut level = 0;
        if depth >= 3 {
            // Nodes 0 to 6 as the halves a step gathers.
            let node: [(__m256i, __m256i); 7] = std::array::from_fn(|k| {
                // SAFETY: node k < 7 < width - 1 exists; its eight i64 start at 8k and each load
                // reads four of them.
                let (lo, hi) = unsafe {
                    (
                        _mm256_loadu_si256(nodes[k * LANES..].as_ptr().cast()),
                        _mm256_loadu_si256(nodes[k * LANES + 4..].as_ptr().cast()),
                    )
                };
                (
                    _mm256_permute2x128_si256::<0x20>(lo, hi),
                    _mm256_permute2x128_si256::<0x31>(lo, hi),
                )
            });
            let seven = _mm256_set1_epi32(7);
            for (r, i) in idx.iter_mut().enumerate() {
                let m0 = right(node[0].0, node[0].1, r);
                let (m0a, m0b) = widen(m0);
                let m1 = right(
                    blend(m0a, node[1].0, node[2].0),
                    blend(m0b, node[1].1, node[2].1),
                    r,
                );
                let (m1a, m1b) = widen(m1);
                // Node 3 + 2 m0 + m1: pick within each pair by m1, then the pair by m0.
                let m2 = right(
                    blend(
                        m0a,
                        blend(m1a, node[3].0, node[4].0),
                        blend(m1a, node[5].0, node[6].0),
                    ),
                    blend(
                        m0b,
                        blend(m1b, node[3].1, node[4].1),
                        blend(m1b, node[5].1, node[6].1),
                    ),
                    r,
                );
                // The heap index after three steps, 7 + 4 m0 + 2 m1 + m2, with masks of -1.
                let v = _mm256_sub_epi32(seven, _mm256_slli_epi32::<2>(m0));
                let v = _mm256_sub_epi32(v, _mm256_slli_epi32::<1>(m1));
                *i = _mm256_sub_epi32(v, m2);
            }
            level = 3;
        }
        for _ in level..depth {
            for (r, i) in idx.iter_mut().enumerate() {
                let at = _mm256_add_epi32(_mm256_slli_epi32::<3>(*i), lane);
                let at = _mm256_permutevar8x32_epi32(at, halves);
                // SAFETY: after k < depth steps every lane's node index is below
                // 2^(k+1) - 1 <= width - 1, so `at = index * 8 + lane < width * 8`, the length of
                // `nodes`; 32-bit offsets hold it as depth <= 16.
                let (a, b) = unsafe {
                    (
                        _mm256_i32gather_epi64::<8>(nodes.as_ptr(), _mm256_castsi256_si128(at)),
                        _mm256_i32gather_epi64::<8>(
                            nodes.as_ptr(),
                            _mm256_extracti128_si256::<1>(at),
                        ),
                    )
                };
                let left = _mm256_add_epi32(_mm256_add_epi32(*i, *i), one);
                *i = _mm256_sub_epi32(left, right(a, b, r));
            }
        }
        let mut values = [[0f64; LANES]; R];
        for (r, (v, i)) in values.iter_mut().zip(idx).enumerate() {
            let leaf = _mm256_sub_epi32(i, first_leaf);
            if !out.slots.is_empty() {
                let mut lanes = [0i32; LANES];
                // SAFETY: the store writes eight i32 into `lanes`, which holds eight.
                unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), leaf) };
                self.0
                    .record_slots(g, &lanes, out.slots, out.rows, out.first + r);
            }
            let at = _mm256_add_epi32(_mm256_slli_epi32::<3>(leaf), lane);
            let (lo, hi): (__m128i, __m128i) = (
                _mm256_castsi256_si128(at),
                _mm256_extracti128_si256::<1>(at),
            );
            // SAFETY: after `depth` steps every index is in [width - 1, 2 * width - 2], so
            // `leaf < width` and `at < width * 8 = leaves.len()`. Each store writes four f64
            // into a half of `v`, which holds eight.
            unsafe {
                let a = _mm256_i32gather_pd::<8>(leaves.as_ptr(), lo);
                let b = _mm256_i32gather_pd::<8>(leaves.as_ptr(), hi);
                _mm256_storeu_pd(v.as_mut_ptr(), a);
                _mm256_storeu_pd(v[4..].as_mut_ptr(), b);
            }
        }
        // Tree order: the lanes of a group are consecutive trees.
        for l in 0..LANES {
            for (s, v) in sums.iter_mut().zip(&values) {
                *s += v[l];
            }
        }
    }
}
