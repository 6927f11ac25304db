//! BN254 G1 multi-scalar multiplication on the device: Pippenger with signed windows, a counting sort
//! of the points by bucket, buckets summed in chunks of bounded size, and the bucket running sums
//! reduced on the device (see `shaders/bn254_msm.wgsl` for the phases). Only the `W` window sums
//! come back; the host combines them with `c` doublings each.

use ark_ec::AdditiveGroup;
use ark_ff::{Field, Zero};

use super::{binding_bytes, msm_source, ELEMENT_BYTES, MSM_MODULE};
use crate::error::{KernelError, Result};
use crate::field::{DeviceElement, Fq, G1Projective};
use crate::wgpu::context::{Binding, Gpu};

/// Bits the signed windows must cover: scalars are below r < 2^254, and a carry out of the top window
/// is impossible once the windows span 255 bits.
const RECODED_BITS: usize = 255;
/// Words of a G1 base on the device (x, y, infinity flag).
const BASE_WORDS: usize = 17;
/// Bytes of an XYZZ point on the device.
const POINT_BYTES: u64 = 4 * ELEMENT_BYTES;
/// u32 words of an XYZZ point.
const POINT_WORDS: usize = (POINT_BYTES / 4) as usize;
/// log2 of the buckets one thread of the first reduction pass runs over.
const REDUCE_SEGMENT_LOG: usize = 4;
/// log2 of the most points one thread adds up (a chunk of a bucket). Random scalars put about
/// `n / 2^(c-1)` points in a bucket, a few dozen with the window sizes chosen below, so a bucket is
/// usually one chunk; skewed scalars (many equal ones) spread over more threads instead of one.
const CHUNK_LOG: usize = 6;

/// The window width for `n` points. The device work per window is about `n` mixed additions (bucket
/// accumulation) plus `2 * 2^(c-1)` full additions (running sums), so the total is smallest around
/// `2^c ≈ n / 8`. Capped at 16 bits, which keeps the bucket tables small and a window's bits within
/// two limbs for the shader's digit extraction.
fn window_bits(n: usize) -> usize {
    (n.max(1).ilog2() as usize).saturating_sub(3).clamp(4, 16)
}

/// The shader's `Params`.
#[derive(Clone, Copy)]
struct Params {
    n: usize,
    c: usize,
    windows: usize,
    buckets: usize,
    max_chunks: usize,
}

impl Params {
    fn words(&self, seg_log: usize, segs: usize) -> [u32; 8] {
        [
            self.n as u32,
            self.c as u32,
            self.windows as u32,
            self.buckets as u32,
            seg_log as u32,
            segs as u32,
            CHUNK_LOG as u32,
            self.max_chunks as u32,
        ]
    }
}

/// `sum scalars[i] * bases[i]` over `n` points; `bases` holds `n` G1 affine points (17 words each) and
/// `scalars` `n` Fr elements, both as [`DeviceElement`] encodes them.
pub(crate) fn msm(
    gpu: &Gpu,
    bases: &wgpu::Buffer,
    scalars: &wgpu::Buffer,
    n: usize,
) -> Result<G1Projective> {
    if n == 0 {
        return Ok(G1Projective::zero());
    }
    let c = window_bits(n);
    let windows = RECODED_BITS.div_ceil(c);
    let buckets = 1usize << (c - 1);
    // A window's buckets need at most one chunk each plus one per full chunk of points.
    let max_chunks = (n >> CHUNK_LOG) + buckets;
    let p = Params {
        n,
        c,
        windows,
        buckets,
        max_chunks,
    };
    let chunk_slots = windows * max_chunks;
    // The shaders index words with u32: the largest word indices are those of the bases, the sorted
    // entries and the chunk points.
    let largest_index = (n * BASE_WORDS)
        .max(windows * n)
        .max(chunk_slots * POINT_WORDS);
    if u32::try_from(largest_index).is_err() {
        return Err(KernelError::InvalidArgument(format!(
            "bn254 msm: {n} points exceed the wgpu kernels' 32-bit indexing"
        )));
    }

    let buffer = |label: &str, elements: usize, element_bytes: u64| {
        gpu.storage_buffer(label, binding_bytes(gpu, label, elements, element_bytes)?)
    };
    let canon = buffer("msm scalars", n, ELEMENT_BYTES)?;
    let counters = buffer("msm counters", 2 * windows * buckets, 4)?;
    let tables = buffer("msm bucket tables", 2 * windows * buckets + chunk_slots, 4)?;
    let sorted = buffer("msm sorted points", windows * n, 4)?;
    let chunk_sums = buffer("msm chunk sums", chunk_slots, POINT_BYTES)?;
    // Ping-pong buffers of (T, A) pairs per segment for the reduction and merge passes.
    let segs = buckets >> REDUCE_SEGMENT_LOG.min(c - 1);
    let seg_a = buffer("msm segments", windows * segs, 2 * POINT_BYTES)?;
    let seg_b = buffer("msm segments", windows * (segs / 2).max(1), 2 * POINT_BYTES)?;

    let fixed: [Binding<'_>; 6] = [
        scalars.into(),
        bases.into(),
        (&canon).into(),
        (&counters).into(),
        (&tables).into(),
        (&sorted).into(),
    ];
    let kernel = |entry| gpu.kernel(MSM_MODULE, msm_source(), entry, 8);
    let mut batch = gpu.batch("bn254 msm")?;

    // Sort: digits and counts, offsets, scatter, chunk ownership.
    let sort_bindings = with_points(&fixed, &seg_a, &chunk_sums);
    batch.dispatch(
        &*kernel("msm_digits")?,
        &p.words(0, 0),
        &sort_bindings,
        gpu.grid(n as u64),
    )?;
    batch.dispatch(
        &*kernel("msm_scan")?,
        &p.words(0, 0),
        &sort_bindings,
        [windows as u32, 1, 1],
    )?;
    batch.dispatch(
        &*kernel("msm_scatter")?,
        &p.words(0, 0),
        &sort_bindings,
        gpu.grid(n as u64),
    )?;
    batch.dispatch(
        &*kernel("msm_chunks")?,
        &p.words(0, 0),
        &sort_bindings,
        gpu.grid(chunk_slots as u64),
    )?;

    // Buckets: chunk sums, then pairwise passes until each bucket's first chunk holds its sum. A bucket
    // has at most ceil(n / 2^CHUNK_LOG) chunks.
    batch.dispatch(
        &*kernel("msm_accumulate")?,
        &p.words(0, 0),
        &sort_bindings,
        gpu.grid(chunk_slots as u64),
    )?;
    let combine = kernel("msm_combine")?;
    let most_chunks = n.div_ceil(1 << CHUNK_LOG);
    for pass in 0..most_chunks.next_power_of_two().trailing_zeros() as usize {
        batch.dispatch(
            &combine,
            &p.words(pass, 0),
            &sort_bindings,
            gpu.grid(chunk_slots as u64),
        )?;
    }

    // Windows: running sums over segments of buckets, then pairwise merges of the segments until one
    // per window is left, alternating between the two segment buffers.
    let seg_log = REDUCE_SEGMENT_LOG.min(c - 1);
    let reduce_bindings = with_points(&fixed, &chunk_sums, &seg_a);
    batch.dispatch(
        &*kernel("msm_reduce")?,
        &p.words(seg_log, segs),
        &reduce_bindings,
        gpu.grid((windows * segs) as u64),
    )?;
    let merge = kernel("msm_merge")?;
    let (mut current, mut spare) = (&seg_a, &seg_b);
    let (mut segs, mut seg_log) = (segs, seg_log);
    while segs > 1 {
        segs /= 2;
        let bindings = with_points(&fixed, current, spare);
        batch.dispatch(
            &merge,
            &p.words(seg_log, segs),
            &bindings,
            gpu.grid((windows * segs) as u64),
        )?;
        seg_log += 1;
        std::mem::swap(&mut current, &mut spare);
    }
    batch.run()?;

    // Window w's (T, A) pair is at slots 2w, 2w + 1; A is the window sum. Horner from the top window.
    let words = gpu.read_words(current, 0, (windows * 2 * POINT_WORDS) as u64)?;
    let mut acc = G1Projective::zero();
    for pair in words.chunks_exact(2 * POINT_WORDS).rev() {
        for _ in 0..c {
            acc.double_in_place();
        }
        acc += xyzz_to_projective(&pair[POINT_WORDS..])?;
    }
    Ok(acc)
}

/// The eight storage bindings of every MSM kernel: the fixed six, then the points read and written.
fn with_points<'a>(
    fixed: &[Binding<'a>; 6],
    pts_in: &'a wgpu::Buffer,
    pts_out: &'a wgpu::Buffer,
) -> [Binding<'a>; 8] {
    let [a, b, c, d, e, f] = *fixed;
    [a, b, c, d, e, f, pts_in.into(), pts_out.into()]
}

/// An XYZZ point (x = X/ZZ, y = Y/ZZZ) read back from the device, as arkworks' Jacobian point
/// `(X·ZZ·ZZZ², Y·ZZ³·ZZZ², ZZ·ZZZ)`, which needs no inversion.
fn xyzz_to_projective(words: &[u32]) -> Result<G1Projective> {
    let coord = |k: usize| {
        Fq::decode(&words[8 * k..8 * k + 8]).ok_or(KernelError::NonCanonical {
            index: k,
            reason: "msm window sum read back unreduced",
        })
    };
    let (x, y, zz, zzz) = (coord(0)?, coord(1)?, coord(2)?, coord(3)?);
    if zz.is_zero() {
        return Ok(G1Projective::zero());
    }
    let zzz_sq = zzz.square();
    let zz_cube = zz.square() * zz;
    Ok(G1Projective::new_unchecked(
        x * zz * zzz_sq,
        y * zz_cube * zzz_sq,
        zz * zzz,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_the_recoded_bits() {
        for log_n in 0..=28 {
            let c = window_bits(1 << log_n);
            assert!((4..=16).contains(&c));
            assert!(RECODED_BITS.div_ceil(c) * c >= RECODED_BITS);
        }
    }
}
