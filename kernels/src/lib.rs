//! # zknode-kernels
//!
//! The compute kernels under zkNode's prover, behind one explicit-context seam ([`Backend`]):
//!
//! | operation | reference it is bit-exact with |
//! | --- | --- |
//! | Goldilocks NTT / iNTT, natural or bit-reversed order, batched columns | plonky2 `fft` / `ifft` |
//! | coset LDE as Merkle leaves (rows bit-reversed) | plonky2 `PolynomialBatch::from_coeffs` |
//! | Poseidon permutation, `hash_no_pad`, `hash_or_noop`, `two_to_one` | plonky2 `PoseidonHash` |
//! | Merkle tree (digests layout and cap) and proofs | plonky2 `MerkleTree::new`, `verify_merkle_proof_to_cap` |
//! | BN254 Fr FFT / IFFT / coset FFT | ark-poly `Radix2EvaluationDomain` |
//! | BN254 G1 MSM | ark-ec `VariableBaseMSM::msm` |
//!
//! Backends: [`cpu::CpuBackend`] (rayon) and, with the `wgpu` feature, `wgpu::WgpuBackend` (WGSL
//! compute kernels); [`AnyBackend`] picks one at run time from [`BackendKind`] (`Auto | Cpu | Gpu`,
//! env `ZKNODE_BACKEND`). The conformance suite in [`conformance`] is written once and
//! instantiated per backend with [`conformance_suite!`].

pub mod backend;
pub mod cpu;
pub mod error;
pub mod field;
pub mod merkle;
pub mod poseidon;
pub mod select;
#[cfg(test)]
mod test_util;
#[cfg(feature = "wgpu")]
pub mod wgpu;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use backend::{Backend, Bn254FftKind, ColumnBatch, MerkleDigests, NttDirection, Order};
pub use cpu::CpuBackend;
pub use error::{KernelError, Result};
pub use field::{DeviceElement, Fq, Fr, G1Affine, G1Projective, Goldilocks, HashOut};
pub use select::{AnyBackend, AnyBuffer, BackendKind, BACKEND_ENV};
