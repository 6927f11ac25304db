//! Batch execution: revm over the state tree, L2 blocks, receipts, the prover witness, provability
//! and counters, behind the [`Executor`] API.
//!
//! # A batch
//! [`Executor::process_batch`] decodes the batchL2Data ([`crate::batch_data`]), then for each
//! change-L2-block marker opens an L2 block and runs its transactions with revm against the tree at
//! the request's old root. Every state read revm makes, and every write its state diff implies,
//! goes through the tree in order and (when asked) into the [`BatchWitness`] with Merkle proofs.
//!
//! - **Blocks.** Block `n + 1` follows the last block `n` recorded in the system contract
//!   [`SYSTEM_ADDRESS`]: timestamp = previous timestamp + delta (a block over the request's
//!   `timestamp_limit` fails the whole request), parent hash = block `n`'s hash. See [`block`] for
//!   the system contract's slots and the block hash (an Ethereum header hash).
//! - **Fees.** Base fee 0, as the zkEVM: the coinbase (the request's) receives gas used × effective
//!   gas price, where effective gas price = `price × (pct + 1) / 256` (integer division) for the
//!   transaction's effective-percentage byte `pct` and its gas price (EIP-1559: the priority fee
//!   capped by the max fee, the base fee being zero). `pct = 255` charges the full price.
//! - **Invalid transactions** (bad signature, nonce, balance, gas, chain id…) are excluded from the
//!   block with the reason; they change no state. Reverted and halted ones are included, with their
//!   revert data, and pay for their gas, as in Ethereum.
//! - **`update_tree = false`** executes the same way and returns the same results but persists
//!   nothing.

pub mod block;
pub mod call;
pub mod counters;
mod db;
mod process;
pub mod provability;
pub mod witness;

use std::path::Path;
use std::sync::Arc;

use alloy_consensus::ReceiptEnvelope;
use alloy_primitives::{Address, Bloom, Bytes, Log, B256, U256};
use revm::primitives::hardfork::SpecId;
use serde::{Deserialize, Serialize};

pub use block::SYSTEM_ADDRESS;
pub use call::{CallBlock, CallRequest, CallResult, CallStatus};
pub use counters::{CounterLimits, CounterOverflow, Counters};
pub use provability::{NotProvableReason, Provability};
pub use witness::{AccessOp, AccessOrigin, BatchWitness, TreeAccess, TxWitness};

use crate::error::{ExecutorError, Result};
use crate::state::{
    account_key, nonce_from_leaf, read_account, storage_key, CommitSet, Digest, LeafKind, Store,
    WorkingTree, EMPTY,
};
use crate::StateRoot;

/// How the executor runs.
#[derive(Clone, Debug)]
pub struct ExecutorConfig {
    /// The Ethereum hardfork revm executes (default Cancun; blob transactions do not occur in
    /// batches).
    pub spec: SpecId,
    /// Gas limit of every L2 block (the zkEVM's, 2^50: in practice only the batch counters limit
    /// a block).
    pub block_gas_limit: u64,
    /// Fork ids the executor accepts.
    pub fork_ids: std::ops::RangeInclusive<u64>,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        ExecutorConfig {
            spec: SpecId::CANCUN,
            block_gas_limit: 1 << 50,
            fork_ids: 0..=u64::MAX,
        }
    }
}

/// An account of the genesis.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisAccount {
    pub address: Address,
    pub balance: U256,
    pub nonce: u64,
    pub code: Bytes,
    /// (slot, value) pairs; zero values are skipped.
    pub storage: Vec<(U256, U256)>,
}

/// A ProcessBatch request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessBatchRequest {
    /// The root to execute on: the empty root or one the store committed.
    pub old_state_root: StateRoot,
    /// batchL2Data ([`crate::batch_data`]).
    pub batch_data: Vec<u8>,
    pub chain_id: u64,
    pub fork_id: u64,
    /// No L2 block may have a later timestamp.
    pub timestamp_limit: u64,
    /// Receives the fees; the blocks' beneficiary.
    pub coinbase: Address,
    /// Persist the new state (false: execute only).
    pub update_tree: bool,
    /// Build the prover witness (every tree access with proofs).
    pub include_witness: bool,
}

/// How a transaction ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TxStatus {
    /// Executed successfully.
    Success,
    /// Executed and reverted (REVERT): included, pays gas, state changes undone.
    Reverted,
    /// Executed and halted (out of gas, invalid opcode…): included, consumes all its gas.
    Halted,
    /// Not executable (signature, nonce, balance, gas limit…): excluded from the block.
    Invalid,
}

/// The result of one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxResult {
    /// keccak of the EIP-2718 encoding.
    pub hash: B256,
    /// Recovered sender (`None` if the signature does not recover).
    pub from: Option<Address>,
    /// Recipient (`None`: contract creation).
    pub to: Option<Address>,
    pub nonce: u64,
    pub gas_limit: u64,
    pub effective_percentage: u8,
    /// Wei per gas charged.
    pub effective_gas_price: u128,
    pub status: TxStatus,
    /// Gas used (0 for invalid transactions).
    pub gas_used: u64,
    /// Return data (success) or revert data (reverted).
    pub output: Bytes,
    /// Address of the contract created.
    pub contract_address: Option<Address>,
    /// Logs in consensus form (address, topics, data), as in the receipt.
    pub logs: Vec<Log>,
    /// The Ethereum receipt (`None` for invalid transactions).
    pub receipt: Option<ReceiptEnvelope<Log>>,
    /// Why the transaction is invalid, or how it halted / reverted (decoded `Error(string)` when
    /// possible).
    pub error: Option<String>,
    pub provability: Provability,
}

impl TxResult {
    /// Whether the transaction is in its block.
    pub fn included(&self) -> bool {
        self.status != TxStatus::Invalid
    }
}

/// The result of one L2 block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockResult {
    pub number: u64,
    pub timestamp: u64,
    pub l1_info_index: u32,
    pub parent_hash: B256,
    /// keccak of the RLP Ethereum header (see [`block`]).
    pub hash: B256,
    pub coinbase: Address,
    pub gas_limit: u64,
    pub gas_used: u64,
    /// Tree root after the block's transactions (the header's state root).
    pub state_root: StateRoot,
    pub transactions_root: B256,
    pub receipts_root: B256,
    pub logs_bloom: Bloom,
    /// Every transaction of the block's batch data, the invalid ones too (excluded from the
    /// header's transaction list).
    pub transactions: Vec<TxResult>,
}

/// The result of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessBatchResponse {
    pub old_state_root: StateRoot,
    pub new_state_root: StateRoot,
    pub blocks: Vec<BlockResult>,
    pub counters: Counters,
    /// Whether the new state was persisted (`update_tree`).
    pub committed: bool,
    /// When the request asked for it.
    pub witness: Option<BatchWitness>,
}

/// The Executor & Merkle tree: executes batches on a durable state tree and answers state reads at
/// any committed root. Cheap to clone; all clones share the store.
#[derive(Clone, Debug)]
pub struct Executor {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    config: ExecutorConfig,
}

impl Executor {
    /// Opens (creating if needed) the executor's store in directory `path`.
    pub fn open(path: &Path, config: ExecutorConfig) -> Result<Self> {
        let store = Store::open(path)?;
        if let Some((seq, root)) = store.latest_root()? {
            tracing::info!(path = %path.display(), seq, root = %root, "executor store opened");
        }
        Ok(Executor {
            inner: Arc::new(Inner { store, config }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ExecutorConfig {
        &self.inner.config
    }

    /// The durable store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The most recently committed root (the empty root if none).
    pub fn latest_root(&self) -> Result<StateRoot> {
        Ok(self
            .inner
            .store
            .latest_root()?
            .map_or(StateRoot::EMPTY, |(_, root)| root))
    }

    /// Executes a batch (see the module docs).
    pub fn process_batch(&self, request: &ProcessBatchRequest) -> Result<ProcessBatchResponse> {
        process::process_batch(&self.inner.store, &self.inner.config, request)
    }

    /// Runs a read-only call on the state at `root` (see [`call`]); nothing is persisted.
    pub fn call(&self, root: StateRoot, request: &CallRequest) -> Result<CallResult> {
        call::call(&self.inner.store, &self.inner.config, root, request)
    }

    /// Writes the genesis accounts into the empty tree, commits, and returns the root.
    pub fn set_genesis(&self, accounts: &[GenesisAccount]) -> Result<StateRoot> {
        let snapshot = self.inner.store.snapshot()?;
        let mut tree = WorkingTree::new(&snapshot, EMPTY);
        let mut seen = std::collections::HashSet::new();
        let mut commit = CommitSet::default();
        for account in accounts {
            if !seen.insert(account.address) {
                return Err(ExecutorError::InvalidGenesis(format!(
                    "account {} given twice",
                    account.address
                )));
            }
            let a = account.address;
            tree.set(&account_key(a, LeafKind::Balance), account.balance)?;
            tree.set(&account_key(a, LeafKind::Nonce), U256::from(account.nonce))?;
            if !account.code.is_empty() {
                let hash = crate::state::hash::linear_bytecode_hash(&account.code);
                tree.set(&account_key(a, LeafKind::CodeHash), U256::from_limbs(hash))?;
                tree.set(
                    &account_key(a, LeafKind::CodeLength),
                    U256::from(account.code.len()),
                )?;
                commit.bytecode.push((hash, account.code.clone()));
            }
            for (slot, value) in &account.storage {
                tree.set(&storage_key(a, *slot), *value)?;
            }
        }
        let root = StateRoot(tree.root());
        commit.nodes = tree.new_nodes();
        self.inner.store.commit(&commit, root)?;
        tracing::info!(root = %root, accounts = accounts.len(), "genesis committed");
        Ok(root)
    }

    fn tree_at<'s>(
        &self,
        snapshot: &'s crate::state::Snapshot,
        root: StateRoot,
    ) -> Result<WorkingTree<&'s crate::state::Snapshot>> {
        root.to_hash_out()?;
        if !snapshot.has_root(&root)? {
            return Err(ExecutorError::UnknownStateRoot(root));
        }
        Ok(WorkingTree::new(snapshot, root.0))
    }

    /// Balance of `address` at `root`.
    pub fn balance(&self, root: StateRoot, address: Address) -> Result<U256> {
        let snapshot = self.inner.store.snapshot()?;
        self.tree_at(&snapshot, root)?
            .value(&account_key(address, LeafKind::Balance))
    }

    /// Nonce of `address` at `root`.
    pub fn nonce(&self, root: StateRoot, address: Address) -> Result<u64> {
        let snapshot = self.inner.store.snapshot()?;
        let value = self
            .tree_at(&snapshot, root)?
            .value(&account_key(address, LeafKind::Nonce))?;
        nonce_from_leaf(value)
    }

    /// Code of `address` at `root` (empty if none).
    pub fn code(&self, root: StateRoot, address: Address) -> Result<Bytes> {
        let snapshot = self.inner.store.snapshot()?;
        let tree = self.tree_at(&snapshot, root)?;
        let hash: Digest = tree
            .value(&account_key(address, LeafKind::CodeHash))?
            .into_limbs();
        if hash == EMPTY {
            return Ok(Bytes::new());
        }
        snapshot.bytecode(&hash)?.ok_or_else(|| {
            ExecutorError::Corrupted(format!("bytecode of {address} missing from the store"))
        })
    }

    /// Storage slot `slot` of `address` at `root`.
    pub fn storage(&self, root: StateRoot, address: Address, slot: U256) -> Result<U256> {
        let snapshot = self.inner.store.snapshot()?;
        self.tree_at(&snapshot, root)?
            .value(&storage_key(address, slot))
    }

    /// The whole account at `root` (balance, nonce, code hashes, code).
    pub fn account(&self, root: StateRoot, address: Address) -> Result<crate::state::AccountState> {
        let snapshot = self.inner.store.snapshot()?;
        let tree = self.tree_at(&snapshot, root)?;
        read_account(&tree, address, |hash| snapshot.bytecode(hash))
    }

    /// The value and Merkle proof of any key at `root`.
    pub fn proof(
        &self,
        root: StateRoot,
        key: &crate::state::Key,
    ) -> Result<(U256, crate::state::MerkleProof)> {
        let snapshot = self.inner.store.snapshot()?;
        self.tree_at(&snapshot, root)?.get(key)
    }

    /// Every key/value at `root` (walks the whole tree; for checks and tools).
    pub fn entries(&self, root: StateRoot) -> Result<Vec<(crate::state::Key, U256)>> {
        let snapshot = self.inner.store.snapshot()?;
        self.tree_at(&snapshot, root)?.entries()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executor_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
        assert_send_sync::<Executor>();
    }
}
