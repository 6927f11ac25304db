//! The one error type of the prover crate.

use thiserror::Error;
use zknode_kernels::KernelError;

/// Everything [`crate::prove()`] and the proof codec can refuse or fail with. Caller input (a trace, public
/// inputs, a configuration, bytes to decode) never makes this crate panic: it is checked up front and
/// reported here.
#[derive(Debug, Error)]
pub enum ProverError {
    /// A kernel on the backend refused its arguments or the device failed.
    #[error("backend kernel failed: {0}")]
    Kernel(#[from] KernelError),

    /// The trace has the wrong shape for the STARK (no columns, ragged or non-power-of-two columns,
    /// wrong column count).
    #[error("invalid trace: {0}")]
    InvalidTrace(String),

    /// The public inputs do not match `Stark::PUBLIC_INPUTS`.
    #[error("expected {expected} public inputs, got {actual}")]
    PublicInputs { expected: usize, actual: usize },

    /// The configuration cannot prove this trace (FRI arities too large for the LDE, constraint degree
    /// above the blowup factor + 1, verifier-circuit parameters that disagree with the config).
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),

    /// The trace does not satisfy the STARK's constraints (starky's quotient computation rejected it).
    #[error("the trace does not satisfy the constraints: {0}")]
    Unsatisfied(String),

    /// A batch witness the batch AIR cannot turn into a trace (inconsistent, or a case this rung
    /// does not prove); the message names the access or transaction.
    #[error("invalid batch witness: {0}")]
    InvalidWitness(String),
    /// starky's own prover returned an error.
    #[error("starky prover failed: {0}")]
    Starky(String),

    /// The transcript drew an opening point inside the trace domain H (probability about n / |F^D|);
    /// starky refuses to open there too, since it would reveal trace values.
    #[error("the opening point drawn lies in the trace domain")]
    OpeningPointInSubgroup,

    /// Bytes that are not a proof in this crate's encoding (see [`crate::codec`]).
    #[error("malformed proof encoding at byte {offset}: {reason}")]
    Decode { offset: usize, reason: String },
}

/// Result alias of the prover crate.
pub type Result<T, E = ProverError> = core::result::Result<T, E>;
