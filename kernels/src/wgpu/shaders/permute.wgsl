// Data movement for Goldilocks buffers (prepended: goldilocks.wgsl): bit-reversal permutation, the
// coset expansion that starts an LDE, and the column-major -> row-major transpose that lays LDE
// values out as Merkle leaves.

struct Params {
    log_n: u32,
    num_blocks: u32,
    // expand: log2 of the input column length n and the number of coset blocks 2^rate_bits.
    log_small: u32,
    rate_bits: u32,
    // transpose: rows in this window, columns in this group, the first row of the window, the
    // matrix width and the group's first column.
    rows: u32,
    cols: u32,
    row_offset: u32,
    total_cols: u32,
    col_offset: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> src: array<u64>;
@group(0) @binding(2) var<storage, read_write> dst: array<u64>;
@group(0) @binding(3) var<storage, read_write> table: array<u64>;

const WG: u32 = 256u;

fn linear_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.y * (nwg.x * WG) + gid.x;
}

fn reverse_low_bits(i: u32, bits: u32) -> u32 {
    if (bits == 0u) {
        return 0u;
    }
    return reverseBits(i) >> (32u - bits);
}

// dst[block][reverse(i)] = src[block][i] for every block of 2^log_n.
@compute @workgroup_size(256)
fn bit_reverse(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = linear_id(gid, nwg);
    let n = 1u << params.log_n;
    if (t >= n * params.num_blocks) {
        return;
    }
    let block = t >> params.log_n;
    let i = t & (n - 1u);
    dst[(block << params.log_n) | reverse_low_bits(i, params.log_n)] = src[t];
}

// Starts a coset LDE of columns of n = 2^log_small coefficients with blowup 2^rate_bits. Evaluation
// point number p (bit-reversed order, p = b * n + q) of the LDE is shift * w_N^rev_N(p)
// = (shift * w_N^rev_r(b)) * w_n^rev_n(q), so block b of the output is the size-n NTT of the
// coefficients scaled by (shift * w_N^rev_r(b))^j. `table[b * n + j]` holds that factor, so the LDE
// becomes one scaling pass plus size-n NTTs: the first rate_bits stages of a zero-padded size-N
// transform are never run.
@compute @workgroup_size(256)
fn coset_expand(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = linear_id(gid, nwg);
    let n = 1u << params.log_small;
    let big = n << params.rate_bits;
    if (t >= big * params.num_blocks) {
        return;
    }
    let col = t / big;
    let within = t % big;
    let j = within & (n - 1u);
    dst[t] = gl_mul(src[col * n + j], table[within]);
}

// Writes columns [col_offset, col_offset + cols) of rows [row_offset, row_offset + rows) of a
// row-major matrix `total_cols` wide (dst is bound to exactly those rows) from src, the group's
// columns of 2^log_n elements, column-major.
@compute @workgroup_size(256)
fn transpose(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = linear_id(gid, nwg);
    if (t >= params.rows * params.cols) {
        return;
    }
    let r = t / params.cols;
    let c = t % params.cols;
    dst[r * params.total_cols + params.col_offset + c] = src[(c << params.log_n) + params.row_offset + r];
}
