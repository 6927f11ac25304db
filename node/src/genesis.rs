//! The chain's genesis: the executor's tree gets the genesis accounts, and the State DB gets batch 0
//! and block 0 with that root. Idempotent: a node restarting on an existing chain changes nothing,
//! and one whose State DB has a different genesis root refuses to start.
//!
//! With a remote executor the node cannot write the tree; the genesis is written on the executor's
//! host (`zknode run --components executor --chain.genesis-file ...`). The node then computes the
//! same root in a scratch tree of its own (the root is a pure function of the accounts) and checks
//! that the remote executor holds state at that root before recording it.

use alloy_primitives::{Address, B256};
use zknode_executor::execution::{Executor, ExecutorConfig, GenesisAccount};
use zknode_executor::StateRoot;

use crate::error::{NodeError, Result};
use crate::executor::ExecutorHandle;
use crate::state::StateStore;

/// Writes `accounts` into an in-process executor's tree; returns the genesis root.
pub async fn write_executor_genesis(
    executor: &Executor,
    accounts: Vec<GenesisAccount>,
) -> Result<StateRoot> {
    let executor = executor.clone();
    tokio::task::spawn_blocking(move || executor.set_genesis(&accounts))
        .await
        .map_err(|e| NodeError::Executor(e.to_string()))?
        .map_err(NodeError::from)
}

/// The root `accounts` give, computed in a scratch tree that is removed afterwards.
async fn genesis_root(accounts: Vec<GenesisAccount>) -> Result<StateRoot> {
    tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir()
            .map_err(|e| NodeError::Executor(format!("scratch directory: {e}")))?;
        let scratch = Executor::open(dir.path(), ExecutorConfig::default())?;
        Ok(scratch.set_genesis(&accounts)?)
    })
    .await
    .map_err(|e| NodeError::Executor(e.to_string()))?
}

/// Writes the genesis if the chain has none; returns the genesis state root.
pub async fn ensure_genesis(
    state: &StateStore,
    executor: &ExecutorHandle,
    accounts: Vec<GenesisAccount>,
    coinbase: Address,
) -> Result<B256> {
    let root = match executor {
        ExecutorHandle::Local(local) => write_executor_genesis(local, accounts).await?,
        ExecutorHandle::Remote(_) => {
            let root = genesis_root(accounts).await?;
            // Any read at a root the executor lacks fails: this is the "do you have it" check.
            executor.balance(root, Address::ZERO).await.map_err(|e| {
                NodeError::Config(format!(
                    "the remote executor holds no state at the genesis root {root} ({e}): \
                         write the genesis on its host (zknode run --components executor \
                         --chain.genesis-file ...)"
                ))
            })?;
            root
        }
    };
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
