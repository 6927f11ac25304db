//! The executor's one error type.

/// Everything the executor library can fail with.
///
/// Variants fall in three groups, so a service can map them to status codes: bad requests
/// ([`ExecutorError::is_invalid_argument`]), missing data ([`ExecutorError::is_not_found`]) and
/// internal failures (everything else: storage, corruption, EVM database errors).
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    /// A field-element encoding of [`crate::BatchPublicValues`] that is not canonical.
    #[error("invalid public values encoding at element {index}: {reason}")]
    InvalidPublicValues { index: usize, reason: &'static str },

    /// batchL2Data that does not decode.
    #[error("malformed batch data at byte {offset}: {reason}")]
    MalformedBatchData { offset: usize, reason: String },

    /// A transaction that batchL2Data cannot carry (block and transaction index in the batch).
    #[error("cannot encode transaction {transaction} of L2 block {block}: {reason}")]
    BatchEncoding {
        block: usize,
        transaction: usize,
        reason: &'static str,
    },

    /// A state root the store has never committed.
    #[error("unknown state root {0}")]
    UnknownStateRoot(crate::StateRoot),

    /// A block timestamp above the request's timestamp limit.
    #[error("L2 block {block_index} timestamp {timestamp} exceeds the timestamp limit {limit}")]
    TimestampOverLimit {
        block_index: usize,
        timestamp: u64,
        limit: u64,
    },

    /// A request field that is out of range or inconsistent (named, with why).
    #[error("invalid request: {field}: {reason}")]
    InvalidRequest { field: &'static str, reason: String },

    /// A genesis that cannot be applied (e.g. a duplicate account).
    #[error("invalid genesis: {0}")]
    InvalidGenesis(String),

    /// A Merkle proof that does not verify, or is malformed.
    #[error("invalid Merkle proof: {0}")]
    InvalidProof(String),

    /// The embedded store failed (I/O, transaction, table).
    #[error("state store error: {0}")]
    Store(String),

    /// The store holds data that cannot be what the executor wrote (a missing node, a bad length).
    #[error("state store corrupted: {0}")]
    Corrupted(String),

    /// revm reported an error that is not a property of the transaction (a database failure).
    #[error("EVM error: {0}")]
    Evm(String),

    /// A failure of the gRPC service or its transport.
    #[error("service error: {0}")]
    Service(String),

    /// The remote executor answered a request with a non-OK gRPC status that has no more specific
    /// variant (the typed client maps malformed batch data, unknown roots and timestamps over the
    /// limit back to their own variants).
    #[error("executor service returned {code:?}: {message}")]
    Rpc { code: tonic::Code, message: String },
}

impl ExecutorError {
    /// Whether the error is the caller's fault (gRPC `InvalidArgument`).
    pub fn is_invalid_argument(&self) -> bool {
        matches!(
            self,
            ExecutorError::InvalidPublicValues { .. }
                | ExecutorError::MalformedBatchData { .. }
                | ExecutorError::BatchEncoding { .. }
                | ExecutorError::TimestampOverLimit { .. }
                | ExecutorError::InvalidRequest { .. }
                | ExecutorError::InvalidGenesis(_)
                | ExecutorError::InvalidProof(_)
                | ExecutorError::Rpc {
                    code: tonic::Code::InvalidArgument,
                    ..
                }
        )
    }

    /// Whether the error names something that does not exist (gRPC `NotFound`).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            ExecutorError::UnknownStateRoot(_)
                | ExecutorError::Rpc {
                    code: tonic::Code::NotFound,
                    ..
                }
        )
    }
}

macro_rules! store_error_from {
    ($($t:ty),*) => {$(
        impl From<$t> for ExecutorError {
            fn from(e: $t) -> Self {
                ExecutorError::Store(e.to_string())
            }
        }
    )*};
}
store_error_from!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// `Result` with [`ExecutorError`].
pub type Result<T, E = ExecutorError> = std::result::Result<T, E>;
