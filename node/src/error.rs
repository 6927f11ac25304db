//! The node's one error type.

/// Everything the node library can fail with.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// `zknode prove` could not prove or verify (the message says which step).
    #[error("prove: {0}")]
    Prove(String),
    /// A configuration file, variable or flag that cannot be used.
    #[error("configuration: {0}")]
    Config(String),
    /// The database refused or failed a request.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored value that cannot be what the schema promises (a bug or a manual edit).
    #[error("corrupt database value: {0}")]
    Corrupt(String),
    /// The JSON-RPC server could not start.
    #[error("JSON-RPC server: {0}")]
    Rpc(String),
    /// The executor refused or failed a request.
    #[error("executor: {0}")]
    Executor(String),
    /// The sequencer cannot go on (its message says why).
    #[error("sequencer: {0}")]
    Sequencer(String),
    /// The metrics endpoint could not start or encode.
    #[error("metrics: {0}")]
    Metrics(String),
    /// A role of the node failed or could not start.
    #[error("{component}: {message}")]
    Component {
        component: &'static str,
        message: String,
    },
    /// A schema migration failed.
    #[error("database migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

/// `Result` with [`NodeError`].
pub type Result<T, E = NodeError> = std::result::Result<T, E>;

impl From<zknode_executor::ExecutorError> for NodeError {
    fn from(e: zknode_executor::ExecutorError) -> Self {
        NodeError::Executor(e.to_string())
    }
}
