//! The tonic server: [`ExecutorService`](super::proto::executor_service_server::ExecutorService)
//! over an [`Executor`].

use std::future::Future;
use std::net::SocketAddr;
use std::time::Instant;

use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use super::convert::{self, status_from_error};
use super::proto;
use super::proto::executor_service_server::{ExecutorService, ExecutorServiceServer};
use super::{MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES};
use crate::error::{ExecutorError, Result};
use crate::execution::Executor;

/// The gRPC face of an [`Executor`]. Every call runs the executor on tokio's blocking pool (batch
/// execution is CPU-bound and the store does blocking I/O), so the async workers keep serving.
#[derive(Clone, Debug)]
pub struct ExecutorGrpc {
    executor: Executor,
}

impl ExecutorGrpc {
    pub fn new(executor: Executor) -> Self {
        ExecutorGrpc { executor }
    }

    /// The tonic service, with the crate's message size limits.
    pub fn into_service(self) -> ExecutorServiceServer<Self> {
        ExecutorServiceServer::new(self)
            .max_decoding_message_size(MAX_REQUEST_BYTES)
            .max_encoding_message_size(MAX_RESPONSE_BYTES)
    }

    /// Runs `f` with the executor on the blocking pool; errors become statuses.
    async fn blocking<T, F>(&self, f: F) -> std::result::Result<T, Status>
    where
        T: Send + 'static,
        F: FnOnce(&Executor) -> Result<T> + Send + 'static,
    {
        let executor = self.executor.clone();
        match tokio::task::spawn_blocking(move || f(&executor)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(status_from_error(&error)),
            // A panic inside the executor is a bug; the server keeps running and reports it.
            Err(join_error) => {
                tracing::error!(error = %join_error, "executor task failed");
                Err(Status::internal(format!(
                    "executor task failed: {join_error}"
                )))
            }
        }
    }
}

fn invalid(error: convert::FieldError) -> Status {
    status_from_error(&error.into_request_error())
}

#[tonic::async_trait]
impl ExecutorService for ExecutorGrpc {
    async fn process_batch(
        &self,
        request: Request<proto::ProcessBatchRequest>,
    ) -> std::result::Result<Response<proto::ProcessBatchResponse>, Status> {
        let request =
            convert::process_batch_request_from_proto(request.into_inner()).map_err(invalid)?;
        let started = Instant::now();
        let old_root = request.old_state_root;
        let batch_bytes = request.batch_data.len();
        let result = self
            .blocking(move |executor| {
                let response = executor.process_batch(&request)?;
                convert::process_batch_response_to_proto(&response)
            })
            .await;
        match &result {
            Ok(response) => tracing::info!(
                old_root = %old_root,
                batch_bytes,
                blocks = response.blocks.len(),
                committed = response.committed,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "ProcessBatch"
            ),
            Err(status) => tracing::warn!(
                old_root = %old_root,
                batch_bytes,
                code = ?status.code(),
                error = status.message(),
                "ProcessBatch failed"
            ),
        }
        result.map(Response::new)
    }

    async fn get_balance(
        &self,
        request: Request<proto::AccountRequest>,
    ) -> std::result::Result<Response<proto::GetBalanceResponse>, Status> {
        let (root, address) =
            convert::account_request_from_proto(request.get_ref()).map_err(invalid)?;
        let balance = self
            .blocking(move |executor| executor.balance(root, address))
            .await?;
        Ok(Response::new(proto::GetBalanceResponse {
            balance: convert::u256_to_proto(balance),
        }))
    }

    async fn get_nonce(
        &self,
        request: Request<proto::AccountRequest>,
    ) -> std::result::Result<Response<proto::GetNonceResponse>, Status> {
        let (root, address) =
            convert::account_request_from_proto(request.get_ref()).map_err(invalid)?;
        let nonce = self
            .blocking(move |executor| executor.nonce(root, address))
            .await?;
        Ok(Response::new(proto::GetNonceResponse { nonce }))
    }

    async fn get_code(
        &self,
        request: Request<proto::AccountRequest>,
    ) -> std::result::Result<Response<proto::GetCodeResponse>, Status> {
        let (root, address) =
            convert::account_request_from_proto(request.get_ref()).map_err(invalid)?;
        let code = self
            .blocking(move |executor| executor.code(root, address))
            .await?;
        Ok(Response::new(proto::GetCodeResponse {
            code: code.to_vec(),
        }))
    }

    async fn get_storage_at(
        &self,
        request: Request<proto::StorageRequest>,
    ) -> std::result::Result<Response<proto::GetStorageAtResponse>, Status> {
        let (root, address, slot) =
            convert::storage_request_from_proto(request.get_ref()).map_err(invalid)?;
        let value = self
            .blocking(move |executor| executor.storage(root, address, slot))
            .await?;
        Ok(Response::new(proto::GetStorageAtResponse {
            value: convert::u256_to_proto(value),
        }))
    }

    async fn call(
        &self,
        request: Request<proto::CallRequest>,
    ) -> std::result::Result<Response<proto::CallResponse>, Status> {
        let (root, call) =
            convert::call_request_from_proto(request.into_inner()).map_err(invalid)?;
        let started = Instant::now();
        let result = self
            .blocking(move |executor| executor.call(root, &call))
            .await;
        match &result {
            Ok(outcome) => tracing::debug!(
                root = %root,
                status = ?outcome.status,
                gas_used = outcome.gas_used,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "Call"
            ),
            Err(status) => tracing::warn!(
                root = %root,
                code = ?status.code(),
                error = status.message(),
                "Call failed"
            ),
        }
        result.map(|outcome| Response::new(convert::call_result_to_proto(&outcome)))
    }
}

/// Serves `executor` on `listen` until `shutdown` completes, then stops accepting connections and
/// returns once the requests in flight have been answered (graceful shutdown).
pub async fn serve(
    executor: Executor,
    listen: SocketAddr,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| ExecutorError::Service(format!("cannot listen on {listen}: {e}")))?;
    serve_with_listener(executor, listener, shutdown).await
}

/// [`serve`] on a listener the caller bound (e.g. to port 0, to learn the port first).
pub async fn serve_with_listener(
    executor: Executor,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let local = listener
        .local_addr()
        .map_err(|e| ExecutorError::Service(format!("listener has no local address: {e}")))?;
    tracing::info!(listen = %local, "executor service listening");
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .add_service(ExecutorGrpc::new(executor).into_service())
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(|e| ExecutorError::Service(format!("executor service on {local} failed: {e}")))?;
    tracing::info!(listen = %local, "executor service stopped");
    Ok(())
}
