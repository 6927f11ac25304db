//! Radix-2 FFT over the BN254 scalar field with ark-poly `Radix2EvaluationDomain` semantics.
//!
//! The transform is a decimation-in-frequency (Gentleman–Sande) network — natural order in,
//! bit-reversed order out — followed by one bit-reversal permutation, so input and output are both in
//! natural order like ark-poly's `fft_in_place`/`ifft_in_place`. The subgroup generator is
//! `Fr::get_root_of_unity(n)`, exactly the one ark-poly's domain uses, so results are identical
//! element for element.
//!
//! Where the time goes and what is done about it:
//! - twiddles come from one table laid out per stage (`tw[g + j] = ω_{2g}^j`), so every stage reads
//!   its twiddles contiguously instead of with a growing stride;
//! - the butterflies whose twiddle is 1 (the first of every group, the whole last stage) skip the
//!   multiplication, about `n` multiplications out of `n/2·log n`;
//! - the stages whose butterfly groups are larger than a cache-sized block run one pass each with
//!   rayon over slices of the group; the remaining stages run depth-first inside each block (one
//!   rayon task per block), so the data of those `log(BLOCK)` stages stays in L1/L2;
//! - the inverse reuses the forward network: `ifft(x)_k = fft(x)_{-k} / n`, so it is the forward
//!   transform, a reversal of indices `1..n`, and the scaling by `1/n` fused with the coset's
//!   `offset^{-i}` factors.

use ark_ff::{FftField, Field, One, Zero};
use rayon::prelude::*;

use crate::backend::Bn254FftKind;
use crate::error::{require_pow2, KernelError, Result};
use crate::field::Fr;

/// The largest supported log2 domain size: BN254 Fr's two-adicity.
pub const MAX_LOG_N: usize = Fr::TWO_ADICITY as usize;

/// log2 of the block whose remaining stages run depth-first: 2^10 elements are 32 KiB, an L1 data cache.
const BLOCK_LOG: usize = 10;

/// Fewest elements one rayon task handles in an elementwise pass (scaling, twiddle generation):
/// below this the task overhead outweighs the work.
const MIN_TASK: usize = 1 << 11;

/// Below this size the bit-reversal permutation runs serially.
const PAR_PERMUTE_MIN: usize = 1 << 14;

/// In-place FFT over `values.len()` points (a power of two up to 2^[`MAX_LOG_N`]), natural order in and
/// out, with ark-poly `Radix2EvaluationDomain` semantics for each [`Bn254FftKind`].
///
/// Errors: [`KernelError::NotPowerOfTwo`] for a length that is not a power of two — including 0, which
/// is no domain size; [`KernelError::SizeTooLarge`] above 2^28; [`KernelError::InvalidArgument`] for a
/// zero coset offset (both coset kinds: ark-poly's `get_coset(0)` has no domain to return, since the
/// offset must be invertible).
///
/// For n = 1 every kind is the identity, as in ark-poly: the single coefficient is multiplied by
/// `offset^0 = 1` and `1/n = 1`.
pub fn fft(values: &mut [Fr], kind: Bn254FftKind) -> Result<()> {
    let n = values.len();
    let log_n = domain_log_size(n)?;
    match kind {
        Bn254FftKind::Forward => forward(values, log_n),
        Bn254FftKind::Inverse => {
            let n_inv = size_inverse(n);
            inverse_unscaled(values, log_n);
            scale(values, n_inv);
        }
        Bn254FftKind::CosetForward(offset) => {
            require_invertible(offset)?;
            // Coefficient i times offset^i turns evaluation at ω^k into evaluation at offset·ω^k.
            distribute_powers(values, offset, Fr::one());
            forward(values, log_n);
        }
        Bn254FftKind::CosetInverse(offset) => {
            let offset_inv = require_invertible(offset)?;
            let n_inv = size_inverse(n);
            inverse_unscaled(values, log_n);
            distribute_powers(values, offset_inv, n_inv);
        }
    }
    Ok(())
}

/// log2 of a valid domain size.
fn domain_log_size(n: usize) -> Result<usize> {
    let log_n = require_pow2("bn254 fft", n)?;
    if log_n > MAX_LOG_N {
        return Err(KernelError::SizeTooLarge {
            what: "bn254 fft",
            log_n,
            max_log_n: MAX_LOG_N,
        });
    }
    Ok(log_n)
}

fn require_invertible(offset: Fr) -> Result<Fr> {
    offset.inverse().ok_or_else(|| {
        KernelError::InvalidArgument("bn254 fft: coset offset must be non-zero".into())
    })
}

/// `1/n` in Fr.
fn size_inverse(n: usize) -> Fr {
    // n <= 2^28 < r, so n is a non-zero field element.
    Fr::from(n as u64)
        .inverse()
        .expect("a domain size below the modulus is invertible")
}

/// Natural order in, natural order out, evaluations at `ω^k`.
fn forward(values: &mut [Fr], log_n: usize) {
    if log_n == 0 {
        return;
    }
    let tw = twiddles(log_n);
    dif_to_bit_reversed(values, &tw);
    bit_reverse_permute(values, log_n);
}

/// `n · ifft(values)`: the forward transform with the output index negated modulo n.
fn inverse_unscaled(values: &mut [Fr], log_n: usize) {
    if log_n == 0 {
        return;
    }
    forward(values, log_n);
    values[1..].reverse();
}

/// The per-stage twiddle table: for every stage half-size `g` (a power of two below n),
/// `tw[g + j] = ω_{2g}^j` for `j < g`, where `ω_{2g} = ω^{n/2g}` and ω is ark's generator of the
/// order-n subgroup. Index 0 is unused. Requires `1 <= log_n <= MAX_LOG_N`.
fn twiddles(log_n: usize) -> Vec<Fr> {
    let n = 1usize << log_n;
    let half = n / 2;
    let omega =
        Fr::get_root_of_unity(n as u64).expect("2^log_n divides r - 1 for log_n <= TWO_ADICITY");
    let mut tw = vec![Fr::zero(); n];
    // The largest stage: ω^j for j < n/2, each task starting from its own power of ω.
    tw[half..]
        .par_chunks_mut(MIN_TASK)
        .enumerate()
        .for_each(|(ci, chunk)| {
            let mut p = omega.pow([(ci * MIN_TASK) as u64]);
            for t in chunk {
                *t = p;
                p *= omega;
            }
        });
    // Every smaller stage uses every other twiddle of the next larger one: ω_{2g}^j = ω_{4g}^{2j}.
    let mut g = half / 2;
    while g >= 1 {
        let (lower, upper) = tw.split_at_mut(2 * g);
        for (t, &src) in lower[g..].iter_mut().zip(upper.iter().step_by(2)) {
            *t = src;
        }
        g /= 2;
    }
    tw
}

/// The decimation-in-frequency network: natural order in, bit-reversed order out.
fn dif_to_bit_reversed(values: &mut [Fr], tw: &[Fr]) {
    let n = values.len();
    let block = n.min(1 << BLOCK_LOG);
    // Stages whose groups span more than a block: one pass over the whole array each.
    let mut g = n / 2;
    while 2 * g > block {
        let stage_tw = &tw[g..2 * g];
        // Split each group's butterflies into tasks so that even the first stage (one group) uses
        // every thread; a task is at least a block's worth so it amortises its scheduling.
        let task = (g / (2 * rayon::current_num_threads())).max(block / 2);
        values.par_chunks_mut(2 * g).for_each(|group| {
            let (lo, hi) = group.split_at_mut(g);
            lo.par_chunks_mut(task)
                .zip(hi.par_chunks_mut(task))
                .zip(stage_tw.par_chunks(task))
                .for_each(|((lo, hi), w)| butterflies(lo, hi, w));
        });
        g /= 2;
    }
    // The remaining stages (groups of at most `block`) depth-first inside each block.
    values.par_chunks_mut(block).for_each(|blk| {
        let mut g = block / 2;
        while g >= 2 {
            let stage_tw = &tw[g..2 * g];
            for group in blk.chunks_exact_mut(2 * g) {
                let (lo, hi) = group.split_at_mut(g);
                butterflies(lo, hi, stage_tw);
            }
            g /= 2;
        }
        // The last stage's only twiddle is ω_2^0 = 1.
        for pair in blk.chunks_exact_mut(2) {
            let (a, b) = (pair[0], pair[1]);
            pair[0] = a + b;
            pair[1] = a - b;
        }
    });
}

/// DIF butterflies `(a, b) <- (a + b, (a - b)·w)` over matching slices.
#[inline]
fn butterflies(lo: &mut [Fr], hi: &mut [Fr], w: &[Fr]) {
    debug_assert!(lo.len() == hi.len() && hi.len() == w.len());
    let mut start = 0;
    // The first twiddle of a group is ω^0 = 1: skip its multiplication.
    if w.first().is_some_and(|w0| w0.is_one()) {
        let (a, b) = (lo[0], hi[0]);
        lo[0] = a + b;
        hi[0] = a - b;
        start = 1;
    }
    for ((a, b), w) in lo[start..]
        .iter_mut()
        .zip(&mut hi[start..])
        .zip(&w[start..])
    {
        let d = *a - *b;
        *a += *b;
        *b = d * w;
    }
}

#[inline]
fn bit_reverse(i: usize, log_n: usize) -> usize {
    i.reverse_bits() >> (usize::BITS as usize - log_n)
}

/// A pointer to the elements of a slice that rayon tasks may share: the permutation below gives
/// every element to exactly one task.
#[derive(Clone, Copy)]
struct SharedPtr(*mut Fr);
// SAFETY: only used by `bit_reverse_permute`, whose tasks access disjoint elements.
unsafe impl Send for SharedPtr {}
unsafe impl Sync for SharedPtr {}
impl SharedPtr {
    // A method (not field access) so closures capture the whole `Send` wrapper, not the raw field.
    fn get(self) -> *mut Fr {
        self.0
    }
}

/// Permutes `values` (length 2^log_n, log_n >= 1) from bit-reversed to natural order.
fn bit_reverse_permute(values: &mut [Fr], log_n: usize) {
    let n = values.len();
    debug_assert_eq!(n, 1 << log_n);
    if n < PAR_PERMUTE_MIN {
        for i in 0..n {
            let r = bit_reverse(i, log_n);
            if i < r {
                values.swap(i, r);
            }
        }
        return;
    }
    let ptr = SharedPtr(values.as_mut_ptr());
    (0..n).into_par_iter().with_min_len(MIN_TASK).for_each(|i| {
        let r = bit_reverse(i, log_n);
        if i < r {
            // SAFETY: i, r < n are in bounds. Bit reversal is an involution, so the pairs {i, r} are
            // disjoint and each is swapped only by the task holding its smaller index: no element is
            // accessed by two tasks, and `values` is exclusively borrowed for the whole call.
            unsafe { core::ptr::swap(ptr.get().add(i), ptr.get().add(r)) };
        }
    });
}

/// `values[i] *= c · g^i`.
fn distribute_powers(values: &mut [Fr], g: Fr, c: Fr) {
    let chunk = values
        .len()
        .div_ceil(rayon::current_num_threads())
        .max(MIN_TASK);
    values
        .par_chunks_mut(chunk)
        .enumerate()
        .for_each(|(ci, part)| {
            let mut p = c * g.pow([(ci * chunk) as u64]);
            for v in part {
                *v *= p;
                p *= g;
            }
        });
}

/// `values[i] *= c`.
fn scale(values: &mut [Fr], c: Fr) {
    values
        .par_iter_mut()
        .with_min_len(MIN_TASK)
        .for_each(|v| *v *= c);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
    use ark_std::UniformRand;

    use rand_chacha::ChaCha8Rng;

    fn rng() -> ChaCha8Rng {
        crate::test_util::rng("bn254 fft")
    }

    fn random_vec(rng: &mut ChaCha8Rng, n: usize) -> Vec<Fr> {
        (0..n).map(|_| Fr::rand(rng)).collect()
    }

    fn reference(values: &[Fr], kind: Bn254FftKind) -> Vec<Fr> {
        let domain =
            Radix2EvaluationDomain::<Fr>::new(values.len()).expect("test sizes are valid domains");
        let mut v = values.to_vec();
        match kind {
            Bn254FftKind::Forward => domain.fft_in_place(&mut v),
            Bn254FftKind::Inverse => domain.ifft_in_place(&mut v),
            Bn254FftKind::CosetForward(o) => domain
                .get_coset(o)
                .expect("non-zero offset")
                .fft_in_place(&mut v),
            Bn254FftKind::CosetInverse(o) => domain
                .get_coset(o)
                .expect("non-zero offset")
                .ifft_in_place(&mut v),
        }
        assert_eq!(v.len(), values.len());
        v
    }

    const SIZES: [usize; 10] = [1, 2, 4, 8, 16, 1 << 10, 1 << 11, 1 << 12, 1 << 14, 1 << 15];

    #[test]
    fn matches_ark_poly_for_every_kind() {
        let mut rng = rng();
        for n in SIZES {
            let offset = Fr::rand(&mut rng);
            let kinds = [
                Bn254FftKind::Forward,
                Bn254FftKind::Inverse,
                Bn254FftKind::CosetForward(offset),
                Bn254FftKind::CosetInverse(offset),
                Bn254FftKind::CosetForward(Fr::from(7u64)),
                Bn254FftKind::CosetInverse(Fr::one()),
            ];
            let input = random_vec(&mut rng, n);
            for kind in kinds {
                let mut ours = input.clone();
                fft(&mut ours, kind).expect("valid size");
                assert_eq!(ours, reference(&input, kind), "n = {n}, kind = {kind:?}");
            }
        }
    }

    #[test]
    fn size_one_is_identity() {
        let mut rng = rng();
        let x = random_vec(&mut rng, 1);
        let offset = Fr::rand(&mut rng);
        for kind in [
            Bn254FftKind::Forward,
            Bn254FftKind::Inverse,
            Bn254FftKind::CosetForward(offset),
            Bn254FftKind::CosetInverse(offset),
        ] {
            let mut v = x.clone();
            fft(&mut v, kind).expect("valid size");
            assert_eq!(v, x, "{kind:?}");
        }
    }

    #[test]
    fn roundtrips() {
        let mut rng = rng();
        for n in SIZES {
            let x = random_vec(&mut rng, n);
            let offset = Fr::rand(&mut rng);
            let mut v = x.clone();
            fft(&mut v, Bn254FftKind::Forward).expect("valid size");
            fft(&mut v, Bn254FftKind::Inverse).expect("valid size");
            assert_eq!(v, x, "n = {n}");
            fft(&mut v, Bn254FftKind::CosetForward(offset)).expect("valid size");
            fft(&mut v, Bn254FftKind::CosetInverse(offset)).expect("valid size");
            assert_eq!(v, x, "coset n = {n}");
        }
    }

    #[test]
    fn evaluates_the_polynomial_at_the_coset() {
        // Independent of ark-poly: evaluation k of the coset FFT is p(offset·ω^k) by Horner.
        let mut rng = rng();
        let n = 64;
        let coeffs = random_vec(&mut rng, n);
        let offset = Fr::rand(&mut rng);
        let mut evals = coeffs.clone();
        fft(&mut evals, Bn254FftKind::CosetForward(offset)).expect("valid size");
        let omega = Fr::get_root_of_unity(n as u64).expect("2^6 divides r - 1");
        let mut point = offset;
        for e in evals {
            let horner = coeffs
                .iter()
                .rev()
                .fold(Fr::zero(), |acc, c| acc * point + c);
            assert_eq!(e, horner);
            point *= omega;
        }
    }

    #[test]
    fn rejects_bad_sizes_and_offsets() {
        for n in [0usize, 3, 5, 6, 12, (1 << 10) + 1] {
            let mut v = vec![Fr::one(); n];
            assert_eq!(
                fft(&mut v, Bn254FftKind::Forward),
                Err(KernelError::NotPowerOfTwo {
                    what: "bn254 fft",
                    len: n
                })
            );
        }
        // Too large to allocate in a test: check the size validation itself.
        assert_eq!(domain_log_size(1 << MAX_LOG_N), Ok(MAX_LOG_N));
        assert_eq!(
            domain_log_size(1 << (MAX_LOG_N + 1)),
            Err(KernelError::SizeTooLarge {
                what: "bn254 fft",
                log_n: MAX_LOG_N + 1,
                max_log_n: MAX_LOG_N
            })
        );
        let mut v = vec![Fr::one(); 8];
        for kind in [
            Bn254FftKind::CosetForward(Fr::zero()),
            Bn254FftKind::CosetInverse(Fr::zero()),
        ] {
            assert!(
                matches!(fft(&mut v, kind), Err(KernelError::InvalidArgument(_))),
                "{kind:?}"
            );
        }
        assert_eq!(
            v,
            vec![Fr::one(); 8],
            "a rejected call leaves the values alone"
        );
    }

    #[test]
    fn twiddle_table_layout() {
        let log_n = 5;
        let tw = twiddles(log_n);
        for log_g in 0..log_n {
            let g = 1usize << log_g;
            let w = Fr::get_root_of_unity(2 * g as u64).expect("small power of two");
            for j in 0..g {
                assert_eq!(tw[g + j], w.pow([j as u64]), "g = {g}, j = {j}");
            }
        }
    }
}
