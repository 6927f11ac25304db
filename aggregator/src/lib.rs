//! The aggregator's circuits: recursive aggregation of batch STARK proofs with plonky2, under one
//! verifier key for any number of batches.
//!
//! - [`circuits`]: the batch circuit (starky's recursive verifier for one batch STARK proof, then a
//!   wrap into the aggregation shape) and the 2→1 aggregation circuit (plonky2 cyclic recursion), built
//!   once into one common shape ([`AggregatorCircuits`]) and cached on disk ([`cache`]).
//! - [`prover`]: `prove_batch`, `aggregate(left, right)`, `aggregate_all` (a binary tree with odd
//!   leftovers carried up); [`verifier`]: `verify`.
//! - [`proof`]: [`AggregationProof`] and its versioned encoding.
//! - [`chain_stark`]: a stand-in batch STARK exposing the batch public values, until the batch AIR.
//!
//! The chain of batches is enforced inside the proofs: an aggregation proof exists only for
//! consecutive children (`left.new == right.old` for batch number, state root and accumulated input
//! hash, same chain and fork). The native checks in [`AggregatorCircuits::aggregate`] only turn a
//! doomed proving attempt into a clear error early.

pub mod cache;
pub mod chain_stark;
pub mod circuits;
pub mod error;
pub mod params;
pub mod pipeline;
pub mod proof;
pub mod prover;
pub mod verifier;

use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::plonk::config::PoseidonGoldilocksConfig;
use starky::stark::Stark;

pub use circuits::AggregatorCircuits;
pub use error::{AggregatorError, Result};
pub use params::AggregatorParams;
pub use proof::{AggregationProof, ProofKind};
pub use zknode_executor::{BatchPublicValues, StateRoot};

/// Extension degree of the recursion circuits.
pub const D: usize = 2;
/// plonky2 configuration (Poseidon over Goldilocks).
pub type C = PoseidonGoldilocksConfig;
/// The base field.
pub type F = GoldilocksField;

/// A STARK whose proofs the batch circuit verifies: its first
/// [`BatchPublicValues::NUM_ELEMENTS`] public inputs are the batch public values' encoding.
pub trait BatchStark: Stark<F, D> + Copy + Send + Sync + std::fmt::Debug + 'static {
    /// A stable, versioned name; part of the circuit cache key, so change it when the AIR changes.
    const NAME: &'static str;
    /// Where the STARK's public inputs hold a 4-element transfer commitment, if they do. The batch
    /// circuit then requires `new_acc_input_hash = pipeline::stand_in_acc_input_hash(old, commitment)`.
    const TRANSFER_COMMITMENT: Option<usize> = None;
}
