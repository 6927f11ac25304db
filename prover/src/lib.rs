//! # zknode-prover
//!
//! A STARK prover for any `starky::Stark` over Goldilocks with Poseidon, whose trace commitment (the
//! interpolation, the coset low-degree extension and the Merkle tree) runs on a
//! [`zknode_kernels::Backend`] — the rayon CPU backend or, with the `wgpu` feature, a GPU.
//!
//! Its proofs are **byte-identical** to `starky::prover::prove` (version 1.1) when starky's
//! proof-of-work search runs on one thread, and `starky::verifier::verify_stark_proof` accepts them.
//! The output is starky's own [`starky::proof::StarkProofWithPublicInputs`]; [`codec`] gives it a
//! stable, versioned binary encoding.
//!
//! Phases and where they run, for STARKs without lookups (each phase has a `tracing` span):
//!
//! | phase | span | runs on |
//! | --- | --- | --- |
//! | trace iNTT, coset LDE, Merkle tree | `commit` | backend |
//! | constraint binding (starky 1.1) | `bind_constraints` | host (a handful of extension-field evaluations) |
//! | constraint evaluation on the quotient coset | `quotient` | host: it is the STARK's own Rust code |
//! | quotient coset iNTT | `quotient` | backend (then a host scaling by `shift^-k`) |
//! | quotient LDE and Merkle tree | `commit` | backend |
//! | openings at `zeta`, `g·zeta` | `openings` | host |
//! | FRI batch combination | `fri_combine` | host |
//! | FRI layers: coset FFT and Merkle tree per layer; folding | `fri_commit` | backend; folding on the host |
//! | proof of work (smallest witness, parallel batches) | `pow` | host (rayon) |
//! | queries: opened leaves and Merkle paths | `queries` | only the opened FRI leaves are downloaded |
//!
//! STARKs with lookups (or CTLs) get the trace commitment on the backend and starky's own
//! `prove_with_commitment` for the rest (span `starky_phases`): the lookup helpers starky builds on are
//! crate-private. [`prove_with_starky_phases`] takes that path for any STARK.
//!
//! Unlike starky, the proof does not depend on the thread count: the proof-of-work search returns the
//! smallest witness (what starky returns on one thread), so no single-threaded pool is needed.

pub mod batch;
pub mod codec;
pub mod commit;
pub mod error;
mod phases;
pub mod prove;

pub use commit::{commit_coeffs, commit_values};
pub use error::{ProverError, Result};
pub use prove::{prove, prove_with_starky_phases};
