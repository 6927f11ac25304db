//! The state tree: a sparse Merkle tree over Goldilocks Poseidon, as the zkEVM keeps its state.
//!
//! # What is stored
//! Every account field and storage slot is one leaf, keyed by a Poseidon digest of the address,
//! the [`LeafKind`] and (storage) the slot ([`keys`]):
//!
//! | kind            | value                                                                 |
//! |-----------------|-----------------------------------------------------------------------|
//! | balance (0)     | wei                                                                   |
//! | nonce (1)       | the nonce                                                             |
//! | code hash (2)   | the zkEVM's linear Poseidon hash of the bytecode ([`hash::linear_bytecode_hash`]) as a 256-bit integer, element 0 lowest |
//! | storage (3)     | the slot's value                                                      |
//! | code length (4) | the bytecode length in bytes                                          |
//!
//! A zero value is no leaf: absent and zero are the same thing, so an account whose fields are all
//! zero does not exist (as after EIP-161).
//!
//! # Code hashes: Poseidon in the tree, keccak in the EVM
//! The tree holds the Poseidon linear hash, which the batch AIR can recompute cheaply; the EVM's
//! `EXTCODEHASH` (and revm's `AccountInfo::code_hash`) is keccak-256 of the same bytecode. The
//! bytecode itself is stored once, addressed by its Poseidon hash (table `bytecode`), and the
//! executor derives the keccak hash from it when it loads an account. So the tree commits to the
//! bytecode (through Poseidon), and keccak is a function of that bytecode, never stored separately
//! and so never able to disagree with it.
//!
//! # Hashes
//! See [`hash`] for the exact Poseidon layouts of values, leaves, branches, keys and bytecode, and
//! [`smt`] for the placement of leaves (shortest unique prefix, remaining key in the leaf).
//!
//! # Durability
//! [`store`] keeps nodes, bytecode and the committed roots in one redb file; see there why redb and
//! how a batch commits atomically.

pub mod hash;
pub mod keys;
pub mod proof;
pub mod smt;
pub mod store;

use alloy_primitives::{keccak256, Address, Bytes, B256, U256};

pub use hash::{Digest, EMPTY};
pub use keys::{account_key, key_for, storage_key, Key, LeafKind};
pub use proof::{verify_proof, MerkleProof, ProofTerminal};
pub use smt::{root_from_entries, Node, NodeSource, WorkingTree, WriteOutcome};
pub use store::{CommitSet, Snapshot, Store};

use crate::error::{ExecutorError, Result};

/// An account's fields as stored (the code resolved from its hash).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountState {
    pub balance: U256,
    pub nonce: u64,
    /// The linear Poseidon code hash (zero: no code).
    pub code_hash: Digest,
    /// The bytecode (empty: no code).
    pub code: Bytes,
}

impl AccountState {
    /// keccak-256 of the code: what the EVM sees as the code hash.
    pub fn keccak_code_hash(&self) -> B256 {
        keccak256(&self.code)
    }
}

/// A nonce leaf value as a u64; larger values cannot have been written by the executor.
pub fn nonce_from_leaf(value: U256) -> Result<u64> {
    u64::try_from(value)
        .map_err(|_| ExecutorError::Corrupted(format!("nonce leaf {value} exceeds u64")))
}

/// Reads a whole account from a tree (four leaves; the bytecode from `code_of`).
pub fn read_account<S: NodeSource>(
    tree: &WorkingTree<S>,
    address: Address,
    code_of: impl Fn(&Digest) -> Result<Option<Bytes>>,
) -> Result<AccountState> {
    let balance = tree.value(&account_key(address, LeafKind::Balance))?;
    let nonce = nonce_from_leaf(tree.value(&account_key(address, LeafKind::Nonce))?)?;
    let code_hash_value = tree.value(&account_key(address, LeafKind::CodeHash))?;
    let code_hash: Digest = code_hash_value.into_limbs();
    let code = if code_hash == EMPTY {
        Bytes::new()
    } else {
        code_of(&code_hash)?.ok_or_else(|| {
            ExecutorError::Corrupted(format!("bytecode {} missing", smt::hex_digest(&code_hash)))
        })?
    };
    Ok(AccountState {
        balance,
        nonce,
        code_hash,
        code,
    })
}
