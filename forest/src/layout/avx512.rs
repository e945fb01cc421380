//! The AVX-512 walk of the perfect layout: sixteen trees at once, one per vector lane.
//!
//! Trees are grouped sixteen to a group and interleaved node by node ([`Interleaved`]), each
//! split coded as one 32-bit word, `rank << 5 | feature` ([`Ranks`]): the threshold's place among
//! its feature's thresholds. A row's values are coded the same way before the walk (how many of
//! the feature's thresholds lie below the value), so `x > t` is an integer comparison of two codes
//! and gives the float comparison bit for bit. The row's codes sit in one or two registers (at
//! most 32 features), so one gather of sixteen words fetches the current node of sixteen trees,
//! one permute picks each lane's value, and one comparison decides. A walk is still exactly `D`
//! branch-free steps `i = 2i + 1 + (x > t)` over the same padded trees as the scalar path.
//!
//! Scores are the scalar path's bit for bit: each lane's leaf value is added to the row's sum in
//! tree order (group by group, lane by lane), and the padding lanes after the last tree add `+0.0`.
//! A last group of at most eight or four trees is walked with 256- or 128-bit gathers of its
//! nodes, and its padding trees' leaves are not fetched: a gather costs by its width, not its
//! mask, and with 100 trees (four in the last group) this made scoring 6 % faster.
//! Sixteen rows (eight when a row takes two registers) are walked together so their gathers
//! overlap, and a block of rows goes through one group before the next, so the group's nodes and
//! leaves stay close (25 % faster than walking each row through every group). Eight rows' leaf
//! values are then added tree by tree with vector additions ([`add_leaves_by_tree`]).
//!
//! Why codes: on the Intel Xeon (Sapphire Rapids class) this was tuned on, the walk is bound by
//! port 5, the one port that runs 512-bit permutes and comparisons (taking two permutes out of a
//! step, in a wrong walk timed for the purpose, saved 0.9 cycles each). With 64-bit nodes holding
//! the threshold and the feature, a step took five port-5 instructions (the index's high half, two
//! permutes to split the nodes, the value's permute, the comparison); with 32-bit codes it takes
//! two. Coding a block's values costs a search per feature: a bucket lookup and a few steps within
//! the bucket ([`Buckets`]), or a vector binary search where the thresholds crowd into a few
//! buckets (docs/benchmarks.md has what each change gave).
//!
//! This is the one place in the workspace with `unsafe`: the gathers take raw pointers, and the
//! AVX-512 functions may only run on a CPU that has been checked for AVX-512F. Both conditions are
//! established in [`Avx512Forest::build`] and argued at each `unsafe` block.

#![allow(unsafe_code)]

use std::arch::x86_64::{
    __m512, __m512i, __mmask16, _CMP_LT_OQ, _mm_i32gather_epi32, _mm256_i32gather_epi32,
    _mm256_setzero_si256, _mm512_add_epi32, _mm512_add_pd, _mm512_castsi512_si128,
    _mm512_castsi512_si256, _mm512_cmp_ps_mask, _mm512_cmpgt_epi32_mask, _mm512_cvttps_epi32,
    _mm512_extracti64x4_epi64, _mm512_i32gather_epi32, _mm512_i32gather_pd, _mm512_i32gather_ps,
    _mm512_loadu_pd, _mm512_loadu_si512, _mm512_mask_add_epi32, _mm512_mask_blend_epi32,
    _mm512_mask_blend_ps, _mm512_mask_i32gather_ps, _mm512_mask_i32scatter_epi32, _mm512_max_ps,
    _mm512_min_ps, _mm512_mul_ps, _mm512_mullo_epi32, _mm512_permutex2var_epi32,
    _mm512_permutex2var_epi64, _mm512_permutexvar_epi32, _mm512_set1_epi32, _mm512_set1_ps,
    _mm512_setr_epi32, _mm512_setr_epi64, _mm512_setzero_ps, _mm512_setzero_si512,
    _mm512_slli_epi32, _mm512_srli_epi32, _mm512_storeu_pd, _mm512_storeu_si512, _mm512_sub_epi32,
    _mm512_sub_ps, _mm512_unpackhi_epi32, _mm512_unpackhi_epi64, _mm512_unpacklo_epi32,
    _mm512_unpacklo_epi64, _mm512_zextsi128_si512, _mm512_zextsi256_si512,
};

use super::interleaved::{Interleaved, MAX_FEATURES, Slots};
use super::ranks::{Buckets, FEATURE_BITS, Ranks};

/// Trees per group: the lanes of one vector of 32-bit indices.
const LANES: usize = 16;
/// Rows whose leaf values are added together, tree by tree ([`add_leaves_by_tree`]).
const SUM_ROWS: usize = 8;
/// Rows walked through one group before the next group.
const BLOCK: usize = 128;

/// A forest interleaved sixteen trees to a group, its splits coded as ranks ([`Ranks`]). Exists
/// only on a CPU with AVX-512F.
#[derive(Debug, Clone)]
pub(super) struct Avx512Forest(Interleaved<LANES, i32>, Ranks);

impl Avx512Forest {
    /// See [`crate::Model::heap_bytes`].
    pub(super) fn heap_bytes(&self) -> usize {
        self.0.heap_bytes() + self.1.heap_bytes()
    }

    /// The interleaved forest ([`Interleaved::build`]), or `None` when the CPU lacks AVX-512F or
    /// the forest does not fit the layout.
    pub(super) fn build(
        depth: usize,
        n_features: usize,
        n_trees: usize,
        split: impl Fn(usize, usize) -> (u32, f32),
        leaf: impl Fn(usize, usize) -> f64,
    ) -> Option<Self> {
        if !std::arch::is_x86_feature_detected!("avx512f") {
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
        // SAFETY: an Avx512Forest exists only after `build` detected AVX-512F on this CPU.
        unsafe { self.add_all(xs, stride, sums, slots) }
    }

    #[target_feature(enable = "avx512f")]
    fn add_all(&self, xs: &[f32], stride: usize, sums: &mut [f64], slots: &mut [u16]) {
        // Rows walked together: sixteen rows in one register each overlap their gathers best
        // (5 % faster than eight at d = 5); rows in two registers spill beyond eight.
        if self.0.n_features > LANES {
            self.add_blocks::<8, true>(xs, stride, sums, slots);
        } else {
            self.add_blocks::<16, false>(xs, stride, sums, slots);
        }
    }

    /// Walks blocks of [`BLOCK`] rows one group at a time, so a group's nodes and leaves stay in
    /// L1 for the whole block. Each row still gets its trees' values in tree order.
    #[target_feature(enable = "avx512f")]
    fn add_blocks<const ROWS: usize, const WIDE: bool>(
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
            let rows = &codes[..n];
            let mut out = Slots {
                slots: &mut *slots,
                rows: total,
                first: b * BLOCK,
            };
            for g in 0..self.0.groups {
                // The last group's trees may fill only some lanes; gathering just those is
                // cheaper (a gather's cost follows its width, not its mask).
                let trees = self.0.n_trees - g * LANES;
                if trees <= 4 {
                    self.walk_rows::<ROWS, WIDE, 4>(g, rows, sb, &mut out, b * BLOCK);
                } else if trees <= 8 {
                    self.walk_rows::<ROWS, WIDE, 8>(g, rows, sb, &mut out, b * BLOCK);
                } else {
                    self.walk_rows::<ROWS, WIDE, LANES>(g, rows, sb, &mut out, b * BLOCK);
                }
            }
        }
    }

    /// Walks a block's rows (`first` is the first one's index in the call) through group `g`,
    /// `ROWS` at a time, gathering the group's first `TREES` lanes.
    #[target_feature(enable = "avx512f")]
    fn walk_rows<const ROWS: usize, const WIDE: bool, const TREES: usize>(
        &self,
        g: usize,
        rows: &[[i32; MAX_FEATURES]],
        sums: &mut [f64],
        out: &mut Slots<'_>,
        first: usize,
    ) {
        let n = rows.len();
        let full = n / ROWS * ROWS;
        for c in (0..full).step_by(ROWS) {
            out.first = first + c;
            self.walk_group::<ROWS, WIDE, TREES>(
                g,
                &rows[c..c + ROWS],
                &mut sums[c..c + ROWS],
                out,
            );
        }
        for c in full..n {
            out.first = first + c;
            self.walk_group::<1, WIDE, TREES>(g, &rows[c..c + 1], &mut sums[c..c + 1], out);
        }
    }

    /// Walks `R` rows (each in one or two registers: `WIDE` rows have 17 to 32 features) through
    /// group `g` and adds its trees' leaf values to their sums, in tree order. Only the first
    /// `TREES` lanes (16, 8 or 4) are gathered: the group's trees must all lie in them. The other
    /// lanes then read node word 0 and walk some path of a padding tree, whose leaves are all
    /// `+0.0` and are not added.
    #[target_feature(enable = "avx512f")]
    fn walk_group<const R: usize, const WIDE: bool, const TREES: usize>(
        &self,
        g: usize,
        rows: &[[i32; MAX_FEATURES]],
        sums: &mut [f64],
        out: &mut Slots<'_>,
    ) {
        let width = 1usize << self.0.depth;
        let lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        let sixteen = _mm512_set1_epi32(16);
        // A lane's place in the group is `at = index * 16 + lane`, and a step from `index` to
        // `2 index + 1 + right` is `at = 2 at + (16 - lane) + 16 right`: the walk keeps `at`
        // rather than the index, which saves two instructions a step.
        let step = _mm512_sub_epi32(sixteen, lane);
        // SAFETY: each load reads sixteen i32 from a row's codes, which hold 32.
        let lo: [__m512i; R] =
            std::array::from_fn(|r| unsafe { _mm512_loadu_si512(rows[r].as_ptr().cast()) });
        let hi: [__m512i; R] = std::array::from_fn(|r| {
            if WIDE {
                // SAFETY: as above, from the sixteenth code on.
                unsafe { _mm512_loadu_si512(rows[r][16..].as_ptr().cast()) }
            } else {
                lo[r]
            }
        });
        let (nodes, leaves) = self.0.group(g);
        // The lanes whose row `r` goes right at the nodes coded `w`: the row's value of each
        // node's feature (the code's low five bits index the row; the permutes read no others)
        // against the node's code ([`Ranks`]).
        let right = |w: __m512i, r: usize| -> __mmask16 {
            let v = if WIDE {
                _mm512_permutex2var_epi32(lo[r], w, hi[r])
            } else {
                _mm512_permutexvar_epi32(w, lo[r])
            };
            _mm512_cmpgt_epi32_mask(v, w)
        };
        let mut at: [__m512i; R] = [lane; R];
        let mut level = 0;
        if self.0.depth >= 4 {
            // The first four levels (nodes 0 to 14) sit at fixed places for every lane, so they
            // load once and blend instead of gathering.
            // SAFETY: nodes 0 to 14 exist (width >= 16), each sixteen i32 long.
            let n: [__m512i; 15] = std::array::from_fn(|k| unsafe {
                _mm512_loadu_si512(nodes[k * 16..].as_ptr().cast())
            });
            let fifteenth = _mm512_add_epi32(lane, _mm512_set1_epi32(15 * 16));
            let (one_28, sixty_four, thirty_two) = (
                _mm512_set1_epi32(128),
                _mm512_set1_epi32(64),
                _mm512_set1_epi32(32),
            );
            let pick = |m: __mmask16, a: __m512i, b: __m512i| _mm512_mask_blend_epi32(m, a, b);
            for (r, at) in at.iter_mut().enumerate() {
                let m0 = right(n[0], r);
                let m1 = right(pick(m0, n[1], n[2]), r);
                // Node 3 + 2 m0 + m1, then node 7 + 4 m0 + 2 m1 + m2: pick by the last step's
                // mask first, then the earlier ones.
                let m2 = right(pick(m0, pick(m1, n[3], n[4]), pick(m1, n[5], n[6])), r);
                let m3 = right(
                    pick(
                        m0,
                        pick(m1, pick(m2, n[7], n[8]), pick(m2, n[9], n[10])),
                        pick(m1, pick(m2, n[11], n[12]), pick(m2, n[13], n[14])),
                    ),
                    r,
                );
                // The heap index after four steps is 15 + 8 m0 + 4 m1 + 2 m2 + m3.
                let a = _mm512_mask_add_epi32(fifteenth, m0, fifteenth, one_28);
                let a = _mm512_mask_add_epi32(a, m1, a, sixty_four);
                let a = _mm512_mask_add_epi32(a, m2, a, thirty_two);
                *at = _mm512_mask_add_epi32(a, m3, a, sixteen);
            }
            level = 4;
        }
        for _ in level..self.0.depth {
            for (r, at) in at.iter_mut().enumerate() {
                // SAFETY: after k < depth steps every lane's node index is below
                // 2^(k+1) - 1 <= width - 1, so `at = index * 16 + lane < width * 16`, the length
                // of `nodes`; 32-bit offsets hold it as depth <= 16.
                let w = unsafe {
                    match TREES {
                        4 => _mm512_zextsi128_si512(_mm_i32gather_epi32::<4>(
                            nodes.as_ptr(),
                            _mm512_castsi512_si128(*at),
                        )),
                        8 => _mm512_zextsi256_si512(_mm256_i32gather_epi32::<4>(
                            nodes.as_ptr(),
                            _mm512_castsi512_si256(*at),
                        )),
                        _ => _mm512_i32gather_epi32::<4>(*at, nodes.as_ptr()),
                    }
                };
                let go = right(w, r);
                let next = _mm512_add_epi32(_mm512_add_epi32(*at, *at), step);
                *at = _mm512_mask_add_epi32(next, go, next, sixteen);
            }
        }
        // After `depth` steps every index is in [width - 1, 2 * width - 2]: the leaf's place is
        // `(index - (width - 1)) * 16 + lane`.
        let first_leaf = _mm512_set1_epi32(16 * (width as i32 - 1));
        let leaf_at: [__m512i; R] = std::array::from_fn(|r| _mm512_sub_epi32(at[r], first_leaf));
        if !out.slots.is_empty() {
            for (r, &l) in leaf_at.iter().enumerate() {
                let mut lanes = [0i32; LANES];
                // SAFETY: the store writes sixteen i32 into `lanes`, which holds sixteen.
                unsafe {
                    _mm512_storeu_si512(lanes.as_mut_ptr().cast(), _mm512_srli_epi32::<4>(l))
                };
                self.0
                    .record_slots(g, &lanes, out.slots, out.rows, out.first + r);
            }
        }
        if R.is_multiple_of(SUM_ROWS) {
            for (at, sums) in leaf_at
                .chunks_exact(SUM_ROWS)
                .zip(sums.chunks_exact_mut(SUM_ROWS))
            {
                if let (Ok(at), Ok(sums)) = (at.try_into(), sums.try_into()) {
                    add_leaves_by_tree::<TREES>(at, leaves, sums);
                }
            }
            return;
        }
        let mut values = [[0f64; LANES]; R];
        for (v, &at) in values.iter_mut().zip(&leaf_at) {
            // SAFETY: `at < width * 16 = leaves.len()` (above). Each store writes 8 f64 into a
            // half of `v`, which holds 16.
            unsafe {
                let a = _mm512_i32gather_pd::<8>(_mm512_castsi512_si256(at), leaves.as_ptr());
                let b =
                    _mm512_i32gather_pd::<8>(_mm512_extracti64x4_epi64::<1>(at), leaves.as_ptr());
                _mm512_storeu_pd(v.as_mut_ptr(), a);
                _mm512_storeu_pd(v[8..].as_mut_ptr(), b);
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

/// Adds the leaf values at `leaf_at[r]` (sixteen trees' leaf places for row `r`) to `sums[r]`,
/// tree by tree: the places are transposed so that one gather fetches one tree's leaves for all
/// eight rows, and one vector addition adds them, in the same order as adding each row's values
/// one by one (instead of storing sixteen values per row and adding them one at a time).
#[target_feature(enable = "avx512f")]
fn add_leaves_by_tree<const TREES: usize>(
    leaf_at: &[__m512i; SUM_ROWS],
    leaves: &[f64],
    sums: &mut [f64; SUM_ROWS],
) {
    // Rows (a, b) interleaved per 32-bit lane, then rows (a, b, c, d) per 64-bit lane: in each
    // 128-bit lane k of `quad[j]`, the four rows' places for tree 4k + j.
    let pairs: [__m512i; 8] = std::array::from_fn(|i| {
        let (a, b) = (leaf_at[(i / 2) * 2], leaf_at[(i / 2) * 2 + 1]);
        if i % 2 == 0 {
            _mm512_unpacklo_epi32(a, b)
        } else {
            _mm512_unpackhi_epi32(a, b)
        }
    });
    // quad[h][j]: rows 4h to 4h + 3, tree 4k + j in 128-bit lane k.
    let quad: [[__m512i; 4]; 2] = std::array::from_fn(|h| {
        let p = &pairs[h * 4..];
        [
            _mm512_unpacklo_epi64(p[0], p[2]),
            _mm512_unpackhi_epi64(p[0], p[2]),
            _mm512_unpacklo_epi64(p[1], p[3]),
            _mm512_unpackhi_epi64(p[1], p[3]),
        ]
    });
    // Rows 0 to 3 and 4 to 7 of one tree side by side: trees (j, 4 + j) and (8 + j, 12 + j).
    let low = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
    let high = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
    let mut by_tree = [_mm256_setzero_si256(); LANES];
    for j in 0..4 {
        let (a, b) = (quad[0][j], quad[1][j]);
        let l = _mm512_permutex2var_epi64(a, low, b);
        let h = _mm512_permutex2var_epi64(a, high, b);
        by_tree[j] = _mm512_castsi512_si256(l);
        by_tree[4 + j] = _mm512_extracti64x4_epi64::<1>(l);
        by_tree[8 + j] = _mm512_castsi512_si256(h);
        by_tree[12 + j] = _mm512_extracti64x4_epi64::<1>(h);
    }
    // SAFETY: the load and the store cover `sums`, eight f64; every place is below
    // `leaves.len()` (see `walk_group`).
    unsafe {
        let mut s = _mm512_loadu_pd(sums.as_ptr());
        // Lanes from `TREES` on are padding: their `+0.0` would leave every (positive) sum as
        // it is, so they are not fetched.
        for &at in &by_tree[..TREES] {
            s = _mm512_add_pd(s, _mm512_i32gather_pd::<8>(at, leaves.as_ptr()));
        }
        _mm512_storeu_pd(sums.as_mut_ptr(), s);
    }
}

/// Codes the values of `codes.len() <= 128` rows of `xs` (f32, no NaN, `stride` apart) into
/// `codes[r][f]` ([`Ranks`]). Sixteen rows' values of one feature are placed among its
/// thresholds at once, by a search in their buckets (or a binary search) whose steps gather
/// sixteen thresholds, and up to eight such searches step together so that their gathers
/// overlap.
#[target_feature(enable = "avx512f")]
pub(super) fn code_rows(
    ranks: &Ranks,
    xs: &[f32],
    stride: usize,
    codes: &mut [[i32; MAX_FEATURES]],
) {
    let rows = codes.len();
    // At most eight vectors of sixteen rows step together below: a block is never longer.
    assert!(
        rows <= 8 * LANES,
        "a block of {rows} rows is longer than the coder takes"
    );
    // A search's steps depend on each other, so a few rows alone are placed by the scalar
    // search, which is quicker than one vector search's chain of gathers (one row: about
    // 0.7 µs less); more rows step together in up to eight vectors of sixteen.
    if rows < LANES {
        ranks.code_rows_scalar(xs, stride, codes);
        return;
    }
    match rows.div_ceil(LANES) {
        1 => code_chunks::<1>(ranks, xs, stride, codes),
        2 => code_chunks::<2>(ranks, xs, stride, codes),
        3 | 4 => code_chunks::<4>(ranks, xs, stride, codes),
        _ => code_chunks::<8>(ranks, xs, stride, codes),
    }
}

/// [`code_rows`] for at most `C` chunks of sixteen rows; missing rows are searched
/// for 0 and dropped.
#[target_feature(enable = "avx512f")]
fn code_chunks<const C: usize>(
    ranks: &Ranks,
    xs: &[f32],
    stride: usize,
    codes: &mut [[i32; MAX_FEATURES]],
) {
    let rows = codes.len();
    for (f, feature) in ranks.0.iter().enumerate() {
        let x: [__m512; C] = std::array::from_fn(|c| {
            let first = (c * LANES).min(rows);
            feature_values(xs, stride, f, first, (rows - first).min(LANES))
        });
        let below = match &feature.buckets {
            Some(buckets) => below_in_bucket(&feature.thresholds, buckets, x),
            None => below(feature.sorted(), x),
        };
        for (c, &b) in below.iter().enumerate() {
            let first = (c * LANES).min(rows);
            store_codes(b, f, &mut codes[first..(first + LANES).min(rows)]);
        }
    }
}

/// Feature `f` of the `k <= 16` rows of `xs` from row `first` on (`stride` apart); lanes past
/// `k` hold 0.
#[target_feature(enable = "avx512f")]
fn feature_values(xs: &[f32], stride: usize, f: usize, first: usize, k: usize) -> __m512 {
    if k == 0 {
        return _mm512_setzero_ps();
    }
    // One masked gather: sixteen scalar loads and stores, then a wide load of what was just
    // stored, would stall on store forwarding.
    assert!((first + k - 1) * stride + f < xs.len() && xs.len() <= i32::MAX as usize);
    let at = _mm512_add_epi32(
        _mm512_mullo_epi32(
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
            _mm512_set1_epi32(stride as i32),
        ),
        _mm512_set1_epi32((first * stride + f) as i32),
    );
    let lanes = (u32::MAX >> (32 - k)) as __mmask16;
    // SAFETY: only the first `k` lanes load, and the last of them, `(first + k - 1) * stride + f`,
    // is within `xs` (asserted), whose offsets fit 32 bits.
    unsafe { _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), lanes, at, xs.as_ptr()) }
}

/// Writes the codes of the counts `below` (lane by lane) as feature `f` of `codes`' rows.
#[target_feature(enable = "avx512f")]
fn store_codes(below: __m512i, f: usize, codes: &mut [[i32; MAX_FEATURES]]) {
    let k = codes.len().min(LANES);
    if k == 0 || f >= MAX_FEATURES {
        return;
    }
    let at = _mm512_add_epi32(
        _mm512_mullo_epi32(
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
            _mm512_set1_epi32(MAX_FEATURES as i32),
        ),
        _mm512_set1_epi32(f as i32),
    );
    let lanes = (u32::MAX >> (32 - k)) as __mmask16;
    // SAFETY: only the first `k <= codes.len()` lanes store, lane `l` to `codes[l][f]` with
    // `f < MAX_FEATURES`: within `codes`.
    unsafe {
        _mm512_mask_i32scatter_epi32::<4>(
            codes.as_mut_ptr().cast(),
            lanes,
            at,
            _mm512_slli_epi32::<FEATURE_BITS>(below),
        );
    }
}

/// How many of the sorted `thresholds` lie below each lane of each `x[c]` (no NaN): a branch-free
/// binary search, the same steps for every lane. The count is in `[base, base + n]` throughout;
/// each step probes `base + n / 2` and keeps the half that holds it.
#[target_feature(enable = "avx512f")]
fn below<const C: usize>(thresholds: &[f32], x: [__m512; C]) -> [__m512i; C] {
    let mut base = [_mm512_setzero_si512(); C];
    let mut n = thresholds.len();
    if n == 0 {
        return base;
    }
    // The first two probes are at the same one or two places for every lane: broadcast and
    // blended instead of gathered.
    if n > 1 {
        let first = n / 2;
        let (step, probe) = (
            _mm512_set1_epi32(first as i32),
            _mm512_set1_ps(thresholds[first]),
        );
        let mut went = [0; C];
        for ((base, went), &x) in base.iter_mut().zip(&mut went).zip(&x) {
            *went = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(probe, x);
            *base = _mm512_mask_add_epi32(*base, *went, *base, step);
        }
        n -= first;
        if n > 1 {
            let half = n / 2;
            let step = _mm512_set1_epi32(half as i32);
            let (low, high) = (
                _mm512_set1_ps(thresholds[half]),
                _mm512_set1_ps(thresholds[first + half]),
            );
            for ((base, &went), &x) in base.iter_mut().zip(&went).zip(&x) {
                let probe = _mm512_mask_blend_ps(went, low, high);
                let m = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(probe, x);
                *base = _mm512_mask_add_epi32(*base, m, *base, step);
            }
            n -= half;
        }
    }
    while n > 1 {
        let half = n / 2;
        let step = _mm512_set1_epi32(half as i32);
        for (base, &x) in base.iter_mut().zip(&x) {
            // SAFETY: `base + n <= thresholds.len()` throughout and `half < n`, so every probe
            // `base + half` is in bounds; the length is below 2^26 (`Ranks::for_trees`).
            let probe = unsafe {
                _mm512_i32gather_ps::<4>(_mm512_add_epi32(*base, step), thresholds.as_ptr())
            };
            *base = _mm512_mask_add_epi32(
                *base,
                _mm512_cmp_ps_mask::<_CMP_LT_OQ>(probe, x),
                *base,
                step,
            );
        }
        n -= half;
    }
    let one = _mm512_set1_epi32(1);
    for (base, &x) in base.iter_mut().zip(&x) {
        // SAFETY: `base < thresholds.len()` (n = 1 above).
        let probe = unsafe { _mm512_i32gather_ps::<4>(*base, thresholds.as_ptr()) };
        *base = _mm512_mask_add_epi32(
            *base,
            _mm512_cmp_ps_mask::<_CMP_LT_OQ>(probe, x),
            *base,
            one,
        );
    }
    base
}

/// [`below`] through [`Buckets`]: each lane gathers its bucket's start, then searches the
/// bucket's window, `2^window_log2 - 1` thresholds from there (`thresholds` is padded for it).
#[target_feature(enable = "avx512f")]
fn below_in_bucket<const C: usize>(
    thresholds: &[f32],
    buckets: &Buckets,
    x: [__m512; C],
) -> [__m512i; C] {
    let (lo, scale, top) = (
        _mm512_set1_ps(buckets.lo),
        _mm512_set1_ps(buckets.scale),
        _mm512_set1_ps(buckets.top),
    );
    let base: [__m512i; C] = std::array::from_fn(|c| {
        let at = _mm512_mul_ps(_mm512_sub_ps(x[c], lo), scale);
        let at = _mm512_min_ps(_mm512_max_ps(at, _mm512_setzero_ps()), top);
        // SAFETY: `at` is in [0, top] and truncates to an index below `top + 1 = start.len()`.
        unsafe { _mm512_i32gather_epi32::<4>(_mm512_cvttps_epi32(at), buckets.start.as_ptr()) }
    });
    let mut base = base;
    let mut step = 1i32 << buckets.window_log2;
    while step > 1 {
        step /= 2;
        let (offset, add) = (_mm512_set1_epi32(step - 1), _mm512_set1_epi32(step));
        for (base, &x) in base.iter_mut().zip(&x) {
            // SAFETY: the earlier steps added at most `window - 2 * step` to the bucket's start,
            // which is at most `len`, so the probe `base + step - 1` is below `len + window`, the
            // padded length of `thresholds`.
            let probe = unsafe {
                _mm512_i32gather_ps::<4>(_mm512_add_epi32(*base, offset), thresholds.as_ptr())
            };
            *base = _mm512_mask_add_epi32(
                *base,
                _mm512_cmp_ps_mask::<_CMP_LT_OQ>(probe, x),
                *base,
                add,
            );
        }
    }
    base
}
