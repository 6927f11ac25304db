//! The transfer list and its Poseidon commitment, which stands in for the batch data commitment until
//! the Keccak rung binds the batch data itself.
//!
//! A transfer is a record of [`RECORD_LEN`] elements, all 32-bit limbs, least significant first:
//!
//! | elements | field                                   |
//! |----------|-----------------------------------------|
//! | 0..5     | sender address (160 bits)               |
//! | 5..10    | recipient address                       |
//! | 10..18   | amount in wei (256 bits)                |
//! | 18..20   | nonce (64 bits)                         |
//! | 20..24   | effective gas price in wei (128 bits)   |
//! | 24..26   | gas limit (64 bits)                     |
//! | 26..31   | coinbase address                        |
//! | 31       | zero                                    |
//!
//! The commitment starts at four zeros and absorbs each record in order, 8 elements per permutation,
//! chaining through the capacity: `c ← Poseidon(record[8i..8i+8] ‖ c)[0..4]` for i = 0..4. The batch
//! AIR computes the same chain on its TX rows.

use alloy_primitives::{Address, U256};
use zknode_executor::execution::TxWitness;
use zknode_executor::state::hash::{address_to_limbs, poseidon_hash, u256_to_limbs};
use zknode_executor::state::Digest;

use super::columns::RECORD_LEN;
use crate::{ProverError, Result};

/// One native transfer as the batch AIR sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Transfer {
    pub sender: Address,
    pub recipient: Address,
    pub amount: U256,
    pub nonce: u64,
    pub effective_gas_price: u128,
    pub gas_limit: u64,
    pub coinbase: Address,
}

impl Transfer {
    /// The transfer of an executed transaction; fails for a contract creation.
    pub fn from_witness(tx: &TxWitness) -> Result<Self> {
        let recipient = tx.recipient.ok_or_else(|| {
            ProverError::InvalidWitness(format!(
                "transaction {} creates a contract: not a native transfer",
                tx.tx_index
            ))
        })?;
        Ok(Transfer {
            sender: tx.sender,
            recipient,
            amount: tx.value,
            nonce: tx.nonce,
            effective_gas_price: tx.effective_gas_price,
            gas_limit: tx.gas_limit,
            coinbase: tx.coinbase,
        })
    }

    /// The record's elements (see the module docs).
    pub fn record(&self) -> [u64; RECORD_LEN] {
        let mut out = [0u64; RECORD_LEN];
        out[0..5].copy_from_slice(&address_to_limbs(self.sender)[..5]);
        out[5..10].copy_from_slice(&address_to_limbs(self.recipient)[..5]);
        out[10..18].copy_from_slice(&u256_to_limbs(self.amount));
        out[18..20].copy_from_slice(&u256_to_limbs(U256::from(self.nonce))[..2]);
        out[20..24].copy_from_slice(&u256_to_limbs(U256::from(self.effective_gas_price))[..4]);
        out[24..26].copy_from_slice(&u256_to_limbs(U256::from(self.gas_limit))[..2]);
        out[26..31].copy_from_slice(&address_to_limbs(self.coinbase)[..5]);
        out
    }
}

/// Absorbs one record into the commitment: the next commitment.
pub fn absorb(commitment: &Digest, record: &[u64; RECORD_LEN]) -> Digest {
    record.chunks_exact(8).fold(*commitment, |c, chunk| {
        let mut inputs = [0u64; 8];
        inputs.copy_from_slice(chunk);
        poseidon_hash(&inputs, &c)
    })
}

/// The commitment of an ordered transfer list.
pub fn commitment(transfers: &[Transfer]) -> Digest {
    transfers
        .iter()
        .fold([0u64; 4], |c, t| absorb(&c, &t.record()))
}
