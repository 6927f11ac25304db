//! Poseidon over Goldilocks, width 12, bit-exact with plonky2's `PoseidonHash`.
//!
//! The permutation is plonky2's (4 full rounds, 22 partial rounds, 4 full rounds, x^7 S-box, MDS =
//! circulant + diagonal), with the partial rounds computed through plonky2's sparse-matrix
//! decomposition (the `FAST_PARTIAL_*` constants). All constants are read from plonky2 at compile time
//! ([`constants`] exposes them for device backends); none is written out here.
//!
//! Internally elements travel as raw `u64` that may exceed p (any value in `[0, 2^64)` stands for its
//! residue); only outputs are canonicalised. This lets every step reduce lazily: the MDS works exactly
//! on the 32-bit halves with additions and shifts only (see `mds_kernel`) and reduces once per row,
//! dot products against 64-bit constants accumulate in 128-bit sums and reduce once.
//!
//! Two engines compute the same permutation: a scalar one (one state; [`permute`], the sponges) and,
//! on x86-64 CPUs with AVX-512F, a vector one that permutes 8 states at a time ([`permute_many`],
//! [`two_to_one_many`], the row hashing behind the CPU backend's Merkle trees). Both are checked
//! against plonky2 in the tests.

use plonky2::hash::poseidon::{
    Poseidon, ALL_ROUND_CONSTANTS, HALF_N_FULL_ROUNDS, N_PARTIAL_ROUNDS,
};
use plonky2_field::types::Field;

use crate::field::{Goldilocks, HashOut};

/// Poseidon state width.
pub const WIDTH: usize = 12;
/// Sponge rate (overwrite mode, as plonky2).
pub const RATE: usize = 8;
/// Sponge capacity.
pub const CAPACITY: usize = WIDTH - RATE;
/// Elements of a digest.
pub const DIGEST_LEN: usize = 4;
/// Full rounds before (and after) the partial rounds.
pub const HALF_FULL_ROUNDS: usize = 4;
/// Partial rounds (S-box on the first element only).
pub const PARTIAL_ROUNDS: usize = 22;
/// All rounds.
pub const ROUNDS: usize = 2 * HALF_FULL_ROUNDS + PARTIAL_ROUNDS;

// The round structure is baked into the loops below; a plonky2 with other parameters must not compile.
const _: () = assert!(HALF_N_FULL_ROUNDS == HALF_FULL_ROUNDS && N_PARTIAL_ROUNDS == PARTIAL_ROUNDS);

type Plonky2Field = plonky2_field::goldilocks_field::GoldilocksField;

/// Every constant of the permutation as canonical `u64`, laid out for upload to a device.
///
/// The permutation is
/// 1. `HALF_FULL_ROUNDS` full rounds `r`: add `round_constants[r]`, x^7 on all 12 elements, MDS;
/// 2. the partial rounds in plonky2's fast form: add `fast_partial_first_round_constant`, multiply by
///    `fast_partial_round_initial_matrix` (see [`PoseidonConstants::fast_partial_round_initial_matrix`]),
///    then for each partial round `i`: `s0 = s0^7 + fast_partial_round_constants[i]`, and the sparse
///    layer `s0' = (mds_circ[0] + mds_diag[0]) * s0 + sum_j w_hats[i][j-1] * s_j`,
///    `s_j' = s_j + s0 * vs[i][j-1]` (`j >= 1`, both from the state before the layer);
/// 3. `HALF_FULL_ROUNDS` full rounds with `round_constants[HALF_FULL_ROUNDS + PARTIAL_ROUNDS + r]`.
///
/// MDS: `out[r] = sum_i mds_circ[i] * s[(i + r) % 12] + mds_diag[r] * s[r]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoseidonConstants {
    /// Per-round additive constants. The rows of the partial rounds belong to the naive form of those
    /// rounds (add the row to all 12 elements, S-box on `s0`, MDS), which equals the fast form.
    pub round_constants: [[u64; WIDTH]; ROUNDS],
    /// First row of the circulant part of the MDS matrix.
    pub mds_circ: [u64; WIDTH],
    /// Diagonal part of the MDS matrix.
    pub mds_diag: [u64; WIDTH],
    /// Added to the whole state before the partial rounds.
    pub fast_partial_first_round_constant: [u64; WIDTH],
    /// Added to `s0` after each partial round's S-box.
    pub fast_partial_round_constants: [u64; PARTIAL_ROUNDS],
    /// `vs[i][j - 1]`: coefficient of `s0` added to `s_j` in partial round `i`.
    pub fast_partial_round_vs: [[u64; WIDTH - 1]; PARTIAL_ROUNDS],
    /// `w_hats[i][j - 1]`: coefficient of `s_j` in the new `s0` of partial round `i`.
    pub fast_partial_round_w_hats: [[u64; WIDTH - 1]; PARTIAL_ROUNDS],
    /// Row-major `m[r - 1][c - 1]`: the initial layer maps `s_c' = sum_{r >= 1} s_r * m[r - 1][c - 1]`
    /// for `c >= 1` and keeps `s_0`.
    pub fast_partial_round_initial_matrix: [[u64; WIDTH - 1]; WIDTH - 1],
}

const fn split_round_constants() -> [[u64; WIDTH]; ROUNDS] {
    let mut out = [[0u64; WIDTH]; ROUNDS];
    let mut r = 0;
    while r < ROUNDS {
        let mut i = 0;
        while i < WIDTH {
            out[r][i] = ALL_ROUND_CONSTANTS[r * WIDTH + i];
            i += 1;
        }
        r += 1;
    }
    out
}

static CONSTANTS: PoseidonConstants = PoseidonConstants {
    round_constants: split_round_constants(),
    mds_circ: <Plonky2Field as Poseidon>::MDS_MATRIX_CIRC,
    mds_diag: <Plonky2Field as Poseidon>::MDS_MATRIX_DIAG,
    fast_partial_first_round_constant:
        <Plonky2Field as Poseidon>::FAST_PARTIAL_FIRST_ROUND_CONSTANT,
    fast_partial_round_constants: <Plonky2Field as Poseidon>::FAST_PARTIAL_ROUND_CONSTANTS,
    fast_partial_round_vs: <Plonky2Field as Poseidon>::FAST_PARTIAL_ROUND_VS,
    fast_partial_round_w_hats: <Plonky2Field as Poseidon>::FAST_PARTIAL_ROUND_W_HATS,
    fast_partial_round_initial_matrix:
        <Plonky2Field as Poseidon>::FAST_PARTIAL_ROUND_INITIAL_MATRIX,
};

/// The permutation's constants (plonky2's, canonical), for backends that upload them.
pub fn constants() -> &'static PoseidonConstants {
    &CONSTANTS
}

// Compile-time copies the hot loops index with constant indices, so the compiler folds them.
const RC: [[u64; WIDTH]; ROUNDS] = split_round_constants();
const MDS_CIRC: [u64; WIDTH] = <Plonky2Field as Poseidon>::MDS_MATRIX_CIRC;
const MDS_DIAG: [u64; WIDTH] = <Plonky2Field as Poseidon>::MDS_MATRIX_DIAG;
const FP_FIRST_RC: [u64; WIDTH] = <Plonky2Field as Poseidon>::FAST_PARTIAL_FIRST_ROUND_CONSTANT;
const FP_RC: [u64; PARTIAL_ROUNDS] = <Plonky2Field as Poseidon>::FAST_PARTIAL_ROUND_CONSTANTS;
const FP_VS: [[u64; WIDTH - 1]; PARTIAL_ROUNDS] = <Plonky2Field as Poseidon>::FAST_PARTIAL_ROUND_VS;
const FP_W_HATS: [[u64; WIDTH - 1]; PARTIAL_ROUNDS] =
    <Plonky2Field as Poseidon>::FAST_PARTIAL_ROUND_W_HATS;
const FP_INIT: [[u64; WIDTH - 1]; WIDTH - 1] =
    <Plonky2Field as Poseidon>::FAST_PARTIAL_ROUND_INITIAL_MATRIX;

/// The MDS is applied to the 32-bit halves of the state separately (exact integer arithmetic, one
/// reduction per output); a row's entries must then sum below 2^31 so that every intermediate,
/// `2^32 * sum`, fits an `i64`.
const fn mds_row_bound() -> u64 {
    let mut circ = 0u64;
    let mut i = 0;
    let mut max_diag = 0u64;
    while i < WIDTH {
        circ += MDS_CIRC[i];
        if MDS_DIAG[i] > max_diag {
            max_diag = MDS_DIAG[i];
        }
        i += 1;
    }
    circ + max_diag
}
const _: () = assert!(mds_row_bound() < 1 << 31);
// The fast partial rounds multiply by `MDS_CIRC[0] + MDS_DIAG[0]` with a 96-bit reduction.
const _: () = assert!(MDS_CIRC[0] + MDS_DIAG[0] < 1 << 32);

/// The circulant part of the MDS, `y_r = sum_i circ[i] * x[(i + r) % 12]`, is the cyclic convolution
/// `y = d * x` with `d_k = circ[-k mod 12]`. Since 12 = 3 * 4 with coprime factors, index `n` maps to
/// `(n mod 3, n mod 4)` and the convolution becomes a 3 x 4 two-dimensional cyclic one (no twiddles).
/// Along the length-4 axis it splits (CRT of `t^4 - 1 = (t - 1)(t + 1)(t^2 + 1)`) into evaluations at
/// `t = 1`, `t = -1` (real) and `t = i` (Gaussian integer); what is left is three length-3 cyclic
/// convolutions with small constant kernels. For plonky2's matrix those kernels, after folding in the
/// 1/4 (real) and 1/2 (complex) of the inverse transform, are plus or minus powers of two, so the whole
/// MDS costs additions and shifts.
mod mds_kernel {
    use super::{MDS_CIRC, WIDTH};

    /// `CRT_INDEX[a][b]` is the `n < 12` with `n = a mod 3` and `n = b mod 4`.
    pub(super) const CRT_INDEX: [[usize; 4]; 3] = {
        let mut t = [[0usize; 4]; 3];
        let mut n = 0;
        while n < WIDTH {
            t[n % 3][n % 4] = n;
            n += 1;
        }
        t
    };

    /// The convolution kernel `d` in the 3 x 4 layout.
    const D: [[i64; 4]; 3] = {
        let mut t = [[0i64; 4]; 3];
        let mut a = 0;
        while a < 3 {
            let mut b = 0;
            while b < 4 {
                let n = CRT_INDEX[a][b];
                t[a][b] = MDS_CIRC[(WIDTH - n) % WIDTH] as i64;
                b += 1;
            }
            a += 1;
        }
        t
    };

    /// Length-3 kernels of the three channels, divided by what the inverse length-4 transform divides
    /// by (checked exact, so the integer arithmetic stays exact).
    pub(super) const K_ONE: [i64; 3] = {
        let mut k = [0i64; 3];
        let mut a = 0;
        while a < 3 {
            let v = D[a][0] + D[a][1] + D[a][2] + D[a][3];
            assert!(v % 4 == 0);
            k[a] = v / 4;
            a += 1;
        }
        k
    };
    pub(super) const K_MINUS_ONE: [i64; 3] = {
        let mut k = [0i64; 3];
        let mut a = 0;
        while a < 3 {
            let v = D[a][0] - D[a][1] + D[a][2] - D[a][3];
            assert!(v % 4 == 0);
            k[a] = v / 4;
            a += 1;
        }
        k
    };
    /// Real and imaginary parts of the `t = i` kernel.
    const K_I: [(i64, i64); 3] = {
        let mut k = [(0i64, 0i64); 3];
        let mut a = 0;
        while a < 3 {
            let re = D[a][0] - D[a][2];
            let im = D[a][1] - D[a][3];
            assert!(re % 2 == 0 && im % 2 == 0);
            k[a] = (re / 2, im / 2);
            a += 1;
        }
        k
    };
    pub(super) const K_I_RE: [i64; 3] = [K_I[0].0, K_I[1].0, K_I[2].0];
    pub(super) const K_I_IM: [i64; 3] = [K_I[0].1, K_I[1].1, K_I[2].1];
}

/// `y = circ(x) + diag * x` on one 32-bit half (`x[i] < 2^32`, so `y[i] < 2^63` by the row bound).
/// All arithmetic wraps mod 2^64 and no division is left (it is folded into the kernels), so the
/// result is exact whatever the intermediates do. Written once over the element operations so the
/// scalar and vector permutations share it: `$add`, `$sub` are wrapping adds/subs and `$mul::<K>(v)`
/// multiplies by the constant `K`.
///
/// Everything is spelled out with constant indices (helper macros rather than loops): the kernels
/// then reach `$mul` as compile-time constants (shifts), and the vectors stay in registers.
macro_rules! mds_half {
    ($x:expr, $add:ident, $sub:ident, $mul:ident) => {{
        use $crate::poseidon::mds_kernel::{K_I_IM, K_I_RE, K_MINUS_ONE, K_ONE};
        let x = $x;
        let (p0, m0, r0, q0) = mds_row_transform!(x, 0, $add, $sub);
        let (p1, m1, r1, q1) = mds_row_transform!(x, 1, $add, $sub);
        let (p2, m2, r2, q2) = mds_row_transform!(x, 2, $add, $sub);
        let one = mds_conv3!(K_ONE, [p0, p1, p2], $add, $mul);
        let minus_one = mds_conv3!(K_MINUS_ONE, [m0, m1, m2], $add, $mul);
        // The complex channel: (kr + i ki) (r + i q) = (kr r - ki q) + i (kr q + ki r).
        let rr = mds_conv3!(K_I_RE, [r0, r1, r2], $add, $mul);
        let iq = mds_conv3!(K_I_IM, [q0, q1, q2], $add, $mul);
        let rq = mds_conv3!(K_I_RE, [q0, q1, q2], $add, $mul);
        let ir = mds_conv3!(K_I_IM, [r0, r1, r2], $add, $mul);
        let mut y = x;
        mds_row_inverse!(y, 0, one, minus_one, rr, iq, rq, ir, $add, $sub);
        mds_row_inverse!(y, 1, one, minus_one, rr, iq, rq, ir, $add, $sub);
        mds_row_inverse!(y, 2, one, minus_one, rr, iq, rq, ir, $add, $sub);
        mds_diag!(y, x, $add, $mul, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
        y
    }};
}

/// Row `$a` of the 3 x 4 layout: its length-4 transform (values at 1, -1, and i as re, im).
macro_rules! mds_row_transform {
    ($x:ident, $a:literal, $add:ident, $sub:ident) => {{
        use $crate::poseidon::mds_kernel::CRT_INDEX;
        let (v0, v1, v2, v3) = (
            $x[CRT_INDEX[$a][0]],
            $x[CRT_INDEX[$a][1]],
            $x[CRT_INDEX[$a][2]],
            $x[CRT_INDEX[$a][3]],
        );
        let s02 = $add(v0, v2);
        let s13 = $add(v1, v3);
        ($add(s02, s13), $sub(s02, s13), $sub(v0, v2), $sub(v1, v3))
    }};
}

/// Length-3 cyclic convolution with a constant kernel: `out[a] = sum_a' k[(a - a') mod 3] v[a']`.
macro_rules! mds_conv3 {
    ($k:ident, $v:expr, $add:ident, $mul:ident) => {{
        let [v0, v1, v2] = $v;
        [
            $add(
                $add($mul::<{ $k[0] }>(v0), $mul::<{ $k[2] }>(v1)),
                $mul::<{ $k[1] }>(v2),
            ),
            $add(
                $add($mul::<{ $k[1] }>(v0), $mul::<{ $k[0] }>(v1)),
                $mul::<{ $k[2] }>(v2),
            ),
            $add(
                $add($mul::<{ $k[2] }>(v0), $mul::<{ $k[1] }>(v1)),
                $mul::<{ $k[0] }>(v2),
            ),
        ]
    }};
}

/// Inverse length-4 transform of row `$a` (its 1/4 and 1/2 are already in the kernels), written to
/// the row's positions in `$y`.
macro_rules! mds_row_inverse {
    ($y:ident, $a:literal, $one:ident, $minus_one:ident, $rr:ident, $iq:ident, $rq:ident, $ir:ident,
     $add:ident, $sub:ident) => {{
        use $crate::poseidon::mds_kernel::CRT_INDEX;
        let re = $sub($rr[$a], $iq[$a]);
        let im = $add($rq[$a], $ir[$a]);
        let s = $add($one[$a], $minus_one[$a]);
        let d = $sub($one[$a], $minus_one[$a]);
        $y[CRT_INDEX[$a][0]] = $add(s, re);
        $y[CRT_INDEX[$a][2]] = $sub(s, re);
        $y[CRT_INDEX[$a][1]] = $add(d, im);
        $y[CRT_INDEX[$a][3]] = $sub(d, im);
    }};
}

/// Adds the diagonal part of the MDS (entries known at compile time; zero entries vanish).
macro_rules! mds_diag {
    ($y:ident, $x:ident, $add:ident, $mul:ident, $($r:literal),*) => {{
        use $crate::poseidon::MDS_DIAG;
        $(
            if MDS_DIAG[$r] != 0 {
                $y[$r] = $add($y[$r], $mul::<{ MDS_DIAG[$r] as i64 }>($x[$r]));
            }
        )*
    }};
}

/// Goldilocks arithmetic on raw `u64` representatives (any value in `[0, 2^64)`), free of
/// data-dependent branches except one that random inputs take with probability about 2^-32.
mod gl {
    use crate::field::GOLDILOCKS_P;

    /// 2^64 mod p = 2^32 - 1.
    pub(super) const EPSILON: u64 = 0xFFFF_FFFF;

    /// `a + b`, adding `EPSILON` (= 2^64 mod p) when the sum wraps. Callers guarantee that this
    /// correction cannot wrap again.
    ///
    /// On x86-64 this is `add; sbb; add` in assembly: written in Rust, LLVM turns the data-dependent
    /// correction into a branch, which random field elements mispredict half the time.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn add_wrap_eps(a: u64, b: u64) -> u64 {
        let mut s = a;
        // SAFETY: register-only arithmetic, no memory or stack access.
        unsafe {
            core::arch::asm!(
                "add {s}, {b}",
                // adj = 0 - carry in 32 bits: 0xFFFF_FFFF = EPSILON on a carry (zero-extended), else 0.
                "sbb {adj:e}, {adj:e}",
                "add {s}, {adj}",
                s = inout(reg) s,
                b = in(reg) b,
                adj = out(reg) _,
                options(pure, nomem, nostack),
            );
        }
        s
    }

    #[cfg(not(target_arch = "x86_64"))]
    #[inline(always)]
    fn add_wrap_eps(a: u64, b: u64) -> u64 {
        let (s, carry) = a.overflowing_add(b);
        s.wrapping_add(0u64.wrapping_sub(carry as u64) >> 32)
    }

    /// `a + b` for any representative `a` and `b < p`.
    #[inline(always)]
    pub(super) fn add_canonical(a: u64, b: u64) -> u64 {
        // a + b - 2^64 <= 2^64 - 1 + p - 1 - 2^64 = p - 2, so adding EPSILON cannot wrap again.
        add_wrap_eps(a, b)
    }

    /// Reduces `lo + 2^64 * hi` (hi < 2^32).
    #[inline(always)]
    pub(super) fn reduce96(lo: u64, hi: u64) -> u64 {
        // 2^64 = EPSILON, so the value is lo + hi * EPSILON with hi * EPSILON <= (2^32 - 1)^2; on a
        // wrap the sum is below that bound, so adding EPSILON does not wrap again.
        add_wrap_eps(lo, hi * EPSILON)
    }

    /// Reduces a 128-bit value.
    #[inline(always)]
    pub(super) fn reduce128(x: u128) -> u64 {
        let lo = x as u64;
        let hi = (x >> 64) as u64;
        let hi_hi = hi >> 32;
        let hi_lo = hi & EPSILON;
        // 2^96 = -1 and 2^64 = EPSILON: x = lo - hi_hi + hi_lo * EPSILON.
        let (mut t0, borrow) = lo.overflowing_sub(hi_hi);
        if borrow {
            // Needs lo < hi_hi < 2^32: about 2^-32 for a random product, so a branch (predicted
            // not taken) is cheaper than a branch-free correction on the critical path. The wrap added
            // 2^64 = EPSILON too many and left t0 >= 2^64 - 2^32, so the subtraction is exact.
            t0 = rare_sub_epsilon(t0);
        }
        reduce96(t0, hi_lo)
    }

    #[cold]
    #[inline(never)]
    fn rare_sub_epsilon(x: u64) -> u64 {
        x - EPSILON
    }

    #[inline(always)]
    pub(super) fn mul(a: u64, b: u64) -> u64 {
        reduce128(a as u128 * b as u128)
    }

    /// `a + b * c` with one reduction: `(2^64 - 1)^2 + 2^64 - 1 < 2^128`.
    #[inline(always)]
    pub(super) fn mul_add(a: u64, b: u64, c: u64) -> u64 {
        reduce128(b as u128 * c as u128 + a as u128)
    }

    /// `a + b * c` for `c < 2^32`: below 2^96, so a single `reduce96`.
    #[inline(always)]
    pub(super) fn mul_add_small(a: u64, b: u64, c: u64) -> u64 {
        debug_assert!(c < 1 << 32);
        let v = b as u128 * c as u128 + a as u128;
        reduce96(v as u64, (v >> 64) as u64)
    }

    /// `x^7 + c` (`c < p`), the addition folded into the last product's reduction:
    /// `(2^64 - 1)^2 + 2^64 - 1 < 2^128`.
    #[inline(always)]
    pub(super) fn sbox_then_add(x: u64, c: u64) -> u64 {
        let x2 = mul(x, x);
        let x3 = mul(x2, x);
        let x4 = mul(x2, x2);
        mul_add(c, x3, x4)
    }

    #[inline(always)]
    pub(super) fn sbox(x: u64) -> u64 {
        let x2 = mul(x, x);
        let x3 = mul(x2, x);
        let x4 = mul(x2, x2);
        mul(x3, x4)
    }

    /// The canonical representative.
    #[inline(always)]
    pub(super) fn canonical(x: u64) -> u64 {
        // One subtraction suffices: 2p > 2^64.
        if x >= GOLDILOCKS_P {
            x - GOLDILOCKS_P
        } else {
            x
        }
    }

    /// Sum of fewer than 2^31 products of two representatives, reduced once: the low and high 64-bit
    /// halves of the products are summed separately in `u128`s, which stay below 2^95.
    #[derive(Clone, Copy, Default)]
    pub(super) struct DotAcc {
        lo: u128,
        hi: u128,
    }

    impl DotAcc {
        #[inline(always)]
        pub(super) fn add_mul(&mut self, a: u64, b: u64) {
            let p = a as u128 * b as u128;
            self.lo += p as u64 as u128;
            self.hi += p >> 64;
        }

        #[inline(always)]
        pub(super) fn reduce(self) -> u64 {
            // value = lo + 2^64 hi = (lo mod 2^64) + 2^64 (hi + lo / 2^64); the upper part is below
            // 2^96 and folds first.
            let upper = self.hi + (self.lo >> 64);
            let upper = reduce96(upper as u64, (upper >> 64) as u64);
            reduce128(((upper as u128) << 64) | (self.lo as u64 as u128))
        }
    }
}

/// Scalar permutation on raw representatives (one state at a time).
mod scalar {
    use super::gl::{self, DotAcc};
    use super::{
        FP_FIRST_RC, FP_INIT, FP_RC, FP_VS, FP_W_HATS, HALF_FULL_ROUNDS, MDS_CIRC, MDS_DIAG,
        PARTIAL_ROUNDS, RC, ROUNDS, WIDTH,
    };

    /// The MDS layer followed by the addition of `next` (the constants of the next layer, folded into
    /// this one's reduction): the exact integer product on each 32-bit half, recombined and reduced
    /// once per output (`lo + 2^32 * hi + next < 2^75`).
    #[inline(always)]
    fn mds_then_add(s: &[u64; WIDTH], next: &[u64; WIDTH]) -> [u64; WIDTH] {
        let (y_lo, y_hi) = mds_halves(s);
        let mut out = [0u64; WIDTH];
        for r in 0..WIDTH {
            let v = y_lo[r] as u128 + ((y_hi[r] as u128) << 32) + next[r] as u128;
            out[r] = gl::reduce96(v as u64, (v >> 64) as u64);
        }
        out
    }

    /// `mds_half` of the low and of the high 32-bit halves.
    #[inline(always)]
    fn mds_halves(s: &[u64; WIDTH]) -> ([u64; WIDTH], [u64; WIDTH]) {
        #[inline(always)]
        fn add(a: i64, b: i64) -> i64 {
            a.wrapping_add(b)
        }
        #[inline(always)]
        fn sub(a: i64, b: i64) -> i64 {
            a.wrapping_sub(b)
        }
        #[inline(always)]
        fn mul_const<const K: i64>(v: i64) -> i64 {
            v.wrapping_mul(K)
        }
        let lo = s.map(|x| (x & 0xFFFF_FFFF) as i64);
        let hi = s.map(|x| (x >> 32) as i64);
        (
            mds_half!(lo, add, sub, mul_const).map(|y| y as u64),
            mds_half!(hi, add, sub, mul_const).map(|y| y as u64),
        )
    }

    /// A full round whose own constants were already added (by the previous layer), adding `next`.
    #[inline(always)]
    fn full_round(s: &mut [u64; WIDTH], next: &[u64; WIDTH]) {
        for x in s.iter_mut() {
            *x = gl::sbox(*x);
        }
        *s = mds_then_add(s, next);
    }

    /// The partial rounds, their first constants (`FP_FIRST_RC`) already added.
    #[inline(always)]
    fn partial_rounds(s: &mut [u64; WIDTH]) {
        // Dense initial layer: keeps s0, mixes s1..s11.
        let mut t = [0u64; WIDTH];
        t[0] = s[0];
        for c in 1..WIDTH {
            let mut acc = DotAcc::default();
            for r in 1..WIDTH {
                acc.add_mul(s[r], FP_INIT[r - 1][c - 1]);
            }
            t[c] = acc.reduce();
        }
        *s = t;

        let mds00 = MDS_CIRC[0] + MDS_DIAG[0];
        for round in 0..PARTIAL_ROUNDS {
            // s0 is the only value on the rounds' critical path: the rest of the new s0 depends on the
            // previous round alone and is computed while the S-box runs; s0 joins it last through one
            // short multiply-add by the small MDS entry.
            let mut acc = DotAcc::default();
            for j in 1..WIDTH {
                acc.add_mul(s[j], FP_W_HATS[round][j - 1]);
            }
            let rest = acc.reduce();
            let s0 = gl::sbox_then_add(s[0], FP_RC[round]);
            for j in 1..WIDTH {
                s[j] = gl::mul_add(s[j], s0, FP_VS[round][j - 1]);
            }
            s[0] = gl::mul_add_small(rest, s0, mds00);
        }
    }

    /// The permutation; inputs and outputs are raw representatives.
    #[inline]
    pub(super) fn permute(s: &mut [u64; WIDTH]) {
        // Each layer adds the constants of the layer after it, in its own final reduction.
        for (x, c) in s.iter_mut().zip(&RC[0]) {
            *x = gl::add_canonical(*x, *c);
        }
        for r in 0..HALF_FULL_ROUNDS {
            let next = if r + 1 < HALF_FULL_ROUNDS {
                &RC[r + 1]
            } else {
                &FP_FIRST_RC
            };
            full_round(s, next);
        }
        partial_rounds(s);
        let second = HALF_FULL_ROUNDS + PARTIAL_ROUNDS;
        for (x, c) in s.iter_mut().zip(&RC[second]) {
            *x = gl::add_canonical(*x, *c);
        }
        for r in second..ROUNDS {
            let next = if r + 1 < ROUNDS {
                &RC[r + 1]
            } else {
                &[0; WIDTH]
            };
            full_round(s, next);
        }
    }
}

/// The permutation on 8 states at once with AVX-512F, one state per 64-bit lane (structure of arrays:
/// vector `j` holds element `j` of the 8 states).
///
/// Vector units have no 64x64->128 multiply nor carry flags, so products are assembled from four
/// 32x32->64 multiplies and carries are recovered by unsigned compares into masks. The partial rounds
/// are computed in their original (naive) form here: the MDS costs only shifts and additions, which on
/// vectors is cheaper than the 22 full multiplications per round of the sparse form.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use core::arch::x86_64::{
        __m512i, _mm512_add_epi64, _mm512_and_si512, _mm512_cmpge_epu64_mask,
        _mm512_cmplt_epu64_mask, _mm512_loadu_epi64, _mm512_mask_add_epi64,
        _mm512_mask_blend_epi32, _mm512_mask_sub_epi64, _mm512_mul_epu32, _mm512_set1_epi64,
        _mm512_setzero_si512, _mm512_slli_epi64, _mm512_sllv_epi64, _mm512_srli_epi64,
        _mm512_storeu_epi64, _mm512_sub_epi64,
    };

    use super::{DIGEST_LEN, HALF_FULL_ROUNDS, PARTIAL_ROUNDS, RATE, RC, WIDTH};
    use crate::field::{Goldilocks, GOLDILOCKS_P};

    /// States per call.
    pub(super) const LANES: usize = 8;

    type V = __m512i;

    /// Whether this CPU runs the functions of this module (std caches the answer).
    pub(super) fn supported() -> bool {
        std::arch::is_x86_feature_detected!("avx512f")
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    fn splat(x: u64) -> V {
        _mm512_set1_epi64(x as i64)
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    fn epsilon() -> V {
        splat(super::gl::EPSILON)
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    fn load(a: &[u64; LANES]) -> V {
        // SAFETY: `a` is 64 readable bytes and `loadu` has no alignment requirement.
        unsafe { _mm512_loadu_epi64(a.as_ptr().cast()) }
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    fn store(v: V) -> [u64; LANES] {
        let mut a = [0u64; LANES];
        // SAFETY: `a` is 64 writable bytes and `storeu` has no alignment requirement.
        unsafe { _mm512_storeu_epi64(a.as_mut_ptr().cast(), v) };
        a
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    fn add(a: V, b: V) -> V {
        _mm512_add_epi64(a, b)
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    fn sub(a: V, b: V) -> V {
        _mm512_sub_epi64(a, b)
    }

    /// `v * K` (wrapping) for a small constant `K`: a shift when `|K|` is a power of two, which is every
    /// kernel entry of plonky2's MDS.
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn mul_small<const K: i64>(v: V) -> V {
        let mag = K.unsigned_abs();
        let prod = if mag.is_power_of_two() {
            // A constant count after monomorphisation: compiles to an immediate shift.
            _mm512_sllv_epi64(v, splat(u64::from(mag.trailing_zeros())))
        } else {
            // |K| < 2^31 (the MDS row bound): v * |K| mod 2^64 from the two 32-bit halves of v.
            let m = splat(mag);
            let lo = _mm512_mul_epu32(v, m);
            let hi = _mm512_mul_epu32(_mm512_srli_epi64::<32>(v), m);
            _mm512_add_epi64(lo, _mm512_slli_epi64::<32>(hi))
        };
        if K < 0 {
            _mm512_sub_epi64(_mm512_setzero_si512(), prod)
        } else {
            prod
        }
    }

    /// `a + b` for any representative `a` and `b < p` (see `gl::add_canonical`).
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn add_canonical(a: V, b: V) -> V {
        let s = _mm512_add_epi64(a, b);
        let wrapped = _mm512_cmplt_epu64_mask(s, b);
        _mm512_mask_add_epi64(s, wrapped, s, epsilon())
    }

    /// Reduces `lo + 2^64 hi` (see `gl::reduce128`).
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn reduce128(lo: V, hi: V) -> V {
        let eps = epsilon();
        let hi_hi = _mm512_srli_epi64::<32>(hi);
        let borrow = _mm512_cmplt_epu64_mask(lo, hi_hi);
        let t0 = _mm512_sub_epi64(lo, hi_hi);
        let t0 = _mm512_mask_sub_epi64(t0, borrow, t0, eps);
        // hi_lo * EPSILON = hi_lo * 2^32 - hi_lo.
        let t1 = _mm512_sub_epi64(_mm512_slli_epi64::<32>(hi), _mm512_and_si512(hi, eps));
        let r = _mm512_add_epi64(t0, t1);
        let wrapped = _mm512_cmplt_epu64_mask(r, t1);
        _mm512_mask_add_epi64(r, wrapped, r, eps)
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    fn mul(a: V, b: V) -> V {
        let a_hi = _mm512_srli_epi64::<32>(a);
        let b_hi = _mm512_srli_epi64::<32>(b);
        let ll = _mm512_mul_epu32(a, b);
        let lh = _mm512_mul_epu32(a, b_hi);
        let hl = _mm512_mul_epu32(a_hi, b);
        let hh = _mm512_mul_epu32(a_hi, b_hi);
        // Schoolbook on 32-bit digits; neither partial sum can exceed 2^64.
        let t = _mm512_add_epi64(hl, _mm512_srli_epi64::<32>(ll));
        let u = _mm512_add_epi64(lh, _mm512_and_si512(t, epsilon()));
        // lo = low dword of ll, then low dword of u (odd 32-bit lanes taken from u << 32).
        let lo = _mm512_mask_blend_epi32(0xAAAA, ll, _mm512_slli_epi64::<32>(u));
        let hi = _mm512_add_epi64(
            hh,
            _mm512_add_epi64(_mm512_srli_epi64::<32>(t), _mm512_srli_epi64::<32>(u)),
        );
        reduce128(lo, hi)
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    fn square(a: V) -> V {
        let a_hi = _mm512_srli_epi64::<32>(a);
        let ll = _mm512_mul_epu32(a, a);
        let lh = _mm512_mul_epu32(a, a_hi);
        let hh = _mm512_mul_epu32(a_hi, a_hi);
        // a^2 = hh 2^64 + lh 2^33 + ll.
        let lo = _mm512_add_epi64(ll, _mm512_slli_epi64::<33>(lh));
        let carry = _mm512_cmplt_epu64_mask(lo, ll);
        let hi = _mm512_add_epi64(hh, _mm512_srli_epi64::<31>(lh));
        let hi = _mm512_mask_add_epi64(hi, carry, hi, splat(1));
        reduce128(lo, hi)
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    fn sbox(x: V) -> V {
        let x2 = square(x);
        let x3 = mul(x2, x);
        let x4 = square(x2);
        mul(x3, x4)
    }

    /// `y_lo + 2^32 y_hi` reduced, for `y_lo, y_hi < 2^41`.
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn combine_halves(y_lo: V, y_hi: V) -> V {
        // Split y_hi = 2^32 a + b: y = 2^64 a + 2^32 b + y_lo = a EPSILON + 2^32 b + y_lo, where
        // a EPSILON + y_lo < 2^42 and the total wraps at most once.
        let a = _mm512_srli_epi64::<32>(y_hi);
        let a_eps = _mm512_sub_epi64(_mm512_slli_epi64::<32>(a), a);
        let small = _mm512_add_epi64(y_lo, a_eps);
        let t = _mm512_add_epi64(_mm512_slli_epi64::<32>(y_hi), small);
        let wrapped = _mm512_cmplt_epu64_mask(t, small);
        _mm512_mask_add_epi64(t, wrapped, t, epsilon())
    }

    #[target_feature(enable = "avx512f")]
    fn mds(s: &[V; WIDTH]) -> [V; WIDTH] {
        let eps = epsilon();
        // (Loops rather than closures throughout this module: a closure does not inherit the
        // function's target features, and its intrinsics would become out-of-line calls.)
        let mut lo = *s;
        let mut hi = *s;
        for i in 0..WIDTH {
            lo[i] = _mm512_and_si512(s[i], eps);
            hi[i] = _mm512_srli_epi64::<32>(s[i]);
        }
        let y_lo = mds_half!(lo, add, sub, mul_small);
        let y_hi = mds_half!(hi, add, sub, mul_small);
        let mut out = y_lo;
        for r in 0..WIDTH {
            out[r] = combine_halves(y_lo[r], y_hi[r]);
        }
        out
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    fn add_round_constants(s: &mut [V; WIDTH], round: usize) {
        for i in 0..WIDTH {
            s[i] = add_canonical(s[i], splat(RC[round][i]));
        }
    }

    #[target_feature(enable = "avx512f")]
    fn full_round(s: &mut [V; WIDTH], round: usize) {
        add_round_constants(s, round);
        for x in s.iter_mut() {
            *x = sbox(*x);
        }
        *s = mds(s);
    }

    #[target_feature(enable = "avx512f")]
    fn partial_round(s: &mut [V; WIDTH], round: usize) {
        add_round_constants(s, round);
        s[0] = sbox(s[0]);
        *s = mds(s);
    }

    /// The permutation; lanes hold raw representatives in and out.
    #[target_feature(enable = "avx512f")]
    fn permute_soa(s: &mut [V; WIDTH]) {
        for r in 0..HALF_FULL_ROUNDS {
            full_round(s, r);
        }
        for r in HALF_FULL_ROUNDS..HALF_FULL_ROUNDS + PARTIAL_ROUNDS {
            partial_round(s, r);
        }
        for r in HALF_FULL_ROUNDS + PARTIAL_ROUNDS..2 * HALF_FULL_ROUNDS + PARTIAL_ROUNDS {
            full_round(s, r);
        }
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    fn canonical(v: V) -> V {
        let p = splat(GOLDILOCKS_P);
        let ge = _mm512_cmpge_epu64_mask(v, p);
        _mm512_mask_sub_epi64(v, ge, v, p)
    }

    /// Permutes 8 states (raw representatives in, canonical out).
    #[target_feature(enable = "avx512f")]
    pub(super) fn permute(states: &mut [[u64; WIDTH]; LANES]) {
        let mut s = [_mm512_setzero_si512(); WIDTH];
        for (j, v) in s.iter_mut().enumerate() {
            let mut lanes = [0u64; LANES];
            for (x, state) in lanes.iter_mut().zip(states.iter()) {
                *x = state[j];
            }
            *v = load(&lanes);
        }
        permute_soa(&mut s);
        for (j, v) in s.iter().enumerate() {
            let lanes = store(canonical(*v));
            for (state, x) in states.iter_mut().zip(lanes) {
                state[j] = x;
            }
        }
    }

    /// `hash_no_pad` of 8 rows of `width` elements each (`rows[l]` is lane `l`'s row), canonical
    /// digests out.
    #[target_feature(enable = "avx512f")]
    pub(super) fn hash_no_pad(
        rows: [&[Goldilocks]; LANES],
        width: usize,
    ) -> [[u64; DIGEST_LEN]; LANES] {
        let zero = _mm512_setzero_si512();
        let mut s = [zero; WIDTH];
        let mut start = 0;
        while start < width {
            let len = RATE.min(width - start);
            for (j, x) in s.iter_mut().enumerate().take(len) {
                let mut lanes = [0u64; LANES];
                for (y, row) in lanes.iter_mut().zip(rows) {
                    *y = row[start + j].0;
                }
                *x = load(&lanes);
            }
            permute_soa(&mut s);
            start += len;
        }
        let mut out = [[0u64; DIGEST_LEN]; LANES];
        for (j, v) in s.iter().take(DIGEST_LEN).enumerate() {
            for (digest, x) in out.iter_mut().zip(store(canonical(*v))) {
                digest[j] = x;
            }
        }
        out
    }
}

/// Tests set this to run the batch entry points on the scalar engine too (both engines must agree;
/// flipping it while other tests run only changes which engine they use).
#[cfg(test)]
pub(crate) static SCALAR_ONLY: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Whether the batch entry points use the AVX-512 engine.
#[cfg(target_arch = "x86_64")]
#[inline]
fn use_avx512() -> bool {
    #[cfg(test)]
    if SCALAR_ONLY.load(std::sync::atomic::Ordering::Relaxed) {
        return false;
    }
    avx512::supported()
}

/// The permutation of one state on raw representatives (not canonicalised).
///
/// Always the scalar engine: one state gives the vector engine no parallelism, and its multiplications
/// are too long a dependency chain (tried with the 12 elements as lanes: no faster).
#[inline]
fn permute_raw(s: &mut [u64; WIDTH]) {
    scalar::permute(s);
}

#[inline(always)]
fn raw(state: &[Goldilocks; WIDTH]) -> [u64; WIDTH] {
    state.map(|x| x.0)
}

#[inline(always)]
fn to_field(x: u64) -> Goldilocks {
    Goldilocks::from_canonical_u64(gl::canonical(x))
}

/// Applies the permutation in place (canonical output).
pub fn permute(state: &mut [Goldilocks; WIDTH]) {
    let mut s = raw(state);
    permute_raw(&mut s);
    *state = s.map(to_field);
}

/// Applies the permutation to every state of a slice: the same as [`permute`] on each, several states
/// at a time on the vector units when the CPU has them (AVX-512F), on one thread.
pub fn permute_many(states: &mut [[Goldilocks; WIDTH]]) {
    let mut rest = states;
    #[cfg(target_arch = "x86_64")]
    if use_avx512() {
        let mut chunks = rest.chunks_exact_mut(avx512::LANES);
        for chunk in &mut chunks {
            let mut raw_states: [[u64; WIDTH]; avx512::LANES] =
                core::array::from_fn(|l| raw(&chunk[l]));
            // SAFETY: `use_avx512()` checked that the CPU has AVX-512F.
            unsafe { avx512::permute(&mut raw_states) };
            for (state, r) in chunk.iter_mut().zip(&raw_states) {
                // Already canonical.
                *state = r.map(Goldilocks::from_canonical_u64);
            }
        }
        rest = chunks.into_remainder();
    }
    for state in rest {
        permute(state);
    }
}

/// [`two_to_one`] of every pair: `out[k] = two_to_one(pairs[k][..4], pairs[k][4..])`, vectorised like
/// [`permute_many`]. Computes `min(pairs.len(), out.len())` digests.
pub fn two_to_one_many(
    pairs: &[[Goldilocks; 2 * DIGEST_LEN]],
    out: &mut [[Goldilocks; DIGEST_LEN]],
) {
    let n = pairs.len().min(out.len());
    let (pairs, out) = (&pairs[..n], &mut out[..n]);
    let state_of = |pair: &[Goldilocks; 2 * DIGEST_LEN]| {
        let mut s = [0u64; WIDTH];
        for (dst, x) in s.iter_mut().zip(pair) {
            *dst = x.0;
        }
        s
    };
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if use_avx512() {
        for (pair_chunk, out_chunk) in pairs
            .chunks_exact(avx512::LANES)
            .zip(out.chunks_exact_mut(avx512::LANES))
        {
            let mut states: [[u64; WIDTH]; avx512::LANES] =
                core::array::from_fn(|l| state_of(&pair_chunk[l]));
            // SAFETY: `use_avx512()` checked that the CPU has AVX-512F.
            unsafe { avx512::permute(&mut states) };
            for (digest, st) in out_chunk.iter_mut().zip(&states) {
                *digest = core::array::from_fn(|i| Goldilocks::from_canonical_u64(st[i]));
            }
        }
        done = pairs.len() - pairs.len() % avx512::LANES;
    }
    for (pair, digest) in pairs[done..].iter().zip(&mut out[done..]) {
        let mut s = state_of(pair);
        permute_raw(&mut s);
        *digest = core::array::from_fn(|i| to_field(s[i]));
    }
}

/// [`hash_or_noop`] of every row of a row-major matrix: `rows` holds `out.len()` rows of `width`
/// elements; `out[r]` receives row `r`'s digest (rows missing from `rows` are left untouched). Rows
/// longer than a digest are hashed several at a time on the vector units when the CPU has them, on one
/// thread.
pub(crate) fn hash_or_noop_rows(
    rows: &[Goldilocks],
    width: usize,
    out: &mut [[Goldilocks; DIGEST_LEN]],
) {
    debug_assert_eq!(rows.len(), width * out.len());
    match rows.len().checked_div(width) {
        Some(available) => {
            let n = out.len().min(available);
            hash_or_noop_rows_exact(&rows[..n * width], width, &mut out[..n]);
        }
        // Empty rows: hash_or_noop of nothing is the zero digest.
        None => out.fill([Goldilocks::ZERO; DIGEST_LEN]),
    }
}

/// [`hash_or_noop_rows`] for exactly `out.len()` rows, `width > 0`.
fn hash_or_noop_rows_exact(
    rows: &[Goldilocks],
    width: usize,
    out: &mut [[Goldilocks; DIGEST_LEN]],
) {
    if width <= DIGEST_LEN {
        for (row, digest) in rows.chunks_exact(width).zip(out.iter_mut()) {
            *digest = hash_or_noop(row).elements;
        }
        return;
    }
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if use_avx512() {
        let group = avx512::LANES * width;
        for (block, out_chunk) in rows
            .chunks_exact(group)
            .zip(out.chunks_exact_mut(avx512::LANES))
        {
            let lanes: [&[Goldilocks]; avx512::LANES] =
                core::array::from_fn(|l| &block[l * width..(l + 1) * width]);
            // SAFETY: `use_avx512()` checked that the CPU has AVX-512F.
            let digests = unsafe { avx512::hash_no_pad(lanes, width) };
            for (dst, d) in out_chunk.iter_mut().zip(digests) {
                *dst = d.map(Goldilocks::from_canonical_u64);
            }
        }
        done = out.len() - out.len() % avx512::LANES;
    }
    for (row, digest) in rows[done * width..]
        .chunks_exact(width)
        .zip(&mut out[done..])
    {
        *digest = sponge_digest(row).map(to_field);
    }
}

/// plonky2 `hash_n_to_m_no_pad`: overwrite-mode sponge over `input`, squeezing `num_outputs` elements.
pub fn hash_n_to_m_no_pad(input: &[Goldilocks], num_outputs: usize) -> Vec<Goldilocks> {
    let mut s = [0u64; WIDTH];
    for chunk in input.chunks(RATE) {
        for (dst, x) in s.iter_mut().zip(chunk) {
            *dst = x.0;
        }
        permute_raw(&mut s);
    }
    let mut out = Vec::with_capacity(num_outputs);
    loop {
        for &x in &s[..RATE] {
            if out.len() == num_outputs {
                return out;
            }
            out.push(to_field(x));
        }
        permute_raw(&mut s);
    }
}

/// The sponge of `hash_no_pad` on raw representatives.
#[inline]
fn sponge_digest(input: &[Goldilocks]) -> [u64; DIGEST_LEN] {
    let mut s = [0u64; WIDTH];
    for chunk in input.chunks(RATE) {
        for (dst, x) in s.iter_mut().zip(chunk) {
            *dst = x.0;
        }
        permute_raw(&mut s);
    }
    [s[0], s[1], s[2], s[3]]
}

/// plonky2 `PoseidonHash::hash_no_pad`.
pub fn hash_no_pad(input: &[Goldilocks]) -> HashOut {
    HashOut {
        elements: sponge_digest(input).map(to_field),
    }
}

/// plonky2 `PoseidonHash::hash_or_noop`: inputs of at most 4 elements are returned zero-padded
/// (canonicalised), longer ones hashed.
pub fn hash_or_noop(input: &[Goldilocks]) -> HashOut {
    if input.len() <= DIGEST_LEN {
        let mut elements = [Goldilocks::ZERO; DIGEST_LEN];
        for (dst, x) in elements.iter_mut().zip(input) {
            *dst = to_field(x.0);
        }
        HashOut { elements }
    } else {
        hash_no_pad(input)
    }
}

/// plonky2 `PoseidonHash::two_to_one`.
pub fn two_to_one(left: HashOut, right: HashOut) -> HashOut {
    let mut s = [0u64; WIDTH];
    for i in 0..DIGEST_LEN {
        s[i] = left.elements[i].0;
        s[DIGEST_LEN + i] = right.elements[i].0;
    }
    permute_raw(&mut s);
    HashOut {
        elements: [s[0], s[1], s[2], s[3]].map(to_field),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::field::GOLDILOCKS_P;
    use plonky2::hash::poseidon::PoseidonHash;
    use plonky2::plonk::config::Hasher;
    use plonky2_field::types::Sample;
    use rand::RngCore;
    use rand_chacha::ChaCha8Rng;

    use crate::test_util::rng;

    fn random_elements(rng: &mut ChaCha8Rng, n: usize) -> Vec<Goldilocks> {
        (0..n).map(|_| Goldilocks::sample(rng)).collect()
    }

    /// An element holding `x` as is (plonky2 accepts representatives in [p, 2^64)).
    fn raw_element(x: u64) -> Goldilocks {
        Goldilocks::from_noncanonical_u64(x)
    }

    fn reference_permute(state: [Goldilocks; WIDTH]) -> [Goldilocks; WIDTH] {
        <Goldilocks as Poseidon>::poseidon(state)
    }

    fn assert_canonical(xs: &[Goldilocks]) {
        for x in xs {
            assert!(x.0 < GOLDILOCKS_P, "non-canonical output {:#x}", x.0);
        }
    }

    fn check_permutation(state: [Goldilocks; WIDTH]) {
        let mut ours = state;
        permute(&mut ours);
        assert_eq!(ours, reference_permute(state), "input {state:?}");
        assert_canonical(&ours);
    }

    #[test]
    fn permutation_matches_plonky2() {
        let mut rng = rng("permutation_matches_plonky2");
        for _ in 0..1000 {
            let state: [Goldilocks; WIDTH] = random_elements(&mut rng, WIDTH)
                .try_into()
                .expect("WIDTH elements");
            check_permutation(state);
        }
        check_permutation([Goldilocks::ZERO; WIDTH]);
        check_permutation([Goldilocks::NEG_ONE; WIDTH]);
        // Raw values in [p, 2^64) stand for their residues, as in plonky2.
        check_permutation([raw_element(u64::MAX); WIDTH]);
        check_permutation(core::array::from_fn(|i| {
            raw_element(GOLDILOCKS_P + i as u64)
        }));
        // Extremes mixed, to exercise every carry path of the lazy reductions.
        for _ in 0..200 {
            let state = core::array::from_fn(|_| match rng.next_u32() % 4 {
                0 => raw_element(u64::MAX - (rng.next_u64() & 0xFFFF_FFFF)),
                1 => raw_element(rng.next_u64() & 0xFFFF_FFFF),
                2 => raw_element(GOLDILOCKS_P - 1 - (rng.next_u64() & 0xFFFF)),
                _ => raw_element(rng.next_u64()),
            });
            check_permutation(state);
        }
    }

    /// Runs `f` with the batch entry points on the scalar engine.
    pub(crate) fn with_scalar_engine<R>(f: impl FnOnce() -> R) -> R {
        use std::sync::atomic::Ordering;
        SCALAR_ONLY.store(true, Ordering::Relaxed);
        let r = f();
        SCALAR_ONLY.store(false, Ordering::Relaxed);
        r
    }

    #[test]
    fn permute_many_matches_permute() {
        permute_many_matches_permute_on("permute_many_matches_permute");
        with_scalar_engine(|| {
            permute_many_matches_permute_on("permute_many_matches_permute (scalar)")
        });
    }

    fn permute_many_matches_permute_on(test: &str) {
        let mut rng = rng(test);
        for n in [0, 1, 7, 8, 9, 16, 33] {
            let mut states: Vec<[Goldilocks; WIDTH]> = (0..n)
                .map(|_| {
                    random_elements(&mut rng, WIDTH)
                        .try_into()
                        .expect("WIDTH elements")
                })
                .collect();
            let expected: Vec<_> = states.iter().map(|s| reference_permute(*s)).collect();
            permute_many(&mut states);
            assert_eq!(states, expected, "batch of {n}");
            for s in &states {
                assert_canonical(s);
            }
        }
    }

    #[test]
    fn sponge_matches_plonky2() {
        let mut rng = rng("sponge_matches_plonky2");
        for len in (0..=20).chain([100]) {
            let input = random_elements(&mut rng, len);
            let expected_no_pad = <PoseidonHash as Hasher<Goldilocks>>::hash_no_pad(&input);
            let expected_or_noop = <PoseidonHash as Hasher<Goldilocks>>::hash_or_noop(&input);
            let no_pad = hash_no_pad(&input);
            let or_noop = hash_or_noop(&input);
            assert_eq!(no_pad, expected_no_pad, "hash_no_pad, length {len}");
            assert_eq!(or_noop, expected_or_noop, "hash_or_noop, length {len}");
            assert_canonical(&no_pad.elements);
            assert_canonical(&or_noop.elements);
            // (plonky2 never returns for 0 outputs; ours returns nothing.)
            assert!(hash_n_to_m_no_pad(&input, 0).is_empty());
            for outputs in [1, 4, 8, 9, 17] {
                let expected = plonky2::hash::hashing::hash_n_to_m_no_pad::<
                    Goldilocks,
                    <PoseidonHash as Hasher<Goldilocks>>::Permutation,
                >(&input, outputs);
                assert_eq!(
                    hash_n_to_m_no_pad(&input, outputs),
                    expected,
                    "length {len}, {outputs} outputs"
                );
            }
        }
        // hash_or_noop canonicalises short inputs like plonky2 (which goes through bytes).
        let raw = [raw_element(u64::MAX), raw_element(GOLDILOCKS_P)];
        assert_eq!(
            hash_or_noop(&raw),
            <PoseidonHash as Hasher<Goldilocks>>::hash_or_noop(&raw)
        );
        assert_canonical(&hash_or_noop(&raw).elements);
    }

    #[test]
    fn two_to_one_matches_plonky2() {
        let mut rng = rng("two_to_one_matches_plonky2");
        for _ in 0..200 {
            let left = HashOut {
                elements: random_elements(&mut rng, 4).try_into().expect("4 elements"),
            };
            let right = HashOut {
                elements: random_elements(&mut rng, 4).try_into().expect("4 elements"),
            };
            let ours = two_to_one(left, right);
            assert_eq!(
                ours,
                <PoseidonHash as Hasher<Goldilocks>>::two_to_one(left, right)
            );
            assert_canonical(&ours.elements);
        }
    }

    #[test]
    fn two_to_one_many_matches_plonky2() {
        let mut rng = rng("two_to_one_many_matches_plonky2");
        for n in [0, 1, 8, 13, 64] {
            let pairs: Vec<[Goldilocks; 8]> = (0..n)
                .map(|_| random_elements(&mut rng, 8).try_into().expect("8 elements"))
                .collect();
            let expected: Vec<[Goldilocks; 4]> = pairs
                .iter()
                .map(|p| {
                    let l = HashOut {
                        elements: p[..4].try_into().expect("4 elements"),
                    };
                    let r = HashOut {
                        elements: p[4..].try_into().expect("4 elements"),
                    };
                    <PoseidonHash as Hasher<Goldilocks>>::two_to_one(l, r).elements
                })
                .collect();
            let mut vector = vec![[Goldilocks::ZERO; 4]; n];
            two_to_one_many(&pairs, &mut vector);
            assert_eq!(vector, expected, "{n} pairs");
            let mut scalar = vec![[Goldilocks::ZERO; 4]; n];
            with_scalar_engine(|| two_to_one_many(&pairs, &mut scalar));
            assert_eq!(scalar, expected, "{n} pairs (scalar)");
            // A shorter output takes the first digests only.
            let mut short = vec![[Goldilocks::ZERO; 4]; n / 2];
            two_to_one_many(&pairs, &mut short);
            assert_eq!(short, expected[..n / 2]);
        }
    }

    #[test]
    fn constants_are_plonky2s_and_canonical() {
        let c = constants();
        for (r, row) in c.round_constants.iter().enumerate() {
            assert_eq!(row[..], ALL_ROUND_CONSTANTS[r * WIDTH..(r + 1) * WIDTH]);
        }
        let all = c
            .round_constants
            .iter()
            .flatten()
            .chain(&c.mds_circ)
            .chain(&c.mds_diag)
            .chain(&c.fast_partial_first_round_constant)
            .chain(&c.fast_partial_round_constants)
            .chain(c.fast_partial_round_vs.iter().flatten())
            .chain(c.fast_partial_round_w_hats.iter().flatten())
            .chain(c.fast_partial_round_initial_matrix.iter().flatten());
        for &x in all {
            assert!(x < GOLDILOCKS_P);
        }
        assert_eq!(c.mds_circ, <Goldilocks as Poseidon>::MDS_MATRIX_CIRC);
        assert_eq!(
            c.fast_partial_round_w_hats,
            <Goldilocks as Poseidon>::FAST_PARTIAL_ROUND_W_HATS
        );
        // The permutation from the table alone (the naive partial rounds, full MDS) equals plonky2's:
        // what a device backend uploading the table relies on.
        let mut rng = rng("constants_are_plonky2s_and_canonical");
        let state: [Goldilocks; WIDTH] = random_elements(&mut rng, WIDTH)
            .try_into()
            .expect("WIDTH elements");
        assert_eq!(permute_from_table(c, state), reference_permute(state));
    }

    /// The permutation straight from the documented description of [`PoseidonConstants`], with field
    /// arithmetic from plonky2_field.
    #[allow(clippy::needless_range_loop)] // indices as in the documented formulas
    fn permute_from_table(
        c: &PoseidonConstants,
        mut s: [Goldilocks; WIDTH],
    ) -> [Goldilocks; WIDTH] {
        let f = Goldilocks::from_canonical_u64;
        let sbox = |x: Goldilocks| x.exp_u64(7);
        let mds = |s: [Goldilocks; WIDTH]| -> [Goldilocks; WIDTH] {
            core::array::from_fn(|r| {
                (0..WIDTH)
                    .map(|i| f(c.mds_circ[i]) * s[(i + r) % WIDTH])
                    .sum::<Goldilocks>()
                    + f(c.mds_diag[r]) * s[r]
            })
        };
        let full = |s: &mut [Goldilocks; WIDTH], round: usize| {
            for i in 0..WIDTH {
                s[i] = sbox(s[i] + f(c.round_constants[round][i]));
            }
            *s = mds(*s);
        };
        for r in 0..HALF_FULL_ROUNDS {
            full(&mut s, r);
        }
        for i in 0..WIDTH {
            s[i] += f(c.fast_partial_first_round_constant[i]);
        }
        let mut t = [Goldilocks::ZERO; WIDTH];
        t[0] = s[0];
        for col in 1..WIDTH {
            t[col] = (1..WIDTH)
                .map(|r| s[r] * f(c.fast_partial_round_initial_matrix[r - 1][col - 1]))
                .sum();
        }
        s = t;
        for i in 0..PARTIAL_ROUNDS {
            s[0] = sbox(s[0]) + f(c.fast_partial_round_constants[i]);
            let s0 = s[0];
            let mut d = f(c.mds_circ[0] + c.mds_diag[0]) * s0;
            for j in 1..WIDTH {
                d += f(c.fast_partial_round_w_hats[i][j - 1]) * s[j];
                s[j] += s0 * f(c.fast_partial_round_vs[i][j - 1]);
            }
            s[0] = d;
        }
        for r in 0..HALF_FULL_ROUNDS {
            full(&mut s, HALF_FULL_ROUNDS + PARTIAL_ROUNDS + r);
        }
        s
    }
}
