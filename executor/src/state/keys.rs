//! Tree keys: where each account field and storage slot lives.
//!
//! A key is a Poseidon digest (four canonical elements) derived from the address, the leaf kind and,
//! for storage, the slot — the zkEVM's `keyEthAddrBalance` … `keyContractLength` (see [`super::hash`]
//! for the exact input layout). The key's 256 bits are consumed as the tree path interleaved across
//! the elements: level `i` goes right when bit `i / 4` of element `i % 4` is set.

use alloy_primitives::{Address, U256};
use serde::{Deserialize, Serialize};

use super::hash::{address_to_limbs, poseidon_hash, u256_to_limbs, Digest, EMPTY, HASH_ZEROS};

/// Most levels a path can have (64 bits × 4 elements).
pub const MAX_DEPTH: usize = 256;

/// What a leaf holds. The discriminant is the constant mixed into the key (the zkEVM's
/// `SMT_KEY_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum LeafKind {
    /// The account balance in wei.
    Balance = 0,
    /// The account nonce.
    Nonce = 1,
    /// The zkEVM's linear Poseidon hash of the code, as a 256-bit integer (zero: no code).
    CodeHash = 2,
    /// A storage slot's value.
    Storage = 3,
    /// The code length in bytes.
    CodeLength = 4,
}

impl LeafKind {
    /// The kind for its discriminant.
    pub fn from_u8(value: u8) -> Option<Self> {
        Some(match value {
            0 => LeafKind::Balance,
            1 => LeafKind::Nonce,
            2 => LeafKind::CodeHash,
            3 => LeafKind::Storage,
            4 => LeafKind::CodeLength,
            _ => return None,
        })
    }
}

/// A tree key: four canonical Goldilocks elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Key(pub Digest);

impl Key {
    /// The direction at `level` (false: left, true: right). `level` must be below [`MAX_DEPTH`].
    pub fn bit(&self, level: usize) -> bool {
        (self.0[level % 4] >> (level / 4)) & 1 == 1
    }

    /// The key without its first `levels` path bits: what a leaf at depth `levels` stores (the
    /// zkEVM's `removeKeyBits`).
    pub fn remaining(&self, levels: usize) -> Digest {
        let mut out = self.0;
        for (i, element) in out.iter_mut().enumerate() {
            let used = levels / 4 + usize::from(i < levels % 4);
            *element = if used >= 64 { 0 } else { *element >> used };
        }
        out
    }

    /// The full key of a leaf at depth `levels` on the path `path` (bits from the root) storing
    /// `remaining` (the zkEVM's `joinKey`). Bits of `path` beyond `levels` are ignored.
    pub fn join(path: &Key, levels: usize, remaining: &Digest) -> Key {
        let mut out = EMPTY;
        for (i, element) in out.iter_mut().enumerate() {
            let used = levels / 4 + usize::from(i < levels % 4);
            let (high, mask) = if used >= 64 {
                (0, u64::MAX)
            } else {
                (remaining[i] << used, (1u64 << used) - 1)
            };
            *element = high | (path.0[i] & mask);
        }
        Key(out)
    }
}

/// The key of an account field (anything but storage, for which use [`storage_key`]).
pub fn account_key(address: Address, kind: LeafKind) -> Key {
    debug_assert!(kind != LeafKind::Storage, "storage keys need the slot");
    key_with_capacity(address, kind, &HASH_ZEROS)
}

/// The key of a storage slot.
pub fn storage_key(address: Address, slot: U256) -> Key {
    let slot_hash = poseidon_hash(&u256_to_limbs(slot), &EMPTY);
    key_with_capacity(address, LeafKind::Storage, &slot_hash)
}

/// The key of `kind` at `address` (and `slot` for storage; ignored otherwise).
pub fn key_for(address: Address, kind: LeafKind, slot: U256) -> Key {
    match kind {
        LeafKind::Storage => storage_key(address, slot),
        _ => account_key(address, kind),
    }
}

fn key_with_capacity(address: Address, kind: LeafKind, capacity: &Digest) -> Key {
    let mut inputs = address_to_limbs(address);
    inputs[6] = kind as u64;
    Key(poseidon_hash(&inputs, capacity))
}

/// Poseidon permutations to derive a key of `kind` (storage keys hash the slot first).
pub fn key_permutations(kind: LeafKind) -> u64 {
    if kind == LeafKind::Storage {
        2
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn remaining_and_join_are_inverse_at_every_depth() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..50 {
            let key = Key([rng.gen(), rng.gen(), rng.gen(), rng.gen()]);
            for levels in [0, 1, 2, 3, 4, 5, 17, 63, 64, 128, 255, 256] {
                assert_eq!(
                    Key::join(&key, levels, &key.remaining(levels)),
                    key,
                    "levels {levels}"
                );
            }
        }
    }

    #[test]
    fn path_bits_interleave_the_elements() {
        let key = Key([0b10, 0b1, 0, 0b100]);
        let bits: Vec<bool> = (0..12).map(|l| key.bit(l)).collect();
        // level 0: e0 bit0 = 0, level 1: e1 bit0 = 1, level 4: e0 bit1 = 1, level 11: e3 bit2 = 1.
        assert_eq!(
            bits,
            [false, true, false, false, true, false, false, false, false, false, false, true]
        );
        assert_eq!(key.remaining(5), [0, 0, 0, 0b10]);
    }

    #[test]
    fn code_length_keys_match_the_zkevm_vectors() {
        // zkevm-commonjs test/helpers/test-vectors/merkle-tree/smt-key-contract-length.json: the
        // key as the integer key[0] + key[1]·2^64 + key[2]·2^128 + key[3]·2^192.
        let vectors = [
            (
                "0x0000000000000000000000000000000000000000",
                "41007279171909826356801898715236946089777777871690100429699594563988270638848",
            ),
            (
                "0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
                "34646114882128150922895390038184820825657559006046553149154512997547296886401",
            ),
            (
                "0x617b3a3528F9cDd6630fd3301B9c8911F7Bf063D",
                "67333650611713081285498556561630066492444591228552483499725412664140662692510",
            ),
            (
                "0x4d5Cf5032B2a844602278b01199ED191A86c93ff",
                "73491272310643147477523815380199478860516427525044236486332221964020922584980",
            ),
        ];
        for (address, expected) in vectors {
            let address: Address = address.parse().expect("address");
            let expected: U256 = expected.parse().expect("integer");
            let key = account_key(address, LeafKind::CodeLength);
            assert_eq!(U256::from_limbs(key.0), expected, "{address}");
        }
    }

    #[test]
    fn keys_differ_by_kind_address_and_slot() {
        let a = Address::repeat_byte(0x11);
        let b = Address::repeat_byte(0x12);
        let keys = [
            account_key(a, LeafKind::Balance),
            account_key(a, LeafKind::Nonce),
            account_key(a, LeafKind::CodeHash),
            account_key(a, LeafKind::CodeLength),
            account_key(b, LeafKind::Balance),
            storage_key(a, U256::ZERO),
            storage_key(a, U256::from(1)),
        ];
        for (i, x) in keys.iter().enumerate() {
            for y in &keys[i + 1..] {
                assert_ne!(x, y);
            }
        }
    }
}
