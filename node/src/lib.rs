//! The `zknode` binary's library: configuration, the State DB and Pool DB on PostgreSQL, the
//! JSON-RPC server, the pool, the sequencer, metrics, and the supervisor that runs any set of the
//! roles in one process.

pub mod config;
pub mod db;
pub mod dev;
pub mod error;
pub mod executor;
pub mod genesis;
pub mod metrics;
pub mod pool;
pub mod prove;
pub mod rpc;
pub mod sequencer;
pub mod state;
pub mod supervisor;

pub use config::Config;
pub use error::{NodeError, Result};
