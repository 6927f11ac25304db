// Goldilocks field arithmetic, p = 2^64 - 2^32 + 1, on u64 (requires SHADER_INT64).
// Every function takes canonical inputs (< p) and returns a canonical output, so buffers always hold
// canonical values and compare bit for bit with the CPU backend.

const GL_P: u64 = 0xFFFFFFFF00000001lu;
// 2^64 mod p = 2^32 - 1: a carry out of 64 bits is worth EPSILON.
const GL_EPSILON: u64 = 0xFFFFFFFFlu;
const GL_MASK32: u64 = 0xFFFFFFFFlu;

fn gl_add(a: u64, b: u64) -> u64 {
    let s = a + b;
    // On overflow the lost 2^64 is congruent to EPSILON; s + EPSILON cannot overflow again and is < p.
    var r = select(s, s + GL_EPSILON, s < a);
    if (r >= GL_P) {
        r = r - GL_P;
    }
    return r;
}

fn gl_sub(a: u64, b: u64) -> u64 {
    return select(a - b, a + (GL_P - b), a < b);
}

fn gl_neg(a: u64) -> u64 {
    return select(GL_P - a, 0lu, a == 0lu);
}

// Reduces the 128-bit value hi * 2^64 + lo modulo p, using 2^64 = 2^32 - 1 and 2^96 = -1 (mod p).
fn gl_reduce128(lo: u64, hi: u64) -> u64 {
    let hi_hi = hi >> 32u;
    let hi_lo = hi & GL_MASK32;
    // lo - hi_hi; a borrow added 2^64, i.e. EPSILON too much.
    var t0 = lo - hi_hi;
    if (lo < hi_hi) {
        t0 = t0 - GL_EPSILON;
    }
    // hi_lo * 2^64 = hi_lo * (2^32 - 1), which fits in 64 bits.
    let t1 = (hi_lo << 32u) - hi_lo;
    let s = t0 + t1;
    var r = select(s, s + GL_EPSILON, s < t0);
    if (r >= GL_P) {
        r = r - GL_P;
    }
    return r;
}

// Full 64x64 -> 128-bit product from four 32x32 -> 64 products.
fn gl_mul_wide(a: u64, b: u64) -> vec2<u64> {
    let a0 = a & GL_MASK32;
    let a1 = a >> 32u;
    let b0 = b & GL_MASK32;
    let b1 = b >> 32u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 32u) + (p01 & GL_MASK32) + (p10 & GL_MASK32);
    let lo = (p00 & GL_MASK32) | (mid << 32u);
    let hi = p11 + (p01 >> 32u) + (p10 >> 32u) + (mid >> 32u);
    return vec2<u64>(lo, hi);
}

fn gl_mul(a: u64, b: u64) -> u64 {
    let w = gl_mul_wide(a, b);
    return gl_reduce128(w.x, w.y);
}

fn gl_square(a: u64) -> u64 {
    return gl_mul(a, a);
}
