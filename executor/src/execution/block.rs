//! L2 blocks: the block data kept in state, and the block header and hash.
//!
//! # Block data in state
//! As the zkEVM does, the last L2 block's data lives in the storage of the system contract
//! [`SYSTEM_ADDRESS`] (`0x…5ca1ab1e`), so a batch continues where the previous one ended, and the
//! prover sees (and proves) these writes like any other:
//!
//! | slot                                   | value                                  | written       |
//! |----------------------------------------|----------------------------------------|---------------|
//! | [`LAST_BLOCK_NUMBER_SLOT`] (0)         | number of the last L2 block            | block start   |
//! | `keccak256(n ‖ 1)` (mapping at slot 1) | hash of block `n` (bytes32 as uint256)  | block end     |
//! | [`LAST_TIMESTAMP_SLOT`] (2)            | timestamp of the last L2 block         | block start   |
//!
//! (`n` and the mapping slot as 32-byte big-endian words: Solidity's `mapping(uint256 => bytes32)`.)
//! The `BLOCKHASH` opcode reads the mapping; genesis is block 0 with timestamp 0 and hash zero.
//!
//! # Header and hash
//! A block's hash is keccak-256 of its RLP Ethereum header (London layout: no withdrawals or blob
//! fields), with: the parent hash; the empty ommers hash; beneficiary = the request's coinbase;
//! state root = the tree root after the block's transactions as the zkEVM's bytes32
//! ([`crate::StateRoot::to_bytes32`]); the transactions and receipts tries of the included
//! transactions; the logs bloom; difficulty 0; the number; the gas limit and gas used; the timestamp;
//! empty extra data; zero mix hash and nonce; base fee 0. The block-hash write that follows is part
//! of the next block's state (as Ethereum's header cannot contain its own hash).

use alloy_consensus::Header;
use alloy_primitives::{address, keccak256, Address, Bloom, B256, B64, U256};

use crate::StateRoot;

/// The zkEVM's system contract that keeps L2 block data in its storage.
pub const SYSTEM_ADDRESS: Address = address!("0x000000000000000000000000000000005ca1ab1e");
/// Slot of the last L2 block number.
pub const LAST_BLOCK_NUMBER_SLOT: U256 = U256::ZERO;
/// Slot of the `mapping(uint256 => bytes32)` of block hashes.
pub const BLOCK_HASH_MAPPING_SLOT: U256 = U256::from_limbs([1, 0, 0, 0]);
/// Slot of the last L2 block timestamp.
pub const LAST_TIMESTAMP_SLOT: U256 = U256::from_limbs([2, 0, 0, 0]);

/// The storage slot holding the hash of block `number`.
pub fn block_hash_slot(number: u64) -> U256 {
    let mut preimage = [0u8; 64];
    preimage[..32].copy_from_slice(&U256::from(number).to_be_bytes::<32>());
    preimage[32..].copy_from_slice(&BLOCK_HASH_MAPPING_SLOT.to_be_bytes::<32>());
    U256::from_be_bytes(keccak256(preimage).0)
}

/// The last L2 block as recorded in state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LastBlock {
    pub number: u64,
    pub timestamp: u64,
    pub hash: B256,
}

/// Everything in a block header that is not derived from the tree.
#[derive(Clone, Copy, Debug)]
pub struct HeaderFields {
    pub parent_hash: B256,
    pub coinbase: Address,
    pub state_root: StateRoot,
    pub transactions_root: B256,
    pub receipts_root: B256,
    pub logs_bloom: Bloom,
    pub number: u64,
    pub gas_limit: u64,
    pub gas_used: u64,
    pub timestamp: u64,
}

/// The Ethereum header of an L2 block (see the module docs).
pub fn header(fields: &HeaderFields) -> Header {
    Header {
        parent_hash: fields.parent_hash,
        ommers_hash: alloy_consensus::constants::EMPTY_OMMER_ROOT_HASH,
        beneficiary: fields.coinbase,
        state_root: B256::from(fields.state_root.to_bytes32()),
        transactions_root: fields.transactions_root,
        receipts_root: fields.receipts_root,
        logs_bloom: fields.logs_bloom,
        difficulty: U256::ZERO,
        number: fields.number,
        gas_limit: fields.gas_limit,
        gas_used: fields.gas_used,
        timestamp: fields.timestamp,
        extra_data: Default::default(),
        mix_hash: B256::ZERO,
        nonce: B64::ZERO,
        base_fee_per_gas: Some(0),
        ..Default::default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn mapping_slot_is_solidity_layout() {
        // keccak256(uint256(0) ‖ uint256(1)): the well-known slot of key 0 in a mapping at slot 1.
        let expected: U256 = "0xa6eef7e35abe7026729641147f7915573c7e97b47efa546f5f6e3230263bcb49"
            .parse()
            .unwrap();
        assert_eq!(block_hash_slot(0), expected);
        assert_ne!(block_hash_slot(1), block_hash_slot(2));
    }

    #[test]
    fn header_hash_depends_on_every_field() {
        let fields = HeaderFields {
            parent_hash: B256::repeat_byte(1),
            coinbase: Address::repeat_byte(2),
            state_root: StateRoot([1, 2, 3, 4]),
            transactions_root: B256::repeat_byte(3),
            receipts_root: B256::repeat_byte(4),
            logs_bloom: Bloom::default(),
            number: 7,
            gas_limit: 30_000_000,
            gas_used: 21_000,
            timestamp: 100,
        };
        let base = header(&fields).hash_slow();
        let mut other = fields;
        other.timestamp += 1;
        assert_ne!(header(&other).hash_slow(), base);
        let mut other = fields;
        other.state_root = StateRoot([1, 2, 3, 5]);
        assert_ne!(header(&other).hash_slow(), base);
    }
}
