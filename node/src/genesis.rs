//! The chain's genesis: the executor's tree gets the genesis accounts, and the State DB gets batch 0
//! and block 0 with that root. Idempotent: a node restarting on an existing chain changes nothing,
//! and one whose State DB has a different genesis root refuses to start.

use alloy_primitives::{Address, B256};
use zknode_executor::execution::GenesisAccount;

use crate::error::{NodeError, Result};
use crate::executor::ExecutorHandle;
use crate::state::StateStore;

/// Writes the genesis if the chain has none; returns the genesis state root.
pub async fn ensure_genesis(
    state: &StateStore,
    executor: &ExecutorHandle,
    accounts: Vec<GenesisAccount>,
    coinbase: Address,
) -> Result<B256> {
    let ExecutorHandle::Local(local) = executor else {
        return Err(NodeError::Config(
            "the genesis is written by a node with an in-process executor".into(),
        ));
    };
    let local = local.clone();
    let root = tokio::task::spawn_blocking(move || local.set_genesis(&accounts))
        .await
        .map_err(|e| NodeError::Executor(e.to_string()))??;
    let root = B256::from(root.to_bytes32());
    match state.state_root_of(0).await? {
        Some(existing) if existing == root => {}
        Some(existing) => {
            return Err(NodeError::Config(format!(
                "the State DB's genesis root {existing} differs from this genesis {root}"
            )))
        }
        None => state.store_genesis(root, coinbase).await?,
    }
    Ok(root)
}
