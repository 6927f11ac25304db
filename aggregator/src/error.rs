//! The aggregator's one error type.

use zknode_executor::ExecutorError;

/// Everything building circuits, proving, aggregating and verifying can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AggregatorError {
    /// The batch STARK does not fit the batch circuit (public inputs, degree, shape).
    #[error("unsupported batch STARK proof: {0}")]
    UnsupportedBatchProof(String),
    /// Proving a batch STARK failed.
    #[error("proving the batch STARK failed: {0}")]
    StarkProving(#[from] zknode_prover::ProverError),
    /// The batch STARK proof does not verify.
    #[error("invalid batch STARK proof: {0}")]
    InvalidBatchProof(String),
    /// The public values a proof carries are malformed.
    #[error("invalid public values: {0}")]
    InvalidPublicValues(#[from] ExecutorError),
    /// Two proofs that do not chain (left.new != right.old) or do not belong to the same chain.
    #[error("proofs are not consecutive: {0}")]
    NotConsecutive(&'static str),
    /// A proof handed to `aggregate` or `verify` does not verify under the circuits' keys.
    #[error("invalid proof: {0}")]
    InvalidProof(String),
    /// plonky2 failed to produce a proof (an unsatisfiable witness among other things).
    #[error("proving the {circuit} circuit failed: {reason}")]
    Proving {
        circuit: &'static str,
        reason: String,
    },
    /// The circuits could not be brought to one common shape (a bug or an unsupported config).
    #[error("circuit shape: {0}")]
    CircuitShape(String),
    /// Nothing to aggregate.
    #[error("no batch proofs to aggregate")]
    Empty,
    /// A proof or circuit encoding that cannot be decoded.
    #[error("cannot decode {what}: {reason}")]
    Decode { what: &'static str, reason: String },
    /// Reading or writing the circuit cache.
    #[error("circuit cache at {path}: {source}")]
    Cache {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// `Result` with [`AggregatorError`].
pub type Result<T, E = AggregatorError> = std::result::Result<T, E>;
