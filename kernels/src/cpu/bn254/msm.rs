//! Multi-scalar multiplication on BN254 G1: Pippenger's bucket method with signed (Booth) digits and
//! batch-affine bucket accumulation.
//!
//! Scalars are cut into `W = ceil(255 / c)` windows of `c` bits, each recoded as a signed digit in
//! `[-2^(c-1), 2^(c-1)]` (Booth recoding: a digit depends only on its own `c` bits and the bit below, so
//! every window is computed independently). A negative digit adds the negated base, which is free in
//! affine coordinates, so a window needs only `2^(c-1)` buckets.
//!
//! Per window (windows are independent; each thread takes the next window until none is left):
//! 1. counting sort: every point with a non-zero digit is copied, negated if needed, into its bucket's
//!    segment of a scratch array of cache-line-sized affine points;
//! 2. each bucket's points are summed by a pairwise tree, in rounds: every round adds the pairs of all
//!    buckets at once in **affine** coordinates, sharing one field inversion among all of them
//!    (Montgomery's batch inversion). An affine addition then costs about 6 multiplications, against
//!    about 11 for the mixed Jacobian addition arkworks' buckets use. Equal points are doubled and
//!    `P + (-P)` gives the identity, so repeated bases and cancelling pairs are exact;
//! 3. the bucket sums are combined by the usual running sum, `sum_b b·B_b`, in Jacobian coordinates.
//!
//! The window sums are combined by Horner's rule (`c` doublings per window). The window size minimises
//! a cost model of both phases, rounded up to whole rounds of windows over the pool's threads.
//!
//! The GLV endomorphism (`φ(x, y) = (βx, y)`, splitting scalars into 128-bit halves) was implemented
//! and measured on a 2-core host: it halves the windows but doubles the points per window, and here,
//! where the per-point bucket additions and their memory traffic dominate (the bucket reductions it
//! saves are a few percent of the time), it gained nothing at 2^16 points and lost about 8% at 2^18,
//! so it is not used.

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};

use ark_ec::AdditiveGroup;
use ark_ff::{BigInt, BigInteger, Field, One, PrimeField, Zero};
use rayon::prelude::*;

use crate::error::{require_len, Result};
use crate::field::{Fq, Fr, G1Affine, G1Projective};

/// A scalar out of Montgomery form, as little-endian 64-bit limbs.
type Scalar = BigInt<4>;

/// Bits the signed windows must cover: scalars are below r < 2^254, and Booth recoding over `W·c` bits
/// is exact when bit `W·c - 1` is zero, so `W·c >= 255`.
const RECODED_BITS: usize = 255;

/// Window sizes the cost model chooses from.
const MIN_WINDOW: usize = 1;
const MAX_WINDOW: usize = 20;

/// Most points one Pippenger run takes (its bucket offsets are `u32`).
const MAX_POINTS: usize = u32::MAX as usize;

/// Fewest scalars one rayon task converts.
const MIN_TASK: usize = 1 << 10;

/// `sum scalars[i] * bases[i]`, equal as a group element to ark-ec `VariableBaseMSM::msm`.
///
/// Different lengths are a [`crate::KernelError::LengthMismatch`] (ark-ec returns an error for them too);
/// an empty MSM is the identity. Bases are taken to be points of the curve, as `G1Affine`'s checked
/// constructors guarantee; for an off-curve point (only constructible unchecked) the result is
/// meaningless, as it is for arkworks, but the call still returns normally.
pub fn msm(bases: &[G1Affine], scalars: &[Fr]) -> Result<G1Projective> {
    require_len("bn254 msm scalars", bases.len(), scalars.len())?;
    let bigints: Vec<Scalar> = scalars
        .par_iter()
        .with_min_len(MIN_TASK)
        .map(|s| s.into_bigint())
        .collect();
    // Identity bases and zero scalars contribute nothing; dropping them up front keeps the identity
    // out of the affine additions (the only identities left are those cancellations create).
    let useless = |(b, s): (&G1Affine, &Scalar)| b.infinity || s.is_zero();
    let (bases, bigints): (Cow<'_, [G1Affine]>, Vec<Scalar>) =
        if bases.par_iter().zip(&bigints).any(useless) {
            let (b, s): (Vec<G1Affine>, Vec<Scalar>) = bases
                .iter()
                .zip(bigints)
                .filter(|&(b, s)| !useless((b, &s)))
                .map(|(b, s)| (*b, s))
                .unzip();
            (Cow::Owned(b), s)
        } else {
            (Cow::Borrowed(bases), bigints)
        };
    if bases.is_empty() {
        return Ok(G1Projective::zero());
    }
    // Bucket offsets are u32: an MSM beyond 2^32 points (256 GiB of bases) is summed in parts.
    Ok(bases
        .chunks(MAX_POINTS)
        .zip(bigints.chunks(MAX_POINTS))
        .map(|(b, k)| pippenger(b, k, window_size(b.len(), rayon::current_num_threads())))
        .sum())
}

/// The window size minimising an estimate, in field multiplications, of the whole MSM on `threads`
/// threads: per window, about 8 per point (6 for the batch-affine addition, the rest for the sort and
/// the memory traffic) and 27 per bucket (a mixed and a full Jacobian addition in the running sum).
fn window_size(n: usize, threads: usize) -> usize {
    let threads = threads.max(1);
    (MIN_WINDOW..=MAX_WINDOW)
        .min_by_key(|&c| {
            let windows = RECODED_BITS.div_ceil(c);
            let rounds = windows.div_ceil(threads);
            let per_window = 8 * n as u128 + 27 * (1u128 << (c - 1));
            rounds as u128 * per_window
        })
        .expect("the window range is not empty")
}

/// Pippenger with `c`-bit signed windows over non-identity bases and non-zero scalars of equal length.
fn pippenger(bases: &[G1Affine], scalars: &[Scalar], c: usize) -> G1Projective {
    debug_assert_eq!(bases.len(), scalars.len());
    debug_assert!((MIN_WINDOW..=MAX_WINDOW).contains(&c));
    let windows = RECODED_BITS.div_ceil(c);
    // One task per thread, each with one set of scratch buffers, pulling windows off a shared counter:
    // the buffers are allocated (and page-faulted) once per thread, not once per window, and a thread
    // that falls behind (another process on the core) just takes fewer windows.
    let next = AtomicUsize::new(0);
    let tasks = rayon::current_num_threads()
        .min(windows)
        .min(max_tasks(bases.len()))
        .max(1);
    let mut sums: Vec<(usize, G1Projective)> = (0..tasks)
        .into_par_iter()
        .flat_map_iter(|_| {
            let mut scratch = Scratch::default();
            let mut done = Vec::new();
            loop {
                let w = next.fetch_add(1, Ordering::Relaxed);
                if w >= windows {
                    break;
                }
                done.push((w, window_sum(bases, scalars, w, c, &mut scratch)));
            }
            done
        })
        .collect();
    sums.sort_unstable_by_key(|&(w, _)| w);
    debug_assert_eq!(sums.len(), windows);
    // Horner from the top window: sum_w 2^(w·c) S_w.
    let mut acc = G1Projective::zero();
    for (_, s) in sums.iter().rev() {
        for _ in 0..c {
            acc.double_in_place();
        }
        acc += s;
    }
    acc
}

/// Scratch memory all window tasks together may hold: each holds about 68 bytes per point.
const SCRATCH_BUDGET: usize = 4 << 30;

/// How many window tasks may run at once on `n` points within [`SCRATCH_BUDGET`] (at least one):
/// only hosts with many threads and MSMs of millions of points give up parallelism for memory.
fn max_tasks(n: usize) -> usize {
    let per_task = n.saturating_mul(core::mem::size_of::<Point>() + core::mem::size_of::<i32>());
    (SCRATCH_BUDGET / per_task.max(1)).max(1)
}

/// An affine point of the bucket arrays, exactly one cache line, so scattering a point into its bucket
/// touches one line (a `G1Affine`, 72 bytes with its flag, always straddles two).
///
/// The identity, which only arises here from `P + (-P)`, is `y = 0`: no point of BN254 G1 has `y = 0`
/// (that would be a point of order 2, and the group has prime order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(64))]
struct Point {
    x: Fq,
    y: Fq,
}

impl Point {
    const IDENTITY: Self = Self {
        x: Fq::ZERO,
        y: Fq::ZERO,
    };

    #[inline]
    fn is_identity(&self) -> bool {
        self.y.is_zero()
    }
}

/// Buffers one window task reuses for the next window it runs (they are large: allocating them per
/// window would page-fault fresh memory every time).
#[derive(Default)]
struct Scratch {
    /// Signed digit of every point in the current window.
    digits: Vec<i32>,
    /// Start of every bucket's segment in `points`.
    starts: Vec<u32>,
    /// Live points of every bucket; they sit at `starts[b] + k·stride`.
    lens: Vec<u32>,
    /// Buckets with at least two live points.
    active: Vec<u32>,
    /// The points, grouped by bucket.
    points: Vec<Point>,
    /// The batch-inversion buffers.
    batch: Batch,
}

/// Booth digit `w` of `k` in `[-2^(c-1), 2^(c-1)]`: bits `w·c .. w·c + c` of `k` and the bit below,
/// `d = b_{-1} + sum_{j < c-1} b_j 2^j - b_{c-1} 2^(c-1)`. Over all windows these sum to `k` (the top
/// bit of each window is borrowed back by the next one).
#[inline]
fn booth_digit(k: &Scalar, w: usize, c: usize) -> i32 {
    // v = bits [w·c - 1, w·c + c) with the bit below window 0 being zero.
    let v = if w == 0 {
        bits(k, 0, c) << 1
    } else {
        bits(k, w * c - 1, c + 1)
    };
    // (v + 1) >> 1 = b_{-1} + sum_{j < c} b_j 2^j; subtracting 2^c·b_{c-1} makes the top bit negative.
    (((v + 1) >> 1) as i64 - (((v >> c) << c) as i64)) as i32
}

/// `len <= 32` bits of `k` from bit `pos` (bits past the end are zero).
#[inline]
fn bits(k: &Scalar, pos: usize, len: usize) -> u64 {
    let limbs = &k.0;
    let (li, sh) = (pos / 64, pos % 64);
    if li >= limbs.len() {
        return 0;
    }
    let mut v = limbs[li] >> sh;
    if sh + len > 64 && li + 1 < limbs.len() {
        v |= limbs[li + 1] << (64 - sh);
    }
    v & ((1u64 << len) - 1)
}

/// `sum_b b · (sum of the points whose digit in window w is ±b)`, with the signs applied.
fn window_sum(
    bases: &[G1Affine],
    scalars: &[Scalar],
    w: usize,
    c: usize,
    s: &mut Scratch,
) -> G1Projective {
    let num_buckets = 1usize << (c - 1);

    // Counting sort of the points into buckets |d| - 1.
    s.digits.clear();
    s.digits
        .extend(scalars.iter().map(|k| booth_digit(k, w, c)));
    s.lens.clear();
    s.lens.resize(num_buckets, 0);
    for &d in &s.digits {
        if d != 0 {
            s.lens[(d.unsigned_abs() - 1) as usize] += 1;
        }
    }
    s.starts.clear();
    let mut total = 0u32;
    s.starts.extend(s.lens.iter().map(|&len| {
        let start = total;
        total += len;
        start
    }));
    let m = total as usize;
    if s.points.len() < m {
        // Only ever grows; every slot below m is overwritten by the scatter.
        s.points.resize(m, Point::IDENTITY);
    }
    let points = &mut s.points[..m];
    // `lens` doubles as the scatter cursor: count back up from zero.
    s.lens.iter_mut().for_each(|l| *l = 0);
    for (&d, base) in s.digits.iter().zip(bases) {
        if d != 0 {
            let b = (d.unsigned_abs() - 1) as usize;
            let slot = (s.starts[b] + s.lens[b]) as usize;
            points[slot] = Point {
                x: base.x,
                y: if d < 0 { -base.y } else { base.y },
            };
            s.lens[b] += 1;
        }
    }

    // Pairwise tree sums, all buckets per round.
    s.active.clear();
    s.active
        .extend((0..num_buckets as u32).filter(|&b| s.lens[b as usize] >= 2));
    let mut stride = 1usize;
    while !s.active.is_empty() {
        add_pairs(
            points,
            &s.starts,
            &mut s.lens,
            &s.active,
            stride,
            &mut s.batch,
        );
        stride *= 2;
        let lens = &s.lens;
        s.active.retain(|&b| lens[b as usize] >= 2);
    }

    // sum_b (b + 1)·B_b as the sum of the running sums from the top bucket down.
    let mut running = G1Projective::zero();
    let mut sum = G1Projective::zero();
    let top = s.lens.iter().rposition(|&l| l > 0).map_or(0, |b| b + 1);
    for b in (0..top).rev() {
        if s.lens[b] == 1 {
            let p = points[s.starts[b] as usize];
            if !p.is_identity() {
                running += &G1Affine::new_unchecked(p.x, p.y);
            }
        }
        sum += &running;
    }
    sum
}

/// What adding two affine points takes.
enum Pair {
    /// A field inversion of the given denominator (a chord or tangent slope).
    Slope(Fq),
    /// The identity (`P + (-P)`).
    Identity,
    /// The first point unchanged (the second is the identity).
    First,
    /// The second point (the first is the identity).
    Second,
}

#[inline]
fn classify(a: &Point, b: &Point) -> Pair {
    if b.is_identity() {
        Pair::First
    } else if a.is_identity() {
        Pair::Second
    } else if a.x != b.x {
        Pair::Slope(b.x - a.x)
    } else if a.y == b.y {
        // Doubling: the tangent's denominator 2y is non-zero as y != 0.
        Pair::Slope(a.y.double())
    } else {
        Pair::Identity
    }
}

/// Pairs per batch inversion. A batch's points (2 cache lines per pair) and prefix products stay in
/// L2 between the forward pass that reads them and the backward pass that finishes the additions,
/// while the one inversion per batch (a few hundred multiplications' worth) is amortised over
/// thousands of additions.
const BATCH: usize = 2048;

/// One round of the bucket trees: in every active bucket, live points `2t` and `2t + 1` (at
/// `starts[b] + k·stride`) are added into the slot of `2t`, so the live points of the next round sit at
/// twice the stride; an odd last point is already in its next-round slot.
fn add_pairs(
    points: &mut [Point],
    starts: &[u32],
    lens: &mut [u32],
    active: &[u32],
    stride: usize,
    batch: &mut Batch,
) {
    batch.pairs.clear();
    for &b in active {
        let (start, len) = (starts[b as usize] as usize, lens[b as usize] as usize);
        for t in 0..len / 2 {
            batch.pairs.push(start + 2 * t * stride);
            if batch.pairs.len() == BATCH {
                batch.add(points, stride);
                batch.pairs.clear();
            }
        }
        lens[b as usize] = len.div_ceil(2) as u32;
    }
    batch.add(points, stride);
}

/// Independent affine additions `points[i] += points[i + stride]` for `i` in `pairs`, sharing one
/// field inversion (Montgomery's trick), with their prefix-product buffer.
#[derive(Default)]
struct Batch {
    pairs: Vec<usize>,
    prefix: Vec<Fq>,
}

impl Batch {
    fn add(&mut self, points: &mut [Point], stride: usize) {
        if self.pairs.is_empty() {
            return;
        }
        // Forward: prefix products of all denominators.
        self.prefix.clear();
        let mut acc = Fq::one();
        for &i in &self.pairs {
            if let Pair::Slope(d) = classify(&points[i], &points[i + stride]) {
                self.prefix.push(acc);
                acc *= d;
            }
        }
        // Every denominator is non-zero (distinct x, or 2y with y != 0), hence so is their product.
        let mut inv = if self.prefix.is_empty() {
            Fq::one()
        } else {
            acc.inverse()
                .expect("a product of non-zero field elements is invertible")
        };
        // Backward: peel one denominator's inverse off at a time and finish its addition.
        let mut k = self.prefix.len();
        for &i in self.pairs.iter().rev() {
            let (p, q) = (points[i], points[i + stride]);
            points[i] = match classify(&p, &q) {
                Pair::Slope(d) => {
                    k -= 1;
                    let d_inv = inv * self.prefix[k];
                    inv *= d;
                    let lambda = if p.x == q.x {
                        let xx = p.x.square();
                        (xx.double() + xx) * d_inv
                    } else {
                        (q.y - p.y) * d_inv
                    };
                    let x = lambda.square() - p.x - q.x;
                    let y = lambda * (p.x - x) - p.y;
                    // For on-curve inputs y != 0 here (the sum is not the identity); an off-curve input
                    // could produce 0, which then reads as the identity: meaningless but harmless.
                    Point { x, y }
                }
                Pair::Identity => Point::IDENTITY,
                Pair::First => p,
                Pair::Second => q,
            };
        }
        debug_assert_eq!(k, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::{CurveGroup, PrimeGroup, VariableBaseMSM};
    use ark_std::UniformRand;
    use rand::Rng;
    use rand_chacha::ChaCha8Rng;

    use crate::error::KernelError;

    fn rng() -> ChaCha8Rng {
        crate::test_util::rng("bn254 msm")
    }

    /// `n` random points, cheaply: a few random multiples of the generator and sums of them.
    fn random_bases(rng: &mut ChaCha8Rng, n: usize) -> Vec<G1Affine> {
        let seeds: Vec<G1Projective> = (0..8).map(|_| G1Projective::rand(rng)).collect();
        let mut acc = G1Projective::rand(rng);
        let points: Vec<G1Projective> = (0..n)
            .map(|_| {
                acc += seeds[rng.gen_range(0..seeds.len())];
                acc
            })
            .collect();
        G1Projective::normalize_batch(&points)
    }

    fn random_scalars(rng: &mut ChaCha8Rng, n: usize) -> Vec<Fr> {
        (0..n).map(|_| Fr::rand(rng)).collect()
    }

    fn reference(bases: &[G1Affine], scalars: &[Fr]) -> G1Projective {
        G1Projective::msm(bases, scalars).expect("equal lengths")
    }

    fn check(bases: &[G1Affine], scalars: &[Fr], what: &str) {
        let expected = reference(bases, scalars);
        assert_eq!(
            msm(bases, scalars).expect("equal lengths"),
            expected,
            "{what}, n = {}",
            bases.len()
        );
        // Every window size, also those the cost model would not pick for this n.
        if bases.len() <= 64 {
            let (b, k): (Vec<G1Affine>, Vec<Scalar>) = bases
                .iter()
                .zip(scalars)
                .filter(|(b, k)| !b.infinity && !k.is_zero())
                .map(|(b, k)| (*b, k.into_bigint()))
                .unzip();
            for c in MIN_WINDOW..=12 {
                assert_eq!(
                    pippenger(&b, &k, c),
                    expected,
                    "{what}, n = {}, c = {c}",
                    bases.len()
                );
            }
        }
    }

    /// 0, 1, r - 1, (r ± 1)/2, 2^k ± 1: the corners of the digit recoding.
    fn edge_scalars() -> Vec<Fr> {
        let two_inv = Fr::from(2u64).inverse().expect("2 is invertible");
        let mut v = vec![
            Fr::zero(),
            Fr::one(),
            -Fr::one(),
            -Fr::from(2u64),
            two_inv,
            two_inv - Fr::one(),
        ];
        for k in [1u32, 12, 13, 63, 64, 127, 128, 200, 252, 253] {
            let p = Fr::from(2u64).pow([u64::from(k)]);
            v.extend([p, p - Fr::one(), p + Fr::one(), -p]);
        }
        v
    }

    #[test]
    fn booth_digits_reconstruct_the_scalar() {
        let mut rng = rng();
        let mut scalars = random_scalars(&mut rng, 50);
        scalars.extend(edge_scalars());
        for s in scalars {
            let k = s.into_bigint();
            for c in MIN_WINDOW..=MAX_WINDOW {
                let mut acc = Fr::zero();
                let windows = RECODED_BITS.div_ceil(c);
                for w in (0..windows).rev() {
                    let d = booth_digit(&k, w, c);
                    assert!(
                        d.unsigned_abs() <= 1 << (c - 1),
                        "digit {d} out of range for c = {c}"
                    );
                    acc = acc * Fr::from(1u64 << c) + Fr::from(d as i64);
                }
                assert_eq!(acc, s, "c = {c}");
            }
        }
    }

    #[test]
    fn matches_ark_ec_on_random_inputs() {
        let mut rng = rng();
        for n in [
            1usize,
            2,
            3,
            4,
            5,
            7,
            8,
            9,
            16,
            17,
            31,
            32,
            33,
            64,
            65,
            1 << 10,
            (1 << 10) + 1,
            1 << 12,
        ] {
            let bases = random_bases(&mut rng, n);
            let scalars = random_scalars(&mut rng, n);
            check(&bases, &scalars, "random");
        }
    }

    #[test]
    fn empty_and_mismatched() {
        assert_eq!(msm(&[], &[]), Ok(G1Projective::zero()));
        let mut rng = rng();
        let bases = random_bases(&mut rng, 3);
        let scalars = random_scalars(&mut rng, 2);
        assert_eq!(
            msm(&bases, &scalars),
            Err(KernelError::LengthMismatch {
                what: "bn254 msm scalars",
                expected: 3,
                actual: 2
            })
        );
        assert!(msm(&bases[..2], &scalars[..0]).is_err());
    }

    #[test]
    fn identities_and_zero_scalars() {
        let mut rng = rng();
        for n in [1usize, 2, 3, 33, 1 << 10] {
            let mut bases = random_bases(&mut rng, n);
            let mut scalars = random_scalars(&mut rng, n);
            for i in (0..n).step_by(3) {
                bases[i] = G1Affine::identity();
            }
            for i in (1..n).step_by(4) {
                scalars[i] = Fr::zero();
            }
            check(&bases, &scalars, "identities and zeros");
            check(&vec![G1Affine::identity(); n], &scalars, "all identities");
            check(&bases, &vec![Fr::zero(); n], "all zero scalars");
        }
    }

    #[test]
    fn extreme_scalars() {
        let mut rng = rng();
        let minus_one = -Fr::one();
        for n in [1usize, 2, 5, 64, (1 << 10) + 1] {
            let bases = random_bases(&mut rng, n);
            check(&bases, &vec![minus_one; n], "r - 1");
            check(&bases, &vec![Fr::one(); n], "one");
            let mixed: Vec<Fr> = (0..n)
                .map(|i| match i % 5 {
                    0 => minus_one,
                    1 => Fr::one(),
                    2 => -Fr::from(2u64),
                    3 => Fr::from(1u64 << 63),
                    _ => Fr::rand(&mut rng),
                })
                .collect();
            check(&bases, &mixed, "mixed extremes");
            let edges = edge_scalars();
            let cycled: Vec<Fr> = (0..n).map(|i| edges[i % edges.len()]).collect();
            check(&bases, &cycled, "edge scalars");
        }
    }

    #[test]
    fn repeated_and_opposite_points() {
        let mut rng = rng();
        for n in [2usize, 3, 4, 8, 9, 64, 1 << 10, (1 << 12) + 1] {
            let p = random_bases(&mut rng, 1)[0];
            let few = random_bases(&mut rng, 3);
            let scalar = Fr::rand(&mut rng);
            // The same point with the same scalar: every bucket doubles, several rounds deep.
            check(&vec![p; n], &vec![scalar; n], "one point repeated");
            // P and -P with the same scalar: everything cancels, at every tree level.
            let alternating: Vec<G1Affine> =
                (0..n).map(|i| if i % 2 == 0 { p } else { -p }).collect();
            check(&alternating, &vec![scalar; n], "P, -P alternating");
            // A mix of repeats, negations and identities with random and equal scalars.
            let mixed: Vec<G1Affine> = (0..n)
                .map(|i| match rng.gen_range(0..5) {
                    0 => p,
                    1 => -p,
                    2 => few[i % 3],
                    3 => -few[i % 3],
                    _ => G1Affine::identity(),
                })
                .collect();
            let scalars: Vec<Fr> = (0..n)
                .map(|_| {
                    if rng.gen_bool(0.5) {
                        scalar
                    } else {
                        Fr::rand(&mut rng)
                    }
                })
                .collect();
            check(&mixed, &scalars, "mixed repeats");
            // -P with the negated scalar doubles P's contribution through opposite digits.
            let negated: Vec<Fr> = (0..n)
                .map(|i| if i % 2 == 0 { scalar } else { -scalar })
                .collect();
            check(&alternating, &negated, "P, -P with opposite scalars");
        }
    }

    #[test]
    fn small_multiples_of_the_generator() {
        // Bases i·G with scalars that make buckets hit equal and opposite partial sums.
        let g = G1Projective::generator();
        let bases = G1Projective::normalize_batch(
            &(1..=40u64).map(|i| g * Fr::from(i)).collect::<Vec<_>>(),
        );
        let scalars: Vec<Fr> = (0..40u64).map(|i| Fr::from(40 - i)).collect();
        check(&bases, &scalars, "small multiples");
    }

    #[test]
    fn window_choice_is_in_range() {
        for log_n in 0..=24 {
            for threads in [1, 2, 16] {
                let c = window_size(1 << log_n, threads);
                assert!((MIN_WINDOW..=MAX_WINDOW).contains(&c));
            }
        }
        assert!(window_size(1 << 16, 2) >= 10);
    }

    #[test]
    fn scratch_budget_caps_tasks_only_for_huge_msms() {
        assert!(max_tasks(1 << 20) >= 16);
        assert_eq!(max_tasks(1 << 28), 1);
        assert_eq!(max_tasks(0), SCRATCH_BUDGET);
    }

    #[test]
    fn point_is_one_cache_line() {
        assert_eq!(core::mem::size_of::<Point>(), 64);
        assert_eq!(core::mem::align_of::<Point>(), 64);
    }
}
