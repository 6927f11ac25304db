//! BN254 scalar-field FFT and G1 MSM on the CPU (rayon).
use crate::backend::Bn254FftKind;
use crate::error::Result;
use crate::field::{Fr, G1Affine, G1Projective};

/// In-place FFT; `values.len()` is the domain size (a power of two).
pub fn fft(values: &mut [Fr], kind: Bn254FftKind) -> Result<()> {
    let _ = (values, kind);
    todo!("helper C")
}

/// `sum scalars[i] * bases[i]`.
pub fn msm(bases: &[G1Affine], scalars: &[Fr]) -> Result<G1Projective> {
    let _ = (bases, scalars);
    todo!("helper C")
}
