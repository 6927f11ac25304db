//! AVX-512 kernels, used when the CPU has AVX-512F (detected at run time: the crate is built for
//! baseline x86-64, like plonky2, so nothing here runs unless detected).
//!
//! Everything is built on one kernel: a DIF over **rows of eight lanes** (`[u64; 8]`, one cache line),
//! eight independent transforms of the same size at once, one per 64-bit lane. A radix-4 step on rows
//! applies the same broadcast twiddle to every lane, so every level, down to blocks of two rows, is
//! whole-vector arithmetic without shuffles.
//!
//! - **Coset LDE**: the eight lanes are eight columns of a group. Finished rows are exactly the
//!   group's eight entries of a leaf row.
//! - **One column** of `n = 8m` elements: the first three DIF levels (radix-4 then radix-2, on eight
//!   vectors of eight consecutive `i`, lanes being `i`) split it into eight independent size-`m`
//!   transforms, the eighths `[u m, (u+1) m)`; an 8×8 transpose makes eighth `u` lane `u` of `m` rows.
//!   After the row DIF, position `u m + r` of the bit-reversed output is lane `u` of row `r`, and
//!   natural position `8k + t` is lane `rev3(t)` of row `rev(k)`: a row gather plus one lane
//!   permutation, so natural order needs no separate bit-reversal pass. A bit-reversed input is read
//!   the same way backwards.
//!
//! Arithmetic is the scalar code's, lane-wise: a 64×64→128 product from four 32×32 products, the same
//! reduction, and carries as mask registers instead of flags.

use core::arch::x86_64::*;

use rayon::prelude::*;

use super::{
    cached_twiddles, with_row_scratch, with_twiddles, Tw as TwSlice, CACHED_LEVELS, EPSILON, P,
    PAR_LOG, TW_CHUNK,
};
use crate::backend::Order;

/// Proof that the running CPU has AVX-512F: only [`Avx512::detect`] makes one, and every entry point
/// into this module takes it, which is what makes calling the `#[target_feature]` functions sound.
#[derive(Clone, Copy, Debug)]
pub(super) struct Avx512(());

/// Smallest column the vector path transforms (eight eighths of at least eight rows).
const COLUMN_MIN_LOG: usize = 6;

impl Avx512 {
    /// `Some` when the CPU supports AVX-512F.
    pub(super) fn detect() -> Option<Self> {
        std::is_x86_feature_detected!("avx512f").then_some(Self(()))
    }

    /// Whether [`Avx512::ntt_column`] handles columns of `2^log_n` elements (the first levels use
    /// cached twiddles; larger columns stay on the portable path).
    pub(super) fn handles_column(log_n: usize) -> bool {
        (COLUMN_MIN_LOG..=CACHED_LEVELS).contains(&log_n)
    }

    /// Fills `rows` (`n` rows of eight lanes) with `coeffs[col_u][i] * powers[i]` in lane `u` of row
    /// `i`, for the (up to eight) columns given as slices of `n` coefficients; missing lanes are zero.
    pub(super) fn fill_scaled_rows(self, rows: &mut [[u64; 8]], cols: &[&[u64]], powers: &[u64]) {
        // SAFETY: `self` proves AVX-512F is available.
        unsafe { fill_scaled_rows(rows, cols, powers) }
    }

    /// In-place forward DIF of `rows` (`2^log_n` rows, natural order) into bit-reversed row order,
    /// lane-wise; outputs canonical.
    pub(super) fn dif_rows(self, rows: &mut [[u64; 8]], log_n: usize, par: bool) {
        self.dif_rows_dir::<false>(rows, log_n, par);
    }

    /// [`Avx512::dif_rows`] in either direction (`INV`: inverse twiddles, 4th root `-2^48`).
    fn dif_rows_dir<const INV: bool>(self, rows: &mut [[u64; 8]], log_n: usize, par: bool) {
        debug_assert_eq!(rows.len(), 1 << log_n);
        if log_n <= ROW_LEAF_LOG {
            // SAFETY: `self` proves AVX-512F is available.
            unsafe { dif_rows_leaf::<INV>(rows, log_n) };
            return;
        }
        let par = par && log_n >= PAR_LOG;
        let (x0, rest) = rows.split_at_mut(rows.len() / 4);
        let (x1, rest) = rest.split_at_mut(x0.len());
        let (x2, x3) = rest.split_at_mut(x0.len());
        let chunk = TW_CHUNK.min(x0.len());
        let step = |ci: usize, q: [&mut [[u64; 8]]; 4]| {
            let j0 = ci * chunk;
            with_twiddles(log_n, INV, j0, q[0].len(), |tw| {
                // SAFETY: `self` proves AVX-512F is available.
                unsafe { dif4_rows::<INV>(q, tw, j0 == 0) }
            });
        };
        let sub = |q: &mut [[u64; 8]]| self.dif_rows_dir::<INV>(q, log_n - 2, par);
        if par {
            x0.par_chunks_mut(chunk)
                .zip(x1.par_chunks_mut(chunk))
                .zip(x2.par_chunks_mut(chunk))
                .zip(x3.par_chunks_mut(chunk))
                .enumerate()
                .for_each(|(ci, (((a, b), c), d))| step(ci, [a, b, c, d]));
            rayon::join(
                || rayon::join(|| sub(x0), || sub(x1)),
                || rayon::join(|| sub(x2), || sub(x3)),
            );
        } else {
            x0.chunks_mut(chunk)
                .zip(x1.chunks_mut(chunk))
                .zip(x2.chunks_mut(chunk))
                .zip(x3.chunks_mut(chunk))
                .enumerate()
                .for_each(|(ci, (((a, b), c), d))| step(ci, [a, b, c, d]));
            [x0, x1, x2, x3].into_iter().for_each(sub);
        }
    }

    /// In-place NTT of one column of `2^log_n` elements ([`Avx512::handles_column`]), the inverse
    /// one scaled by `1/n`; outputs canonical. `scale` is `1/n` for the inverse, `None` forward.
    pub(super) fn ntt_column(
        self,
        x: &mut [u64],
        log_n: usize,
        scale: Option<u64>,
        input_order: Order,
        output_order: Order,
        par: bool,
    ) {
        debug_assert!(Self::handles_column(log_n) && x.len() == 1 << log_n);
        with_row_scratch(x.len() / 8, |rows| {
            if scale.is_some() {
                self.column_dir::<true>(x, rows, log_n, scale, input_order, output_order, par);
            } else {
                self.column_dir::<false>(x, rows, log_n, scale, input_order, output_order, par);
            }
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn column_dir<const INV: bool>(
        self,
        x: &mut [u64],
        rows: &mut [[u64; 8]],
        log_n: usize,
        scale: Option<u64>,
        input_order: Order,
        output_order: Order,
        par: bool,
    ) {
        let log_m = log_n - 3;
        let m = rows.len();
        let par = par && log_n >= PAR_LOG;
        // Twiddles of the first three levels: the radix-4 step at level log_n (j = i and j = m + i),
        // and the radix-2 level log_n - 2, whose w_{n/4}^i is level log_n - 1's w^2i.
        let top = cached_twiddles(log_n, INV);
        let mid = cached_twiddles(log_n - 1, INV).w2;
        let tw = TopTwiddles {
            even: top.range(0, m),
            odd: top.range(m, m),
            radix2: mid,
        };
        let bit_reversed_in = input_order == Order::BitReversed;
        let xs = &*x;
        let fill = |(ci, chunk): (usize, &mut [[u64; 8]])| {
            // SAFETY: `self` proves AVX-512F is available.
            unsafe {
                fill_column_rows::<INV>(
                    chunk,
                    ci * FILL_CHUNK,
                    xs,
                    log_m,
                    &tw,
                    scale,
                    bit_reversed_in,
                )
            }
        };
        if par {
            rows.par_chunks_mut(FILL_CHUNK).enumerate().for_each(fill);
        } else {
            rows.chunks_mut(FILL_CHUNK).enumerate().for_each(fill);
        }

        self.dif_rows_dir::<INV>(rows, log_m, par);

        let rows = &*rows;
        match output_order {
            Order::Natural => {
                let drain = |(ci, chunk): (usize, &mut [u64])| {
                    // SAFETY: `self` proves AVX-512F is available.
                    unsafe { drain_natural(chunk, ci * FILL_CHUNK, rows, log_m) }
                };
                if par {
                    x.par_chunks_mut(8 * FILL_CHUNK).enumerate().for_each(drain);
                } else {
                    x.chunks_mut(8 * FILL_CHUNK).enumerate().for_each(drain);
                }
            }
            Order::BitReversed => {
                // SAFETY: `self` proves AVX-512F is available.
                unsafe { drain_bit_reversed(x, rows) }
            }
        }
    }
}

/// Rows per fill or drain task of a column.
const FILL_CHUNK: usize = 1024;

/// Row transforms of at most `2^ROW_LEAF_LOG` rows (64 KiB) run layer by layer.
const ROW_LEAF_LOG: usize = 10;

type V = __m512i;

#[inline]
#[target_feature(enable = "avx512f")]
fn splat(x: u64) -> V {
    _mm512_set1_epi64(x as i64)
}

#[inline]
#[target_feature(enable = "avx512f")]
fn load(row: &[u64; 8]) -> V {
    // SAFETY: reads exactly the 64 bytes of `row` (unaligned load).
    unsafe { _mm512_loadu_si512(row.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx512f")]
fn store(row: &mut [u64; 8], v: V) {
    // SAFETY: writes exactly the 64 bytes of `row` (unaligned store).
    unsafe { _mm512_storeu_si512(row.as_mut_ptr().cast(), v) }
}

#[inline]
#[target_feature(enable = "avx512f")]
fn add(a: V, b: V) -> V {
    let eps = splat(EPSILON);
    let s = _mm512_add_epi64(a, b);
    let carry = _mm512_cmplt_epu64_mask(s, a);
    let s = _mm512_mask_add_epi64(s, carry, s, eps);
    // A second carry (both inputs >= p) shows as a wrapped sum below EPSILON.
    let carry2 = _mm512_mask_cmplt_epu64_mask(carry, s, eps);
    _mm512_mask_add_epi64(s, carry2, s, eps)
}

#[inline]
#[target_feature(enable = "avx512f")]
fn sub(a: V, b: V) -> V {
    let eps = splat(EPSILON);
    let d = _mm512_sub_epi64(a, b);
    let borrow = _mm512_cmplt_epu64_mask(a, b);
    // A second borrow (b >= p) happens when the wrapped difference is below EPSILON.
    let borrow2 = _mm512_mask_cmplt_epu64_mask(borrow, d, eps);
    let d = _mm512_mask_sub_epi64(d, borrow, d, eps);
    _mm512_mask_sub_epi64(d, borrow2, d, eps)
}

/// `hi * 2^64 + lo` reduced to a (possibly non-canonical) `u64` per lane, as `super::reduce128`.
#[inline]
#[target_feature(enable = "avx512f")]
fn reduce(hi: V, lo: V) -> V {
    let eps = splat(EPSILON);
    let hi_hi = _mm512_srli_epi64::<32>(hi);
    let hi_lo = _mm512_and_si512(hi, eps);
    let borrow = _mm512_cmplt_epu64_mask(lo, hi_hi);
    let t0 = _mm512_sub_epi64(lo, hi_hi);
    let t0 = _mm512_mask_sub_epi64(t0, borrow, t0, eps);
    let t1 = _mm512_sub_epi64(_mm512_slli_epi64::<32>(hi_lo), hi_lo);
    let t2 = _mm512_add_epi64(t0, t1);
    let carry = _mm512_cmplt_epu64_mask(t2, t1);
    _mm512_mask_add_epi64(t2, carry, t2, eps)
}

/// `a * b` with `b_hi = b >> 32` given (twiddles are reused across many products).
#[inline]
#[target_feature(enable = "avx512f")]
fn mul_pre(a: V, b: V, b_hi: V) -> V {
    let lo32 = splat(EPSILON);
    let a_hi = _mm512_srli_epi64::<32>(a);
    // a b = ll + (lh + hl) 2^32 + hh 2^64, each a 32×32-bit product; fold the middle terms in two
    // steps so that no 64-bit sum overflows.
    let ll = _mm512_mul_epu32(a, b);
    let lh = _mm512_mul_epu32(a, b_hi);
    let hl = _mm512_mul_epu32(a_hi, b);
    let hh = _mm512_mul_epu32(a_hi, b_hi);
    let mid = _mm512_add_epi64(lh, _mm512_srli_epi64::<32>(ll));
    let mid2 = _mm512_add_epi64(hl, _mm512_and_si512(mid, lo32));
    // Low 32 bits from ll, high 32 bits from mid2 (odd 32-bit elements of the shifted mid2).
    let lo = _mm512_mask_blend_epi32(0xAAAA, ll, _mm512_slli_epi64::<32>(mid2));
    let hi = _mm512_add_epi64(
        hh,
        _mm512_add_epi64(_mm512_srli_epi64::<32>(mid), _mm512_srli_epi64::<32>(mid2)),
    );
    reduce(hi, lo)
}

/// Multiplication by the forward 4th root of unity `2^48`: the 128-bit product is a shift.
#[inline]
#[target_feature(enable = "avx512f")]
fn mul_w4(x: V) -> V {
    reduce(_mm512_srli_epi64::<16>(x), _mm512_slli_epi64::<48>(x))
}

/// The canonical representative: `x - p` wraps above `x` exactly when `x < p`.
#[inline]
#[target_feature(enable = "avx512f")]
fn canon(x: V) -> V {
    _mm512_min_epu64(x, _mm512_sub_epi64(x, splat(P)))
}

/// A twiddle broadcast to all lanes, with its high half ready for [`mul_pre`].
#[derive(Clone, Copy)]
struct Tw {
    w: V,
    hi: V,
}

#[inline]
#[target_feature(enable = "avx512f")]
fn twiddle(w: u64) -> Tw {
    Tw {
        w: splat(w),
        hi: splat(w >> 32),
    }
}

#[inline]
#[target_feature(enable = "avx512f")]
fn mul_tw(a: V, t: Tw) -> V {
    mul_pre(a, t.w, t.hi)
}

/// The radix-4 DIF step of `super::dif4` before its three twiddle products:
/// `[y0, (a0+a2) - (a1+a3), (a0-a2) ± i(a1-a3), (a0-a2) ∓ i(a1-a3)]`, the signs swapped for the
/// inverse transform (4th root `-2^48`).
#[inline]
#[target_feature(enable = "avx512f")]
fn dif4_core<const INV: bool>(a0: V, a1: V, a2: V, a3: V) -> [V; 4] {
    let s0 = add(a0, a2);
    let d0 = sub(a0, a2);
    let s1 = add(a1, a3);
    let e = mul_w4(sub(a1, a3));
    let (p, m) = if INV {
        (sub(d0, e), add(d0, e))
    } else {
        (add(d0, e), sub(d0, e))
    };
    [add(s0, s1), sub(s0, s1), p, m]
}

/// The full radix-4 DIF step with per-lane (or broadcast) twiddles `w^j, w^2j, w^3j`.
///
/// A macro rather than a function: LLVM declines to inline a function this large into the loops,
/// and `#[inline(always)]` is not available with `#[target_feature]` on stable Rust.
macro_rules! dif4 {
    ($inv:ident, $a:expr, $w1:expr, $w2:expr, $w3:expr $(,)?) => {{
        let a: [V; 4] = $a;
        let [y0, y1, y2, y3] = dif4_core::<$inv>(a[0], a[1], a[2], a[3]);
        [y0, mul_tw(y1, $w2), mul_tw(y2, $w1), mul_tw(y3, $w3)]
    }};
}

/// One radix-4 DIF step over four quarter row slices (same length as `tw`).
#[target_feature(enable = "avx512f")]
fn dif4_rows<const INV: bool>(x: [&mut [[u64; 8]]; 4], tw: TwSlice<'_>, unit_first: bool) {
    let [x0, x1, x2, x3] = x;
    let mut it = x0
        .iter_mut()
        .zip(x1.iter_mut())
        .zip(x2.iter_mut())
        .zip(x3.iter_mut())
        .zip(tw.iter());
    if unit_first {
        if let Some(((((a0, a1), a2), a3), _)) = it.next() {
            let y = dif4_core::<INV>(load(a0), load(a1), load(a2), load(a3));
            store(a0, y[0]);
            store(a1, y[1]);
            store(a2, y[2]);
            store(a3, y[3]);
        }
    }
    for ((((a0, a1), a2), a3), t) in it {
        let a = [load(a0), load(a1), load(a2), load(a3)];
        let y = dif4!(INV, a, twiddle(t[0]), twiddle(t[1]), twiddle(t[2]));
        store(a0, y[0]);
        store(a1, y[1]);
        store(a2, y[2]);
        store(a3, y[3]);
    }
}

/// Row DIF of a block that fits in cache: radix-4 levels from the top, then the twiddle-free last
/// level, which canonicalises.
#[target_feature(enable = "avx512f")]
fn dif_rows_leaf<const INV: bool>(x: &mut [[u64; 8]], log_n: usize) {
    let mut level = log_n;
    while level >= 4 {
        let table = cached_twiddles(level, INV);
        for block in x.chunks_exact_mut(1 << level) {
            let q = block.len() / 4;
            let (x0, rest) = block.split_at_mut(q);
            let (x1, rest) = rest.split_at_mut(q);
            let (x2, x3) = rest.split_at_mut(q);
            dif4_rows::<INV>([x0, x1, x2, x3], table, true);
        }
        level -= 2;
    }
    match level {
        3 => {
            let t = cached_twiddles(3, INV).get(1);
            let (t1, t2, t3) = (twiddle(t[0]), twiddle(t[1]), twiddle(t[2]));
            for c in x.chunks_exact_mut(8) {
                let [a0, a2, a4, a6] =
                    dif4_core::<INV>(load(&c[0]), load(&c[2]), load(&c[4]), load(&c[6]));
                let [a1, a3, a5, a7] = dif4!(
                    INV,
                    [load(&c[1]), load(&c[3]), load(&c[5]), load(&c[7])],
                    t1,
                    t2,
                    t3,
                );
                for (k, (lo, hi)) in [(a0, a1), (a2, a3), (a4, a5), (a6, a7)]
                    .into_iter()
                    .enumerate()
                {
                    store(&mut c[2 * k], canon(add(lo, hi)));
                    store(&mut c[2 * k + 1], canon(sub(lo, hi)));
                }
            }
        }
        2 => {
            for c in x.chunks_exact_mut(4) {
                let y = dif4_core::<INV>(load(&c[0]), load(&c[1]), load(&c[2]), load(&c[3]));
                for (row, v) in c.iter_mut().zip(y) {
                    store(row, canon(v));
                }
            }
        }
        1 => {
            for c in x.chunks_exact_mut(2) {
                let (a, b) = (load(&c[0]), load(&c[1]));
                store(&mut c[0], canon(add(a, b)));
                store(&mut c[1], canon(sub(a, b)));
            }
        }
        _ => x.iter_mut().for_each(|row| store(row, canon(load(row)))),
    }
}

/// Twiddles of a column's first three levels (see [`Avx512::column_dir`]).
struct TopTwiddles<'a> {
    /// The radix-4 step's twiddles for `j = i` (lanes `u` even).
    even: TwSlice<'a>,
    /// ... and for `j = m + i` (lanes `u` odd).
    odd: TwSlice<'a>,
    /// `w_{n/4}^i` of the radix-2 level.
    radix2: &'a [u64],
}

/// Fills rows `i0 ..` of a column's row form: lane `u` of row `i` is element `i` of eighth `u` after
/// the first three DIF levels (inputs scaled by `scale` first).
#[target_feature(enable = "avx512f")]
fn fill_column_rows<const INV: bool>(
    rows: &mut [[u64; 8]],
    i0: usize,
    x: &[u64],
    log_m: usize,
    tw: &TopTwiddles<'_>,
    scale: Option<u64>,
    bit_reversed_in: bool,
) {
    let m = 1usize << log_m;
    let scale = scale.map(|s| twiddle(s));
    for (k, out) in rows.chunks_exact_mut(8).enumerate() {
        let i = i0 + 8 * k;
        // a[u] = elements i .. i + 8 of eighth u (natural order).
        let mut a: [V; 8] = if bit_reversed_in {
            // Natural u m + i sits at 8 rev_m(i) + rev3(u): chunk rev_m(i + l) holds row i + l with
            // its lanes in rev3 order, so transposing eight chunks gives a[u] as vector rev3(u).
            let chunks: [V; 8] =
                std::array::from_fn(|l| load_at(x, 8 * super::reverse_bits(i + l, log_m)));
            let t = transpose8(chunks);
            [t[0], t[4], t[2], t[6], t[1], t[5], t[3], t[7]]
        } else {
            std::array::from_fn(|u| load_at(x, u * m + i))
        };
        if let Some(s) = scale {
            a = a.map(|v| mul_tw(v, s));
        }
        let even = [tw.even.w1, tw.even.w2, tw.even.w3].map(|w| tw_vec(&w[i..]));
        let odd = [tw.odd.w1, tw.odd.w2, tw.odd.w3].map(|w| tw_vec(&w[i..]));
        let [b0, b2, b4, b6] = dif4!(INV, [a[0], a[2], a[4], a[6]], even[0], even[1], even[2]);
        let [b1, b3, b5, b7] = dif4!(INV, [a[1], a[3], a[5], a[7]], odd[0], odd[1], odd[2]);
        let r2 = tw_vec(&tw.radix2[i..]);
        let mut b = [_mm512_setzero_si512(); 8];
        for (k2, (lo, hi)) in [(b0, b1), (b2, b3), (b4, b5), (b6, b7)]
            .into_iter()
            .enumerate()
        {
            b[2 * k2] = add(lo, hi);
            b[2 * k2 + 1] = mul_tw(sub(lo, hi), r2);
        }
        for (row, v) in out.iter_mut().zip(transpose8(b)) {
            store(row, v);
        }
    }
}

/// Natural-order output: elements `8k .. 8k + 8` are row `rev_m(k)` with its lanes in rev3 order.
#[target_feature(enable = "avx512f")]
fn drain_natural(x: &mut [u64], k0: usize, rows: &[[u64; 8]], log_m: usize) {
    let rev3 = _mm512_set_epi64(7, 3, 5, 1, 6, 2, 4, 0);
    for (k, out) in x.chunks_exact_mut(8).enumerate() {
        let row = load(&rows[super::reverse_bits(k0 + k, log_m)]);
        let out: &mut [u64; 8] = out.try_into().expect("chunks of 8");
        store(out, _mm512_permutexvar_epi64(rev3, row));
    }
}

/// Bit-reversed output: eighth `u` is lane `u` of the rows, in row order.
#[target_feature(enable = "avx512f")]
fn drain_bit_reversed(x: &mut [u64], rows: &[[u64; 8]]) {
    let m = rows.len();
    for (r0, block) in (0..m).step_by(8).zip(rows.chunks_exact(8)) {
        let cols = transpose8(std::array::from_fn(|l| load(&block[l])));
        for (u, v) in cols.into_iter().enumerate() {
            let out: &mut [u64; 8] = (&mut x[u * m + r0..u * m + r0 + 8])
                .try_into()
                .expect("8 elements");
            store(out, v);
        }
    }
}

/// Transposes an 8×8 block of `u64`: `out[c]` lane `r` = `rows[r]` lane `c`.
#[inline]
#[target_feature(enable = "avx512f")]
fn transpose8(r: [V; 8]) -> [V; 8] {
    // Pairs of rows interleaved: t0 = [r0.0 r1.0 r0.2 r1.2 r0.4 r1.4 r0.6 r1.6], t1 the odd lanes.
    let t0 = _mm512_unpacklo_epi64(r[0], r[1]);
    let t1 = _mm512_unpackhi_epi64(r[0], r[1]);
    let t2 = _mm512_unpacklo_epi64(r[2], r[3]);
    let t3 = _mm512_unpackhi_epi64(r[2], r[3]);
    let t4 = _mm512_unpacklo_epi64(r[4], r[5]);
    let t5 = _mm512_unpackhi_epi64(r[4], r[5]);
    let t6 = _mm512_unpacklo_epi64(r[6], r[7]);
    let t7 = _mm512_unpackhi_epi64(r[6], r[7]);
    // Quads of rows: u0 = columns 0 and 4 of rows 0..4, u1 = columns 2 and 6, ...
    let even = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0);
    let odd = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
    let u0 = _mm512_permutex2var_epi64(t0, even, t2);
    let u1 = _mm512_permutex2var_epi64(t0, odd, t2);
    let u2 = _mm512_permutex2var_epi64(t1, even, t3);
    let u3 = _mm512_permutex2var_epi64(t1, odd, t3);
    let u4 = _mm512_permutex2var_epi64(t4, even, t6);
    let u5 = _mm512_permutex2var_epi64(t4, odd, t6);
    let u6 = _mm512_permutex2var_epi64(t5, even, t7);
    let u7 = _mm512_permutex2var_epi64(t5, odd, t7);
    // Rows 0..4 and 4..8 of one column: low 256 bits of each for columns 0..4, high for 4..8.
    [
        _mm512_shuffle_i64x2::<0x44>(u0, u4),
        _mm512_shuffle_i64x2::<0x44>(u2, u6),
        _mm512_shuffle_i64x2::<0x44>(u1, u5),
        _mm512_shuffle_i64x2::<0x44>(u3, u7),
        _mm512_shuffle_i64x2::<0xEE>(u0, u4),
        _mm512_shuffle_i64x2::<0xEE>(u2, u6),
        _mm512_shuffle_i64x2::<0xEE>(u1, u5),
        _mm512_shuffle_i64x2::<0xEE>(u3, u7),
    ]
}

#[target_feature(enable = "avx512f")]
fn fill_scaled_rows(rows: &mut [[u64; 8]], cols: &[&[u64]], powers: &[u64]) {
    let n = rows.len();
    debug_assert!(cols.len() <= 8 && cols.iter().all(|c| c.len() == n) && powers.len() == n);
    if n < 8 || cols.len() < 8 {
        // Tiny columns or a partial group: lane by lane.
        for (i, row) in rows.iter_mut().enumerate() {
            *row = std::array::from_fn(|u| cols.get(u).map_or(0, |c| super::mul(c[i], powers[i])));
        }
        return;
    }
    let cols: [&[u64]; 8] = std::array::from_fn(|u| cols[u]);
    for (i0, out) in (0..n).step_by(8).zip(rows.chunks_exact_mut(8)) {
        let pw = tw_vec(&powers[i0..i0 + 8]);
        let scaled: [V; 8] = std::array::from_fn(|u| mul_pre(load_at(cols[u], i0), pw.w, pw.hi));
        for (row, v) in out.iter_mut().zip(transpose8(scaled)) {
            store(row, v);
        }
    }
}

/// Eight consecutive elements of a slice, starting at `i` (`i + 8 <= s.len()`).
#[inline]
#[target_feature(enable = "avx512f")]
fn load_at(s: &[u64], i: usize) -> V {
    let chunk: &[u64; 8] = s[i..i + 8].try_into().expect("a slice of 8 elements");
    load(chunk)
}

#[inline]
#[target_feature(enable = "avx512f")]
fn tw_vec(s: &[u64]) -> Tw {
    let w = load_at(s, 0);
    Tw {
        w,
        hi: _mm512_srli_epi64::<32>(w),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn to_v(x: [u64; 8]) -> V {
        // SAFETY: tests only run this after `Avx512::detect`.
        unsafe { load(&x) }
    }
    fn from_v(v: V) -> [u64; 8] {
        let mut out = [0u64; 8];
        // SAFETY: as above.
        unsafe { store(&mut out, v) };
        out
    }

    #[test]
    fn lane_arithmetic_matches_scalar() {
        if Avx512::detect().is_none() {
            return;
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let edges = [
            0,
            1,
            EPSILON,
            EPSILON + 1,
            P - 1,
            P,
            P + 1,
            u64::MAX,
            1 << 63,
            1 << 32,
        ];
        for round in 0..2000 {
            let pick = |rng: &mut rand_chacha::ChaCha8Rng| -> [u64; 8] {
                std::array::from_fn(|_| {
                    if round % 2 == 0 {
                        edges[rng.gen_range(0..edges.len())]
                    } else {
                        rng.gen()
                    }
                })
            };
            let (a, b) = (pick(&mut rng), pick(&mut rng));
            let (va, vb) = (to_v(a), to_v(b));
            // SAFETY: AVX-512F detected above.
            let (s, d, m, w, c) = unsafe {
                (
                    from_v(add(va, vb)),
                    from_v(sub(va, vb)),
                    from_v(mul_pre(va, vb, _mm512_srli_epi64::<32>(vb))),
                    from_v(mul_w4(va)),
                    from_v(canon(va)),
                )
            };
            for u in 0..8 {
                let canon_s = super::super::canon;
                assert_eq!(
                    canon_s(s[u]),
                    canon_s(super::super::add(a[u], b[u])),
                    "{:#x} + {:#x}",
                    a[u],
                    b[u]
                );
                assert_eq!(
                    canon_s(d[u]),
                    canon_s(super::super::sub(a[u], b[u])),
                    "{:#x} - {:#x}",
                    a[u],
                    b[u]
                );
                assert_eq!(
                    canon_s(m[u]),
                    canon_s(super::super::mul(a[u], b[u])),
                    "{:#x} * {:#x}",
                    a[u],
                    b[u]
                );
                assert_eq!(
                    canon_s(w[u]),
                    canon_s(super::super::mul_w4(a[u])),
                    "{:#x} * 2^48",
                    a[u]
                );
                assert_eq!(c[u], canon_s(a[u]));
            }
        }
    }

    #[test]
    fn transpose_is_a_transpose() {
        if Avx512::detect().is_none() {
            return;
        }
        let rows: [[u64; 8]; 8] =
            std::array::from_fn(|r| std::array::from_fn(|c| (r * 8 + c) as u64));
        // SAFETY: AVX-512F detected above.
        let out = unsafe { transpose8(rows.map(to_v)) }.map(from_v);
        for (c, col) in out.iter().enumerate() {
            for (r, &v) in col.iter().enumerate() {
                assert_eq!(v, rows[r][c], "out[{c}][{r}]");
            }
        }
    }
}
