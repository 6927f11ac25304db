//! Goldilocks NTT and coset LDE on the CPU (rayon).
//!
//! # Design
//!
//! Two implementations of the same transforms, bit-exact with each other and with plonky2: a portable
//! scalar one, and an AVX-512 one (the private `avx512` module) chosen at run time when the CPU has
//! AVX-512F (the crate is built for baseline x86-64, like plonky2, whose fields then run scalar too).
//!
//! - **Arithmetic** works on raw `u64`s in plonky2's redundant representation (any `u64`, congruent
//!   mod p): a 64×64→128 multiply reduced with `2^64 ≡ 2^32 - 1` and `2^96 ≡ -1`; adds and subtracts
//!   fix their carries with `cmov`s, because the carries of random field elements are coin flips that a
//!   branch would mispredict half the time. Only the last operation an element goes through
//!   canonicalises it, so every output is `< p` (the [`DeviceElement`](crate::DeviceElement) encoding
//!   and `==` on raw words rely on it).
//! - **Transforms** are radix-4: decimation in frequency (DIF, natural → bit-reversed) and decimation in
//!   time (DIT, bit-reversed → natural). A radix-4 step fuses two radix-2 layers, so an element is
//!   loaded and stored half as often; one of its four twiddles is the 4th root of unity `2^48`, whose
//!   product is a shift. Butterflies whose twiddles are all 1 skip their multiplications. An odd
//!   `log_n` gets one multiplication-free radix-2 layer on blocks of two.
//! - **Cache blocking**: above `2^LEAF_LOG` elements a transform runs one radix-4 layer over the whole
//!   column and recurses into the four quarters (DIF; DIT mirrors it), so every layer below the leaf
//!   size runs on data that sits in L1/L2. Large columns are split over rayon (chunks of the top layers,
//!   quarters of the recursion); batches are split by column.
//! - **Twiddles** `(w^j, w^2j, w^3j)` are computed once per level and direction and cached for the
//!   process (levels up to `CACHED_LEVELS`, 6 MiB per direction at the top); larger levels generate
//!   them per chunk.
//! - **Orders** (portable path): natural → bit-reversed is a bare DIF, bit-reversed → natural a bare
//!   DIT; natural → natural is DIF plus one cache-tiled bit-reversal pass, which also applies `1/n` and
//!   the final canonicalisation. The inverse transform uses the inverse twiddles; its `1/n` is folded
//!   into the first (DIT) or last (DIF) layer's pass. The AVX-512 path reads and writes either order
//!   directly (see its module docs).
//! - **Coset LDE**: with `N = n·2^k`, rows `[j·n, (j+1)·n)` of the bit-reversed LDE are exactly the
//!   bit-reversed size-`n` NTT of the coefficients scaled by `(shift · w_N^rev_k(j))^i`. So each of the
//!   `2^k` row blocks is `num_cols` independent L2-sized DIFs (no zero padding, no bit reversal, no
//!   extra transpose pass); they are computed eight columns at a time (the eight lanes of a vector on
//!   the AVX-512 path) and written into the row-major output one cache line per row.

use std::cell::Cell;
use std::sync::OnceLock;

use plonky2_field::types::{Field, PrimeField64};
use rayon::prelude::*;

use crate::backend::{ColumnBatch, NttDirection, Order};
use crate::error::{require_len, KernelError, Result};
use crate::field::{Goldilocks, GOLDILOCKS_P};

#[cfg(target_arch = "x86_64")]
mod avx512;

/// Off x86-64 there is no vector path: an uninhabited stand-in with the same interface.
#[cfg(not(target_arch = "x86_64"))]
mod avx512 {
    #[derive(Clone, Copy, Debug)]
    pub(super) enum Avx512 {}
    impl Avx512 {
        pub(super) fn detect() -> Option<Self> {
            None
        }
        pub(super) fn fill_scaled_rows(self, _: &mut [[u64; 8]], _: &[&[u64]], _: &[u64]) {
            match self {}
        }
        pub(super) fn dif_rows(self, _: &mut [[u64; 8]], _: usize, _: bool) {
            match self {}
        }
        pub(super) fn handles_column(_: usize) -> bool {
            false
        }
        pub(super) fn ntt_column(
            self,
            _: &mut [u64],
            _: usize,
            _: Option<u64>,
            _: crate::backend::Order,
            _: crate::backend::Order,
            _: bool,
        ) {
            match self {}
        }
    }
}

use avx512::Avx512;

// ---- parameters ----------------------------------------------------------------------------------

/// Goldilocks' two-adicity: the largest transform is `2^32` points.
const MAX_LOG_N: usize = 32;
/// Transforms of at most `2^LEAF_LOG` elements run layer by layer (the column fits in L1/L2).
const LEAF_LOG: usize = 12;
/// Columns of at least `2^PAR_LOG` elements are split over rayon when the batch is too small to keep
/// every thread busy with whole columns.
const PAR_LOG: usize = 14;
/// Twiddle triples are cached for levels up to this one (`2^(CACHED_LEVELS-2)` triples, 6 MiB each
/// direction for 20), which covers every level of a `2^20` transform.
const CACHED_LEVELS: usize = 20;
/// Chunk of butterflies (and of generated twiddles) that a top layer hands to one task.
const TW_CHUNK: usize = 512;
/// Columns per coset-LDE group: 8 `u64` are one 64-byte cache line of an output row.
const LDE_GROUP: usize = 8;

// ---- Goldilocks arithmetic on raw words ----------------------------------------------------------

const P: u64 = GOLDILOCKS_P;
/// `2^64 mod p = 2^32 - 1`.
const EPSILON: u64 = 0xFFFF_FFFF;

/// `EPSILON` if `flag`, else 0, without a branch.
///
/// Carries and borrows of random field elements are coin flips, so a branch on them mispredicts half
/// the time (LLVM turns plain `EPSILON * flag` into one); `select_unpredictable` keeps a `cmov`.
#[inline(always)]
fn eps_if(flag: bool) -> u64 {
    std::hint::select_unpredictable(flag, EPSILON, 0)
}

/// Reduces a 128-bit value to a (possibly non-canonical) `u64` congruent mod p.
#[inline(always)]
fn reduce128(x: u128) -> u64 {
    let lo = x as u64;
    let hi = (x >> 64) as u64;
    // x = lo + 2^64 (hi_lo + 2^32 hi_hi) ≡ lo + hi_lo (2^32 - 1) - hi_hi   (2^96 ≡ -1).
    let hi_hi = hi >> 32;
    let hi_lo = hi & EPSILON;
    let (mut t0, borrow) = lo.overflowing_sub(hi_hi);
    if borrow {
        // Needs lo < hi_hi < 2^32: rare, so a (well-predicted) branch is cheapest. We are 2^64 ≡
        // EPSILON too high, and t0 >= 2^64 - 2^32 + 1, so this cannot underflow.
        t0 -= EPSILON;
    }
    let t1 = hi_lo * EPSILON;
    let (t2, carry) = t0.overflowing_add(t1);
    // A carry means we dropped 2^64 ≡ EPSILON; t2 < t1 <= 2^64 - 2^33 + 1 then, so no overflow.
    t2.wrapping_add(eps_if(carry))
}

#[inline(always)]
fn mul(a: u64, b: u64) -> u64 {
    reduce128(u128::from(a) * u128::from(b))
}

/// Multiplication by `2^48`, plonky2's `primitive_root_of_unity(2)` (checked by a test): a shift.
#[inline(always)]
fn mul_w4(x: u64) -> u64 {
    reduce128(u128::from(x) << 48)
}

#[inline(always)]
fn add(a: u64, b: u64) -> u64 {
    let (s, c) = a.overflowing_add(b);
    let (mut s, c2) = s.overflowing_add(eps_if(c));
    if c2 {
        // Needs both inputs >= p (non-canonical): rare. It cannot carry a third time.
        s += EPSILON;
    }
    s
}

#[inline(always)]
fn sub(a: u64, b: u64) -> u64 {
    let (d, b1) = a.overflowing_sub(b);
    let (mut d, b2) = d.overflowing_sub(eps_if(b1));
    if b2 {
        // Needs b >= p (non-canonical): rare. It leaves d >= 2^64 - 2^32, so no third borrow.
        d -= EPSILON;
    }
    d
}

/// The canonical representative (`< p`) of any `u64`.
#[inline(always)]
fn canon(x: u64) -> u64 {
    if x >= P {
        x - P
    } else {
        x
    }
}

/// An element-wise operation fused into a pass that touches every element anyway.
trait ElemOp: Copy + Send + Sync {
    fn apply(self, v: u64) -> u64;
}

#[derive(Clone, Copy)]
struct Identity;
impl ElemOp for Identity {
    #[inline(always)]
    fn apply(self, v: u64) -> u64 {
        v
    }
}

#[derive(Clone, Copy)]
struct Canonical;
impl ElemOp for Canonical {
    #[inline(always)]
    fn apply(self, v: u64) -> u64 {
        canon(v)
    }
}

#[derive(Clone, Copy)]
struct Scale(u64);
impl ElemOp for Scale {
    #[inline(always)]
    fn apply(self, v: u64) -> u64 {
        mul(v, self.0)
    }
}

#[derive(Clone, Copy)]
struct ScaleCanonical(u64);
impl ElemOp for ScaleCanonical {
    #[inline(always)]
    fn apply(self, v: u64) -> u64 {
        canon(mul(v, self.0))
    }
}

/// Runs `$body` with `$op` bound to the operation that finishes an output element: canonicalisation,
/// preceded by the `1/n` scaling of an inverse transform when `$scale` is `Some`.
macro_rules! with_final_op {
    ($scale:expr, |$op:ident| $body:expr) => {
        match $scale {
            Some(s) => {
                let $op = ScaleCanonical(s);
                $body
            }
            None => {
                let $op = Canonical;
                $body
            }
        }
    };
}

/// Views a Goldilocks slice as its raw words.
fn as_words_mut(data: &mut [Goldilocks]) -> &mut [u64] {
    // SAFETY: `GoldilocksField` is `#[repr(transparent)]` over `u64`, so the layouts are identical,
    // and every `u64` is a valid `GoldilocksField` (the representation is redundant), so whatever we
    // write back is a valid element. The borrow is carried over unchanged.
    unsafe { std::slice::from_raw_parts_mut(data.as_mut_ptr().cast::<u64>(), data.len()) }
}

fn as_words(data: &[Goldilocks]) -> &[u64] {
    // SAFETY: as in `as_words_mut` (`repr(transparent)` over `u64`).
    unsafe { std::slice::from_raw_parts(data.as_ptr().cast::<u64>(), data.len()) }
}

fn into_goldilocks_vec(words: Vec<u64>) -> Vec<Goldilocks> {
    let mut words = std::mem::ManuallyDrop::new(words);
    // SAFETY: `GoldilocksField` is `#[repr(transparent)]` over `u64` (same size and alignment, so the
    // allocation's layout is unchanged), and every `u64` is a valid element. Ownership moves over from
    // the `ManuallyDrop`ped vector, which is never used again.
    unsafe {
        Vec::from_raw_parts(
            words.as_mut_ptr().cast::<Goldilocks>(),
            words.len(),
            words.capacity(),
        )
    }
}

#[inline]
fn reverse_bits(i: usize, bits: usize) -> usize {
    if bits == 0 {
        0
    } else {
        i.reverse_bits() >> (usize::BITS as usize - bits)
    }
}

/// Scratch buffers up to this many rows (8 MiB) are kept per thread between calls.
const RETAINED_SCRATCH_ROWS: usize = 1 << 17;

/// Runs `f` on `rows` scratch rows of eight lanes from a per-thread buffer kept between calls, so
/// that the vector paths do not pay for fresh pages on every transform (a column of `2^20` elements
/// needs `2^17` rows, a coset-LDE block `n` rows). Larger buffers are freed after use.
fn with_row_scratch<R>(rows: usize, f: impl FnOnce(&mut [[u64; 8]]) -> R) -> R {
    thread_local! {
        static SCRATCH: Cell<Vec<[u64; 8]>> = const { Cell::new(Vec::new()) };
    }
    // Taken out for the call: a nested call on this thread (rayon work stealing) finds the slot
    // empty and uses a buffer of its own.
    let mut buf = SCRATCH.with(Cell::take);
    if buf.len() < rows {
        buf.resize(rows, [0; 8]);
    }
    let result = f(&mut buf[..rows]);
    if buf.len() <= RETAINED_SCRATCH_ROWS {
        SCRATCH.with(|slot| slot.set(buf));
    }
    result
}

// ---- twiddles ------------------------------------------------------------------------------------

/// `(w^j, w^2j, w^3j)` for one `j` of a radix-4 step at some level (`w` its root of unity).
type Triple = [u64; 3];

/// The twiddles of a run of `j`s of one level, as three parallel arrays (`w1[k] = w^j` for `j = j0 +
/// k`, `w2[k] = w^2j`, `w3[k] = w^3j`), so that vector code loads eight consecutive `j`s at once.
#[derive(Clone, Copy)]
struct Tw<'a> {
    w1: &'a [u64],
    w2: &'a [u64],
    w3: &'a [u64],
}

impl<'a> Tw<'a> {
    /// The `len` twiddles from offset `k0`.
    fn range(self, k0: usize, len: usize) -> Tw<'a> {
        Tw {
            w1: &self.w1[k0..k0 + len],
            w2: &self.w2[k0..k0 + len],
            w3: &self.w3[k0..k0 + len],
        }
    }

    fn get(&self, k: usize) -> Triple {
        [self.w1[k], self.w2[k], self.w3[k]]
    }

    #[inline(always)]
    fn iter(self) -> impl Iterator<Item = Triple> + 'a {
        self.w1
            .iter()
            .zip(self.w2)
            .zip(self.w3)
            .map(|((&a, &b), &c)| [a, b, c])
    }
}

/// A cached level: `2^(L-2)` triples for `w = primitive_root_of_unity(L)` (forward) or its inverse.
struct Twiddles {
    w1: Box<[u64]>,
    w2: Box<[u64]>,
    w3: Box<[u64]>,
}

/// Cached twiddles: `[direction][level]`.
static TWIDDLES: [[OnceLock<Twiddles>; CACHED_LEVELS + 1]; 2] =
    [const { [const { OnceLock::new() }; CACHED_LEVELS + 1] }; 2];

/// The root of unity of a level: exactly plonky2's `primitive_root_of_unity`, inverted for the inverse
/// transform. plonky2's roots are consistent (`w_{2L}^2 = w_L`), which the decompositions rely on.
fn level_root(level: usize, inverse: bool) -> Goldilocks {
    let w = Goldilocks::primitive_root_of_unity(level);
    if inverse {
        w.inverse()
    } else {
        w
    }
}

/// Fills `w1`, `w2`, `w3` (equal lengths) with the twiddles of `root` for `j = j0, j0 + 1, ...`.
fn fill_twiddles(root: Goldilocks, j0: usize, w1: &mut [u64], w2: &mut [u64], w3: &mut [u64]) {
    let step = root.to_canonical_u64();
    let mut cur = root.exp_u64(j0 as u64).to_canonical_u64();
    for ((a, b), c) in w1.iter_mut().zip(w2.iter_mut()).zip(w3.iter_mut()) {
        let sq = mul(cur, cur);
        (*a, *b, *c) = (canon(cur), canon(sq), canon(mul(sq, cur)));
        cur = mul(cur, step);
    }
}

fn cached_twiddles(level: usize, inverse: bool) -> Tw<'static> {
    debug_assert!((2..=CACHED_LEVELS).contains(&level));
    let t = TWIDDLES[usize::from(inverse)][level].get_or_init(|| {
        let q = 1 << (level - 2);
        let (mut w1, mut w2, mut w3) = (vec![0; q], vec![0; q], vec![0; q]);
        fill_twiddles(level_root(level, inverse), 0, &mut w1, &mut w2, &mut w3);
        Twiddles {
            w1: w1.into_boxed_slice(),
            w2: w2.into_boxed_slice(),
            w3: w3.into_boxed_slice(),
        }
    });
    Tw {
        w1: &t.w1,
        w2: &t.w2,
        w3: &t.w3,
    }
}

/// Runs `f` on the twiddles `j0 .. j0 + len` of a level (`len <= TW_CHUNK` for uncached levels).
#[inline]
fn with_twiddles<R>(
    level: usize,
    inverse: bool,
    j0: usize,
    len: usize,
    f: impl FnOnce(Tw<'_>) -> R,
) -> R {
    if level <= CACHED_LEVELS {
        f(cached_twiddles(level, inverse).range(j0, len))
    } else {
        let mut buf = [[0u64; TW_CHUNK]; 3];
        let [w1, w2, w3] = &mut buf;
        let (w1, w2, w3) = (&mut w1[..len], &mut w2[..len], &mut w3[..len]);
        fill_twiddles(level_root(level, inverse), j0, w1, w2, w3);
        f(Tw { w1, w2, w3 })
    }
}

// ---- radix-4 butterflies -------------------------------------------------------------------------
//
// `NEG_I` selects the 4th root of unity of the transform's direction: plonky2's forward root is
// `i = 2^48`, the inverse uses `i^-1 = -2^48`; multiplying by `-2^48` is multiplying by `2^48` and
// swapping an add with a sub.

/// DIF radix-4 step on `(a0, a1, a2, a3) = x[j + k q]`, twiddles `(w^j, w^2j, w^3j)` of the level:
/// `y0 = a0+a1+a2+a3`, `y1 = ((a0+a2) - (a1+a3)) w^2j`, `y2 = ((a0-a2) + i(a1-a3)) w^j`,
/// `y3 = ((a0-a2) - i(a1-a3)) w^3j`.
#[inline(always)]
fn dif4<const NEG_I: bool>(a0: u64, a1: u64, a2: u64, a3: u64, tw: Triple) -> [u64; 4] {
    let [p, m, s0, s1] = dif4_core::<NEG_I>(a0, a1, a2, a3);
    [
        add(s0, s1),
        mul(sub(s0, s1), tw[1]),
        mul(p, tw[0]),
        mul(m, tw[2]),
    ]
}

/// [`dif4`] with all twiddles 1 (`j = 0`).
#[inline(always)]
fn dif4_unit<const NEG_I: bool>(a0: u64, a1: u64, a2: u64, a3: u64) -> [u64; 4] {
    let [p, m, s0, s1] = dif4_core::<NEG_I>(a0, a1, a2, a3);
    [add(s0, s1), sub(s0, s1), p, m]
}

#[inline(always)]
fn dif4_core<const NEG_I: bool>(a0: u64, a1: u64, a2: u64, a3: u64) -> [u64; 4] {
    let s0 = add(a0, a2);
    let d0 = sub(a0, a2);
    let s1 = add(a1, a3);
    let e = mul_w4(sub(a1, a3));
    let (p, m) = if NEG_I {
        (sub(d0, e), add(d0, e))
    } else {
        (add(d0, e), sub(d0, e))
    };
    [p, m, s0, s1]
}

/// DIT radix-4 step (the two radix-2 layers of half sizes `q` then `2q`):
/// with `t1 = a1 w^2j`, `t2 = a2 w^j`, `t3 = a3 w^3j`, `v = i (t2 - t3)`:
/// `y0 = a0 + t1 + (t2 + t3)`, `y2 = a0 + t1 - (t2 + t3)`, `y1 = a0 - t1 + v`, `y3 = a0 - t1 - v`.
#[inline(always)]
fn dit4<const NEG_I: bool>(a0: u64, a1: u64, a2: u64, a3: u64, tw: Triple) -> [u64; 4] {
    dit4_core::<NEG_I>(a0, mul(a1, tw[1]), mul(a2, tw[0]), mul(a3, tw[2]))
}

#[inline(always)]
fn dit4_core<const NEG_I: bool>(a0: u64, t1: u64, t2: u64, t3: u64) -> [u64; 4] {
    let c0 = add(a0, t1);
    let c1 = sub(a0, t1);
    let u = add(t2, t3);
    let v = mul_w4(sub(t2, t3));
    let (y1, y3) = if NEG_I {
        (sub(c1, v), add(c1, v))
    } else {
        (add(c1, v), sub(c1, v))
    };
    [add(c0, u), y1, sub(c0, u), y3]
}

/// Splits a block into its four quarters.
#[inline(always)]
fn quarters(x: &mut [u64]) -> [&mut [u64]; 4] {
    let q = x.len() / 4;
    let (x0, rest) = x.split_at_mut(q);
    let (x1, rest) = rest.split_at_mut(q);
    let (x2, x3) = rest.split_at_mut(q);
    [x0, x1, x2, x3]
}

/// One DIF radix-4 step over quarter slices (same length as `tw`); `unit_first` when `tw[0]` is the
/// `j = 0` triple `(1, 1, 1)`.
#[inline(always)]
fn dif4_quarters<const NEG_I: bool>(x: [&mut [u64]; 4], tw: Tw<'_>, unit_first: bool) {
    let [x0, x1, x2, x3] = x;
    let mut it = x0
        .iter_mut()
        .zip(x1.iter_mut())
        .zip(x2.iter_mut())
        .zip(x3.iter_mut())
        .zip(tw.iter());
    if unit_first {
        if let Some(((((a0, a1), a2), a3), _)) = it.next() {
            [*a0, *a1, *a2, *a3] = dif4_unit::<NEG_I>(*a0, *a1, *a2, *a3);
        }
    }
    for ((((a0, a1), a2), a3), w) in it {
        [*a0, *a1, *a2, *a3] = dif4::<NEG_I>(*a0, *a1, *a2, *a3, w);
    }
}

/// One DIT radix-4 step over quarter slices; `post` finishes each output.
#[inline(always)]
fn dit4_quarters<const NEG_I: bool, Q: ElemOp>(
    x: [&mut [u64]; 4],
    tw: Tw<'_>,
    unit_first: bool,
    post: Q,
) {
    let [x0, x1, x2, x3] = x;
    let mut it = x0
        .iter_mut()
        .zip(x1.iter_mut())
        .zip(x2.iter_mut())
        .zip(x3.iter_mut())
        .zip(tw.iter());
    if unit_first {
        if let Some(((((a0, a1), a2), a3), _)) = it.next() {
            let y = dit4_core::<NEG_I>(*a0, *a1, *a2, *a3);
            [*a0, *a1, *a2, *a3] = y.map(|v| post.apply(v));
        }
    }
    for ((((a0, a1), a2), a3), w) in it {
        let y = dit4::<NEG_I>(*a0, *a1, *a2, *a3, w);
        [*a0, *a1, *a2, *a3] = y.map(|v| post.apply(v));
    }
}

/// Runs `f(chunk_index, quarter chunks)` over matching `TW_CHUNK` chunks of the four quarters of `x`,
/// on rayon when `par`.
fn for_each_quarter_chunk(x: &mut [u64], par: bool, f: impl Fn(usize, [&mut [u64]; 4]) + Sync) {
    let [x0, x1, x2, x3] = quarters(x);
    let chunk = TW_CHUNK.min(x0.len());
    if par {
        x0.par_chunks_mut(chunk)
            .zip(x1.par_chunks_mut(chunk))
            .zip(x2.par_chunks_mut(chunk))
            .zip(x3.par_chunks_mut(chunk))
            .enumerate()
            .for_each(|(ci, (((a, b), c), d))| f(ci * chunk, [a, b, c, d]));
    } else {
        x0.chunks_mut(chunk)
            .zip(x1.chunks_mut(chunk))
            .zip(x2.chunks_mut(chunk))
            .zip(x3.chunks_mut(chunk))
            .enumerate()
            .for_each(|(ci, (((a, b), c), d))| f(ci * chunk, [a, b, c, d]));
    }
}

// ---- DIF: natural -> bit-reversed ----------------------------------------------------------------

/// In-place DIF of `x` (`2^log_n` elements, natural order) into bit-reversed order; `post` finishes
/// every output element.
fn dif<const NEG_I: bool, Q: ElemOp>(
    x: &mut [u64],
    log_n: usize,
    inverse: bool,
    post: Q,
    par: bool,
) {
    debug_assert_eq!(x.len(), 1 << log_n);
    if log_n <= LEAF_LOG {
        dif_leaf::<NEG_I, Q>(x, log_n, inverse, post);
        return;
    }
    let par = par && log_n >= PAR_LOG;
    // The top radix-4 step over the whole column, then four independent quarter transforms.
    for_each_quarter_chunk(x, par, |j0, q| {
        with_twiddles(log_n, inverse, j0, q[0].len(), |tw| {
            dif4_quarters::<NEG_I>(q, tw, j0 == 0)
        });
    });
    let [x0, x1, x2, x3] = quarters(x);
    let sub = |y: &mut [u64]| dif::<NEG_I, Q>(y, log_n - 2, inverse, post, par);
    if par {
        rayon::join(
            || rayon::join(|| sub(x0), || sub(x1)),
            || rayon::join(|| sub(x2), || sub(x3)),
        );
    } else {
        [x0, x1, x2, x3].into_iter().for_each(sub);
    }
}

/// DIF of a column that fits in cache: radix-4 layers from the top, then the last (twiddle-free)
/// radix-4 or radix-2 layer, which also applies `post`.
fn dif_leaf<const NEG_I: bool, Q: ElemOp>(x: &mut [u64], log_n: usize, inverse: bool, post: Q) {
    let mut level = log_n;
    while level >= 4 {
        let tw = cached_twiddles(level, inverse);
        for block in x.chunks_exact_mut(1 << level) {
            dif4_quarters::<NEG_I>(quarters(block), tw, true);
        }
        level -= 2;
    }
    match level {
        3 => {
            // Blocks of 8: quarters of 2, so j = 0 (unit) and j = 1; then the radix-2 layer.
            let w = cached_twiddles(3, inverse).get(1);
            for c in x.chunks_exact_mut(8) {
                let [a0, a2, a4, a6] = dif4_unit::<NEG_I>(c[0], c[2], c[4], c[6]);
                let [a1, a3, a5, a7] = dif4::<NEG_I>(c[1], c[3], c[5], c[7], w);
                for (k, (lo, hi)) in [(a0, a1), (a2, a3), (a4, a5), (a6, a7)]
                    .into_iter()
                    .enumerate()
                {
                    c[2 * k] = post.apply(add(lo, hi));
                    c[2 * k + 1] = post.apply(sub(lo, hi));
                }
            }
        }
        2 => {
            for c in x.chunks_exact_mut(4) {
                let y = dif4_unit::<NEG_I>(c[0], c[1], c[2], c[3]);
                c[0] = post.apply(y[0]);
                c[1] = post.apply(y[1]);
                c[2] = post.apply(y[2]);
                c[3] = post.apply(y[3]);
            }
        }
        1 => {
            for c in x.chunks_exact_mut(2) {
                let (a, b) = (c[0], c[1]);
                c[0] = post.apply(add(a, b));
                c[1] = post.apply(sub(a, b));
            }
        }
        _ => x.iter_mut().for_each(|v| *v = post.apply(*v)),
    }
}

// ---- DIT: bit-reversed -> natural ----------------------------------------------------------------

/// In-place DIT of `x` (bit-reversed order) into natural order; `pre` is applied to every input as it
/// is first loaded and `post` to every output of the last layer.
fn dit<const NEG_I: bool, A: ElemOp, Q: ElemOp>(
    x: &mut [u64],
    log_n: usize,
    inverse: bool,
    pre: A,
    post: Q,
    par: bool,
) {
    debug_assert_eq!(x.len(), 1 << log_n);
    if log_n <= LEAF_LOG {
        dit_leaf::<NEG_I, A, Q>(x, log_n, inverse, pre, post);
        return;
    }
    let par = par && log_n >= PAR_LOG;
    {
        let [x0, x1, x2, x3] = quarters(x);
        let sub =
            |y: &mut [u64]| dit::<NEG_I, A, Identity>(y, log_n - 2, inverse, pre, Identity, par);
        if par {
            rayon::join(
                || rayon::join(|| sub(x0), || sub(x1)),
                || rayon::join(|| sub(x2), || sub(x3)),
            );
        } else {
            [x0, x1, x2, x3].into_iter().for_each(sub);
        }
    }
    for_each_quarter_chunk(x, par, |j0, q| {
        with_twiddles(log_n, inverse, j0, q[0].len(), |tw| {
            dit4_quarters::<NEG_I, Q>(q, tw, j0 == 0, post)
        });
    });
}

fn dit_leaf<const NEG_I: bool, A: ElemOp, Q: ElemOp>(
    x: &mut [u64],
    log_n: usize,
    inverse: bool,
    pre: A,
    post: Q,
) {
    // The first layer (radix-2 for odd log_n, twiddle-free radix-4 otherwise) applies `pre`, and
    // `post` too when it is also the last one.
    let first = if log_n % 2 == 1 { 1 } else { 2.min(log_n) };
    match first {
        0 => x.iter_mut().for_each(|v| *v = post.apply(pre.apply(*v))),
        1 => {
            let last = log_n == 1;
            for c in x.chunks_exact_mut(2) {
                let (a, b) = (pre.apply(c[0]), pre.apply(c[1]));
                let (s, d) = (add(a, b), sub(a, b));
                (c[0], c[1]) = if last {
                    (post.apply(s), post.apply(d))
                } else {
                    (s, d)
                };
            }
        }
        _ => {
            let last = log_n == 2;
            for c in x.chunks_exact_mut(4) {
                let y = dit4_core::<NEG_I>(
                    pre.apply(c[0]),
                    pre.apply(c[1]),
                    pre.apply(c[2]),
                    pre.apply(c[3]),
                );
                let y = if last { y.map(|v| post.apply(v)) } else { y };
                c.copy_from_slice(&y);
            }
        }
    }
    let mut level = first + 2;
    while level <= log_n {
        let tw = cached_twiddles(level, inverse);
        for block in x.chunks_exact_mut(1 << level) {
            if level == log_n {
                dit4_quarters::<NEG_I, Q>(quarters(block), tw, true, post);
            } else {
                dit4_quarters::<NEG_I, Identity>(quarters(block), tw, true, Identity);
            }
        }
        level += 2;
    }
}

// ---- bit-reversal permutation --------------------------------------------------------------------

/// Bits of a bit-reversal tile side (16 × 16 elements, 2 KiB).
const TILE_BITS: usize = 4;
const TILE: usize = 1 << TILE_BITS;

/// A raw pointer that rayon tasks may share; every use documents why the tasks' accesses are disjoint.
#[derive(Clone, Copy)]
struct SharedWords(*mut u64);
// SAFETY: the pointer is only dereferenced at disjoint indices from different tasks (see
// `bit_reverse_tiled`), while the `&mut` it came from is borrowed for the whole parallel section.
unsafe impl Send for SharedWords {}
// SAFETY: as above.
unsafe impl Sync for SharedWords {}

impl SharedWords {
    /// Through a method, so closures capture the `Sync` wrapper rather than the bare pointer field.
    #[inline(always)]
    fn at(self, i: usize) -> *mut u64 {
        self.0.wrapping_add(i)
    }
}

/// In-place bit-reversal permutation of `x` (`2^log_n` elements), applying `op` to every element.
fn bit_reverse_permute<Q: ElemOp>(x: &mut [u64], log_n: usize, op: Q, par: bool) {
    debug_assert_eq!(x.len(), 1 << log_n);
    if log_n < 2 * TILE_BITS + 2 {
        for i in 0..x.len() {
            let r = reverse_bits(i, log_n);
            if i < r {
                let (a, b) = (x[i], x[r]);
                x[i] = op.apply(b);
                x[r] = op.apply(a);
            } else if i == r {
                x[i] = op.apply(x[i]);
            }
        }
    } else {
        bit_reverse_tiled(x, log_n, op, par && log_n >= PAR_LOG);
    }
}

/// Cache-tiled bit reversal. An index is `a | m | b` (`a`, `b` of `TILE_BITS` bits, `m` the middle);
/// its reverse is `rev(b) | rev(m) | rev(a)`. The elements with middle `m` form a tile whose rows
/// (fixed `a`) are contiguous, and the permutation maps tile `m` onto tile `rev(m)` transposed, so a
/// pair of tiles is swapped through two small buffers, touching whole cache lines only.
fn bit_reverse_tiled<Q: ElemOp>(x: &mut [u64], log_n: usize, op: Q, par: bool) {
    let mid_bits = log_n - 2 * TILE_BITS;
    let a_shift = mid_bits + TILE_BITS;
    let len = x.len();
    let base = SharedWords(x.as_mut_ptr());
    let rev_t: [usize; TILE] = std::array::from_fn(|i| reverse_bits(i, TILE_BITS));
    let index = move |a: usize, m: usize, b: usize| (a << a_shift) | (m << TILE_BITS) | b;

    let swap_tiles = move |m: usize| {
        let mr = reverse_bits(m, mid_bits);
        if mr < m {
            return; // handled with its partner
        }
        let load = |mm: usize, tile: &mut [u64; TILE * TILE]| {
            for a in 0..TILE {
                for b in 0..TILE {
                    let i = index(a, mm, b);
                    debug_assert!(i < len);
                    // SAFETY: `i < len` (every field is in range), and only the task owning the pair
                    // {m, rev(m)} touches indices whose middle is m or rev(m); the pairs partition the
                    // middles, so no other task reads or writes this element concurrently.
                    tile[a * TILE + b] = unsafe { *base.at(i) };
                }
            }
        };
        // Writes tile `dst` from `src`, the contents of tile rev(dst): x[a|dst|b] = src[rev b][rev a].
        let store = |mm: usize, src: &[u64; TILE * TILE]| {
            for a in 0..TILE {
                for b in 0..TILE {
                    let i = index(a, mm, b);
                    debug_assert!(i < len);
                    // SAFETY: as in `load`: in range, and owned by this task's pair of middles.
                    unsafe { *base.at(i) = op.apply(src[rev_t[b] * TILE + rev_t[a]]) };
                }
            }
        };
        let mut tile_m = [0u64; TILE * TILE];
        load(m, &mut tile_m);
        if mr == m {
            store(m, &tile_m);
        } else {
            let mut tile_r = [0u64; TILE * TILE];
            load(mr, &mut tile_r);
            store(m, &tile_r);
            store(mr, &tile_m);
        }
    };
    let middles = 1usize << mid_bits;
    if par {
        (0..middles)
            .into_par_iter()
            .with_min_len(16)
            .for_each(swap_tiles);
    } else {
        (0..middles).for_each(swap_tiles);
    }
}

// ---- one column ----------------------------------------------------------------------------------

/// The portable transform of one column; `scale` is `Some(1/n)` for the inverse transform.
fn transform_column<const NEG_I: bool>(
    x: &mut [u64],
    log_n: usize,
    scale: Option<u64>,
    input_order: Order,
    output_order: Order,
    par: bool,
) {
    let inverse = scale.is_some();
    match (input_order, output_order) {
        (Order::Natural, Order::BitReversed) => {
            with_final_op!(scale, |op| dif::<NEG_I, _>(x, log_n, inverse, op, par))
        }
        (Order::BitReversed, Order::Natural) => match scale {
            Some(s) => dit::<NEG_I, _, _>(x, log_n, inverse, Scale(s), Canonical, par),
            None => dit::<NEG_I, _, _>(x, log_n, inverse, Identity, Canonical, par),
        },
        (Order::Natural, Order::Natural) => {
            dif::<NEG_I, _>(x, log_n, inverse, Identity, par);
            with_final_op!(scale, |op| bit_reverse_permute(x, log_n, op, par))
        }
        (Order::BitReversed, Order::BitReversed) => {
            bit_reverse_permute(x, log_n, Identity, par);
            with_final_op!(scale, |op| dif::<NEG_I, _>(x, log_n, inverse, op, par))
        }
    }
}

fn check_log_n(what: &'static str, log_n: usize) -> Result<()> {
    if log_n > MAX_LOG_N {
        Err(KernelError::SizeTooLarge {
            what,
            log_n,
            max_log_n: MAX_LOG_N,
        })
    } else {
        Ok(())
    }
}

/// Elements of a batch, refusing shapes whose size overflows `usize`.
fn batch_len(what: &'static str, log_n: usize, num_cols: usize) -> Result<usize> {
    1usize
        .checked_shl(log_n as u32)
        .and_then(|n| n.checked_mul(num_cols))
        .ok_or_else(|| {
            KernelError::InvalidArgument(format!(
                "{what}: 2^{log_n} x {num_cols} elements overflow usize"
            ))
        })
}

// ---- public entry points -------------------------------------------------------------------------

/// In-place NTT of each column of a column-major batch (`data.len() == shape.len()`).
///
/// `Forward` with natural orders equals plonky2's `fft`, `Inverse` with natural orders its `ifft`
/// (scaled by `1/n`); the roots are plonky2's `primitive_root_of_unity(log_n)`. A bit-reversed input
/// holds at `i` the natural element `reverse_bits(i)`, and likewise for outputs. Outputs are canonical.
pub fn ntt_batch(
    data: &mut [Goldilocks],
    shape: ColumnBatch,
    direction: NttDirection,
    input_order: Order,
    output_order: Order,
) -> Result<()> {
    let ColumnBatch { log_n, num_cols } = shape;
    check_log_n("ntt", log_n)?;
    require_len(
        "ntt columns",
        batch_len("ntt", log_n, num_cols)?,
        data.len(),
    )?;
    if num_cols == 0 {
        return Ok(());
    }
    ntt_columns(
        as_words_mut(data),
        log_n,
        direction,
        input_order,
        output_order,
        Avx512::detect(),
    );
    Ok(())
}

/// The transforms of [`ntt_batch`] on validated input, on the AVX-512 kernels when `simd` is given
/// (and the column size suits them), the portable ones otherwise.
fn ntt_columns(
    words: &mut [u64],
    log_n: usize,
    direction: NttDirection,
    input_order: Order,
    output_order: Order,
    simd: Option<Avx512>,
) {
    let n = 1usize << log_n;
    let inverse = direction == NttDirection::Inverse;
    let scale = inverse.then(|| Goldilocks::inverse_2exp(log_n).to_canonical_u64());
    let simd = simd.filter(|_| Avx512::handles_column(log_n));
    let column = |col: &mut [u64], par: bool| match simd {
        Some(simd) => simd.ntt_column(col, log_n, scale, input_order, output_order, par),
        // The inverse transform's 4th root is -2^48 (see `dif4`).
        None if inverse => {
            transform_column::<true>(col, log_n, scale, input_order, output_order, par)
        }
        None => transform_column::<false>(col, log_n, scale, input_order, output_order, par),
    };
    if words.len() == n {
        // No rayon round trip for a single column; it splits itself when large.
        column(words, true);
    } else {
        // Whole columns per task; a column also splits itself when there are too few to go round.
        let par_inner = words.len() / n < 2 * rayon::current_num_threads();
        words
            .par_chunks_mut(n)
            .for_each(|col| column(col, par_inner));
    }
}

/// Coset LDE of a column-major batch of coefficients; returns the row-major, bit-reversed-row matrix of
/// `(n << rate_bits) * num_cols` elements that plonky2 uses as Merkle leaves.
///
/// Row `r` holds, for each column's polynomial `p_c`, `p_c(shift · w_N^reverse_bits(r))` with
/// `N = n << rate_bits` and `w_N` plonky2's `primitive_root_of_unity(log N)` — exactly the leaves of
/// `PolynomialBatch::from_coeffs(.., rate_bits, blinding = false, ..)`. Outputs are canonical.
pub fn coset_lde_rows(
    coeffs: &[Goldilocks],
    shape: ColumnBatch,
    rate_bits: usize,
    shift: Goldilocks,
) -> Result<Vec<Goldilocks>> {
    coset_lde_rows_with(coeffs, shape, rate_bits, shift, Avx512::detect())
}

/// [`coset_lde_rows`] on the AVX-512 kernels when `simd` is given, the portable ones otherwise.
fn coset_lde_rows_with(
    coeffs: &[Goldilocks],
    shape: ColumnBatch,
    rate_bits: usize,
    shift: Goldilocks,
    simd: Option<Avx512>,
) -> Result<Vec<Goldilocks>> {
    let ColumnBatch { log_n, num_cols } = shape;
    check_log_n("coset_lde", log_n)?;
    let log_big = log_n.saturating_add(rate_bits);
    check_log_n("coset_lde", log_big)?;
    require_len(
        "coset_lde coefficients",
        batch_len("coset_lde", log_n, num_cols)?,
        coeffs.len(),
    )?;
    let total = batch_len("coset_lde", log_big, num_cols)?;
    if num_cols == 0 {
        return Ok(Vec::new());
    }
    let n = 1usize << log_n;
    let w_big = Goldilocks::primitive_root_of_unity(log_big);

    // Zeroed through `calloc`: fresh pages, no pass over the (possibly huge) output.
    let mut out = vec![0u64; total];

    // Column groups: with rows a multiple of 8 columns wide, start the groups where the output's
    // cache lines start, so every group writes whole lines (a group that wraps past the last column
    // continues in the line the previous row's tail opened).
    let line_start = if num_cols % LDE_GROUP == 0 {
        let words_into_line = (out.as_ptr() as usize / 8) % LDE_GROUP;
        (LDE_GROUP - words_into_line) % LDE_GROUP
    } else {
        0
    };
    let blocks = 1usize << rate_bits;
    let plan = LdePlan {
        coeffs: as_words(coeffs),
        log_n,
        num_cols,
        line_start,
        simd,
        // Split a block's work (its column transforms and row writes) over rayon only when blocks
        // are large, and its transforms only when there are too few of them to go round.
        nested: log_n >= 10,
        par_columns: blocks * num_cols.min(LDE_GROUP) < 2 * rayon::current_num_threads(),
    };

    // Tasks of whole row blocks; small blocks are grouped so that a task is worth scheduling.
    let block_len = n * num_cols;
    let blocks_per_task = ((1usize << 15) / block_len).max(1);
    out.par_chunks_mut(block_len * blocks_per_task)
        .enumerate()
        .for_each_init(LdeScratch::default, |scratch, (t, chunk)| {
            for (b, block) in chunk.chunks_mut(block_len).enumerate() {
                let j = t * blocks_per_task + b;
                let g = shift * w_big.exp_u64(reverse_bits(j, rate_bits) as u64);
                plan.block(block, g.to_canonical_u64(), scratch);
            }
        });
    Ok(into_goldilocks_vec(out))
}

/// The parts of a coset LDE shared by all its row blocks.
struct LdePlan<'a> {
    coeffs: &'a [u64],
    log_n: usize,
    num_cols: usize,
    /// First column of the first group (where output cache lines start).
    line_start: usize,
    simd: Option<Avx512>,
    nested: bool,
    par_columns: bool,
}

/// Per-task buffers of a coset LDE, reused across the blocks a task computes.
#[derive(Default)]
struct LdeScratch {
    /// Powers `g^i` of the block's coset generator.
    powers: Vec<u64>,
    /// Portable path: the group's columns, one after the other.
    columns: Vec<u64>,
}

/// Rows per task when scattering a group into the output.
const WRITE_ROWS: usize = 256;

impl LdePlan<'_> {
    /// Fills one row block (`n` rows): the bit-reversed NTT of each column's coefficients scaled by
    /// `g^i`, written as rows, one group of `LDE_GROUP` columns at a time.
    fn block(&self, block: &mut [u64], g: u64, scratch: &mut LdeScratch) {
        let n = 1usize << self.log_n;
        let width = self.num_cols;
        scratch.powers.clear();
        scratch
            .powers
            .extend(std::iter::successors(Some(1u64), |&p| Some(mul(p, g))).take(n));

        let mut first = 0;
        while first < width {
            let size = LDE_GROUP.min(width - first);
            let cols: [usize; LDE_GROUP] =
                std::array::from_fn(|u| (self.line_start + first + u) % width);
            let cols = &cols[..size];
            match self.simd {
                Some(simd) => self.group_rows(simd, block, cols, &scratch.powers),
                None => self.group_columns(block, cols, scratch),
            }
            first += size;
        }
    }

    /// Coefficients of column `c`.
    fn column(&self, c: usize) -> &[u64] {
        let n = 1usize << self.log_n;
        &self.coeffs[c * n..(c + 1) * n]
    }

    /// Portable path: each column scaled by `g^i` and transformed on its own, then scattered.
    fn group_columns(&self, block: &mut [u64], cols: &[usize], scratch: &mut LdeScratch) {
        let log_n = self.log_n;
        let n = 1usize << log_n;
        let powers = &scratch.powers[..];
        scratch.columns.resize(cols.len() * n, 0);
        let columns = &mut scratch.columns[..cols.len() * n];
        let column = |(u, s): (usize, &mut [u64])| {
            for ((d, &a), &p) in s.iter_mut().zip(self.column(cols[u])).zip(powers) {
                *d = mul(a, p);
            }
            dif::<false, _>(s, log_n, false, Canonical, self.par_columns);
        };
        if self.nested {
            columns.par_chunks_mut(n).enumerate().for_each(column);
        } else {
            columns.chunks_mut(n).enumerate().for_each(column);
        }
        let columns = &columns[..];
        self.write(block, |row, r| {
            for (u, &c) in cols.iter().enumerate() {
                row[c] = columns[u * n + r];
            }
        });
    }

    /// Vector path: the group as rows of eight lanes (per-thread scratch), transformed together,
    /// copied row by row.
    fn group_rows(&self, simd: Avx512, block: &mut [u64], cols: &[usize], powers: &[u64]) {
        let n = 1usize << self.log_n;
        with_row_scratch(n, |rows| {
            let sources: [&[u64]; LDE_GROUP] =
                std::array::from_fn(|u| cols.get(u).map_or(&[][..], |&c| self.column(c)));
            simd.fill_scaled_rows(rows, &sources[..cols.len()], powers);
            simd.dif_rows(rows, self.log_n, self.par_columns);
            let rows = &*rows;
            let (c0, size) = (cols[0], cols.len());
            if size == LDE_GROUP && cols[size - 1] == c0 + size - 1 {
                // Eight contiguous columns: one 64-byte copy per row (a whole cache line when
                // aligned).
                self.write(block, |row, r| {
                    if let Some(dst) = row[c0..].first_chunk_mut::<LDE_GROUP>() {
                        *dst = rows[r];
                    }
                });
            } else {
                self.write(block, |row, r| {
                    for (&c, &v) in cols.iter().zip(&rows[r]) {
                        row[c] = v;
                    }
                });
            }
        });
    }

    /// Runs `put(row, r)` for every row `r` of the block, in runs of rows on rayon when nested.
    fn write(&self, block: &mut [u64], put: impl Fn(&mut [u64], usize) + Sync) {
        let width = self.num_cols;
        let run = |(ri, rows): (usize, &mut [u64])| {
            for (k, row) in rows.chunks_exact_mut(width).enumerate() {
                put(row, ri * WRITE_ROWS + k);
            }
        };
        if self.nested {
            block
                .par_chunks_mut(WRITE_ROWS * width)
                .enumerate()
                .for_each(run);
        } else {
            block
                .chunks_mut(WRITE_ROWS * width)
                .enumerate()
                .for_each(run);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plonky2::util::reverse_index_bits_in_place;
    use plonky2_field::fft::{fft, ifft};
    use plonky2_field::polynomial::{PolynomialCoeffs, PolynomialValues};
    use rand::Rng;
    use rand_chacha::ChaCha8Rng;

    type F = Goldilocks;

    use crate::test_util::rng;

    fn random_vec(rng: &mut ChaCha8Rng, len: usize) -> Vec<F> {
        (0..len)
            .map(|_| F::from_canonical_u64(rng.gen_range(0..P)))
            .collect()
    }

    fn bit_reversed(col: &[F]) -> Vec<F> {
        let mut v = col.to_vec();
        reverse_index_bits_in_place(&mut v);
        v
    }

    fn assert_canonical_eq(actual: &[F], expected: &[F], case: &str) {
        assert_eq!(actual.len(), expected.len(), "{case}: length");
        for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
            assert!(a.0 < P, "{case}: element {i} not canonical: {:#x}", a.0);
            assert_eq!(a.0, e.to_canonical_u64(), "{case}: element {i}");
        }
    }

    #[test]
    fn fourth_root_is_two_to_the_48() {
        assert_eq!(F::primitive_root_of_unity(2).to_canonical_u64(), 1 << 48);
        // And the inverse direction's is its negation.
        assert_eq!(
            F::primitive_root_of_unity(2).inverse().to_canonical_u64(),
            P - (1 << 48)
        );
    }

    #[test]
    fn arithmetic_matches_plonky2_on_edge_values() {
        let edges = [
            0,
            1,
            2,
            EPSILON,
            EPSILON + 1,
            P - 1,
            P,
            P + 1,
            u64::MAX - 1,
            u64::MAX,
            1 << 63,
            1 << 32,
        ];
        let mut r = rng("arithmetic");
        let mut values: Vec<u64> = edges.to_vec();
        values.extend((0..64).map(|_| r.gen::<u64>()));
        for &a in &values {
            for &b in &values {
                let (fa, fb) = (F::from_noncanonical_u64(a), F::from_noncanonical_u64(b));
                assert_eq!(
                    canon(add(a, b)),
                    (fa + fb).to_canonical_u64(),
                    "{a:#x} + {b:#x}"
                );
                assert_eq!(
                    canon(sub(a, b)),
                    (fa - fb).to_canonical_u64(),
                    "{a:#x} - {b:#x}"
                );
                assert_eq!(
                    canon(mul(a, b)),
                    (fa * fb).to_canonical_u64(),
                    "{a:#x} * {b:#x}"
                );
            }
            let fa = F::from_noncanonical_u64(a);
            assert_eq!(
                canon(mul_w4(a)),
                (fa * F::from_canonical_u64(1 << 48)).to_canonical_u64()
            );
            assert_eq!(canon(a), fa.to_canonical_u64());
        }
    }

    fn reference(input: &[F], n: usize, direction: NttDirection) -> Vec<F> {
        input
            .chunks(n)
            .flat_map(|col| match direction {
                NttDirection::Forward => fft(PolynomialCoeffs::new(col.to_vec())).values,
                NttDirection::Inverse => ifft(PolynomialValues::new(col.to_vec())).coeffs,
            })
            .collect()
    }

    fn check_all_orders(input: &[F], log_n: usize, num_cols: usize, case: &str) {
        let n = 1 << log_n;
        let shape = ColumnBatch::new(log_n, num_cols);
        for direction in [NttDirection::Forward, NttDirection::Inverse] {
            let expected_natural = reference(input, n, direction);
            for input_order in [Order::Natural, Order::BitReversed] {
                for output_order in [Order::Natural, Order::BitReversed] {
                    let case = format!("{case} 2^{log_n} x {num_cols} {direction:?} {input_order:?}->{output_order:?}");
                    let mut data: Vec<F> = match input_order {
                        Order::Natural => input.to_vec(),
                        Order::BitReversed => input.chunks(n).flat_map(bit_reversed).collect(),
                    };
                    let expected: Vec<F> = match output_order {
                        Order::Natural => expected_natural.clone(),
                        Order::BitReversed => {
                            expected_natural.chunks(n).flat_map(bit_reversed).collect()
                        }
                    };
                    // Every path this CPU has, and the public entry point (which picks one).
                    for (path, simd) in simd_paths() {
                        let mut d = data.clone();
                        let words = as_words_mut(&mut d);
                        ntt_columns(words, log_n, direction, input_order, output_order, simd);
                        assert_canonical_eq(&d, &expected, &format!("{case} ({path})"));
                    }
                    ntt_batch(&mut data, shape, direction, input_order, output_order).expect(&case);
                    assert_canonical_eq(&data, &expected, &case);
                }
            }
        }
    }

    #[test]
    fn all_orders_and_directions_match_plonky2() {
        let mut r = rng("all_orders");
        for log_n in [0usize, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12] {
            for num_cols in [1usize, 3] {
                let input = random_vec(&mut r, num_cols << log_n);
                check_all_orders(&input, log_n, num_cols, "random");
            }
        }
    }

    /// Sizes above the leaf size exercise the recursive, parallel and tiled-permutation paths.
    #[test]
    fn large_sizes_match_plonky2() {
        let mut r = rng("large_sizes");
        let cases = [
            (13usize, 1usize),
            (14, 1),
            (15, 2),
            (16, 1),
            (17, 1),
            (18, 1),
            (20, 1),
        ];
        for (log_n, num_cols) in cases {
            let input = random_vec(&mut r, num_cols << log_n);
            check_all_orders(&input, log_n, num_cols, "large");
        }
    }

    /// Above `2^CACHED_LEVELS` the top levels generate their twiddles chunk by chunk (and the vector
    /// path hands over to the portable one).
    #[test]
    fn beyond_cached_twiddle_levels() {
        let mut r = rng("beyond_cached");
        let log_n = CACHED_LEVELS + 1;
        let n = 1usize << log_n;
        let input = random_vec(&mut r, n);
        for direction in [NttDirection::Forward, NttDirection::Inverse] {
            let expected = reference(&input, n, direction);
            // Natural -> natural (DIF + permutation) through the public entry point.
            let mut data = input.clone();
            let shape = ColumnBatch::new(log_n, 1);
            ntt_batch(&mut data, shape, direction, Order::Natural, Order::Natural).expect("ntt");
            assert_canonical_eq(&data, &expected, &format!("2^{log_n} {direction:?} N->N"));
            // Bit-reversed -> natural (DIT).
            let mut data = bit_reversed(&input);
            let (bitrev, natural) = (Order::BitReversed, Order::Natural);
            ntt_columns(
                as_words_mut(&mut data),
                log_n,
                direction,
                bitrev,
                natural,
                None,
            );
            assert_canonical_eq(&data, &expected, &format!("2^{log_n} {direction:?} BR->N"));
        }
    }

    #[test]
    fn maximal_and_non_canonical_inputs() {
        // p - 1 everywhere (canonical), and raw words >= p, which plonky2 also accepts.
        for log_n in [0usize, 1, 2, 3, 6, 13] {
            let n = 1 << log_n;
            let max = vec![F::from_canonical_u64(P - 1); n];
            check_all_orders(&max, log_n, 1, "p-1");
            let raw: Vec<F> = (0..n)
                .map(|i| {
                    plonky2_field::goldilocks_field::GoldilocksField(u64::MAX - (i as u64 % 3))
                })
                .collect();
            check_all_orders(&raw, log_n, 1, "non-canonical");
        }
    }

    #[test]
    fn round_trip() {
        let mut r = rng("round_trip");
        for log_n in [0usize, 1, 5, 12, 14] {
            let shape = ColumnBatch::new(log_n, 3);
            let input = random_vec(&mut r, shape.len());
            for (fwd_in, fwd_out) in [
                (Order::Natural, Order::BitReversed),
                (Order::Natural, Order::Natural),
            ] {
                let mut data = input.clone();
                ntt_batch(&mut data, shape, NttDirection::Forward, fwd_in, fwd_out)
                    .expect("forward");
                ntt_batch(&mut data, shape, NttDirection::Inverse, fwd_out, fwd_in)
                    .expect("inverse");
                assert_canonical_eq(
                    &data,
                    &input,
                    &format!("round trip 2^{log_n} {fwd_in:?}->{fwd_out:?}"),
                );
            }
        }
    }

    #[test]
    fn errors_and_empty_batches() {
        let mut empty: Vec<F> = Vec::new();
        ntt_batch(
            &mut empty,
            ColumnBatch::new(10, 0),
            NttDirection::Forward,
            Order::Natural,
            Order::Natural,
        )
        .expect("empty batch is a no-op");
        for k in [0usize, 1, 4, 10] {
            let mut odd = vec![F::ONE; (1 << k) + 1];
            let err = ntt_batch(
                &mut odd,
                ColumnBatch::new(k, 1),
                NttDirection::Forward,
                Order::Natural,
                Order::Natural,
            )
            .expect_err("length mismatch");
            assert!(matches!(err, KernelError::LengthMismatch { .. }), "{err:?}");
            let err = coset_lde_rows(&odd, ColumnBatch::new(k, 1), 1, F::coset_shift())
                .expect_err("length mismatch");
            assert!(matches!(err, KernelError::LengthMismatch { .. }), "{err:?}");
        }
        let err = ntt_batch(
            &mut empty,
            ColumnBatch::new(33, 0),
            NttDirection::Forward,
            Order::Natural,
            Order::Natural,
        )
        .expect_err("too large");
        assert!(
            matches!(err, KernelError::SizeTooLarge { log_n: 33, .. }),
            "{err:?}"
        );
        let err = ntt_batch(
            &mut empty,
            ColumnBatch::new(64, 1),
            NttDirection::Inverse,
            Order::Natural,
            Order::Natural,
        )
        .expect_err("too large");
        assert!(matches!(err, KernelError::SizeTooLarge { .. }), "{err:?}");
        let one = vec![F::ONE; 4];
        let err = coset_lde_rows(&one, ColumnBatch::new(2, 1), 31, F::coset_shift())
            .expect_err("too large");
        assert!(
            matches!(err, KernelError::SizeTooLarge { log_n: 33, .. }),
            "{err:?}"
        );
        let err = coset_lde_rows(&one, ColumnBatch::new(2, 1), usize::MAX, F::coset_shift())
            .expect_err("too large");
        assert!(matches!(err, KernelError::SizeTooLarge { .. }), "{err:?}");
        assert!(
            coset_lde_rows(&[], ColumnBatch::new(4, 0), 2, F::coset_shift())
                .expect("empty")
                .is_empty()
        );
    }

    /// plonky2's `PolynomialBatch::from_coeffs` leaves (no blinding), flattened.
    fn reference_leaves(coeffs: &[F], n: usize, rate_bits: usize, shift: F) -> Vec<F> {
        let lde: Vec<Vec<F>> = coeffs
            .chunks(n)
            .map(|c| {
                PolynomialCoeffs::new(c.to_vec())
                    .lde(rate_bits)
                    .coset_fft_with_options(shift, Some(rate_bits), None)
                    .values
            })
            .collect();
        let mut rows = plonky2::util::transpose(&lde);
        reverse_index_bits_in_place(&mut rows);
        rows.concat()
    }

    #[test]
    fn coset_lde_matches_plonky2_leaves() {
        let mut r = rng("coset_lde");
        let shift = F::coset_shift();
        for log_n in [0usize, 1, 2, 3, 4, 5, 6, 10] {
            for rate_bits in 0..=3usize {
                for num_cols in [1usize, 5, 16] {
                    let case = format!("LDE 2^{log_n} x {num_cols} rate_bits {rate_bits}");
                    let coeffs = random_vec(&mut r, num_cols << log_n);
                    let expected = reference_leaves(&coeffs, 1 << log_n, rate_bits, shift);
                    for (path, simd) in simd_paths() {
                        let shape = ColumnBatch::new(log_n, num_cols);
                        let lde = coset_lde_rows_with(&coeffs, shape, rate_bits, shift, simd)
                            .expect(&case);
                        assert_canonical_eq(&lde, &expected, &format!("{case} ({path})"));
                    }
                }
            }
        }
    }

    #[test]
    fn coset_lde_other_shifts_and_larger_sizes() {
        let mut r = rng("coset_lde_large");
        let cases = [
            (13usize, 1usize, 3usize),
            (14, 2, 9),
            (12, 0, 24),
            (11, 1, 64),
            (13, 0, 8),
            (2, 9, 2),
        ];
        for (log_n, rate_bits, num_cols) in cases {
            let shift = random_vec(&mut r, 1)[0];
            let case = format!("LDE 2^{log_n} x {num_cols} rate_bits {rate_bits}");
            let coeffs = random_vec(&mut r, num_cols << log_n);
            let expected = reference_leaves(&coeffs, 1 << log_n, rate_bits, shift);
            for (path, simd) in simd_paths() {
                let shape = ColumnBatch::new(log_n, num_cols);
                let lde = coset_lde_rows_with(&coeffs, shape, rate_bits, shift, simd).expect(&case);
                assert_canonical_eq(&lde, &expected, &format!("{case} ({path})"));
            }
        }
        // Maximal coefficients, and non-canonical words (which plonky2 also accepts).
        for (case, word) in [("p-1", P - 1), ("non-canonical", u64::MAX)] {
            let coeffs = vec![plonky2_field::goldilocks_field::GoldilocksField(word); 9 << 6];
            let expected = reference_leaves(&coeffs, 1 << 6, 2, F::coset_shift());
            for (path, simd) in simd_paths() {
                let lde =
                    coset_lde_rows_with(&coeffs, ColumnBatch::new(6, 9), 2, F::coset_shift(), simd)
                        .expect(case);
                assert_canonical_eq(&lde, &expected, &format!("LDE {case} ({path})"));
            }
        }
    }

    /// The paths this machine can run: portable, and AVX-512 when available.
    fn simd_paths() -> Vec<(&'static str, Option<Avx512>)> {
        let mut paths = vec![("portable", None)];
        if let Some(simd) = Avx512::detect() {
            paths.push(("avx512", Some(simd)));
        } else {
            eprintln!("no AVX-512 on this CPU: only the portable path is tested");
        }
        paths
    }

    #[test]
    fn lde_row_order_is_plonky2_reverse_bits() {
        // A spot check of the documented formula, independent of plonky2's batch code.
        let mut r = rng("lde_formula");
        let (log_n, rate_bits) = (3usize, 2usize);
        let coeffs = random_vec(&mut r, 1 << log_n);
        let shift = F::coset_shift();
        let lde =
            coset_lde_rows(&coeffs, ColumnBatch::new(log_n, 1), rate_bits, shift).expect("lde");
        let log_big = log_n + rate_bits;
        let w = F::primitive_root_of_unity(log_big);
        for (row, value) in lde.iter().enumerate() {
            let x =
                shift * w.exp_u64((row.reverse_bits() >> (usize::BITS as usize - log_big)) as u64);
            let expected = PolynomialCoeffs::new(coeffs.clone()).eval(x);
            assert_eq!(*value, expected, "row {row}");
        }
    }
}
