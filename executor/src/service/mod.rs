//! The executor as a gRPC service (tonic): ProcessBatch, read-only calls and state reads at any
//! committed root.
//!
//! The protocol is `proto/executor.proto` (package `zknode.executor.v1`); its header documents the
//! byte encodings and how errors are reported. The code is generated at build time by
//! `tonic-prost-build` from a descriptor set that `protox` (a pure-Rust protobuf compiler) parses,
//! so no `protoc` is needed.
//!
//! - [`serve`] / [`serve_with_listener`] run the server until a shutdown future completes, then
//!   drain the requests in flight. The `zknode-executor serve` binary and the node (in-process)
//!   call the same function.
//! - [`ExecutorClient`] is the node's side: connect to a URL, call methods that take and return the
//!   crate's own types ([`crate::execution::ProcessBatchRequest`], ...), with batch-level errors
//!   mapped back to the same [`crate::ExecutorError`] variants a local call gives.
//!
//! Other clients should advertise HTTP/2 flow-control windows as large as the responses they expect
//! (a ProcessBatch response with its witness runs to megabytes): a response still waiting for
//! window when the server shuts down can be cut off (see `FLOW_CONTROL_WINDOW` in
//! `service/client.rs`).
//!
//! Status codes: a bad request (malformed batch data, a timestamp over the limit, a field of the
//! wrong length or a non-canonical root) is `INVALID_ARGUMENT`, an unknown state root `NOT_FOUND`,
//! anything else `INTERNAL`; the status details carry an `ExecutorErrorDetail` message.

mod client;
mod convert;
mod server;

pub use client::{ExecutorClient, CONNECT_TIMEOUT};
pub use server::{serve, serve_with_listener, ExecutorGrpc};

/// The generated messages, client and server.
#[allow(
    missing_docs,
    clippy::all,
    clippy::pedantic,
    missing_debug_implementations
)]
pub mod proto {
    tonic::include_proto!("zknode.executor.v1");
}

/// Default address of the executor service (the zkEVM's executor port).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50071";

/// Largest request accepted: batch data is at most a few hundred kilobytes (the zkEVM caps a batch
/// at 120 000 bytes); 16 MiB leaves room without letting a peer make the server buffer gigabytes.
pub const MAX_REQUEST_BYTES: usize = 16 << 20;

/// Largest response: a ProcessBatch response with the witness (Merkle proofs for every state
/// access, as JSON) can reach hundreds of megabytes for a full batch.
pub const MAX_RESPONSE_BYTES: usize = 1 << 30;
