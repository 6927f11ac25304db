// Poseidon permutation, row hashing and Merkle tree levels (module assembled by wgpu/merkle.rs:
// goldilocks.wgsl, poseidon.wgsl, the generated Poseidon layers, this file). Binding 1 is the Poseidon
// constant table (declared in poseidon.wgsl). Digests are 4 consecutive elements.

// Buffers are bound in windows (a binding may cover less than the whole buffer, and its start must
// be aligned), so each kernel is told where its items start within the bindings.
struct Params {
    // Items this dispatch covers: states (permute), rows (hash_rows), parents (merkle_level).
    count: u32,
    // hash_rows: elements per row.
    width: u32,
    // merkle_level: height of the children (0 = leaf digests), height of a cap subtree, and the
    // index in its level of the dispatch's first parent.
    child_height: u32,
    subtree_height: u32,
    first: u32,
    // Elements from the start of the buf_a / buf_b binding to the dispatch's first item.
    skip_a: u32,
    skip_b: u32,
    // merkle_level: the first digest of the layout that the buf_c binding covers.
    base_c: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> buf_a: array<u64>;
@group(0) @binding(3) var<storage, read_write> buf_b: array<u64>;
@group(0) @binding(4) var<storage, read_write> buf_c: array<u64>;

const WG: u32 = 256u;

fn linear_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.y * (nwg.x * WG) + gid.x;
}

// buf_a: `count` states of 12 elements, permuted in place.
@compute @workgroup_size(256)
fn poseidon_permute(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = linear_id(gid, nwg);
    if (t >= params.count) {
        return;
    }
    let b = params.skip_a + t * 12u;
    // Constant state indices throughout (here and below): the state stays in registers.
    var s = array<u64, 12>(
        buf_a[b], buf_a[b + 1u], buf_a[b + 2u], buf_a[b + 3u], buf_a[b + 4u], buf_a[b + 5u],
        buf_a[b + 6u], buf_a[b + 7u], buf_a[b + 8u], buf_a[b + 9u], buf_a[b + 10u], buf_a[b + 11u],
    );
    s = poseidon(s);
    buf_a[b] = s[0];
    buf_a[b + 1u] = s[1];
    buf_a[b + 2u] = s[2];
    buf_a[b + 3u] = s[3];
    buf_a[b + 4u] = s[4];
    buf_a[b + 5u] = s[5];
    buf_a[b + 6u] = s[6];
    buf_a[b + 7u] = s[7];
    buf_a[b + 8u] = s[8];
    buf_a[b + 9u] = s[9];
    buf_a[b + 10u] = s[10];
    buf_a[b + 11u] = s[11];
}

// plonky2 `hash_or_noop` of row `t` of buf_a (`count` rows of `width`), written to buf_b as 4
// elements.
@compute @workgroup_size(256)
fn hash_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = linear_id(gid, nwg);
    if (t >= params.count) {
        return;
    }
    let w = params.width;
    let row = params.skip_a + t * w;
    let out = params.skip_b + t * 4u;
    if (w <= 4u) {
        // Short rows are their own digest, zero-padded.
        for (var i = 0u; i < 4u; i = i + 1u) {
            var x = 0lu;
            if (i < w) {
                x = buf_a[row + i];
            }
            buf_b[out + i] = x;
        }
        return;
    }
    // Overwrite-mode sponge, rate 8: each chunk replaces the first elements of the state (the rest
    // keeps what the previous permutation left), then the state is permuted.
    var s: array<u64, 12>;
    var i = 0u;
    loop {
        if (i + 8u > w) {
            break;
        }
        let p = row + i;
        s[0] = buf_a[p];
        s[1] = buf_a[p + 1u];
        s[2] = buf_a[p + 2u];
        s[3] = buf_a[p + 3u];
        s[4] = buf_a[p + 4u];
        s[5] = buf_a[p + 5u];
        s[6] = buf_a[p + 6u];
        s[7] = buf_a[p + 7u];
        s = poseidon(s);
        i = i + 8u;
    }
    // A partial last chunk (1..7 elements; the first always exists).
    let rest = w - i;
    if (rest > 0u) {
        let p = row + i;
        s[0] = buf_a[p];
        if (rest > 1u) { s[1] = buf_a[p + 1u]; }
        if (rest > 2u) { s[2] = buf_a[p + 2u]; }
        if (rest > 3u) { s[3] = buf_a[p + 3u]; }
        if (rest > 4u) { s[4] = buf_a[p + 4u]; }
        if (rest > 5u) { s[5] = buf_a[p + 5u]; }
        if (rest > 6u) { s[6] = buf_a[p + 6u]; }
        s = poseidon(s);
    }
    buf_b[out] = s[0];
    buf_b[out + 1u] = s[1];
    buf_b[out + 2u] = s[2];
    buf_b[out + 3u] = s[3];
}

// Position in plonky2's digest layout of the node at height k (0 = leaf digest) with index c in its
// level (c counts across all cap subtrees), for cap subtrees of height H > k.
//
// A subtree of height h occupies D(h) = 2^(h+1) - 2 digests: "left subtree (D(h-1)) ‖ left child ‖
// right child ‖ right subtree (D(h-1))". Walking from a subtree root down to the node, each step into
// a right subtree of height h-1 skips D(h-1) + 2 = 2^h digests and a step left skips nothing; the
// last step, from the node's parent (height k+1), lands on its children at D(k) + (0 or 1). The
// steps' directions are the bits of j (the index within the subtree) above bit 0, bit m deciding at
// height k+1+m, so the walk adds sum_m bit_m(j) 2^(k+1+m) = (j & ~1) << (k+1), then 2^(k+1) - 2 +
// (j & 1). Subtree s starts at s * D(H) and holds j = c - s 2^(H-k); since s 2^(H-k) is even,
// (j & ~1) << (k+1) = ((c & ~1) << (k+1)) - s 2^(H+1), and s * D(H) - s 2^(H+1) = -2s:
//   pos = ((c & ~1) << (k+1)) - 2s + 2^(k+1) - 2 + (c & 1),  s = c >> (H - k).
fn layout_position(k: u32, c: u32, h: u32) -> u32 {
    let s = c >> (h - k);
    return ((c & ~1u) << (k + 1u)) - 2u * s + (2u << k) - 2u + (c & 1u);
}

// One tree level: parent g = first + t (height child_height + 1) of children 2g, 2g+1 read from
// buf_a (the children's level, natural order). The children are written to their place in the digest
// layout buf_c (siblings are adjacent there), the parent to buf_b (the next level, or the cap for the
// top level).
@compute @workgroup_size(256)
fn merkle_level(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = linear_id(gid, nwg);
    if (t >= params.count) {
        return;
    }
    let g = params.first + t;
    let c = params.skip_a + 8u * t;
    var s: array<u64, 12>;
    s[0] = buf_a[c];
    s[1] = buf_a[c + 1u];
    s[2] = buf_a[c + 2u];
    s[3] = buf_a[c + 3u];
    s[4] = buf_a[c + 4u];
    s[5] = buf_a[c + 5u];
    s[6] = buf_a[c + 6u];
    s[7] = buf_a[c + 7u];
    let d = 4u * (layout_position(params.child_height, 2u * g, params.subtree_height) - params.base_c);
    buf_c[d] = s[0];
    buf_c[d + 1u] = s[1];
    buf_c[d + 2u] = s[2];
    buf_c[d + 3u] = s[3];
    buf_c[d + 4u] = s[4];
    buf_c[d + 5u] = s[5];
    buf_c[d + 6u] = s[6];
    buf_c[d + 7u] = s[7];
    // plonky2 `two_to_one`: left ‖ right ‖ zeros, permuted, first 4 elements.
    s = poseidon(s);
    let out = params.skip_b + 4u * t;
    buf_b[out] = s[0];
    buf_b[out + 1u] = s[1];
    buf_b[out + 2u] = s[2];
    buf_b[out + 3u] = s[3];
}
