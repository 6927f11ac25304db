// plonky2's Poseidon permutation (width 12, 4 + 22 + 4 rounds, x^7) on canonical Goldilocks values.
//
// Module layout (assembled by wgpu/merkle.rs): goldilocks.wgsl, this file, then a block generated from
// `crate::poseidon::constants()` that defines
//   - `POSEIDON_FULL_RC`, `POSEIDON_PARTIAL_RC`, `POSEIDON_VS`, `POSEIDON_W_HATS`: offsets into
//     `poseidon_table` of the constants indexed by the round counter (full-round constants, 8 rows of
//     12; partial-round constants, 22; the sparse-matrix vectors v and w_hat, 22 rows of 11);
//   - `POSEIDON_MDS00`: the (0, 0) entry of the MDS matrix;
//   - `fn poseidon_mds(s) -> s`: the MDS layer, additions and shifts only (`poseidon_mds_half` works
//     on one 32-bit half of the state, see `mds_half` in wgpu/merkle.rs);
//   - `fn poseidon_partial_init(s) -> s`: the constant layer and dense matrix that open the partial
//     rounds in plonky2's fast form, with their entries as literals.
// Constants indexed by a runtime round counter live in a storage table rather than in a WGSL `const`
// array: a dynamically indexed const array may be materialised in per-invocation memory. Round loops
// stay loops (a fully unrolled permutation runs to tens of thousands of instructions, beyond what GPU
// instruction caches hold); within a round every state index is a constant, so the 12 elements stay
// in registers.

@group(0) @binding(1) var<storage, read_write> poseidon_table: array<u64>;

// Reduces lo + 2^64 * hi for hi < 2^32: 2^64 = EPSILON (mod p), and hi * EPSILON < 2^64. On a wrap the
// sum is below hi * EPSILON <= 2^64 - 2^33 + 1, so adding EPSILON cannot wrap again.
fn gl_reduce96(lo: u64, hi: u64) -> u64 {
    let t = hi * GL_EPSILON;
    let s = lo + t;
    var r = select(s, s + GL_EPSILON, s < t);
    if (r >= GL_P) {
        r = r - GL_P;
    }
    return r;
}

// a + b * c with a single reduction: (2^64 - 1)^2 + 2^64 - 1 < 2^128.
fn gl_mul_add(a: u64, b: u64, c: u64) -> u64 {
    let w = gl_mul_wide(b, c);
    let lo = w.x + a;
    // w.y <= 2^64 - 2 (a product of two 64-bit values), so the carry fits.
    let hi = w.y + select(0lu, 1lu, lo < a);
    return gl_reduce128(lo, hi);
}

fn gl_sbox(x: u64) -> u64 {
    let x2 = gl_mul(x, x);
    let x3 = gl_mul(x2, x);
    let x4 = gl_mul(x2, x2);
    return gl_mul(x3, x4);
}

// A dot product of up to 2^32 products of 64-bit values, reduced once: the exact sum is
// lo + 2^64 * hi + 2^128 * top.
struct Dot {
    lo: u64,
    hi: u64,
    top: u64,
}

fn dot_add(acc: Dot, a: u64, b: u64) -> Dot {
    let w = gl_mul_wide(a, b);
    let lo = acc.lo + w.x;
    // w.y <= 2^64 - 2, so adding the carry of the low word cannot wrap.
    let h = w.y + select(0lu, 1lu, lo < w.x);
    let hi = acc.hi + h;
    return Dot(lo, hi, acc.top + select(0lu, 1lu, hi < h));
}

fn dot_reduce(acc: Dot) -> u64 {
    // 2^96 = -1 (mod p), so 2^128 = -2^32; top is at most the number of terms, so top * 2^32 < p.
    return gl_sub(gl_reduce128(acc.lo, acc.hi), acc.top << 32u);
}

// MDS output row: the exact value lo_sum + 2^32 * hi_sum (each a sum of 32-bit halves times the
// small MDS entries, below 2^63 since a row's entries sum below 2^31) reduced modulo p.
fn poseidon_mds_reduce(lo_sum: u64, hi_sum: u64) -> u64 {
    let shifted = hi_sum << 32u;
    let t = lo_sum + shifted;
    let carry = select(0lu, 1lu, t < shifted);
    return gl_reduce96(t, (hi_sum >> 32u) + carry);
}

// Full round `round` (0..8 counts only the full rounds): constants, S-box on every element, MDS.
fn poseidon_full_round(state: array<u64, 12>, round: u32) -> array<u64, 12> {
    var s = state;
    let rc = POSEIDON_FULL_RC + round * 12u;
    s[0] = gl_sbox(gl_add(s[0], poseidon_table[rc]));
    s[1] = gl_sbox(gl_add(s[1], poseidon_table[rc + 1u]));
    s[2] = gl_sbox(gl_add(s[2], poseidon_table[rc + 2u]));
    s[3] = gl_sbox(gl_add(s[3], poseidon_table[rc + 3u]));
    s[4] = gl_sbox(gl_add(s[4], poseidon_table[rc + 4u]));
    s[5] = gl_sbox(gl_add(s[5], poseidon_table[rc + 5u]));
    s[6] = gl_sbox(gl_add(s[6], poseidon_table[rc + 6u]));
    s[7] = gl_sbox(gl_add(s[7], poseidon_table[rc + 7u]));
    s[8] = gl_sbox(gl_add(s[8], poseidon_table[rc + 8u]));
    s[9] = gl_sbox(gl_add(s[9], poseidon_table[rc + 9u]));
    s[10] = gl_sbox(gl_add(s[10], poseidon_table[rc + 10u]));
    s[11] = gl_sbox(gl_add(s[11], poseidon_table[rc + 11u]));
    return poseidon_mds(s);
}

// The 22 partial rounds in plonky2's fast form: after the initial layer, each round applies the
// S-box to s0 only and multiplies by a sparse matrix: s0' = mds00 * s0 + <w_hat, s[1..]>,
// s_j' = s_j + v_j * s0 (both from the state before the layer).
fn poseidon_partial_rounds(state: array<u64, 12>) -> array<u64, 12> {
    var s = poseidon_partial_init(state);
    for (var r = 0u; r < 22u; r = r + 1u) {
        let s0 = gl_add(gl_sbox(s[0]), poseidon_table[POSEIDON_PARTIAL_RC + r]);
        let w = POSEIDON_W_HATS + r * 11u;
        var acc = dot_add(Dot(0lu, 0lu, 0lu), s0, POSEIDON_MDS00);
        acc = dot_add(acc, s[1], poseidon_table[w]);
        acc = dot_add(acc, s[2], poseidon_table[w + 1u]);
        acc = dot_add(acc, s[3], poseidon_table[w + 2u]);
        acc = dot_add(acc, s[4], poseidon_table[w + 3u]);
        acc = dot_add(acc, s[5], poseidon_table[w + 4u]);
        acc = dot_add(acc, s[6], poseidon_table[w + 5u]);
        acc = dot_add(acc, s[7], poseidon_table[w + 6u]);
        acc = dot_add(acc, s[8], poseidon_table[w + 7u]);
        acc = dot_add(acc, s[9], poseidon_table[w + 8u]);
        acc = dot_add(acc, s[10], poseidon_table[w + 9u]);
        acc = dot_add(acc, s[11], poseidon_table[w + 10u]);
        let v = POSEIDON_VS + r * 11u;
        s[1] = gl_mul_add(s[1], s0, poseidon_table[v]);
        s[2] = gl_mul_add(s[2], s0, poseidon_table[v + 1u]);
        s[3] = gl_mul_add(s[3], s0, poseidon_table[v + 2u]);
        s[4] = gl_mul_add(s[4], s0, poseidon_table[v + 3u]);
        s[5] = gl_mul_add(s[5], s0, poseidon_table[v + 4u]);
        s[6] = gl_mul_add(s[6], s0, poseidon_table[v + 5u]);
        s[7] = gl_mul_add(s[7], s0, poseidon_table[v + 6u]);
        s[8] = gl_mul_add(s[8], s0, poseidon_table[v + 7u]);
        s[9] = gl_mul_add(s[9], s0, poseidon_table[v + 8u]);
        s[10] = gl_mul_add(s[10], s0, poseidon_table[v + 9u]);
        s[11] = gl_mul_add(s[11], s0, poseidon_table[v + 10u]);
        s[0] = dot_reduce(acc);
    }
    return s;
}

// The permutation: canonical in, canonical out.
fn poseidon(state: array<u64, 12>) -> array<u64, 12> {
    var s = state;
    for (var r = 0u; r < 4u; r = r + 1u) {
        s = poseidon_full_round(s, r);
    }
    s = poseidon_partial_rounds(s);
    for (var r = 4u; r < 8u; r = r + 1u) {
        s = poseidon_full_round(s, r);
    }
    return s;
}
