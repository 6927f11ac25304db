//! The `zknode` binary's library: configuration, the State DB and Pool DB on PostgreSQL, and (as
//! they land) the JSON-RPC server, the pool, the sequencer and the supervisor that runs any set of
//! them in one process.

pub mod config;
pub mod db;
pub mod error;
pub mod executor;
pub mod genesis;
pub mod pool;
pub mod rpc;
pub mod sequencer;
pub mod state;

pub use config::Config;
pub use error::{NodeError, Result};
