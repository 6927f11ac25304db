// Goldilocks NTT kernels (prepended: goldilocks.wgsl).
//
// The transform is a decimation-in-frequency (Gentleman-Sande) NTT: natural order in, bit-reversed
// order out, so the commitment path (coefficients -> LDE leaves, which plonky2 stores in bit-reversed
// row order) needs no permutation pass. Large strides run as radix-2^k passes with k stages in
// registers; the last stages (blocks of up to 2^11 elements) run in one pass in workgroup memory.
//
// `data` holds `num_blocks` independent blocks of 2^log_n elements each (columns, or the 2^rate_bits
// coset blocks of an LDE). Twiddles: `twiddles[j] = w^j` for j < 2^(log_n-1), w the root of order
// 2^log_n (its inverse for an inverse transform).

struct Params {
    log_n: u32,
    // log2 of the half-size of the first stage this pass runs.
    log_h: u32,
    // Stages this pass runs (global passes: 1..=3; the workgroup pass: all remaining).
    stages: u32,
    num_blocks: u32,
    // Final scaling (n^-1 for inverse transforms) applied by the workgroup pass when `scale` != 0.
    scale: u32,
    scale_lo: u32,
    scale_hi: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> data: array<u64>;
@group(0) @binding(2) var<storage, read_write> twiddles: array<u64>;

const WG: u32 = 256u;
const SHARED_LOG: u32 = 11u;
var<workgroup> shared_block: array<u64, 2048>;

fn linear_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.y * (nwg.x * WG) + gid.x;
}

// Twiddle w_{2h}^j for a stage of half-size h = 2^log_h, read from the table of w_N^i.
fn twiddle(j: u32, log_h: u32) -> u64 {
    return twiddles[j << (params.log_n - 1u - log_h)];
}

// One radix-2^stages pass: each thread takes 2^stages elements spaced 2^(log_h - stages + 1) apart and
// runs `stages` butterfly stages on them in registers.
@compute @workgroup_size(256)
fn dif_global(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let k = params.stages;
    let groups_per_block = 1u << (params.log_n - k);
    let t = linear_id(gid, nwg);
    if (t >= groups_per_block * params.num_blocks) {
        return;
    }
    let block = t / groups_per_block;
    let g = t % groups_per_block;
    let low_bits = params.log_h + 1u - k;
    let spacing = 1u << low_bits;
    let base_in_block = ((g >> low_bits) << (params.log_h + 1u)) | (g & (spacing - 1u));
    let base = block << params.log_n;

    var x: array<u64, 8>;
    let count = 1u << k;
    for (var m = 0u; m < count; m = m + 1u) {
        x[m] = data[base + base_in_block + m * spacing];
    }
    for (var r = 0u; r < k; r = r + 1u) {
        let log_h = params.log_h - r;
        let dist = 1u << (k - 1u - r);
        for (var m = 0u; m < count; m = m + 1u) {
            if ((m & dist) == 0u) {
                let pos = base_in_block + m * spacing;
                let j = pos & ((1u << log_h) - 1u);
                let u = x[m];
                let v = x[m + dist];
                x[m] = gl_add(u, v);
                x[m + dist] = gl_mul(gl_sub(u, v), twiddle(j, log_h));
            }
        }
    }
    for (var m = 0u; m < count; m = m + 1u) {
        data[base + base_in_block + m * spacing] = x[m];
    }
}

// The last `stages` stages (half-sizes 2^(stages-1) .. 1) of every block of 2^stages contiguous
// elements, in workgroup memory; one workgroup per block. Applies the final scaling if asked.
@compute @workgroup_size(256)
fn dif_shared(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
              @builtin(num_workgroups) nwg: vec3<u32>) {
    let size = 1u << params.stages;
    let blocks = params.num_blocks << (params.log_n - params.stages);
    let w = wid.y * nwg.x + wid.x;
    // Uniform per workgroup, so the barriers below are reached by all or none of its threads.
    if (w >= blocks) {
        return;
    }
    let base = w * size;
    for (var i = lid.x; i < size; i = i + WG) {
        shared_block[i] = data[base + i];
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
            shared_block[i0] = gl_add(u, v);
            shared_block[i0 + h] = gl_mul(gl_sub(u, v), twiddle(j, log_h));
        }
        workgroupBarrier();
    }
    let scale = (u64(params.scale_hi) << 32u) | u64(params.scale_lo);
    for (var i = lid.x; i < size; i = i + WG) {
        var v = shared_block[i];
        if (params.scale != 0u) {
            v = gl_mul(v, scale);
        }
        data[base + i] = v;
    }
}
