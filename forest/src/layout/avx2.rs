//! The AVX2 walk of the perfect layout: eight trees at once, one per vector lane.
//!
//! The same interleaved trees as the AVX-512 walk ([`Interleaved`], eight to a group), the same
//! splits coded as ranks ([`Ranks`]: one 32-bit word per node, `rank << 5 | feature`, and a row's
//! values coded as how many of the feature's thresholds lie below them), the same branch-free
//! steps `i = 2i + 1 + (x > t)`, and the same sums bit for bit: each lane's leaf value is added to
//! the row's sum in tree order, and padding lanes add `+0.0`.
//!
//! A step is one gather of eight node words, one comparison of 32-bit integers, and the pick of
//! each lane's row code. AVX2 has no two-table permutes, so the row is held in up to four
//! registers of eight codes, and a lane's code is picked by permuting each register with the node
//! word itself (its low three bits are the feature's) and blending on the feature's bits 3 and 4.
//! A comparison gives all-ones lanes (-1), so the next index is `2i + 1 - mask`.
//!
//! The first three levels (nodes 0 to 6) sit at the same place for every lane, so they are
//! loaded once per group and blended instead of gathered, as in the AVX-512 walk. Eight rows are
//! walked together so their gathers overlap, in blocks of rows per group so that a group stays in
//! L1. A block's values are coded first, eight rows of one feature at a time, by a bucket lookup
//! and a short search in the bucket (or a binary search), with eight-lane gathers.
//!
//! `unsafe` here, as in the AVX-512 walk: the gathers and loads take raw pointers, and these
//! functions may only run on a CPU checked for AVX2 ([`Avx2Forest::build`]); each block says why
//! it holds.

#![allow(unsafe_code)]

use std::arch::x86_64::{
    __m128i, __m256, __m256i, _CMP_LT_OQ, _mm_i32gather_epi32, _mm256_add_epi32, _mm256_and_si256,
    _mm256_blendv_epi8, _mm256_blendv_ps, _mm256_castps_si256, _mm256_castsi256_ps,
    _mm256_castsi256_si128, _mm256_cmp_ps, _mm256_cmpgt_epi32, _mm256_cvttps_epi32,
    _mm256_extracti128_si256, _mm256_i32gather_epi32, _mm256_i32gather_pd, _mm256_i32gather_ps,
    _mm256_loadu_si256, _mm256_mask_i32gather_ps, _mm256_max_ps, _mm256_min_ps, _mm256_mul_ps,
    _mm256_mullo_epi32, _mm256_permutevar8x32_epi32, _mm256_set1_epi32, _mm256_set1_ps,
    _mm256_setr_epi32, _mm256_setzero_ps, _mm256_setzero_si256, _mm256_slli_epi32,
    _mm256_storeu_pd, _mm256_storeu_si256, _mm256_sub_epi32, _mm256_sub_ps, _mm256_zextsi128_si256,
};

use super::interleaved::{Interleaved, MAX_FEATURES, Slots};
use super::ranks::{Buckets, FEATURE_BITS, Ranks};

/// Trees per group: the lanes of one vector of 32-bit indices.
const LANES: usize = 8;
/// Rows walked together.
const ROWS: usize = 8;
/// Rows walked through one group before the next group.
const BLOCK: usize = 128;
/// Vectors of eight rows whose searches step together while coding, so their gathers overlap.
const CODE_CHUNKS: usize = 4;

/// A forest interleaved eight trees to a group, its splits coded as ranks. Exists only on a CPU
/// with AVX2.
#[derive(Debug, Clone)]
pub(super) struct Avx2Forest(Interleaved<LANES, i32>, Ranks);

impl Avx2Forest {
    /// See [`crate::Model::heap_bytes`].
    pub(super) fn heap_bytes(&self) -> usize {
        self.0.heap_bytes() + self.1.heap_bytes()
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
        let ranks = Ranks::for_trees(depth, n_features, n_trees, &split)?;
        let forest = Interleaved::build(depth, n_features, n_trees, &ranks, split, leaf)?;
        Some(Self(forest, ranks))
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

    /// Codes blocks of [`BLOCK`] rows and walks each one group at a time; `REGS` registers hold a
    /// row's codes.
    #[target_feature(enable = "avx2")]
    fn add_blocks<const REGS: usize>(
        &self,
        xs: &[f32],
        stride: usize,
        sums: &mut [f64],
        slots: &mut [u16],
    ) {
        let total = sums.len();
        let mut codes = [[0i32; MAX_FEATURES]; BLOCK];
        for (b, (xb, sb)) in xs
            .chunks(BLOCK * stride)
            .zip(sums.chunks_mut(BLOCK))
            .enumerate()
        {
            let n = sb.len();
            code_rows(&self.1, xb, stride, &mut codes[..n]);
            let mut out = Slots {
                slots: &mut *slots,
                rows: total,
                first: b * BLOCK,
            };
            for g in 0..self.0.groups {
                // A last group of at most four trees gathers only their lanes, as in the
                // AVX-512 walk.
                if self.0.n_trees - g * LANES <= 4 {
                    self.walk_rows::<REGS, 4>(g, &codes[..n], sb, &mut out, b * BLOCK);
                } else {
                    self.walk_rows::<REGS, LANES>(g, &codes[..n], sb, &mut out, b * BLOCK);
                }
            }
        }
    }

    /// Walks a block's coded rows (`first` is the first one's index in the call) through group
    /// `g`, [`ROWS`] at a time, the rows after the last whole run one at a time.
    #[target_feature(enable = "avx2")]
    fn walk_rows<const REGS: usize, const TREES: usize>(
        &self,
        g: usize,
        codes: &[[i32; MAX_FEATURES]],
        sums: &mut [f64],
        out: &mut Slots<'_>,
        first: usize,
    ) {
        let full = codes.len() / ROWS * ROWS;
        for c in (0..full).step_by(ROWS) {
            out.first = first + c;
            self.walk_group::<ROWS, REGS, TREES>(
                g,
                &codes[c..c + ROWS],
                &mut sums[c..c + ROWS],
                out,
            );
        }
        for c in full..codes.len() {
            out.first = first + c;
            self.walk_group::<1, REGS, TREES>(g, &codes[c..c + 1], &mut sums[c..c + 1], out);
        }
    }

    /// Walks `R` coded rows through group `g` and adds its trees' leaf values to their sums, in
    /// tree order. Only the first `TREES` lanes (8 or 4) are gathered: the group's trees must all
    /// lie in them. The other lanes then read node word 0 and walk some path of a padding tree,
    /// whose leaves are `+0.0` and are not added.
    #[target_feature(enable = "avx2")]
    fn walk_group<const R: usize, const REGS: usize, const TREES: usize>(
        &self,
        g: usize,
        rows: &[[i32; MAX_FEATURES]],
        sums: &mut [f64],
        out: &mut Slots<'_>,
    ) {
        let depth = self.0.depth;
        let width = 1usize << depth;
        let (nodes, leaves) = self.0.group(g);
        let lane = lane_numbers();
        let one = _mm256_set1_epi32(1);
        let first_leaf = _mm256_set1_epi32(width as i32 - 1);
        // A row's codes live in REGS registers of eight features (spilled to the stack and
        // folded into the permutes as memory operands when the registers run out).
        let x: [[__m256i; 4]; R] = std::array::from_fn(|r| {
            std::array::from_fn(|k| {
                // SAFETY: each load reads eight i32 from a row of 32 (k < 4).
                unsafe { _mm256_loadu_si256(rows[r][k * LANES..].as_ptr().cast()) }
            })
        });

        // The code of each lane's feature in row `r`, picked by the node words `w`: each register
        // is permuted by the word's low three bits (the feature's), then the feature's bits 3 and
        // 4 pick the register: about 30 % faster at d = 20 than gathering from the row, measured
        // on an AMD EPYC (docs/benchmarks.md).
        let value = |w: __m256i, r: usize| -> __m256i {
            let x = &x[r];
            let p0 = _mm256_permutevar8x32_epi32(x[0], w);
            if REGS == 1 {
                return p0;
            }
            let pick = |bit: __m256i, a: __m256i, b: __m256i| {
                _mm256_castps_si256(_mm256_blendv_ps(
                    _mm256_castsi256_ps(a),
                    _mm256_castsi256_ps(b),
                    _mm256_castsi256_ps(bit),
                ))
            };
            let bit3 = _mm256_slli_epi32::<28>(w);
            let low = pick(bit3, p0, _mm256_permutevar8x32_epi32(x[1], w));
            if REGS == 2 {
                return low;
            }
            let p2 = _mm256_permutevar8x32_epi32(x[2], w);
            let high = if REGS == 3 {
                p2
            } else {
                pick(bit3, p2, _mm256_permutevar8x32_epi32(x[3], w))
            };
            pick(_mm256_slli_epi32::<27>(w), low, high)
        };
        // -1 in the lanes whose row goes right at the nodes `w`: the row's code above the node's.
        let right = |w: __m256i, r: usize| -> __m256i { _mm256_cmpgt_epi32(value(w, r), w) };

        let mut idx: [__m256i; R] = [_mm256_setzero_si256(); R];
        let mut level = 0;
        if depth >= 3 {
            let node: [__m256i; 7] = std::array::from_fn(|k| {
                // SAFETY: node k < 7 < width - 1 exists; its eight words start at 8k.
                unsafe { _mm256_loadu_si256(nodes[k * LANES..].as_ptr().cast()) }
            });
            let seven = _mm256_set1_epi32(7);
            for (r, i) in idx.iter_mut().enumerate() {
                let m0 = right(node[0], r);
                let m1 = right(_mm256_blendv_epi8(node[1], node[2], m0), r);
                // Node 3 + 2 m0 + m1: pick within each pair by m1, then the pair by m0.
                let m2 = right(
                    _mm256_blendv_epi8(
                        _mm256_blendv_epi8(node[3], node[4], m1),
                        _mm256_blendv_epi8(node[5], node[6], m1),
                        m0,
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
                // SAFETY: after k < depth steps every lane's node index is below
                // 2^(k+1) - 1 <= width - 1, so `at = index * 8 + lane < width * 8`, the length of
                // `nodes`; 32-bit offsets hold it as depth <= 16.
                let w = unsafe {
                    if TREES <= 4 {
                        _mm256_zextsi128_si256(_mm_i32gather_epi32::<4>(
                            nodes.as_ptr(),
                            _mm256_castsi256_si128(at),
                        ))
                    } else {
                        _mm256_i32gather_epi32::<4>(nodes.as_ptr(), at)
                    }
                };
                let left = _mm256_add_epi32(_mm256_add_epi32(*i, *i), one);
                *i = _mm256_sub_epi32(left, right(w, r));
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
                _mm256_storeu_pd(v.as_mut_ptr(), a);
                if TREES > 4 {
                    let b = _mm256_i32gather_pd::<8>(leaves.as_ptr(), hi);
                    _mm256_storeu_pd(v[4..].as_mut_ptr(), b);
                }
            }
        }
        // Tree order: the lanes of a group are consecutive trees. Lanes from `TREES` on are
        // padding, whose `+0.0` would leave every (positive) sum as it is.
        for l in 0..TREES {
            for (s, v) in sums.iter_mut().zip(&values) {
                *s += v[l];
            }
        }
    }
}

/// Codes the values of `codes.len()` rows of `xs` (f32, no NaN, `stride` apart) into
/// `codes[r][f]` ([`Ranks`]): a few rows by the scalar search, more eight rows of one feature at a
/// time, [`CODE_CHUNKS`] such vectors stepping together.
#[target_feature(enable = "avx2")]
pub(super) fn code_rows(
    ranks: &Ranks,
    xs: &[f32],
    stride: usize,
    codes: &mut [[i32; MAX_FEATURES]],
) {
    if codes.len() < LANES {
        ranks.code_rows_scalar(xs, stride, codes);
        return;
    }
    for (c, codes) in codes.chunks_mut(CODE_CHUNKS * LANES).enumerate() {
        let xs = &xs[c * CODE_CHUNKS * LANES * stride..];
        let rows = codes.len();
        for (f, feature) in ranks.0.iter().enumerate() {
            let x: [__m256; CODE_CHUNKS] = std::array::from_fn(|k| {
                let first = (k * LANES).min(rows);
                feature_values(xs, stride, f, first, (rows - first).min(LANES))
            });
            let below = match &feature.buckets {
                Some(buckets) => below_in_bucket(&feature.thresholds, buckets, x),
                None => below(feature.sorted(), x),
            };
            for (k, &b) in below.iter().enumerate() {
                let first = (k * LANES).min(rows);
                store_codes(b, f, &mut codes[first..(first + LANES).min(rows)]);
            }
        }
    }
}

/// Feature `f` of the `k <= 8` rows of `xs` from row `first` on (`stride` apart); lanes past `k`
/// hold 0.
#[target_feature(enable = "avx2")]
fn feature_values(xs: &[f32], stride: usize, f: usize, first: usize, k: usize) -> __m256 {
    if k == 0 {
        return _mm256_setzero_ps();
    }
    // One masked gather: eight scalar loads and stores, then a wide load of what was just stored,
    // would stall on store forwarding.
    assert!((first + k - 1) * stride + f < xs.len() && xs.len() <= i32::MAX as usize);
    let at = _mm256_add_epi32(
        _mm256_mullo_epi32(lane_numbers(), _mm256_set1_epi32(stride as i32)),
        _mm256_set1_epi32((first * stride + f) as i32),
    );
    // All ones (sign bit set) in the first `k` lanes.
    let lanes = _mm256_castsi256_ps(_mm256_cmpgt_epi32(
        _mm256_set1_epi32(k as i32),
        lane_numbers(),
    ));
    // SAFETY: only the first `k` lanes load, and the last of them, `(first + k - 1) * stride + f`,
    // is within `xs` (asserted), whose offsets fit 32 bits.
    unsafe { _mm256_mask_i32gather_ps::<4>(_mm256_setzero_ps(), xs.as_ptr(), at, lanes) }
}

/// 0 to 7, lane by lane.
#[target_feature(enable = "avx2")]
fn lane_numbers() -> __m256i {
    _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)
}

/// Writes the codes of the counts `below` (lane by lane) as feature `f` of `codes`' rows.
#[target_feature(enable = "avx2")]
fn store_codes(below: __m256i, f: usize, codes: &mut [[i32; MAX_FEATURES]]) {
    let mut out = [0i32; LANES];
    // SAFETY: the store writes eight i32 into `out`, which holds eight.
    unsafe {
        _mm256_storeu_si256(
            out.as_mut_ptr().cast(),
            _mm256_slli_epi32::<{ FEATURE_BITS as i32 }>(below),
        );
    }
    for (code, &o) in codes.iter_mut().zip(&out) {
        code[f] = o;
    }
}

/// `base + step` in the lanes where `probe < x`: one step of a search.
#[target_feature(enable = "avx2")]
fn step_if_below(base: __m256i, probe: __m256, x: __m256, step: __m256i) -> __m256i {
    let below = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_LT_OQ>(probe, x));
    _mm256_add_epi32(base, _mm256_and_si256(below, step))
}

/// How many of the sorted `thresholds` lie below each lane of each `x[k]` (no NaN): a branch-free
/// binary search, the same steps for every lane. The count is in `[base, base + n]` throughout;
/// each step probes `base + n / 2` and keeps the half that holds it.
#[target_feature(enable = "avx2")]
fn below<const C: usize>(thresholds: &[f32], x: [__m256; C]) -> [__m256i; C] {
    let mut base = [_mm256_setzero_si256(); C];
    let mut n = thresholds.len();
    if n == 0 {
        return base;
    }
    while n > 1 {
        let half = n / 2;
        let step = _mm256_set1_epi32(half as i32);
        for (base, &x) in base.iter_mut().zip(&x) {
            // SAFETY: `base + n <= thresholds.len()` throughout and `half < n`, so every probe
            // `base + half` is in bounds; the length is below 2^26 (`Ranks::for_trees`).
            let probe = unsafe {
                _mm256_i32gather_ps::<4>(thresholds.as_ptr(), _mm256_add_epi32(*base, step))
            };
            *base = step_if_below(*base, probe, x, step);
        }
        n -= half;
    }
    let one = _mm256_set1_epi32(1);
    for (base, &x) in base.iter_mut().zip(&x) {
        // SAFETY: `base < thresholds.len()` (n = 1 above).
        let probe = unsafe { _mm256_i32gather_ps::<4>(thresholds.as_ptr(), *base) };
        *base = step_if_below(*base, probe, x, one);
    }
    base
}

/// [`below`] through [`Buckets`]: each lane gathers its bucket's start, then searches the
/// bucket's window, `2^window_log2 - 1` thresholds from there (`thresholds` is padded for it).
#[target_feature(enable = "avx2")]
fn below_in_bucket<const C: usize>(
    thresholds: &[f32],
    buckets: &Buckets,
    x: [__m256; C],
) -> [__m256i; C] {
    let (lo, scale, top) = (
        _mm256_set1_ps(buckets.lo),
        _mm256_set1_ps(buckets.scale),
        _mm256_set1_ps(buckets.top),
    );
    let mut base: [__m256i; C] = std::array::from_fn(|k| {
        // The operations of `Buckets::of`, in its order.
        let at = _mm256_mul_ps(_mm256_sub_ps(x[k], lo), scale);
        let at = _mm256_min_ps(_mm256_max_ps(at, _mm256_setzero_ps()), top);
        // SAFETY: `at` is in [0, top] and truncates to an index below `top + 1 = start.len()`.
        unsafe { _mm256_i32gather_epi32::<4>(buckets.start.as_ptr(), _mm256_cvttps_epi32(at)) }
    });
    let mut step = 1i32 << buckets.window_log2;
    while step > 1 {
        step /= 2;
        let (offset, add) = (_mm256_set1_epi32(step - 1), _mm256_set1_epi32(step));
        for (base, &x) in base.iter_mut().zip(&x) {
            // SAFETY: the earlier steps added at most `window - 2 * step` to the bucket's start,
            // which is at most `len`, so the probe `base + step - 1` is below `len + window`, the
            // padded length of `thresholds`.
            let probe = unsafe {
                _mm256_i32gather_ps::<4>(thresholds.as_ptr(), _mm256_add_epi32(*base, offset))
            };
            *base = step_if_below(*base, probe, x, add);
        }
    }
    base
}
