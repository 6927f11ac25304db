//! Merkle proofs of the state tree: inclusion of a key's value, or exclusion (value zero).

use alloy_primitives::U256;
use serde::{Deserialize, Serialize};

use super::hash::{hash_branch, hash_leaf, hash_value, is_canonical, Digest, EMPTY};
use super::keys::{Key, MAX_DEPTH};
use crate::error::{ExecutorError, Result};

/// What the walk along a key's path ends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProofTerminal {
    /// An empty subtree: the key is absent (value zero).
    Empty,
    /// A leaf. If its full key (the path bits ‖ `remaining_key`) is the key, the proof shows the
    /// key's value; otherwise it shows the key is absent (another key owns this prefix).
    Leaf {
        remaining_key: Digest,
        value_hash: Digest,
    },
}

/// A proof for one key against one root: the siblings from the root down (sibling `i` is the other
/// child at level `i`) and what the path ends on at depth `siblings.len()`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MerkleProof {
    pub siblings: Vec<Digest>,
    pub terminal: ProofTerminal,
}

impl MerkleProof {
    /// Depth of the terminal (number of branch levels above it).
    pub fn depth(&self) -> usize {
        self.siblings.len()
    }

    /// Poseidon permutations a verifier spends: one per level, plus the leaf and value hashes when
    /// the path ends on a leaf.
    pub fn verify_permutations(&self) -> u64 {
        let terminal = match self.terminal {
            ProofTerminal::Empty => 0,
            ProofTerminal::Leaf { .. } => 2,
        };
        self.siblings.len() as u64 + terminal
    }
}

/// Checks that `proof` shows `key ↦ value` under `root` (`value` zero: the key is absent).
///
/// Errors with [`ExecutorError::InvalidProof`] saying what does not hold.
pub fn verify_proof(root: &Digest, key: &Key, value: U256, proof: &MerkleProof) -> Result<()> {
    let fail = |reason: &str| Err(ExecutorError::InvalidProof(reason.to_string()));
    let depth = proof.siblings.len();
    if depth > MAX_DEPTH {
        return fail("more levels than a key has bits");
    }
    if !is_canonical(&key.0) || !is_canonical(root) {
        return fail("non-canonical key or root");
    }
    if proof.siblings.iter().any(|s| !is_canonical(s)) {
        return fail("non-canonical sibling");
    }
    let mut node = match &proof.terminal {
        ProofTerminal::Empty => {
            if !value.is_zero() {
                return fail("path ends in an empty subtree but the value is not zero");
            }
            EMPTY
        }
        ProofTerminal::Leaf {
            remaining_key,
            value_hash,
        } => {
            if !is_canonical(remaining_key) || !is_canonical(value_hash) {
                return fail("non-canonical leaf");
            }
            let full_key = Key::join(key, depth, remaining_key);
            if full_key == *key {
                if value.is_zero() {
                    return fail("the key's leaf is present but the value claimed is zero");
                }
                if hash_value(value) != *value_hash {
                    return fail("the key's leaf holds a different value");
                }
            } else if !value.is_zero() {
                return fail("path ends on another key's leaf but the value is not zero");
            }
            hash_leaf(remaining_key, value_hash)
        }
    };
    for (level, sibling) in proof.siblings.iter().enumerate().rev() {
        node = if key.bit(level) {
            hash_branch(sibling, &node)
        } else {
            hash_branch(&node, sibling)
        };
    }
    if node != *root {
        return fail("recomputed root differs");
    }
    Ok(())
}
