//! The batch's state: the working tree at the current root, seen by revm as its `Database`, with
//! every access recorded (witness, counters) and revm's state diffs applied back as tree writes.

use std::collections::HashMap;

use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use revm::database_interface::DBErrorMarker;
use revm::primitives::KECCAK_EMPTY;
use revm::state::{AccountInfo, Bytecode, EvmState};
use revm::Database;

use super::block::{self, LastBlock, SYSTEM_ADDRESS};
use super::counters::Counters;
use super::witness::{AccessOp, AccessOrigin, TreeAccess};
use crate::error::{ExecutorError, Result};
use crate::state::hash::linear_bytecode_hash;
use crate::state::{key_for, nonce_from_leaf, Digest, Key, LeafKind, Snapshot, WorkingTree, EMPTY};

impl DBErrorMarker for ExecutorError {}

/// An account's fields as revm last loaded them in the current transaction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Loaded {
    pub balance: U256,
    pub nonce: u64,
    /// Linear Poseidon code hash (zero: no code).
    pub code_hash: Digest,
}

/// Bytecode as revm wants it, with both hashes.
#[derive(Clone, Debug)]
struct CodeEntry {
    keccak: B256,
    bytecode: Bytecode,
}

pub(crate) struct BatchState<'s> {
    snapshot: &'s Snapshot,
    pub tree: WorkingTree<&'s Snapshot>,
    record: bool,
    pub accesses: Vec<TreeAccess>,
    pub counters: Counters,
    pub origin: AccessOrigin,
    /// Bytecode deployed in this batch, by linear Poseidon hash (to persist).
    pub new_code: HashMap<Digest, Bytes>,
    /// Every bytecode seen, by linear Poseidon hash.
    code: HashMap<Digest, CodeEntry>,
    /// keccak → linear Poseidon hash, for `code_by_hash`.
    keccak_to_poseidon: HashMap<B256, Digest>,
    /// Accounts loaded by the current transaction.
    pub loaded: HashMap<Address, Loaded>,
    /// Keys derived so far (each costs one or two permutations).
    keys: HashMap<(Address, LeafKind, U256), Key>,
}

impl std::fmt::Debug for BatchState<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchState")
            .field("root", &self.tree.root())
            .field("accesses", &self.accesses.len())
            .finish_non_exhaustive()
    }
}

impl<'s> BatchState<'s> {
    pub fn new(snapshot: &'s Snapshot, root: Digest, record: bool) -> Self {
        BatchState {
            snapshot,
            tree: WorkingTree::new(snapshot, root),
            record,
            accesses: Vec::new(),
            counters: Counters::default(),
            origin: AccessOrigin::Block { block_index: 0 },
            new_code: HashMap::new(),
            code: HashMap::new(),
            keccak_to_poseidon: HashMap::new(),
            loaded: HashMap::new(),
            keys: HashMap::new(),
        }
    }

    fn key(&mut self, address: Address, kind: LeafKind, slot: U256) -> Key {
        *self
            .keys
            .entry((address, kind, slot))
            .or_insert_with(|| key_for(address, kind, slot))
    }

    /// Reads a leaf through the tree, recording the access.
    pub fn read(&mut self, address: Address, kind: LeafKind, slot: U256) -> Result<U256> {
        let key = self.key(address, kind, slot);
        let (value, proof) = self.tree.get(&key)?;
        let root = self.tree.root();
        let access = TreeAccess {
            op: AccessOp::Read,
            origin: self.origin,
            address,
            kind,
            slot,
            key,
            old_root: root,
            old_value: value,
            old_proof: proof,
            new_root: root,
            new_value: value,
            new_proof: None,
        };
        self.counters.add_access(&access);
        if self.record {
            self.accesses.push(access);
        }
        Ok(value)
    }

    /// Writes a leaf through the tree, recording the access.
    pub fn write(
        &mut self,
        address: Address,
        kind: LeafKind,
        slot: U256,
        value: U256,
    ) -> Result<()> {
        let key = key_for(address, kind, slot);
        let outcome = self.tree.set(&key, value)?;
        let access = TreeAccess {
            op: AccessOp::Write,
            origin: self.origin,
            address,
            kind,
            slot,
            key,
            old_root: outcome.old_root,
            old_value: outcome.old_value,
            old_proof: outcome.old_proof,
            new_root: outcome.new_root,
            new_value: value,
            new_proof: Some(outcome.new_proof),
        };
        self.counters.add_access(&access);
        if self.record {
            self.accesses.push(access);
        }
        Ok(())
    }

    fn code_entry(&mut self, hash: &Digest) -> Result<CodeEntry> {
        if let Some(entry) = self.code.get(hash) {
            return Ok(entry.clone());
        }
        let bytes = match self.new_code.get(hash) {
            Some(bytes) => bytes.clone(),
            None => self.snapshot.bytecode(hash)?.ok_or_else(|| {
                ExecutorError::Corrupted(format!(
                    "bytecode {} missing from the store",
                    crate::state::smt::hex_digest(hash)
                ))
            })?,
        };
        Ok(self.remember_code(*hash, bytes))
    }

    fn remember_code(&mut self, hash: Digest, bytes: Bytes) -> CodeEntry {
        let entry = CodeEntry {
            keccak: keccak256(&bytes),
            bytecode: Bytecode::new_legacy(bytes),
        };
        self.keccak_to_poseidon.insert(entry.keccak, hash);
        self.code.insert(hash, entry.clone());
        entry
    }

    /// Loads an account (balance, nonce, code hash; code length when there is code).
    fn load_account(&mut self, address: Address) -> Result<Option<AccountInfo>> {
        let balance = self.read(address, LeafKind::Balance, U256::ZERO)?;
        let nonce = nonce_from_leaf(self.read(address, LeafKind::Nonce, U256::ZERO)?)?;
        let code_hash: Digest = self
            .read(address, LeafKind::CodeHash, U256::ZERO)?
            .into_limbs();
        self.loaded.insert(
            address,
            Loaded {
                balance,
                nonce,
                code_hash,
            },
        );
        if code_hash == EMPTY {
            if balance.is_zero() && nonce == 0 {
                // All-zero is no account (EIP-161).
                return Ok(None);
            }
            return Ok(Some(AccountInfo {
                balance,
                nonce,
                code_hash: KECCAK_EMPTY,
                code: Some(Bytecode::default()),
                ..Default::default()
            }));
        }
        let length = self.read(address, LeafKind::CodeLength, U256::ZERO)?;
        let entry = self.code_entry(&code_hash)?;
        if length != U256::from(entry.bytecode.original_byte_slice().len()) {
            return Err(ExecutorError::Corrupted(format!(
                "code length leaf of {address} disagrees with its bytecode"
            )));
        }
        Ok(Some(AccountInfo {
            balance,
            nonce,
            code_hash: entry.keccak,
            code: Some(entry.bytecode),
            ..Default::default()
        }))
    }

    /// The last L2 block recorded in the system contract.
    pub fn last_block(&mut self) -> Result<LastBlock> {
        let number = self.read(
            SYSTEM_ADDRESS,
            LeafKind::Storage,
            block::LAST_BLOCK_NUMBER_SLOT,
        )?;
        let number = u64::try_from(number).map_err(|_| {
            ExecutorError::Corrupted("last L2 block number exceeds u64".to_string())
        })?;
        let timestamp = self.read(
            SYSTEM_ADDRESS,
            LeafKind::Storage,
            block::LAST_TIMESTAMP_SLOT,
        )?;
        let timestamp = u64::try_from(timestamp).map_err(|_| {
            ExecutorError::Corrupted("last L2 block timestamp exceeds u64".to_string())
        })?;
        let hash = if number == 0 {
            B256::ZERO
        } else {
            let value = self.read(
                SYSTEM_ADDRESS,
                LeafKind::Storage,
                block::block_hash_slot(number),
            )?;
            B256::from(value.to_be_bytes::<32>())
        };
        Ok(LastBlock {
            number,
            timestamp,
            hash,
        })
    }

    /// Applies a transaction's state diff as tree writes, in a fixed order: accounts by address;
    /// per account balance, nonce, code hash, code length, then changed storage slots by slot.
    /// Returns the bytecode lengths deployed (for the counters).
    pub fn apply(&mut self, diff: EvmState) -> Result<Vec<usize>> {
        let mut accounts: Vec<_> = diff.into_iter().filter(|(_, a)| a.is_touched()).collect();
        accounts.sort_by_key(|(address, _)| *address);
        let mut deployed = Vec::new();
        for (address, account) in accounts {
            let before = match self.loaded.get(&address) {
                Some(loaded) => *loaded,
                None => self.peek(address)?,
            };
            let mut slots: Vec<(U256, U256)> = account
                .storage
                .iter()
                .filter(|(_, slot)| account.is_selfdestructed() || slot.is_changed())
                .map(|(k, slot)| (*k, slot.present_value()))
                .collect();
            slots.sort_by_key(|(k, _)| *k);
            let (balance, nonce, code) = if account.is_selfdestructed() {
                for slot in &mut slots {
                    slot.1 = U256::ZERO;
                }
                (U256::ZERO, 0, None)
            } else {
                (
                    account.info.balance,
                    account.info.nonce,
                    account.info.code.as_ref(),
                )
            };
            if balance != before.balance {
                self.write(address, LeafKind::Balance, U256::ZERO, balance)?;
            }
            if nonce != before.nonce {
                self.write(address, LeafKind::Nonce, U256::ZERO, U256::from(nonce))?;
            }
            let code_bytes = code.map(|c| c.original_bytes()).unwrap_or_default();
            let code_hash = if code_bytes.is_empty() {
                EMPTY
            } else {
                self.poseidon_code_hash(&code_bytes)
            };
            if code_hash != before.code_hash {
                self.write(
                    address,
                    LeafKind::CodeHash,
                    U256::ZERO,
                    U256::from_limbs(code_hash),
                )?;
                self.write(
                    address,
                    LeafKind::CodeLength,
                    U256::ZERO,
                    U256::from(code_bytes.len()),
                )?;
                if code_hash != EMPTY {
                    deployed.push(code_bytes.len());
                    self.new_code
                        .entry(code_hash)
                        .or_insert_with(|| code_bytes.clone());
                    self.remember_code(code_hash, code_bytes);
                }
            }
            for (slot, value) in slots {
                self.write(address, LeafKind::Storage, slot, value)?;
            }
        }
        self.loaded.clear();
        Ok(deployed)
    }

    /// The linear Poseidon hash of code, reusing the hash of code seen before.
    fn poseidon_code_hash(&mut self, code: &Bytes) -> Digest {
        let keccak = keccak256(code);
        match self.keccak_to_poseidon.get(&keccak) {
            Some(hash) => *hash,
            None => linear_bytecode_hash(code),
        }
    }

    /// An account's stored fields without recording an access (for accounts revm changed without
    /// loading them, which it does not do; kept so a surprise costs a lookup, not a wrong write).
    fn peek(&self, address: Address) -> Result<Loaded> {
        let value = |kind| self.tree.value(&key_for(address, kind, U256::ZERO));
        Ok(Loaded {
            balance: value(LeafKind::Balance)?,
            nonce: nonce_from_leaf(value(LeafKind::Nonce)?)?,
            code_hash: value(LeafKind::CodeHash)?.into_limbs(),
        })
    }
}

impl Database for BatchState<'_> {
    type Error = ExecutorError;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>> {
        self.load_account(address)
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode> {
        if code_hash == KECCAK_EMPTY {
            return Ok(Bytecode::default());
        }
        let poseidon = self
            .keccak_to_poseidon
            .get(&code_hash)
            .copied()
            .ok_or_else(|| ExecutorError::Evm(format!("code hash {code_hash} was never loaded")))?;
        Ok(self.code_entry(&poseidon)?.bytecode)
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256> {
        self.read(address, LeafKind::Storage, index)
    }

    fn block_hash(&mut self, number: u64) -> Result<B256> {
        let value = self.read(
            SYSTEM_ADDRESS,
            LeafKind::Storage,
            block::block_hash_slot(number),
        )?;
        Ok(B256::from(value.to_be_bytes::<32>()))
    }
}
