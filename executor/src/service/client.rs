//! [`ExecutorClient`]: the executor service from the node's side, in the crate's own types.

use std::time::Duration;

use alloy_primitives::{Address, Bytes, U256};
use tonic::transport::{Channel, Endpoint};

use super::convert::{self, error_from_status};
use super::proto::executor_service_client::ExecutorServiceClient;
use super::{MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES};
use crate::error::{ExecutorError, Result};
use crate::execution::{CallRequest, CallResult, ProcessBatchRequest, ProcessBatchResponse};
use crate::StateRoot;

/// How long [`ExecutorClient::connect`] waits for the TCP connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// HTTP/2 flow-control windows the client advertises: the largest response ([`MAX_RESPONSE_BYTES`]),
/// so the server never holds response data back waiting for window updates. Besides saving round
/// trips on large witnesses, this matters at shutdown: when the server shuts a connection down
/// gracefully, h2 closes it once the streams are finished even if response data is still waiting
/// for flow-control window, and the client sees a truncated body. With the default 64 KiB windows a
/// multi-megabyte ProcessBatch response caught by a server shutdown failed that way in about one
/// run in ten of `shutdown_is_graceful`; with these windows it did not fail in 65 runs.
const FLOW_CONTROL_WINDOW: u32 = MAX_RESPONSE_BYTES as u32;
// HTTP/2 windows are at most 2^31 - 1.
const _: () = assert!(MAX_RESPONSE_BYTES < 1 << 31);

fn endpoint(url: &str) -> Result<Endpoint> {
    Ok(Endpoint::from_shared(url.to_string())
        .map_err(|e| ExecutorError::Service(format!("invalid executor URL {url}: {e}")))?
        .connect_timeout(CONNECT_TIMEOUT)
        .initial_stream_window_size(Some(FLOW_CONTROL_WINDOW))
        .initial_connection_window_size(Some(FLOW_CONTROL_WINDOW))
        .tcp_nodelay(true))
}

/// A connection to an executor service. Methods mirror [`crate::execution::Executor`]'s and return
/// the same types and, for batch-level failures, the same error variants
/// ([`ExecutorError::MalformedBatchData`], [`ExecutorError::UnknownStateRoot`],
/// [`ExecutorError::TimestampOverLimit`]); other failures are [`ExecutorError::Rpc`] with the gRPC
/// code (`Unavailable` when the connection fails during a call), or [`ExecutorError::Service`] when
/// connecting fails or a response cannot be read. Cheap to clone; clones share the connection.
#[derive(Clone, Debug)]
pub struct ExecutorClient {
    inner: ExecutorServiceClient<Channel>,
}

impl ExecutorClient {
    /// Connects to `url` (e.g. `http://127.0.0.1:50071`); fails if nothing answers within
    /// [`CONNECT_TIMEOUT`].
    pub async fn connect(url: impl Into<String>) -> Result<Self> {
        let url = url.into();
        let channel = endpoint(&url)?
            .connect()
            .await
            .map_err(|e| ExecutorError::Service(format!("cannot connect to {url}: {e}")))?;
        Ok(Self::from_channel(channel))
    }

    /// A client that connects on first use (and reconnects after a failure), so that a node can
    /// start before its executor; fails only for a malformed URL.
    pub fn connect_lazy(url: impl Into<String>) -> Result<Self> {
        let url = url.into();
        Ok(Self::from_channel(endpoint(&url)?.connect_lazy()))
    }

    /// A client on an existing channel.
    pub fn from_channel(channel: Channel) -> Self {
        let inner = ExecutorServiceClient::new(channel)
            .max_decoding_message_size(MAX_RESPONSE_BYTES)
            .max_encoding_message_size(MAX_REQUEST_BYTES);
        ExecutorClient { inner }
    }

    /// Executes a batch on the remote executor.
    pub async fn process_batch(
        &self,
        request: &ProcessBatchRequest,
    ) -> Result<ProcessBatchResponse> {
        let response = self
            .inner
            .clone()
            .process_batch(convert::process_batch_request_to_proto(request))
            .await
            .map_err(|status| error_from_status(&status))?;
        convert::process_batch_response_from_proto(response.into_inner())
            .map_err(convert::FieldError::into_response_error)
    }

    /// Balance of `address` at `root`.
    pub async fn balance(&self, root: StateRoot, address: Address) -> Result<U256> {
        let response = self
            .inner
            .clone()
            .get_balance(convert::account_request_to_proto(root, address))
            .await
            .map_err(|status| error_from_status(&status))?;
        convert::u256_from_proto(&response.get_ref().balance, "balance")
            .map_err(convert::FieldError::into_response_error)
    }

    /// Nonce of `address` at `root`.
    pub async fn nonce(&self, root: StateRoot, address: Address) -> Result<u64> {
        let response = self
            .inner
            .clone()
            .get_nonce(convert::account_request_to_proto(root, address))
            .await
            .map_err(|status| error_from_status(&status))?;
        Ok(response.get_ref().nonce)
    }

    /// Code of `address` at `root`.
    pub async fn code(&self, root: StateRoot, address: Address) -> Result<Bytes> {
        let response = self
            .inner
            .clone()
            .get_code(convert::account_request_to_proto(root, address))
            .await
            .map_err(|status| error_from_status(&status))?;
        Ok(Bytes::from(response.into_inner().code))
    }

    /// Storage slot `slot` of `address` at `root`.
    pub async fn storage(&self, root: StateRoot, address: Address, slot: U256) -> Result<U256> {
        let response = self
            .inner
            .clone()
            .get_storage_at(convert::storage_request_to_proto(root, address, slot))
            .await
            .map_err(|status| error_from_status(&status))?;
        convert::u256_from_proto(&response.get_ref().value, "value")
            .map_err(convert::FieldError::into_response_error)
    }

    /// Runs a read-only call on the remote executor at `root`.
    pub async fn call(&self, root: StateRoot, request: &CallRequest) -> Result<CallResult> {
        let response = self
            .inner
            .clone()
            .call(convert::call_request_to_proto(root, request))
            .await
            .map_err(|status| error_from_status(&status))?;
        convert::call_result_from_proto(response.into_inner())
            .map_err(convert::FieldError::into_response_error)
    }

    /// The generated tonic client, for calls with custom metadata or deadlines.
    pub fn raw(&self) -> ExecutorServiceClient<Channel> {
        self.inner.clone()
    }
}
