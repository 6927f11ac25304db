//! The Poseidon hashes of the state tree: keys, values, leaves, branches and bytecode.
//!
//! Every hash is one Poseidon permutation (Goldilocks, width 12, plonky2's constants, which are the
//! zkEVM's) of `state = inputs[0..8] ‖ capacity[0..4]`, whose output is `state[0..4]`. Elements are
//! canonical u64s. The layouts (the batch AIR re-implements them in-circuit):
//!
//! | hash                  | inputs (8 elements)                               | capacity (4)        |
//! |-----------------------|---------------------------------------------------|---------------------|
//! | value hash            | the 256-bit value as 8 × 32-bit limbs, low first  | `[0, 0, 0, 0]`      |
//! | leaf                  | remaining key (4) ‖ value hash (4)                | `[1, 0, 0, 0]`      |
//! | branch                | left child hash (4) ‖ right child hash (4)        | `[0, 0, 0, 0]`      |
//! | slot hash `hk0`       | the storage slot as 8 × 32-bit limbs, low first   | `[0, 0, 0, 0]`      |
//! | key                   | address as 8 × 32-bit limbs (limbs 5, 6, 7 = 0), then limb 6 = leaf kind | `hk0` (storage) or [`HASH_ZEROS`] |
//! | bytecode chunk        | 56 bytes of padded bytecode as 8 × 7-byte little-endian elements | previous chunk hash |
//!
//! Key inputs precisely: `[a0, a1, a2, a3, a4, 0, kind, 0]` where `a0` is the low 32 bits of the
//! 160-bit address (read as a big-endian integer) and `kind` is [`super::LeafKind`] as a number.
//! [`HASH_ZEROS`] is the value hash of zero (Poseidon of eight zeros with zero capacity), as in the
//! zkEVM's `keyEthAddrBalance`.

use alloy_primitives::{Address, U256};
use plonky2_field::types::{Field, Field64, PrimeField64};
use zknode_kernels::field::Goldilocks;
use zknode_kernels::poseidon;

/// A Poseidon digest: four canonical Goldilocks elements. All zeros is the empty subtree.
pub type Digest = [u64; 4];

/// The empty subtree (and the root of the empty tree).
pub const EMPTY: Digest = [0; 4];

/// Poseidon of eight zeros with zero capacity: the capacity of every non-storage key, as in the
/// zkEVM (`HASH_POSEIDON_ALL_ZEROES`).
pub const HASH_ZEROS: Digest = [
    4330397376401421145,
    14124799381142128323,
    8742572140681234676,
    14345658006221440202,
];

/// Capacity of a leaf hash.
pub const LEAF_CAPACITY: Digest = [1, 0, 0, 0];

/// One permutation: `Poseidon(inputs ‖ capacity)[0..4]`. Inputs must be canonical (< p); every
/// caller passes 32-bit limbs, 56-bit chunks or earlier digests, which are.
pub fn poseidon_hash(inputs: &[u64; 8], capacity: &Digest) -> Digest {
    let mut state = [Goldilocks::ZERO; poseidon::WIDTH];
    for (s, &x) in state.iter_mut().zip(inputs.iter().chain(capacity.iter())) {
        *s = Goldilocks::from_noncanonical_u64(x);
    }
    poseidon::permute(&mut state);
    [
        state[0].to_canonical_u64(),
        state[1].to_canonical_u64(),
        state[2].to_canonical_u64(),
        state[3].to_canonical_u64(),
    ]
}

/// A 256-bit value as eight 32-bit limbs, least significant first (the zkEVM's `scalar2fea`).
pub fn u256_to_limbs(value: U256) -> [u64; 8] {
    let mut out = [0u64; 8];
    for (i, word) in value.as_limbs().iter().enumerate() {
        out[2 * i] = word & 0xffff_ffff;
        out[2 * i + 1] = word >> 32;
    }
    out
}

/// Hash of a leaf value.
pub fn hash_value(value: U256) -> Digest {
    poseidon_hash(&u256_to_limbs(value), &EMPTY)
}

/// Hash of a leaf: remaining key and value hash, capacity `[1, 0, 0, 0]`.
pub fn hash_leaf(remaining_key: &Digest, value_hash: &Digest) -> Digest {
    let mut inputs = [0u64; 8];
    inputs[..4].copy_from_slice(remaining_key);
    inputs[4..].copy_from_slice(value_hash);
    poseidon_hash(&inputs, &LEAF_CAPACITY)
}

/// Hash of a branch from its two children.
pub fn hash_branch(left: &Digest, right: &Digest) -> Digest {
    let mut inputs = [0u64; 8];
    inputs[..4].copy_from_slice(left);
    inputs[4..].copy_from_slice(right);
    poseidon_hash(&inputs, &EMPTY)
}

/// The address as eight 32-bit limbs (limbs 5..8 are zero).
pub fn address_to_limbs(address: Address) -> [u64; 8] {
    u256_to_limbs(U256::from_be_slice(address.as_slice()))
}

/// Bytes of bytecode per Poseidon element in the linear bytecode hash.
pub const BYTECODE_BYTES_PER_ELEMENT: usize = 7;
/// Bytes of bytecode absorbed per permutation.
pub const BYTECODE_BYTES_PER_HASH: usize = 8 * BYTECODE_BYTES_PER_ELEMENT;

/// Permutations the linear bytecode hash of `len` bytes takes (the padding adds at least one byte).
pub fn bytecode_hash_permutations(len: usize) -> usize {
    (len + 1).div_ceil(BYTECODE_BYTES_PER_HASH)
}

/// The zkEVM's linear Poseidon bytecode hash (`hashContractBytecode`): append `0x01`, zero-pad to a
/// multiple of 56 bytes, set the top bit of the last byte; then absorb 56 bytes per permutation as
/// eight elements of 7 bytes, each little-endian (the first byte of a group is the least
/// significant), chaining the previous digest through the capacity (starting from zero).
pub fn linear_bytecode_hash(code: &[u8]) -> Digest {
    let chunks = bytecode_hash_permutations(code.len());
    let padded_len = chunks * BYTECODE_BYTES_PER_HASH;
    let mut padded = Vec::with_capacity(padded_len);
    padded.extend_from_slice(code);
    padded.push(0x01);
    padded.resize(padded_len, 0);
    if let Some(last) = padded.last_mut() {
        *last |= 0x80;
    }
    let mut digest = EMPTY;
    for chunk in padded.chunks_exact(BYTECODE_BYTES_PER_HASH) {
        let mut inputs = [0u64; 8];
        for (element, bytes) in inputs
            .iter_mut()
            .zip(chunk.chunks_exact(BYTECODE_BYTES_PER_ELEMENT))
        {
            *element = bytes
                .iter()
                .rev()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        }
        digest = poseidon_hash(&inputs, &digest);
    }
    digest
}

/// A digest as the 256-bit integer the zkEVM stores in a leaf (`h4toScalar`): element 0 is the low
/// 64 bits.
pub fn digest_to_u256(digest: &Digest) -> U256 {
    U256::from_limbs(*digest)
}

/// Whether every element of a digest is canonical (< p).
pub fn is_canonical(digest: &Digest) -> bool {
    digest.iter().all(|&x| x < Goldilocks::ORDER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_of_zeros_is_the_zkevm_constant() {
        // The zkEVM's HASH_POSEIDON_ALL_ZEROES: agreement shows plonky2's Poseidon is the zkEVM's.
        assert_eq!(poseidon_hash(&[0; 8], &EMPTY), HASH_ZEROS);
        assert_eq!(hash_value(U256::ZERO), HASH_ZEROS);
    }

    fn hex(digest: &Digest) -> String {
        digest.iter().rev().map(|w| format!("{w:016x}")).collect()
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .filter_map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
            .collect()
    }

    #[test]
    fn poseidon_matches_a_zkevm_vector_on_non_zero_input() {
        // zkevm-testvectors merkle-tree/smt-raw.json (the SMT's earlier leaf layout
        // H([1,0,0,0] ‖ H(rkey ‖ H(value)))): key 0, value 1 has root 0xa261…67d0. The layout is
        // obsolete, the permutation is not: this pins Poseidon on non-zero inputs.
        let value_hash = hash_value(U256::from(1));
        let mut inputs = [0u64; 8];
        inputs[4..].copy_from_slice(&value_hash);
        let kvh = poseidon_hash(&inputs, &EMPTY);
        let mut inputs = [1, 0, 0, 0, 0, 0, 0, 0];
        inputs[4..].copy_from_slice(&kvh);
        assert_eq!(
            hex(&poseidon_hash(&inputs, &EMPTY)),
            "a261cc116c77dea89237cad6a3dfb3d2e6a96657d16fe33c1aacd42de6bf67d0"
        );
    }

    #[test]
    fn bytecode_hash_matches_the_zkevm_vectors() {
        // zkevm-commonjs test/helpers/test-vectors/merkle-tree/smt-hash-bytecode.json (0x-prefixed
        // h4toString form: element 3 first). Lengths 2, 28, 30, 32, 55, 56, 57 cover one and two
        // chunks and the padding edge.
        let vectors = [
            ("dead", "2549d1fb0dc984e3098f235473637bd9e40aab1692c87e0afaf58720d2fbb8cd"),
            (
                "123456789abcde123456789abcde123456789abcde123456789abcde123456789abcde123456789abcde123456789abcde123456789abcdeff",
                "b26e257fb87ad0976c69af4af03c9ee20449d18b0be000aa749b5b342a445308",
            ),
            (
                "123456789abcde123456789abcde123456789abcde123456789abcde123456789abcde123456789abcde123456789abcde123456789abcde",
                "38e4d5169d213a508d64fe990f2a7cf2ffa75bdaff6774f9dc0dae9217885f9c",
            ),
            (
                "123456789abcde123456789abcde123456789abcde123456789abcde123456789abcde123456789abcde123456789abcde123456789abc",
                "9e707b21e53e4207034a031710bd58b73b39dbdd98a0681c5640bffa7806ce77",
            ),
            (
                "8231e0e8e502600b14bb0a2c9689f7d93d10e9f5451f18f0a9b6f123",
                "31cd3428959051f652c12f729473d52c0956368643ff086514f983595c034067",
            ),
            (
                "ce0e8e502600b14bb0a2c9689f7d93d10e9f5451f18f030ec3bb6c5001",
                "a29092cb3f80b471d45d2e1bcca7fdcdb1083370e5952b56166cf03e73f24d31",
            ),
            (
                "34665289b71a2cb8bf4c289ae6d17d845457c48bfc18623ca39e141b2e40c5d3",
                "26aa5d09e2046f5ab7e311b32c6e34fa52a6dc8257a34b494af84fe1471c589c",
            ),
        ];
        for (code, expected) in vectors {
            assert_eq!(
                hex(&linear_bytecode_hash(&unhex(code))),
                expected,
                "bytecode {code}"
            );
        }
    }

    #[test]
    fn limbs_are_low_first() {
        let v = U256::from(0x1122_3344_5566_7788u64) + (U256::from(9u8) << 224);
        let limbs = u256_to_limbs(v);
        assert_eq!(limbs[0], 0x5566_7788);
        assert_eq!(limbs[1], 0x1122_3344);
        assert_eq!(limbs[7], 9);
    }

    #[test]
    fn bytecode_hash_pads_and_chains() {
        assert_eq!(bytecode_hash_permutations(0), 1);
        assert_eq!(bytecode_hash_permutations(55), 1);
        assert_eq!(bytecode_hash_permutations(56), 2);
        // Distinct code, distinct hashes; a trailing zero byte changes the hash (padding is injective).
        let a = linear_bytecode_hash(&[0x60, 0x00]);
        let b = linear_bytecode_hash(&[0x60, 0x00, 0x00]);
        assert_ne!(a, b);
        assert_ne!(linear_bytecode_hash(&[]), EMPTY);
        // The single-chunk case by hand: bytes 0x01 (pad) then top bit set on byte 55.
        let mut inputs = [0u64; 8];
        inputs[0] = 0x01;
        inputs[7] = 0x80 << 48;
        assert_eq!(linear_bytecode_hash(&[]), poseidon_hash(&inputs, &EMPTY));
    }
}
