// BN254 Fr FFT kernels (prepended: bn254_field.wgsl instantiated for Fr).
//
// A decimation-in-frequency (Gentleman-Sande) transform of one block of n = 2^log_n elements in
// Montgomery form: radix-8 passes over global memory for the large strides, then one pass in
// workgroup memory for the last 7 to 9 stages (blocks of up to 512 elements, 16 KiB). DIF reads
// natural order and leaves the result bit-reversed, so a final permutation pass writes natural order
// into `dst` (the host copies it back). Twiddles: `twiddles[j] = g^j` for j < n/2, g = arkworks'
// `get_root_of_unity(n)`.
//
// Scaling is fused into the passes rather than run separately: a coset transform's `offset^i` is
// applied as the first pass loads its input, and an inverse transform's `n^-1` (times
// `offset^-i` for a coset) as the permutation writes its output. The inverse transform itself reuses
// the forward twiddles: sum_j e_j g^-ij is the forward transform's output at index -i mod n.

struct Params {
    log_n: u32,
    // log2 of the half-size of the first stage this pass runs.
    log_h: u32,
    // Stages the workgroup pass runs.
    stages: u32,
    // Scaling applied by this dispatch: 0 none, 1 by `factor`, 2 by the coset table (see scale_factor).
    scale_mode: u32,
    // log2 of the size of the coset table's low part.
    split: u32,
    // Permutation only: nonzero for an inverse transform.
    inverse: u32,
    _pad0: u32,
    _pad1: u32,
    // A constant factor in Montgomery form, low limbs first.
    factor_lo: vec4<u32>,
    factor_hi: vec4<u32>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> data: array<u32>;
@group(0) @binding(2) var<storage, read_write> twiddles: array<u32>;
// Coset factors: `coset[j] = c^j` for j < 2^split, then `coset[2^split + m] = f * c^(m * 2^split)`, so
// that c^i * f = coset[i mod 2^split] * coset[2^split + i / 2^split] costs one multiplication.
@group(0) @binding(3) var<storage, read_write> coset: array<u32>;
@group(0) @binding(4) var<storage, read_write> dst: array<u32>;

const WG: u32 = 256u;
var<workgroup> shared_block: array<Big, 512>;

fn linear_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.y * (nwg.x * WG) + gid.x;
}

fn load_data(i: u32) -> Big {
    var r: Big;
    for (var k = 0u; k < 8u; k = k + 1u) {
        r[k] = data[i * 8u + k];
    }
    return r;
}

fn store_data(i: u32, v: Big) {
    for (var k = 0u; k < 8u; k = k + 1u) {
        data[i * 8u + k] = v[k];
    }
}

fn load_twiddle(i: u32) -> Big {
    var r: Big;
    for (var k = 0u; k < 8u; k = k + 1u) {
        r[k] = twiddles[i * 8u + k];
    }
    return r;
}

fn load_coset(i: u32) -> Big {
    var r: Big;
    for (var k = 0u; k < 8u; k = k + 1u) {
        r[k] = coset[i * 8u + k];
    }
    return r;
}

// w_{2h}^j for a stage of half-size h = 2^log_h, read from the table of g^i.
fn twiddle(j: u32, log_h: u32) -> Big {
    return load_twiddle(j << (params.log_n - 1u - log_h));
}

// The factor element `i` is scaled by in this dispatch (scale_mode 1 or 2).
fn scale_factor(i: u32) -> Big {
    if (params.scale_mode == 1u) {
        let lo = params.factor_lo;
        let hi = params.factor_hi;
        return Big(lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);
    }
    let low = load_coset(i & ((1u << params.split) - 1u));
    let high = load_coset((1u << params.split) + (i >> params.split));
    return fr_mul(low, high);
}

fn maybe_scale(v: Big, i: u32) -> Big {
    if (params.scale_mode == 0u) {
        return v;
    }
    return fr_mul(v, scale_factor(i));
}

// Three DIF stages (half-sizes 2^log_h, 2^(log_h-1), 2^(log_h-2)) in registers: each thread takes 8
// elements spaced 2^(log_h-2) apart. The radix is fixed so that every loop has a constant trip count
// and the 8 elements stay in registers once the compiler unrolls them.
@compute @workgroup_size(256)
fn fft_global(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = linear_id(gid, nwg);
    if (t >= (1u << (params.log_n - 3u))) {
        return;
    }
    let low_bits = params.log_h - 2u;
    let spacing = 1u << low_bits;
    let base = ((t >> low_bits) << (params.log_h + 1u)) | (t & (spacing - 1u));

    var x: array<Big, 8>;
    for (var m = 0u; m < 8u; m = m + 1u) {
        let i = base + m * spacing;
        x[m] = maybe_scale(load_data(i), i);
    }
    for (var r = 0u; r < 3u; r = r + 1u) {
        let log_h = params.log_h - r;
        let dist = 4u >> r;
        for (var m = 0u; m < 8u; m = m + 1u) {
            if ((m & dist) == 0u) {
                let j = (base + m * spacing) & ((1u << log_h) - 1u);
                let u = x[m];
                let v = x[m + dist];
                x[m] = fr_add(u, v);
                x[m + dist] = fr_mul(fr_sub(u, v), twiddle(j, log_h));
            }
        }
    }
    for (var m = 0u; m < 8u; m = m + 1u) {
        store_data(base + m * spacing, x[m]);
    }
}

// The last `stages` stages (half-sizes 2^(stages-1) .. 1) of every block of 2^stages contiguous
// elements, in workgroup memory; one workgroup per block.
@compute @workgroup_size(256)
fn fft_shared(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
              @builtin(num_workgroups) nwg: vec3<u32>) {
    let size = 1u << params.stages;
    let w = wid.y * nwg.x + wid.x;
    // Uniform per workgroup, so the barriers below are reached by all or none of its threads.
    if (w >= (1u << (params.log_n - params.stages))) {
        return;
    }
    let base = w * size;
    for (var i = lid.x; i < size; i = i + WG) {
        shared_block[i] = maybe_scale(load_data(base + i), base + i);
    }
    workgroupBarrier();
    let half = size >> 1u;
    for (var r = 0u; r < params.stages; r = r + 1u) {
        let log_h = params.stages - 1u - r;
        let h = 1u << log_h;
        for (var q = lid.x; q < half; q = q + WG) {
            let j = q & (h - 1u);
            let i0 = ((q >> log_h) << (log_h + 1u)) | j;
            let u = shared_block[i0];
            let v = shared_block[i0 + h];
            shared_block[i0] = fr_add(u, v);
            shared_block[i0 + h] = fr_mul(fr_sub(u, v), twiddle(j, log_h));
        }
        workgroupBarrier();
    }
    for (var i = lid.x; i < size; i = i + WG) {
        store_data(base + i, shared_block[i]);
    }
}

// dst[natural index] = data[bit-reversed position], scaled by the factor of the natural index. For an
// inverse transform the natural index is negated mod n (see the top of this file).
@compute @workgroup_size(256)
fn fft_permute(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = linear_id(gid, nwg);
    let n = 1u << params.log_n;
    if (t >= n) {
        return;
    }
    let rev = reverseBits(t) >> (32u - params.log_n);
    var dest_index = rev;
    if (params.inverse != 0u) {
        dest_index = (n - rev) & (n - 1u);
    }
    let v = maybe_scale(load_data(t), dest_index);
    for (var k = 0u; k < 8u; k = k + 1u) {
        dst[dest_index * 8u + k] = v[k];
    }
}
