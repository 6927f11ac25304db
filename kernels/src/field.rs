//! The element types the kernels operate on and their device encoding.
//!
//! Goldilocks is plonky2's own `GoldilocksField` and BN254 types are arkworks' own, so results can be
//! handed to plonky2/starky and arkworks without conversion. Device backends see elements as little-endian
//! `u32` words through [`DeviceElement`].

use ark_ff::{BigInt, PrimeField};
use plonky2_field::types::{Field, PrimeField64};

/// The Goldilocks field p = 2^64 - 2^32 + 1, as plonky2 defines it.
pub type Goldilocks = plonky2_field::goldilocks_field::GoldilocksField;
/// A Poseidon digest over Goldilocks, as plonky2 defines it.
pub type HashOut = plonky2::hash::hash_types::HashOut<Goldilocks>;
/// The BN254 scalar field.
pub type Fr = ark_bn254::Fr;
/// The BN254 base field.
pub type Fq = ark_bn254::Fq;
/// A BN254 G1 point in affine coordinates (the MSM bases).
pub type G1Affine = ark_bn254::G1Affine;
/// A BN254 G1 point in projective (Jacobian) coordinates (the MSM result).
pub type G1Projective = ark_bn254::G1Projective;

/// The Goldilocks modulus.
pub const GOLDILOCKS_P: u64 = 0xFFFF_FFFF_0000_0001;

/// How an element travels to and from a device: a fixed number of little-endian `u32` words.
///
/// The encoding is canonical for Goldilocks (the value in `[0, p)`, low word first) and Montgomery
/// form for BN254 fields (arkworks' internal limbs), so a device kernel computes on what it receives
/// without conversion.
pub trait DeviceElement: Copy + Send + Sync + PartialEq + core::fmt::Debug + 'static {
    /// Number of `u32` words of one element.
    const WORDS: usize;
    /// Writes the element's words into `out` (`out.len() == WORDS`).
    fn encode(&self, out: &mut [u32]);
    /// Reads an element back; `None` if the words are not a valid element.
    fn decode(words: &[u32]) -> Option<Self>;
}

impl DeviceElement for Goldilocks {
    const WORDS: usize = 2;
    fn encode(&self, out: &mut [u32]) {
        let v = self.to_canonical_u64();
        out[0] = v as u32;
        out[1] = (v >> 32) as u32;
    }
    fn decode(words: &[u32]) -> Option<Self> {
        let v = u64::from(words[0]) | (u64::from(words[1]) << 32);
        (v < GOLDILOCKS_P).then(|| Goldilocks::from_canonical_u64(v))
    }
}

fn encode_limbs<const N: usize>(limbs: &[u64; N], out: &mut [u32]) {
    for (i, l) in limbs.iter().enumerate() {
        out[2 * i] = *l as u32;
        out[2 * i + 1] = (*l >> 32) as u32;
    }
}

fn decode_limbs<const N: usize>(words: &[u32]) -> [u64; N] {
    let mut limbs = [0u64; N];
    for (i, l) in limbs.iter_mut().enumerate() {
        *l = u64::from(words[2 * i]) | (u64::from(words[2 * i + 1]) << 32);
    }
    limbs
}

macro_rules! impl_device_element_for_ark_field {
    ($ty:ty) => {
        impl DeviceElement for $ty {
            const WORDS: usize = 8;
            fn encode(&self, out: &mut [u32]) {
                // Montgomery limbs, exactly as arkworks holds them.
                encode_limbs(&(self.0).0, out);
            }
            fn decode(words: &[u32]) -> Option<Self> {
                let mont = BigInt::<4>(decode_limbs::<4>(words));
                // A Montgomery representative must be reduced, like any arkworks element.
                (mont < <$ty as PrimeField>::MODULUS).then(|| ark_ff::Fp::new_unchecked(mont))
            }
        }
    };
}
impl_device_element_for_ark_field!(Fr);
impl_device_element_for_ark_field!(Fq);

impl DeviceElement for G1Affine {
    /// x, y (Montgomery limbs), then one word holding the infinity flag.
    const WORDS: usize = 17;
    fn encode(&self, out: &mut [u32]) {
        self.x.encode(&mut out[0..8]);
        self.y.encode(&mut out[8..16]);
        out[16] = u32::from(self.infinity);
    }
    fn decode(words: &[u32]) -> Option<Self> {
        let x = Fq::decode(&words[0..8])?;
        let y = Fq::decode(&words[8..16])?;
        match words[16] {
            0 => {
                let p = G1Affine::new_unchecked(x, y);
                p.is_on_curve().then_some(p)
            }
            1 => Some(G1Affine::identity()),
            _ => None,
        }
    }
}

/// The plonky2 root of unity of order 2^log_n that all Goldilocks transforms use.
pub fn goldilocks_root_of_unity(log_n: usize) -> Goldilocks {
    Goldilocks::primitive_root_of_unity(log_n)
}
