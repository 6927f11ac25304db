//! Public values of a batch: the one definition the executor, the batch AIR, the aggregation circuits,
//! the node and (later) the L1 submission share.
//!
//! A batch proof states: "on chain `chain_id` under fork `fork_id`, executing batches
//! `old_batch_number + 1 ..= new_batch_number` takes the state root from `old_state_root` to
//! `new_state_root` and the accumulated input hash from `old_acc_input_hash` to `new_acc_input_hash`,
//! leaving `local_exit_root`". Aggregating two such statements requires `left.new_* == right.old_*`.
//!
//! # Field-element layout
//! Inside STARKs and plonky2 circuits the values are [`BatchPublicValues::NUM_ELEMENTS`] Goldilocks
//! elements, in this order (see [`layout`]):
//!
//! | values                          | elements | encoding                                         |
//! |---------------------------------|----------|--------------------------------------------------|
//! | chain id, fork id               | 2 + 2    | u64 as 32-bit limbs, low limb first              |
//! | old, new batch number           | 2 + 2    | u64 as 32-bit limbs, low limb first              |
//! | old, new state root             | 4 + 4    | the state tree's root: 4 canonical elements      |
//! | old, new accumulated input hash | 8 + 8    | bytes32 as 32-bit big-endian words, first first  |
//! | local exit root                 | 8        | bytes32 as 32-bit big-endian words, first first  |
//!
//! 32-bit limbs (rather than whole u64s, which need not be below the Goldilocks modulus) keep every
//! value canonical, so equality of elements is equality of values; circuits range-check the limbs.

use plonky2::hash::hash_types::HashOut;
use plonky2_field::goldilocks_field::GoldilocksField;
use plonky2_field::types::{Field, Field64, PrimeField64};

use crate::error::{ExecutorError, Result};

/// Field elements of the batch public values (Goldilocks).
pub type F = GoldilocksField;

/// The root of the Poseidon sparse Merkle state tree: four canonical Goldilocks elements (a plonky2
/// `HashOut`). As a bytes32 (as the zkEVM writes it) the elements are big-endian u64 words, the last
/// element first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StateRoot(pub [u64; 4]);

impl StateRoot {
    /// The root of the empty tree.
    pub const EMPTY: StateRoot = StateRoot([0; 4]);

    /// The root as field elements; fails if an element is not canonical (≥ the modulus).
    pub fn to_hash_out(self) -> Result<HashOut<F>> {
        let mut elements = [F::ZERO; 4];
        for (i, (out, &word)) in elements.iter_mut().zip(&self.0).enumerate() {
            if word >= F::ORDER {
                return Err(ExecutorError::InvalidPublicValues {
                    index: i,
                    reason: "state root element is not a canonical Goldilocks element",
                });
            }
            *out = F::from_canonical_u64(word);
        }
        Ok(HashOut { elements })
    }

    /// The root of a plonky2 hash.
    pub fn from_hash_out(hash: HashOut<F>) -> Self {
        StateRoot(hash.elements.map(|e| e.to_canonical_u64()))
    }

    /// The zkEVM's bytes32 form: element 3 ‖ element 2 ‖ element 1 ‖ element 0, each big-endian.
    pub fn to_bytes32(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(8).zip(self.0.iter().rev()) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// Inverse of [`StateRoot::to_bytes32`]; fails if a word is not canonical.
    pub fn from_bytes32(bytes: &[u8; 32]) -> Result<Self> {
        let mut words = [0u64; 4];
        for (i, chunk) in bytes.chunks_exact(8).enumerate() {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            words[3 - i] = u64::from_be_bytes(word);
        }
        let root = StateRoot(words);
        root.to_hash_out()?;
        Ok(root)
    }
}

impl std::fmt::Display for StateRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x")?;
        for byte in self.to_bytes32() {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

/// What a batch proof (or an aggregate of consecutive batch proofs) states.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct BatchPublicValues {
    pub chain_id: u64,
    pub fork_id: u64,
    pub old_batch_number: u64,
    pub new_batch_number: u64,
    pub old_state_root: StateRoot,
    pub new_state_root: StateRoot,
    pub old_acc_input_hash: [u8; 32],
    pub new_acc_input_hash: [u8; 32],
    pub local_exit_root: [u8; 32],
}

/// Positions of each value in the field-element encoding.
pub mod layout {
    use std::ops::Range;

    pub const CHAIN_ID: Range<usize> = 0..2;
    pub const FORK_ID: Range<usize> = 2..4;
    pub const OLD_BATCH_NUMBER: Range<usize> = 4..6;
    pub const NEW_BATCH_NUMBER: Range<usize> = 6..8;
    pub const OLD_STATE_ROOT: Range<usize> = 8..12;
    pub const NEW_STATE_ROOT: Range<usize> = 12..16;
    pub const OLD_ACC_INPUT_HASH: Range<usize> = 16..24;
    pub const NEW_ACC_INPUT_HASH: Range<usize> = 24..32;
    pub const LOCAL_EXIT_ROOT: Range<usize> = 32..40;
    /// Elements that hold 32-bit limbs (everything but the state roots).
    pub const LIMB_RANGES: [Range<usize>; 7] = [
        CHAIN_ID,
        FORK_ID,
        OLD_BATCH_NUMBER,
        NEW_BATCH_NUMBER,
        OLD_ACC_INPUT_HASH,
        NEW_ACC_INPUT_HASH,
        LOCAL_EXIT_ROOT,
    ];
}

impl BatchPublicValues {
    /// Number of Goldilocks elements in the encoding.
    pub const NUM_ELEMENTS: usize = 40;

    /// The field-element encoding (see the module docs).
    pub fn to_field_elements(&self) -> Result<[F; Self::NUM_ELEMENTS]> {
        let mut out = [F::ZERO; Self::NUM_ELEMENTS];
        let put_u64 = |out: &mut [F; Self::NUM_ELEMENTS], at: usize, value: u64| {
            out[at] = F::from_canonical_u32(value as u32);
            out[at + 1] = F::from_canonical_u32((value >> 32) as u32);
        };
        let put_bytes32 = |out: &mut [F; Self::NUM_ELEMENTS], at: usize, bytes: &[u8; 32]| {
            for (i, word) in bytes.chunks_exact(4).enumerate() {
                out[at + i] =
                    F::from_canonical_u32(u32::from_be_bytes([word[0], word[1], word[2], word[3]]));
            }
        };
        put_u64(&mut out, layout::CHAIN_ID.start, self.chain_id);
        put_u64(&mut out, layout::FORK_ID.start, self.fork_id);
        put_u64(
            &mut out,
            layout::OLD_BATCH_NUMBER.start,
            self.old_batch_number,
        );
        put_u64(
            &mut out,
            layout::NEW_BATCH_NUMBER.start,
            self.new_batch_number,
        );
        out[layout::OLD_STATE_ROOT].copy_from_slice(&self.old_state_root.to_hash_out()?.elements);
        out[layout::NEW_STATE_ROOT].copy_from_slice(&self.new_state_root.to_hash_out()?.elements);
        put_bytes32(
            &mut out,
            layout::OLD_ACC_INPUT_HASH.start,
            &self.old_acc_input_hash,
        );
        put_bytes32(
            &mut out,
            layout::NEW_ACC_INPUT_HASH.start,
            &self.new_acc_input_hash,
        );
        put_bytes32(
            &mut out,
            layout::LOCAL_EXIT_ROOT.start,
            &self.local_exit_root,
        );
        Ok(out)
    }

    /// Decodes the field-element encoding; fails on a wrong length or a limb ≥ 2^32.
    pub fn from_field_elements(elements: &[F]) -> Result<Self> {
        if elements.len() != Self::NUM_ELEMENTS {
            return Err(ExecutorError::InvalidPublicValues {
                index: elements.len().min(Self::NUM_ELEMENTS),
                reason: "expected exactly 40 elements",
            });
        }
        for range in layout::LIMB_RANGES {
            for index in range {
                if elements[index].to_canonical_u64() > u64::from(u32::MAX) {
                    return Err(ExecutorError::InvalidPublicValues {
                        index,
                        reason: "32-bit limb out of range",
                    });
                }
            }
        }
        let limb = |i: usize| elements[i].to_canonical_u64();
        let get_u64 = |at: usize| limb(at) | (limb(at + 1) << 32);
        let get_bytes32 = |at: usize| {
            let mut out = [0u8; 32];
            for (i, chunk) in out.chunks_exact_mut(4).enumerate() {
                chunk.copy_from_slice(&(limb(at + i) as u32).to_be_bytes());
            }
            out
        };
        let get_root = |range: std::ops::Range<usize>| {
            let mut words = [0u64; 4];
            for (word, i) in words.iter_mut().zip(range) {
                *word = limb(i);
            }
            StateRoot(words)
        };
        Ok(BatchPublicValues {
            chain_id: get_u64(layout::CHAIN_ID.start),
            fork_id: get_u64(layout::FORK_ID.start),
            old_batch_number: get_u64(layout::OLD_BATCH_NUMBER.start),
            new_batch_number: get_u64(layout::NEW_BATCH_NUMBER.start),
            old_state_root: get_root(layout::OLD_STATE_ROOT),
            new_state_root: get_root(layout::NEW_STATE_ROOT),
            old_acc_input_hash: get_bytes32(layout::OLD_ACC_INPUT_HASH.start),
            new_acc_input_hash: get_bytes32(layout::NEW_ACC_INPUT_HASH.start),
            local_exit_root: get_bytes32(layout::LOCAL_EXIT_ROOT.start),
        })
    }

    /// Whether `next` continues `self`: same chain and fork, and `self.new_* == next.old_*` for the
    /// batch number, the state root and the accumulated input hash. `Err` names the first mismatch.
    pub fn check_continues_into(&self, next: &BatchPublicValues) -> Result<(), &'static str> {
        if self.chain_id != next.chain_id {
            return Err("chain id differs");
        }
        if self.fork_id != next.fork_id {
            return Err("fork id differs");
        }
        if self.new_batch_number != next.old_batch_number {
            return Err("batch numbers are not consecutive");
        }
        if self.new_state_root != next.old_state_root {
            return Err("state roots do not chain");
        }
        if self.new_acc_input_hash != next.old_acc_input_hash {
            return Err("accumulated input hashes do not chain");
        }
        Ok(())
    }

    /// The statement covering `self` followed by `next` (call [`Self::check_continues_into`] first).
    pub fn merged_with(&self, next: &BatchPublicValues) -> BatchPublicValues {
        BatchPublicValues {
            chain_id: self.chain_id,
            fork_id: self.fork_id,
            old_batch_number: self.old_batch_number,
            new_batch_number: next.new_batch_number,
            old_state_root: self.old_state_root,
            new_state_root: next.new_state_root,
            old_acc_input_hash: self.old_acc_input_hash,
            new_acc_input_hash: next.new_acc_input_hash,
            local_exit_root: next.local_exit_root,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seed: u64) -> BatchPublicValues {
        let bytes = |k: u64| {
            let mut out = [0u8; 32];
            for (i, b) in out.iter_mut().enumerate() {
                *b = (seed.wrapping_mul(31).wrapping_add(k * 7 + i as u64)) as u8;
            }
            out
        };
        BatchPublicValues {
            chain_id: 1101,
            fork_id: u64::MAX,
            old_batch_number: seed,
            new_batch_number: seed + 1,
            old_state_root: StateRoot([F::ORDER - 1, 0, 1, seed]),
            new_state_root: StateRoot([seed, 2, 3, 4]),
            old_acc_input_hash: bytes(1),
            new_acc_input_hash: bytes(2),
            local_exit_root: bytes(3),
        }
    }

    #[test]
    fn field_encoding_round_trips() {
        let values = sample(41);
        let elements = values.to_field_elements().expect("canonical");
        assert_eq!(
            BatchPublicValues::from_field_elements(&elements).expect("decodes"),
            values
        );
    }

    #[test]
    fn non_canonical_inputs_are_rejected() {
        let mut values = sample(1);
        values.new_state_root.0[2] = F::ORDER;
        assert!(values.to_field_elements().is_err());

        let mut elements = sample(1).to_field_elements().expect("canonical");
        elements[layout::LOCAL_EXIT_ROOT.start + 3] = F::from_canonical_u64(1 << 32);
        let err = BatchPublicValues::from_field_elements(&elements).expect_err("limb too large");
        assert!(matches!(
            err,
            ExecutorError::InvalidPublicValues { index: 35, .. }
        ));
        assert!(BatchPublicValues::from_field_elements(&elements[..39]).is_err());
    }

    #[test]
    fn state_root_bytes32_round_trips_and_orders_words_like_the_zkevm() {
        let root = StateRoot([1, 2, 3, 4]);
        let bytes = root.to_bytes32();
        assert_eq!(bytes[7], 4);
        assert_eq!(bytes[31], 1);
        assert_eq!(StateRoot::from_bytes32(&bytes).expect("canonical"), root);
        assert!(StateRoot::from_bytes32(&[0xff; 32]).is_err());
    }

    #[test]
    fn continuity_names_the_first_mismatch() {
        let a = sample(5);
        let mut b = sample(6);
        b.old_state_root = a.new_state_root;
        b.old_acc_input_hash = a.new_acc_input_hash;
        assert_eq!(a.check_continues_into(&b), Ok(()));
        let merged = a.merged_with(&b);
        assert_eq!(merged.old_batch_number, 5);
        assert_eq!(merged.new_batch_number, 7);
        assert_eq!(merged.local_exit_root, b.local_exit_root);
        b.old_batch_number += 1;
        assert_eq!(
            a.check_continues_into(&b),
            Err("batch numbers are not consecutive")
        );
    }
}
