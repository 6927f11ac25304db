//! The prover witness of a batch: every state-tree access in order with its Merkle proofs, and the
//! per-transaction values the batch AIR's transfer rows need.
//!
//! It is a plain serde struct (the service ships it as JSON or bincode as it likes). Roots are the
//! tree roots current at the time of the access: a read proves `old_value` against `old_root`; a
//! write proves `old_value` against `old_root` and `new_value` against `new_root`, and the next
//! access's `old_root` is this write's `new_root`. A batch's first access starts at the request's
//! old state root and the last one ends at the new state root.

use alloy_primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};

use crate::error::{ExecutorError, Result};
use crate::execution::provability::Provability;
use crate::state::{verify_proof, Digest, Key, LeafKind, MerkleProof};
use crate::StateRoot;

/// Read or write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AccessOp {
    Read,
    Write,
}

/// Who caused an access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AccessOrigin {
    /// The L2 block's system-contract bookkeeping (block number, timestamp, hash) of block
    /// `block_index` of the batch.
    Block { block_index: u32 },
    /// Executing transaction `tx_index` (position in the batch, counting every block's).
    Transaction { tx_index: u32 },
}

/// One state-tree access.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeAccess {
    pub op: AccessOp,
    pub origin: AccessOrigin,
    pub address: Address,
    pub kind: LeafKind,
    /// The storage slot (zero for other kinds).
    pub slot: U256,
    pub key: Key,
    pub old_root: Digest,
    pub old_value: U256,
    pub old_proof: MerkleProof,
    /// Equal to `old_root` for reads.
    pub new_root: Digest,
    /// Equal to `old_value` for reads.
    pub new_value: U256,
    /// `None` for reads.
    pub new_proof: Option<MerkleProof>,
}

impl TreeAccess {
    /// Checks both proofs and that a read changed nothing.
    pub fn verify(&self) -> Result<()> {
        verify_proof(&self.old_root, &self.key, self.old_value, &self.old_proof)?;
        match (&self.op, &self.new_proof) {
            (AccessOp::Read, None) => {
                if self.new_root != self.old_root || self.new_value != self.old_value {
                    return Err(ExecutorError::InvalidProof(
                        "a read changed the state".to_string(),
                    ));
                }
                Ok(())
            }
            (AccessOp::Write, Some(proof)) => {
                verify_proof(&self.new_root, &self.key, self.new_value, proof)
            }
            _ => Err(ExecutorError::InvalidProof(
                "reads have no new proof, writes have one".to_string(),
            )),
        }
    }
}

/// What the batch AIR needs of one transaction (native transfer rows; filled for every included
/// transaction so later rungs can use it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxWitness {
    /// Position in the batch.
    pub tx_index: u32,
    pub block_index: u32,
    pub hash: B256,
    pub sender: Address,
    /// `None` for a contract creation.
    pub recipient: Option<Address>,
    pub nonce: u64,
    pub value: U256,
    pub gas_limit: u64,
    pub gas_used: u64,
    /// Wei per gas charged (after the effective percentage).
    pub effective_gas_price: u128,
    pub effective_percentage: u8,
    pub coinbase: Address,
    pub sender_balance_before: U256,
    pub sender_balance_after: U256,
    pub recipient_balance_before: U256,
    pub recipient_balance_after: U256,
    pub coinbase_balance_before: U256,
    pub coinbase_balance_after: U256,
    /// The range of [`BatchWitness::accesses`] this transaction made (`start..end`).
    pub accesses: (u32, u32),
    pub provability: Provability,
}

/// The witness of a whole batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchWitness {
    #[serde(with = "state_root_words")]
    pub old_state_root: StateRoot,
    #[serde(with = "state_root_words")]
    pub new_state_root: StateRoot,
    pub chain_id: u64,
    pub coinbase: Address,
    pub accesses: Vec<TreeAccess>,
    /// Included transactions only, in batch order.
    pub transactions: Vec<TxWitness>,
}

impl BatchWitness {
    /// Verifies every access's proofs and that the accesses chain from the old root to the new
    /// root. Errors name the first access that fails.
    pub fn verify(&self) -> Result<()> {
        let mut root = self.old_state_root.0;
        for (i, access) in self.accesses.iter().enumerate() {
            if access.old_root != root {
                return Err(ExecutorError::InvalidProof(format!(
                    "access {i} starts from a root other than the previous access's"
                )));
            }
            access
                .verify()
                .map_err(|e| ExecutorError::InvalidProof(format!("access {i}: {e}")))?;
            root = access.new_root;
        }
        if root != self.new_state_root.0 {
            return Err(ExecutorError::InvalidProof(
                "the last access does not end at the new state root".to_string(),
            ));
        }
        Ok(())
    }
}

/// Serde for [`StateRoot`] as its four words.
mod state_root_words {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::StateRoot;

    pub fn serialize<S: Serializer>(root: &StateRoot, s: S) -> Result<S::Ok, S::Error> {
        root.0.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<StateRoot, D::Error> {
        Ok(StateRoot(<[u64; 4]>::deserialize(d)?))
    }
}
