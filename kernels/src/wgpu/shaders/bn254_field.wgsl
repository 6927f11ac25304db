// BN254 field arithmetic (Fr and Fq) on 8 little-endian 32-bit limbs in Montgomery form with
// R = 2^256: exactly arkworks' representation, so buffers need no conversion on the way in or out, and
// a reduced result compares bit for bit with arkworks.
//
// Limb products use u64 (SHADER_INT64) as the 32x32 -> 64 multiplier: a + b * c + d fits in 64 bits
// for 32-bit a, b, c, d, which is all the multiply-accumulate chains below need.
//
// The part after the template marker is instantiated once per field by the host, which replaces the
// `fld_` / `FLD_` prefixes with `fr_` / `FR_` or `fq_` / `FQ_` and prepends the field's constants,
// taken from arkworks' own parameters: FLD_P (the modulus), FLD_INV (-p^-1 mod 2^32) and FLD_ONE
// (R mod p, the Montgomery form of 1). Every function takes reduced inputs (< p) and returns a reduced
// output.

alias Big = array<u32, 8>;

const MASK32: u64 = 0xFFFFFFFFlu;

fn big_is_zero(a: Big) -> bool {
    var acc = 0u;
    for (var i = 0u; i < 8u; i = i + 1u) {
        acc = acc | a[i];
    }
    return acc == 0u;
}

// ---- field template ----

// t mod p for t < 2p: subtract p unless that borrows.
fn fld_reduce(t: Big) -> Big {
    let p = FLD_P;
    var d: Big;
    var borrow = 0lu;
    for (var i = 0u; i < 8u; i = i + 1u) {
        // Operands are below 2^33, so a wrap-around leaves the top bit set.
        let x = u64(t[i]) - u64(p[i]) - borrow;
        d[i] = u32(x & MASK32);
        borrow = x >> 63u;
    }
    if (borrow != 0lu) {
        return t;
    }
    return d;
}

fn fld_add(a: Big, b: Big) -> Big {
    // a + b < 2p < 2^255: no carry leaves the top limb.
    var s: Big;
    var carry = 0lu;
    for (var i = 0u; i < 8u; i = i + 1u) {
        let x = u64(a[i]) + u64(b[i]) + carry;
        s[i] = u32(x & MASK32);
        carry = x >> 32u;
    }
    return fld_reduce(s);
}

fn fld_sub(a: Big, b: Big) -> Big {
    let p = FLD_P;
    var d: Big;
    var borrow = 0lu;
    for (var i = 0u; i < 8u; i = i + 1u) {
        let x = u64(a[i]) - u64(b[i]) - borrow;
        d[i] = u32(x & MASK32);
        borrow = x >> 63u;
    }
    if (borrow != 0lu) {
        // a < b: the wrapped difference is a - b + 2^256; adding p wraps it back to a - b + p.
        var carry = 0lu;
        for (var i = 0u; i < 8u; i = i + 1u) {
            let x = u64(d[i]) + u64(p[i]) + carry;
            d[i] = u32(x & MASK32);
            carry = x >> 32u;
        }
    }
    return d;
}

fn fld_neg(a: Big) -> Big {
    // 0 - a is p - a, and 0 for a = 0.
    return fld_sub(Big(), a);
}

fn fld_double(a: Big) -> Big {
    return fld_add(a, a);
}

// Montgomery product a * b * R^-1 mod p by coarsely integrated operand scanning (CIOS) in the form
// that needs no carry word above the top limb: valid because the top limb of both BN254 moduli is
// below 2^31 - 1, so every intermediate t stays below 2p < 2^256 (the result is reduced once at the end).
fn fld_mul(a: Big, b: Big) -> Big {
    let p = FLD_P;
    var t: Big;
    for (var i = 0u; i < 8u; i = i + 1u) {
        let bi = u64(b[i]);
        // t += a * b[i], and m chosen so that t + m * p is divisible by 2^32; the two products are
        // accumulated in one sweep, shifting t down by one limb as it goes.
        var s = u64(t[0]) + u64(a[0]) * bi;
        var carry_a = s >> 32u;
        let t0 = u32(s & MASK32);
        let m = u64(t0 * FLD_INV);
        s = u64(t0) + m * u64(p[0]);
        var carry_m = s >> 32u;
        for (var j = 1u; j < 8u; j = j + 1u) {
            s = u64(t[j]) + u64(a[j]) * bi + carry_a;
            carry_a = s >> 32u;
            s = (s & MASK32) + m * u64(p[j]) + carry_m;
            carry_m = s >> 32u;
            t[j - 1u] = u32(s & MASK32);
        }
        t[7] = u32(carry_m + carry_a);
    }
    return fld_reduce(t);
}

fn fld_sqr(a: Big) -> Big {
    return fld_mul(a, a);
}
