//! The Executor & Merkle tree role of zkNode: turns a batch of L2 transactions into a new state
//! root, receipts, counters and the prover's witness.
//!
//! - [`batch_data`]: the batchL2Data codec (the zkEVM's v2 format, extended to typed transactions).
//! - [`state`]: the Poseidon sparse Merkle state tree (keys, hashes, proofs) and its durable store.
//! - [`execution`]: revm over the tree, L2 blocks, receipts, witness, provability, counters — the
//!   [`execution::Executor`] API.
//! - [`service`]: the gRPC service (ProcessBatch and state reads) around an `Executor`.
//! - [`public_values`]: the public values of a batch, shared by the executor (which produces them),
//!   the batch AIR (which proves them), the aggregator (which chains them) and the node (which stores
//!   and submits them).

pub mod batch_data;
pub mod error;
pub mod execution;
pub mod public_values;
pub mod service;
pub mod state;

pub use error::{ExecutorError, Result};
pub use public_values::{BatchPublicValues, StateRoot};
