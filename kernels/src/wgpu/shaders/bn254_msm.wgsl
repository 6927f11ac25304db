// BN254 G1 multi-scalar multiplication kernels (prepended: bn254_field.wgsl instantiated for Fr and Fq).
//
// Pippenger's bucket method with signed windows, every phase on the device:
//   msm_digits      scalars out of Montgomery form; per-bucket point counts (histogram);
//   msm_scan        per window, the buckets' start offsets in `sorted` and in the chunk space
//                   (exclusive prefix sums of the counts and of the chunk counts);
//   msm_scatter     counting sort: each (window, point) with a non-zero digit is written into its
//                   bucket's range of `sorted` as the point index with the digit's sign in bit 31;
//   msm_chunks      which bucket each chunk belongs to (binary search over the chunk offsets);
//   msm_accumulate  one thread per chunk of at most 2^chunk_log points of one bucket sums them (mixed
//                   XYZZ + affine additions);
//   msm_combine     pairwise passes add up the chunks of each bucket in place (log2 of the most chunks
//                   a bucket can have), leaving the bucket sum in its first chunk;
//   msm_reduce      per window, segments of buckets are reduced to (T, A): T = sum of the segment's
//                   buckets, A = sum of (1 + position in segment) * bucket (running sums);
//   msm_merge       adjacent segments are merged, (T, A) = (T_l + T_r, A_l + A_r + len_l * T_r), until
//                   each window is one segment whose A is the window sum sum_b (b + 1) * bucket_b.
// The host combines the window sums (c doublings per window).
//
// Splitting buckets into chunks bounds every thread's work whatever the scalars are: a bucket may hold
// every point (equal scalars), and one thread summing it would both stall a GPU and, on Mesa's
// lavapipe, exceed the 65535 loop iterations one invocation may run (lavapipe then silently leaves the
// loop). No kernel here runs a loop whose trip count depends on the input size beyond a logarithm.
//
// Signed digits: window w holds bits [w*c, w*c + c) plus the carry from below; a value v > 2^(c-1)
// becomes the digit v - 2^c with a carry of 1 into the next window. Digits lie in
// [-(2^(c-1) - 1), 2^(c-1)], so a window needs B = 2^(c-1) buckets (bucket b holds digit magnitude
// b + 1) and a negative digit adds the negated base. Scalars are below r < 2^254 and the host picks
// W windows with W*c >= 255, so no carry leaves the top window.
//
// Points in XYZZ coordinates (x = X/ZZ, y = Y/ZZZ, ZZ^3 = ZZZ^2), identity ZZ = ZZZ = 0. The formulas
// are the explicit-formulas database's madd-2008-s, add-2008-s, mdbl-2008-s-1 and dbl-2008-s-1 (a = 0),
// with the cases they exclude (identity operands, P + P, P + (-P)) handled explicitly. BN254 G1 has
// prime order, so no point has y = 0 and doubling never meets the identity by accident.

struct Params {
    n: u32,
    // Window width c, number of windows W, buckets per window B = 2^(c-1).
    c: u32,
    windows: u32,
    buckets: u32,
    // Reduce: log2 of the buckets per segment. Merge: log2 of the buckets an input segment covers.
    // Combine: log2 of the distance between the chunks added.
    seg_log: u32,
    // Segments per window that this dispatch writes.
    segs: u32,
    // log2 of the most points a chunk holds.
    chunk_log: u32,
    // Chunk slots per window (an upper bound of the chunks its buckets need).
    max_chunks: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// n scalars, 8 words each (Fr, Montgomery form).
@group(0) @binding(1) var<storage, read_write> scalars: array<u32>;
// n bases, 17 words each (x, y in Montgomery form, infinity flag).
@group(0) @binding(2) var<storage, read_write> bases: array<u32>;
// n scalars out of Montgomery form (zero where the base is the identity).
@group(0) @binding(3) var<storage, read_write> canon: array<u32>;
// [0, W*B): points per bucket; [W*B, 2*W*B): scatter cursors. Zero on entry.
@group(0) @binding(4) var<storage, read_write> counters: array<atomic<u32>>;
// [0, W*B): each bucket's start within its window's range of `sorted`; [W*B, 2*W*B): its first chunk
// within its window's chunk slots; [2*W*B, 2*W*B + W*max_chunks): each chunk slot's bucket (NO_BUCKET
// for unused slots).
@group(0) @binding(5) var<storage, read_write> tables: array<u32>;
// W ranges of n entries: point index | (negative << 31), grouped by bucket.
@group(0) @binding(6) var<storage, read_write> sorted: array<u32>;
// Points, 32 words each (XYZZ): the input and output of the accumulation and reduction passes.
@group(0) @binding(7) var<storage, read_write> pts_in: array<u32>;
@group(0) @binding(8) var<storage, read_write> pts_out: array<u32>;

const WG: u32 = 256u;
const SIGN_BIT: u32 = 0x80000000u;
const NO_BUCKET: u32 = 0xFFFFFFFFu;

fn linear_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.y * (nwg.x * WG) + gid.x;
}

// ---- points ----------------------------------------------------------------------------------

struct Xyzz {
    x: Big,
    y: Big,
    zz: Big,
    zzz: Big,
}

fn xyzz_identity() -> Xyzz {
    return Xyzz(FQ_ONE, FQ_ONE, Big(), Big());
}

fn xyzz_is_identity(p: Xyzz) -> bool {
    return big_is_zero(p.zz);
}

// The addition formulas below double in the same code path instead of calling a separate doubling
// formula: every kernel then holds one inlined copy of the field multiplications, which keeps shader
// compilation fast (drivers inline everything, and a software rasterizer's compile time grows faster
// than linearly with code size) without costing the common case anything. Mapping dbl-2008-s-1 onto
// the addition's multiplications: with the second operand's ZZ, ZZZ set to 1 the addition's U1, S1
// are X1, Y1; then P := 2*Y1 (U), R := 3*X1^2 (M) make PP = V, PPP = W, Q = S, S1*PPP = W*Y1, and
// X3 = R^2 - 2Q (no PPP term), Y3 = R(Q - X3) - S1*PPP, ZZ3 = ZZ1*V, ZZZ3 = ZZZ1*W are the doubling.
// When the operands turn out equal the loop runs once more in doubling mode.

// p + (x, y) for an affine (x, y) that is not the identity: madd-2008-s, 10 multiplications, or
// 2p (dbl-2008-s-1 through the same multiplications) when the points are equal.
fn xyzz_add_affine(p: Xyzz, x: Big, y: Big) -> Xyzz {
    if (xyzz_is_identity(p)) {
        return Xyzz(x, y, FQ_ONE, FQ_ONE);
    }
    var result: Xyzz;
    var dbl = false;
    // Runs once, or twice when the first run finds equal points. The loop is data-dependent so that
    // compilers keep one copy of its body.
    var again = true;
    while (again) {
        again = false;
        var a = x;
        var b = p.zz;
        if (dbl) {
            a = p.x;
            b = p.x;
        }
        // Adding: U2 = x * ZZ1. Doubling: X1^2.
        let u2 = fq_mul(a, b);
        let s2 = fq_mul(y, p.zzz);
        var pd = fq_sub(u2, p.x);
        var r = fq_sub(s2, p.y);
        if (dbl) {
            pd = fq_double(p.y);
            r = fq_add(fq_double(u2), u2);
        }
        if (!dbl && big_is_zero(pd)) {
            // Same x: the same point (double it) or its negation (the sum is the identity).
            if (big_is_zero(r)) {
                dbl = true;
                again = true;
            } else {
                result = xyzz_identity();
            }
        } else {
            let pp = fq_sqr(pd);
            let ppp = fq_mul(pd, pp);
            let q = fq_mul(p.x, pp);
            let e = fq_mul(p.y, ppp);
            var t = ppp;
            if (dbl) {
                t = Big();
            }
            let x3 = fq_sub(fq_sub(fq_sqr(r), t), fq_double(q));
            let y3 = fq_sub(fq_mul(r, fq_sub(q, x3)), e);
            result = Xyzz(x3, y3, fq_mul(p.zz, pp), fq_mul(p.zzz, ppp));
        }
    }
    return result;
}

// p + q (add-2008-s, 14 multiplications), or 2p when the points are equal or `force_double` is set
// (then q is ignored).
fn xyzz_add(p: Xyzz, q: Xyzz, force_double: bool) -> Xyzz {
    var result = p;
    var dbl = force_double;
    var again = true;
    if (xyzz_is_identity(p)) {
        // 0 + q = q, 2 * 0 = 0.
        if (!force_double) {
            result = q;
        }
        again = false;
    } else if (!force_double && xyzz_is_identity(q)) {
        again = false;
    }
    // Runs once, or twice when the first run finds equal points (see xyzz_add_affine).
    while (again) {
        again = false;
        var zz2 = q.zz;
        var zzz2 = q.zzz;
        var a = q.x;
        var b = p.zz;
        if (dbl) {
            zz2 = FQ_ONE;
            zzz2 = FQ_ONE;
            a = p.x;
            b = p.x;
        }
        let u1 = fq_mul(p.x, zz2);
        // Adding: U2 = X2 * ZZ1. Doubling: X1^2.
        let u2 = fq_mul(a, b);
        let s1 = fq_mul(p.y, zzz2);
        let s2 = fq_mul(q.y, p.zzz);
        var pd = fq_sub(u2, u1);
        var r = fq_sub(s2, s1);
        if (dbl) {
            pd = fq_double(p.y);
            r = fq_add(fq_double(u2), u2);
        }
        if (!dbl && big_is_zero(pd)) {
            if (big_is_zero(r)) {
                dbl = true;
                again = true;
            } else {
                result = xyzz_identity();
            }
        } else {
            let pp = fq_sqr(pd);
            let ppp = fq_mul(pd, pp);
            let qq = fq_mul(u1, pp);
            let e = fq_mul(s1, ppp);
            let f = fq_mul(zz2, pp);
            let g = fq_mul(zzz2, ppp);
            var t = ppp;
            if (dbl) {
                t = Big();
            }
            let x3 = fq_sub(fq_sub(fq_sqr(r), t), fq_double(qq));
            let y3 = fq_sub(fq_mul(r, fq_sub(qq, x3)), e);
            result = Xyzz(x3, y3, fq_mul(p.zz, f), fq_mul(p.zzz, g));
        }
    }
    return result;
}

fn load_in(slot: u32) -> Xyzz {
    var c: array<Big, 4>;
    for (var k = 0u; k < 4u; k = k + 1u) {
        for (var l = 0u; l < 8u; l = l + 1u) {
            c[k][l] = pts_in[slot * 32u + k * 8u + l];
        }
    }
    return Xyzz(c[0], c[1], c[2], c[3]);
}

fn load_out(slot: u32) -> Xyzz {
    var c: array<Big, 4>;
    for (var k = 0u; k < 4u; k = k + 1u) {
        for (var l = 0u; l < 8u; l = l + 1u) {
            c[k][l] = pts_out[slot * 32u + k * 8u + l];
        }
    }
    return Xyzz(c[0], c[1], c[2], c[3]);
}

fn store_out(slot: u32, p: Xyzz) {
    let c = array<Big, 4>(p.x, p.y, p.zz, p.zzz);
    for (var k = 0u; k < 4u; k = k + 1u) {
        for (var l = 0u; l < 8u; l = l + 1u) {
            pts_out[slot * 32u + k * 8u + l] = c[k][l];
        }
    }
}

// ---- scalars ---------------------------------------------------------------------------------

// c bits of s starting at bit `bit` (c <= 16, so they span at most two limbs).
fn scalar_bits(s: Big, bit: u32) -> u32 {
    let word = bit >> 5u;
    let shift = bit & 31u;
    var v = 0u;
    if (word < 8u) {
        v = s[word] >> shift;
        if (shift != 0u && word < 7u) {
            v = v | (s[word + 1u] << (32u - shift));
        }
    }
    return v & ((1u << params.c) - 1u);
}

// The signed digit of window w as magnitude | (negative << 31); `carry` comes from window w - 1 and
// is updated for window w + 1.
fn signed_digit(s: Big, w: u32, carry: ptr<function, u32>) -> u32 {
    let v = scalar_bits(s, w * params.c) + *carry;
    if (v > params.buckets) {
        *carry = 1u;
        return (2u * params.buckets - v) | SIGN_BIT;
    }
    *carry = 0u;
    return v;
}

fn load_canon(i: u32) -> Big {
    var s: Big;
    for (var k = 0u; k < 8u; k = k + 1u) {
        s[k] = canon[i * 8u + k];
    }
    return s;
}

// ---- kernels ---------------------------------------------------------------------------------

@compute @workgroup_size(256)
fn msm_digits(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= params.n) {
        return;
    }
    // An identity base contributes nothing: treat its scalar as zero so that it joins no bucket.
    var s = Big();
    if (bases[i * 17u + 16u] == 0u) {
        var m: Big;
        for (var k = 0u; k < 8u; k = k + 1u) {
            m[k] = scalars[i * 8u + k];
        }
        // Montgomery form a * R to a: one Montgomery multiplication by 1.
        s = fr_mul(m, Big(1u, 0u, 0u, 0u, 0u, 0u, 0u, 0u));
    }
    for (var k = 0u; k < 8u; k = k + 1u) {
        canon[i * 8u + k] = s[k];
    }
    var carry = 0u;
    for (var w = 0u; w < params.windows; w = w + 1u) {
        let magnitude = signed_digit(s, w, &carry) & ~SIGN_BIT;
        if (magnitude != 0u) {
            atomicAdd(&counters[w * params.buckets + magnitude - 1u], 1u);
        }
    }
}

// Bucket table accessors (see the `tables` binding).
fn bucket_start(k: u32) -> u32 {
    return tables[k];
}

fn bucket_first_chunk(k: u32) -> u32 {
    return tables[params.windows * params.buckets + k];
}

fn chunk_bucket_slot(t: u32) -> u32 {
    return 2u * params.windows * params.buckets + t;
}

fn bucket_count(k: u32) -> u32 {
    return atomicLoad(&counters[k]);
}

fn chunks_of(count: u32) -> u32 {
    return (count + (1u << params.chunk_log) - 1u) >> params.chunk_log;
}

var<workgroup> scan_points: array<u32, 256>;
var<workgroup> scan_chunks: array<u32, 256>;

// One workgroup per window: each thread scans a contiguous run of buckets, the runs' totals are
// scanned in workgroup memory (Hillis-Steele), and each thread writes its run's start offsets, both in
// points and in chunks.
@compute @workgroup_size(256)
fn msm_scan(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let w = wid.x;
    // Uniform per workgroup, so the barriers below are reached by all or none of its threads.
    if (w >= params.windows) {
        return;
    }
    let per_thread = (params.buckets + WG - 1u) / WG;
    let first = w * params.buckets + min(lid.x * per_thread, params.buckets);
    let end = w * params.buckets + min((lid.x + 1u) * per_thread, params.buckets);
    var points = 0u;
    var chunks = 0u;
    for (var k = first; k < end; k = k + 1u) {
        let count = bucket_count(k);
        points = points + count;
        chunks = chunks + chunks_of(count);
    }
    scan_points[lid.x] = points;
    scan_chunks[lid.x] = chunks;
    workgroupBarrier();
    for (var d = 1u; d < WG; d = d << 1u) {
        var left_points = 0u;
        var left_chunks = 0u;
        if (lid.x >= d) {
            left_points = scan_points[lid.x - d];
            left_chunks = scan_chunks[lid.x - d];
        }
        workgroupBarrier();
        scan_points[lid.x] = scan_points[lid.x] + left_points;
        scan_chunks[lid.x] = scan_chunks[lid.x] + left_chunks;
        workgroupBarrier();
    }
    var point_offset = scan_points[lid.x] - points;
    var chunk_offset = scan_chunks[lid.x] - chunks;
    for (var k = first; k < end; k = k + 1u) {
        let count = bucket_count(k);
        tables[k] = point_offset;
        tables[params.windows * params.buckets + k] = chunk_offset;
        point_offset = point_offset + count;
        chunk_offset = chunk_offset + chunks_of(count);
    }
}

@compute @workgroup_size(256)
fn msm_scatter(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= params.n) {
        return;
    }
    let s = load_canon(i);
    let cursors = params.windows * params.buckets;
    var carry = 0u;
    for (var w = 0u; w < params.windows; w = w + 1u) {
        let digit = signed_digit(s, w, &carry);
        let magnitude = digit & ~SIGN_BIT;
        if (magnitude != 0u) {
            let k = w * params.buckets + magnitude - 1u;
            let pos = atomicAdd(&counters[cursors + k], 1u);
            sorted[w * params.n + bucket_start(k) + pos] = i | (digit & SIGN_BIT);
        }
    }
}

// One thread per chunk slot: the bucket whose chunks cover it, the last bucket of the window whose
// first chunk is at or below the slot (found by binary search; buckets without points own no slot).
@compute @workgroup_size(256)
fn msm_chunks(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = linear_id(gid, nwg);
    if (t >= params.windows * params.max_chunks) {
        return;
    }
    let w = t / params.max_chunks;
    let slot = t % params.max_chunks;
    let window_first = w * params.buckets;
    let last = window_first + params.buckets - 1u;
    if (slot >= bucket_first_chunk(last) + chunks_of(bucket_count(last))) {
        tables[chunk_bucket_slot(t)] = NO_BUCKET;
        return;
    }
    var lo = 0u;
    var hi = params.buckets - 1u;
    while (lo < hi) {
        let mid = (lo + hi + 1u) >> 1u;
        if (bucket_first_chunk(window_first + mid) <= slot) {
            lo = mid;
        } else {
            hi = mid - 1u;
        }
    }
    tables[chunk_bucket_slot(t)] = window_first + lo;
}

// One thread per chunk slot: the sum of the chunk's points, into pts_out[slot].
@compute @workgroup_size(256)
fn msm_accumulate(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = linear_id(gid, nwg);
    if (t >= params.windows * params.max_chunks) {
        return;
    }
    let k = tables[chunk_bucket_slot(t)];
    if (k == NO_BUCKET) {
        return;
    }
    let w = t / params.max_chunks;
    let chunk = t % params.max_chunks - bucket_first_chunk(k);
    let skip = chunk << params.chunk_log;
    let count = min(bucket_count(k) - skip, 1u << params.chunk_log);
    let first = w * params.n + bucket_start(k) + skip;
    var acc = xyzz_identity();
    for (var e = 0u; e < count; e = e + 1u) {
        let entry = sorted[first + e];
        let base = (entry & ~SIGN_BIT) * 17u;
        var x: Big;
        var y: Big;
        for (var l = 0u; l < 8u; l = l + 1u) {
            x[l] = bases[base + l];
            y[l] = bases[base + 8u + l];
        }
        if ((entry & SIGN_BIT) != 0u) {
            y = fq_neg(y);
        }
        acc = xyzz_add_affine(acc, x, y);
    }
    store_out(t, acc);
}

// One pass of the in-place pairwise sum of each bucket's chunks: chunk i of a bucket adds chunk
// i + 2^seg_log when i is a multiple of 2^(seg_log + 1). After passes 0, 1, ... covering the most
// chunks a bucket can have, its first chunk holds the bucket sum. Slots read in a pass are never
// written in the same pass.
@compute @workgroup_size(256)
fn msm_combine(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = linear_id(gid, nwg);
    if (t >= params.windows * params.max_chunks) {
        return;
    }
    let k = tables[chunk_bucket_slot(t)];
    if (k == NO_BUCKET) {
        return;
    }
    let chunk = t % params.max_chunks - bucket_first_chunk(k);
    let step = 1u << params.seg_log;
    if ((chunk & (2u * step - 1u)) == 0u && chunk + step < chunks_of(bucket_count(k))) {
        store_out(t, xyzz_add(load_out(t), load_out(t + step), false));
    }
}

// The sum of bucket k of window w: the first of its chunks after msm_combine, or the identity.
fn bucket_sum(k: u32, w: u32) -> Xyzz {
    if (bucket_count(k) == 0u) {
        return xyzz_identity();
    }
    return load_in(w * params.max_chunks + bucket_first_chunk(k));
}

// One thread per segment of 2^seg_log buckets: running sums from the segment's top bucket down give
// T = sum of its buckets and A = sum (1 + position) * bucket. Output slots 2s (T) and 2s + 1 (A).
@compute @workgroup_size(256)
fn msm_reduce(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = linear_id(gid, nwg);
    if (t >= params.windows * params.segs) {
        return;
    }
    let w = t / params.segs;
    let s = t % params.segs;
    let len = 1u << params.seg_log;
    let top = w * params.buckets + (s + 1u) * len - 1u;
    var running = xyzz_identity();
    var acc = xyzz_identity();
    // Even steps: running += next bucket down; odd steps: acc += running (one addition call site).
    for (var i = 0u; i < 2u * len; i = i + 1u) {
        let odd = (i & 1u) != 0u;
        var a = running;
        var b = running;
        if (odd) {
            a = acc;
        } else {
            b = bucket_sum(top - (i >> 1u), w);
        }
        let sum = xyzz_add(a, b, false);
        if (odd) {
            acc = sum;
        } else {
            running = sum;
        }
    }
    store_out(2u * t, running);
    store_out(2u * t + 1u, acc);
}

// One thread per output segment: merges input segments 2j and 2j + 1 of its window, each covering
// 2^seg_log buckets. The right segment's positions are 2^seg_log higher in the merged one, which adds
// 2^seg_log * T_r to its weighted sum (seg_log doublings).
@compute @workgroup_size(256)
fn msm_merge(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = linear_id(gid, nwg);
    if (t >= params.windows * params.segs) {
        return;
    }
    let w = t / params.segs;
    let j = t % params.segs;
    let left = w * 2u * params.segs + 2u * j;
    let right = left + 1u;
    let t_left = load_in(2u * left);
    let a_left = load_in(2u * left + 1u);
    let t_right = load_in(2u * right);
    let a_right = load_in(2u * right + 1u);
    // Steps 0..seg_log: shifted = 2^seg_log * T_r by doublings; then T = T_l + T_r, A = A_l + A_r,
    // A += shifted (one addition call site, operands chosen per step).
    var shifted = t_right;
    var t_sum = t_left;
    var a_sum = a_left;
    let steps = params.seg_log + 3u;
    for (var step = 0u; step < steps; step = step + 1u) {
        var a = shifted;
        var b = shifted;
        if (step == params.seg_log) {
            a = t_left;
            b = t_right;
        } else if (step == params.seg_log + 1u) {
            a = a_left;
            b = a_right;
        } else if (step == params.seg_log + 2u) {
            a = a_sum;
        }
        let sum = xyzz_add(a, b, step < params.seg_log);
        if (step < params.seg_log) {
            shifted = sum;
        } else if (step == params.seg_log) {
            t_sum = sum;
        } else {
            a_sum = sum;
        }
    }
    store_out(2u * t, t_sum);
    store_out(2u * t + 1u, a_sum);
}
