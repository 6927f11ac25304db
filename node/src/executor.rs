//! The executor as the node sees it: the same library in this process, or a remote executor over
//! gRPC (`executor.url`). Both give the executor crate's own types and errors, so the rest of the
//! node does not care which.

use alloy_primitives::{Address, Bytes, U256};
use zknode_executor::execution::{
    CallRequest, CallResult, Executor, ProcessBatchRequest, ProcessBatchResponse,
};
use zknode_executor::service::ExecutorClient;
use zknode_executor::StateRoot;

use crate::error::{NodeError, Result};

/// An in-process or remote executor.
#[derive(Clone, Debug)]
pub enum ExecutorHandle {
    Local(Executor),
    Remote(ExecutorClient),
}

/// Runs a blocking executor call off the async runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> zknode_executor::Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| NodeError::Executor(format!("executor task: {e}")))?
        .map_err(NodeError::from)
}

impl ExecutorHandle {
    pub async fn process_batch(
        &self,
        request: ProcessBatchRequest,
    ) -> Result<ProcessBatchResponse> {
        match self {
            ExecutorHandle::Local(executor) => {
                let executor = executor.clone();
                blocking(move || executor.process_batch(&request)).await
            }
            ExecutorHandle::Remote(client) => Ok(client.process_batch(&request).await?),
        }
    }

    pub async fn balance(&self, root: StateRoot, address: Address) -> Result<U256> {
        match self {
            ExecutorHandle::Local(executor) => {
                let executor = executor.clone();
                blocking(move || executor.balance(root, address)).await
            }
            ExecutorHandle::Remote(client) => Ok(client.balance(root, address).await?),
        }
    }

    pub async fn nonce(&self, root: StateRoot, address: Address) -> Result<u64> {
        match self {
            ExecutorHandle::Local(executor) => {
                let executor = executor.clone();
                blocking(move || executor.nonce(root, address)).await
            }
            ExecutorHandle::Remote(client) => Ok(client.nonce(root, address).await?),
        }
    }

    pub async fn code(&self, root: StateRoot, address: Address) -> Result<Bytes> {
        match self {
            ExecutorHandle::Local(executor) => {
                let executor = executor.clone();
                blocking(move || executor.code(root, address)).await
            }
            ExecutorHandle::Remote(client) => Ok(client.code(root, address).await?),
        }
    }

    /// A read-only call at `root` (eth_call, gas and counter estimation).
    pub async fn call(&self, root: StateRoot, request: CallRequest) -> Result<CallResult> {
        match self {
            ExecutorHandle::Local(executor) => {
                let executor = executor.clone();
                blocking(move || executor.call(root, &request)).await
            }
            ExecutorHandle::Remote(client) => Ok(client.call(root, &request).await?),
        }
    }

    pub async fn storage(&self, root: StateRoot, address: Address, slot: U256) -> Result<U256> {
        match self {
            ExecutorHandle::Local(executor) => {
                let executor = executor.clone();
                blocking(move || executor.storage(root, address, slot)).await
            }
            ExecutorHandle::Remote(client) => Ok(client.storage(root, address, slot).await?),
        }
    }
}
