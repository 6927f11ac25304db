//! BN254 scalar-field FFT and G1 multi-scalar multiplication on the CPU (rayon).
//!
//! Both return exactly what arkworks returns (ark-poly `Radix2EvaluationDomain`, ark-ec
//! `VariableBaseMSM::msm`), which their tests check against arkworks on random and edge-case inputs,
//! and both are faster than arkworks on the same threads: the FFT by skipping trivial twiddles and
//! keeping its late stages in cache, the MSM by accumulating Pippenger's buckets in affine coordinates
//! with batched inversions (see each module's documentation).

mod fft;
mod msm;

pub use fft::{fft, MAX_LOG_N};
pub use msm::msm;
